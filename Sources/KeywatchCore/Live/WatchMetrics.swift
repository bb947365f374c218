import Foundation

/// Counters `keywatch watch` exposes on `/metrics`, shared between the reading loop, the webhook
/// tasks and the listen thread behind one lock.
public final class WatchMetrics: @unchecked Sendable {
    // Safety: every stored property is read and written only while `lock` is held.
    private let lock = NSLock()
    private var perInput: [String: (lines: Int64, parsed: Int64, rejected: Int64, lag: Int64)] = [:]
    private var alerts: [String: Int64] = [:]
    private var deliveries: [String: (ok: Int64, failed: Int64, refused: Int64)] = [:]
    private var outbox: [String: (pending: Int, permanent: Int, oldestSeconds: Double)] = [:]
    private var keys = 0
    private var events: Int64 = 0
    private var eventsPerSecond = 0.0
    private var lastCheckpoint = Date()
    private var started = Date()

    /// Creates empty metrics.
    public init() {}

    /// Sets one input's counts and its lag (bytes behind the file's end).
    public func setInput(_ path: String, lines: Int64, parsed: Int64, rejected: Int64, lagBytes: Int64) {
        lock.withLock { perInput[path] = (lines, parsed, rejected, lagBytes) }
    }

    /// Sets the totals after a batch.
    public func setTotals(keys: Int, events: Int64, eventsPerSecond: Double) {
        lock.withLock {
            self.keys = keys
            self.events = events
            self.eventsPerSecond = eventsPerSecond
        }
    }

    /// Counts an alert.
    public func countAlert(_ alert: Alert) {
        lock.withLock { alerts["kind=\"\(alert.kind.rawValue)\",severity=\"\(alert.severity.rawValue)\"", default: 0] += 1 }
    }

    /// Counts a delivery attempt's outcome for a webhook.
    public func countDelivery(sink: String, outcome: String) {
        lock.withLock {
            var entry = deliveries[sink] ?? (0, 0, 0)
            switch outcome {
            case "delivered": entry.ok += 1
            case "refused": entry.refused += 1
            default: entry.failed += 1
            }
            deliveries[sink] = entry
        }
    }

    /// Sets the outbox depth per webhook.
    public func setOutbox(_ depth: [String: OutboxDepth], nowMs: Int64) {
        lock.withLock {
            outbox = depth.mapValues {
                ($0.pending, $0.permanent, $0.oldestPendingMs.map { Double(nowMs - $0) / 1000 } ?? 0)
            }
        }
    }

    /// Notes a written checkpoint (for `/healthz`).
    public func checkpointed() { lock.withLock { lastCheckpoint = Date() } }

    /// Healthy while checkpoints keep being written.
    public func isHealthy(maxCheckpointAge: TimeInterval = 60) -> Bool {
        lock.withLock { Date().timeIntervalSince(lastCheckpoint) < maxCheckpointAge }
    }

    /// The Prometheus text exposition (version 0.0.4).
    public func render() -> String {
        lock.withLock {
            var out = ""
            func family(_ name: String, _ type: String, _ help: String) {
                out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
            }
            func label(_ s: String) -> String {
                s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            }
            let inputs = perInput.sorted { $0.key < $1.key }
            family("keywatch_lines_read_total", "counter", "Lines read per input.")
            for (path, v) in inputs { out += "keywatch_lines_read_total{input=\"\(label(path))\"} \(v.lines)\n" }
            family("keywatch_lines_parsed_total", "counter", "Lines parsed into events per input.")
            for (path, v) in inputs { out += "keywatch_lines_parsed_total{input=\"\(label(path))\"} \(v.parsed)\n" }
            family("keywatch_lines_rejected_total", "counter", "Lines rejected per input.")
            for (path, v) in inputs { out += "keywatch_lines_rejected_total{input=\"\(label(path))\"} \(v.rejected)\n" }
            family("keywatch_input_lag_bytes", "gauge", "Bytes between the read position and the end of each file.")
            for (path, v) in inputs { out += "keywatch_input_lag_bytes{input=\"\(label(path))\"} \(v.lag)\n" }
            family("keywatch_events_total", "counter", "Events with a key observed.")
            out += "keywatch_events_total \(events)\n"
            family("keywatch_events_per_second", "gauge", "Events per second over the last batch interval.")
            out += "keywatch_events_per_second \(String(format: "%.1f", eventsPerSecond))\n"
            family("keywatch_keys_tracked", "gauge", "Keys with a baseline.")
            out += "keywatch_keys_tracked \(keys)\n"
            family("keywatch_alerts_total", "counter", "Alerts raised, by kind and severity.")
            for (labels, n) in alerts.sorted(by: { $0.key < $1.key }) { out += "keywatch_alerts_total{\(labels)} \(n)\n" }
            let hooks = deliveries.sorted { $0.key < $1.key }
            family("keywatch_webhook_deliveries_total", "counter", "Webhook deliveries answered 2xx.")
            for (sink, v) in hooks { out += "keywatch_webhook_deliveries_total{webhook=\"\(label(sink))\"} \(v.ok)\n" }
            family("keywatch_webhook_failures_total", "counter", "Webhook attempts that failed and will be retried.")
            for (sink, v) in hooks { out += "keywatch_webhook_failures_total{webhook=\"\(label(sink))\"} \(v.failed)\n" }
            family("keywatch_webhook_refused_total", "counter", "Webhook items refused for good (4xx other than 429).")
            for (sink, v) in hooks { out += "keywatch_webhook_refused_total{webhook=\"\(label(sink))\"} \(v.refused)\n" }
            let boxes = outbox.sorted { $0.key < $1.key }
            family("keywatch_outbox_pending", "gauge", "Alerts waiting for delivery per webhook.")
            for (sink, v) in boxes { out += "keywatch_outbox_pending{webhook=\"\(label(sink))\"} \(v.pending)\n" }
            family("keywatch_outbox_oldest_seconds", "gauge", "Age of the oldest undelivered alert per webhook.")
            for (sink, v) in boxes {
                out += "keywatch_outbox_oldest_seconds{webhook=\"\(label(sink))\"} \(String(format: "%.1f", v.oldestSeconds))\n"
            }
            family("keywatch_uptime_seconds", "gauge", "Seconds since start.")
            out += "keywatch_uptime_seconds \(Int(Date().timeIntervalSince(started)))\n"
            return out
        }
    }
}
