#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What changed since the last checkpoint: written to the state store in one transaction.
public struct StateSnapshot: Sendable {
    /// Keys whose baseline changed.
    public var keys: [DetectionEngine.TrackedKey]
    /// Endpoints whose population statistics changed.
    public var endpoints: [(hash: UInt64, endpoint: DetectionEngine.PopulationEndpoint)]
    /// Alerts raised since the last checkpoint.
    public var alerts: [Alert]
    /// Every event up to and including this time (milliseconds) is in the baselines.
    public var watermark: Int64
    /// Events with a key observed since the last checkpoint.
    public var events: Int
    /// Spikes that began across keys in the last 15 minutes (``DetectionEngine/crowdState``), so a
    /// restart judges a gateway-wide event as an uninterrupted run would.
    public var crowd: String = ""
}

extension DetectionEngine {
    /// What a checkpoint stores: the changed keys and endpoints, `alerts`, the watermark and the
    /// recent spikes across keys.
    public func snapshot(alerts: [Alert], watermark: Int64, events: Int) -> StateSnapshot {
        StateSnapshot(
            keys: dirtyKeys, endpoints: dirtyEndpoints, alerts: alerts, watermark: watermark, events: events,
            crowd: crowdState)
    }
}

/// What an analysis run did.
public struct AnalyzeReport: Sendable {
    /// Ingest counts, errors and samples.
    public var diagnostics = Diagnostics()
    /// Keys tracked at the end (loaded plus new).
    public var keys = 0
    /// Keys first seen in this run.
    public var newKeys = 0
    /// Events with a key that reached the detectors.
    public var events = 0
    /// Events skipped because the state already covered their time.
    public var skippedBeforeWatermark = 0
    /// The state's watermark before the run, if it had one.
    public var previousWatermark: Int64?
    /// Alerts by kind and severity.
    public var alerts: [AlertKind: [Severity: Int]] = [:]
    /// Checkpoints written.
    public var checkpoints = 0
    /// Wall-clock seconds.
    public var elapsedSeconds = 0.0

    /// Whether any input had a problem, which makes the exit status non-zero.
    public var hadInputErrors: Bool { diagnostics.hasInputErrors }

    /// Total alerts.
    public var alertTotal: Int { alerts.values.reduce(0) { $0 + $1.values.reduce(0, +) } }

    /// The end-of-run summary for standard error.
    public var summary: String {
        var lines = [
            "keywatch: \(diagnostics.lines) lines, \(events) events with a key, \(keys) keys (\(newKeys) new), "
                + "\(alertTotal) alerts in \(fmt(elapsedSeconds)) s"
        ]
        if !alerts.isEmpty {
            for kind in AlertKind.allCases {
                guard let bySeverity = alerts[kind] else { continue }
                let parts = Severity.allCases.reversed().compactMap { s in bySeverity[s].map { "\($0) \(s.rawValue)" } }
                lines.append("  \(kind.rawValue): " + parts.joined(separator: ", "))
            }
        }
        if skippedBeforeWatermark > 0, let previousWatermark {
            lines.append(
                "  skipped \(skippedBeforeWatermark) events at or before the state's watermark "
                    + "\(Timestamps.rfc3339(previousWatermark)): already learned (use a new --state to start over)"
            )
        }
        let ingest = ParseReport(diagnostics: diagnostics, keys: keys, endpoints: 0, elapsedSeconds: elapsedSeconds)
        lines.append(contentsOf: ingest.summary.split(separator: "\n").dropFirst().map(String.init))
        return lines.joined(separator: "\n")
    }
}

/// `keywatch analyze`: reads archived logs from many nodes in event-time order, learns every key's
/// baseline and raises alerts in one pass, checkpointing the state as it goes.
///
/// ```swift
/// var engine = DetectionEngine(geo: resolver)          // loaded from the state store
/// let job = AnalyzeJob(inputs: inputs, configuration: IngestConfiguration(), fingerprinter: fingerprinter)
/// let report = job.run(engine: &engine, onAlert: { print($0.json) }, checkpoint: { try store.write($0) })
/// ```
public struct AnalyzeJob: Sendable {
    public var inputs: [InputSource]
    public var configuration: IngestConfiguration
    public var fingerprinter: KeyFingerprinter
    /// Wall-clock seconds between checkpoints.
    public var checkpointInterval: Double = 15
    /// Show a progress line on standard error.
    public var progress = false

    /// Creates a job.
    public init(inputs: [InputSource], configuration: IngestConfiguration, fingerprinter: KeyFingerprinter) {
        self.inputs = inputs
        self.configuration = configuration
        self.fingerprinter = fingerprinter
    }

    /// Runs the analysis.
    /// - Parameters:
    ///   - engine: The detection engine with the stored state loaded; it holds the learned state afterwards.
    ///   - onAlert: Called for each alert as it is raised.
    ///   - checkpoint: Writes a snapshot to the state store; called every ``checkpointInterval`` seconds
    ///     at an event-time boundary, and at the end. A throw stops further checkpoints and is rethrown
    ///     after the run.
    /// - Throws: The first error from `checkpoint`.
    /// - Returns: What happened.
    public func run(
        engine: inout DetectionEngine, onAlert: @escaping (Alert) -> Void, checkpoint: ((StateSnapshot) throws -> Void)?
    ) throws -> AnalyzeReport {
        let clock = ContinuousClock()
        let start = clock.now
        let previous = engine.watermark == .min ? nil : engine.watermark
        let keysBefore = engine.keyCount
        engine.inputNames = inputs.map(\.displayName)
        var merge = MergedIngest(configuration: configuration, fingerprinter: fingerprinter)
        var sink = AnalyzeSink(
            engine: DetectionEngine(settings: engine.settings, geo: engine.geo), skipThrough: previous ?? .min,
            onAlert: onAlert, checkpoint: checkpoint, interval: checkpointInterval, progress: progress, clock: clock,
            start: start
        )
        // The sink works on the caller's engine itself: a copy would share the key buffer, which the
        // first event would then copy whole.
        swap(&engine, &sink.engine)
        defer { swap(&engine, &sink.engine) }
        merge.run(inputs, into: &sink)
        if sink.progress { writeStandardError("\r\u{1B}[K") }
        if let error = sink.checkpointError { throw error }
        try sink.writeCheckpoint(watermark: sink.engine.watermark)
        var report = AnalyzeReport()
        report.diagnostics = merge.diagnostics
        report.keys = sink.engine.keyCount
        report.newKeys = sink.engine.keyCount - keysBefore
        report.events = sink.events
        report.skippedBeforeWatermark = sink.skipped
        report.previousWatermark = previous
        report.alerts = sink.alertCounts
        report.checkpoints = sink.checkpoints
        let elapsed = clock.now - start
        report.elapsedSeconds = elapsed.inSeconds
        return report
    }
}

private struct AnalyzeSink: BatchEventSink {
    var engine: DetectionEngine
    let skipThrough: Int64
    let onAlert: (Alert) -> Void
    let checkpoint: ((StateSnapshot) throws -> Void)?
    let interval: Double
    let progress: Bool
    let clock: ContinuousClock
    let start: ContinuousClock.Instant

    var alerts: [Alert] = []
    var pending: [Alert] = []
    var alertCounts: [AlertKind: [Severity: Int]] = [:]
    var events = 0
    var eventsSinceCheckpoint = 0
    var skipped = 0
    var checkpoints = 0
    var lastTime = Int64.min
    var due = false
    var counter = 0
    var lastCheckpoint: ContinuousClock.Instant
    var lastProgress: ContinuousClock.Instant
    var checkpointError: (any Error)?

    init(
        engine: DetectionEngine, skipThrough: Int64, onAlert: @escaping (Alert) -> Void,
        checkpoint: ((StateSnapshot) throws -> Void)?, interval: Double, progress: Bool, clock: ContinuousClock,
        start: ContinuousClock.Instant
    ) {
        self.engine = engine
        self.skipThrough = skipThrough
        self.onAlert = onAlert
        self.checkpoint = checkpoint
        self.interval = interval
        self.progress = progress && isatty(2) != 0
        self.clock = clock
        self.start = start
        lastCheckpoint = start
        lastProgress = start
    }

    func prefetch(far: KeyHandle?, near: KeyHandle?) { engine.prefetch(far: far, near: near) }

    mutating func consume(_ event: AccessEvent, tables: borrowing RunTables) {
        guard event.key != nil else { return }
        if event.time <= skipThrough {
            skipped += 1
            return
        }
        // Checkpoint only between distinct event times, so the watermark splits events exactly.
        if due && event.time > lastTime {
            due = false
            do { try writeCheckpoint(watermark: lastTime) } catch { checkpointError = error }
        }
        engine.observe(event, tables: tables, into: &alerts)
        lastTime = event.time
        events += 1
        eventsSinceCheckpoint += 1
        if !alerts.isEmpty {
            for alert in alerts {
                alertCounts[alert.kind, default: [:]][alert.severity, default: 0] += 1
                onAlert(alert)
            }
            pending.append(contentsOf: alerts)
            alerts.removeAll(keepingCapacity: true)
        }
        counter &+= 1
        // The clock is read every 1024 events (a few microseconds of work), so a short checkpoint
        // interval is honoured within a millisecond or so of event processing.
        if counter & 0x3FF == 0 { tick() }
    }

    private mutating func tick() {
        let now = clock.now
        if checkpoint != nil && checkpointError == nil && (now - lastCheckpoint).inSeconds >= interval { due = true }
        if progress && (now - lastProgress).inSeconds >= 0.5 {
            lastProgress = now
            let total = alertCounts.values.reduce(0) { $0 + $1.values.reduce(0, +) }
            writeStandardError(
                "\r\u{1B}[Kanalyzing: \(events) events, \(engine.keyCount) keys, \(total) alerts, at "
                    + "\(Timestamps.rfc3339(lastTime)) (\(fmt((now - start).inSeconds)) s)"
            )
        }
    }

    mutating func writeCheckpoint(watermark: Int64) throws {
        guard let checkpoint, checkpointError == nil else { return }
        let snapshot = engine.snapshot(alerts: pending, watermark: watermark, events: eventsSinceCheckpoint)
        try checkpoint(snapshot)
        engine.markClean()
        pending.removeAll(keepingCapacity: true)
        eventsSinceCheckpoint = 0
        checkpoints += 1
        lastCheckpoint = clock.now
    }
}

func writeStandardError(_ text: String) {
    var bytes = Array(text.utf8)
    _ = bytes.withUnsafeMutableBytes { write(2, $0.baseAddress, $0.count) }
}
