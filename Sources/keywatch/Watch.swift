import ArgumentParser
import Foundation
import KeywatchCore
import Logging

/// Set by SIGTERM and SIGINT; the reading loop checks it between batches.
nonisolated(unsafe) private var stopSignal: sig_atomic_t = 0

struct Watch: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch",
        abstract: "Follow live gateway logs, learn and alert as lines are written, and deliver alerts to webhooks.",
        discussion: """
            PATH may be a file that does not exist yet or a glob; new matching files are picked up. \
            Rotation by rename-and-create and by copytruncate is followed. Read positions, baselines \
            and the alert outbox are committed to the state store together, every few seconds and \
            on SIGTERM/SIGINT, so a restart (even after kill -9) resumes where the last checkpoint \
            left off: lines written meanwhile are read, and an alert replayed after a crash has the \
            same id and is not queued twice. Each webhook is served by its own task from the durable \
            outbox, with retries and backoff; a dead receiver never stalls reading.
            """
    )

    @Argument(help: "Files or globs to follow (or `sources` in --config).")
    var paths: [String] = []

    @Option(help: "A YAML file with sources, formats, geo, webhooks and thresholds; flags override it.")
    var config: String?

    @OptionGroup var format: WatchFormatOptions
    @OptionGroup var stateOptions: StateOptions
    @OptionGroup var geo: GeoOptions
    @OptionGroup var detection: DetectionOptions

    @Option(name: .customLong("webhook"), help: "POST each alert to this URL; repeat for several.")
    var webhooks: [String] = []

    @Option(name: .customLong("webhook-secret-file"), help: "File with the secret for X-Keywatch-Signature.")
    var webhookSecretFile: String?

    @Option(name: .customLong("webhook-format"), help: "json (the alert) or slack (an incoming-webhook message).")
    var webhookFormat: String = "json"

    @Option(name: .customLong("alerts-file"), help: "Also append every alert as a JSON line to this file.")
    var alertsFile: String?

    @Option(help: ArgumentHelp("Serve /healthz and Prometheus /metrics on HOST:PORT.", valueName: "127.0.0.1:9464"))
    var listen: String?

    @Option(name: .customLong("checkpoint-seconds"), help: "Seconds between checkpoints (alerts checkpoint at once).")
    var checkpointSeconds: Double = 3

    @Flag(name: .customLong("from-end"), help: "Start files that exist at the first start at their end, like tail -F.")
    var fromEnd = false

    @Option(help: "Print alerts on standard output as table, jsonl or none.")
    var output: String = "jsonl"

    func validate() throws {
        if paths.isEmpty && config == nil {
            throw ValidationError("give at least one file or glob to follow, or a --config file with sources")
        }
        guard ["json", "slack"].contains(webhookFormat) else {
            throw ValidationError("--webhook-format must be json or slack")
        }
        guard ["table", "jsonl", "none"].contains(output) else { throw ValidationError("--output must be table, jsonl or none") }
        guard checkpointSeconds >= 0.2 && checkpointSeconds <= 3600 else {
            throw ValidationError("--checkpoint-seconds must be between 0.2 and 3600")
        }
    }

    func run() throws {
        let log = Diagnostic(label: "keywatch.watch")
        let file = try config.map { try WatchConfig.load($0) }
        let paths = self.paths.isEmpty ? file?.sources ?? [] : self.paths
        guard !paths.isEmpty else { throw ValidationError("--config \(config ?? ""): no sources to follow") }
        let configuration = try format.configuration(fallback: file)
        let stateDirectory = stateOptions.state ?? file?.state ?? stateOptions.directory
        let store: StateStore
        let fingerprinter: KeyFingerprinter
        let resolver = try GeoOptions.resolver(
            databases: geo.databases.isEmpty ? file?.geoip ?? [] : geo.databases, networks: geo.networks ?? file?.networks)
        var engine = DetectionEngine(settings: detection.settings(learnOnly: false, fallback: file?.thresholds), geo: resolver)
        var eventsTotal: Int64
        let positions: [TailPosition]
        var endpoints: [WebhookEndpoint] = []
        let fileSink: JSONLinesFileSink?
        let alertsFile = self.alertsFile ?? file?.alertsFile
        let listen = self.listen ?? file?.listen
        // Webhooks from the flags replace the file's list; each file entry may carry its own format and secret.
        let hooks: [(url: String, format: String, secretFile: String?)] =
            webhooks.isEmpty
            ? (file?.webhooks ?? []).map { ($0.url, $0.format ?? webhookFormat, $0.secretFile ?? webhookSecretFile) }
            : webhooks.map { ($0, webhookFormat, webhookSecretFile) }
        do {
            store = try StateStore(directory: stateDirectory)
            fingerprinter = try KeyFingerprinter(store: store)
            eventsTotal = try engine.load(from: store)
            positions = try store.loadPositions()
            for hook in hooks {
                guard let format = WebhookEndpoint.Format(rawValue: hook.format) else {
                    throw ValidationError("webhook \(hook.url): format must be json or slack")
                }
                let secret = try hook.secretFile.map { path throws(SinkError) in try WebhookEndpoint.secret(fromFile: path) }
                endpoints.append(try WebhookEndpoint(url: hook.url, format: format, secret: secret))
            }
            try WebhookEndpoint.checkDistinct(endpoints)
            fileSink = try alertsFile.map { path throws(SinkError) in try JSONLinesFileSink(path: path) }
        } catch {
            log.error("cannot start: \(error)")
            throw ExitCode.failure
        }

        let metrics = WatchMetrics()
        var server: MetricsServer?
        if let listen {
            do {
                server = try MetricsServer(
                    address: listen, metrics: { metrics.render() }, healthy: { metrics.isHealthy() })
                log.info("serving /healthz and /metrics", ["address": "\(listen.split(separator: ":").first ?? ""):\(server!.port)"])
            } catch {
                log.error("\(error)")
                throw ExitCode.failure
            }
        }

        // Webhook delivery runs on its own tasks, reading the durable outbox.
        var delivery: Task<Void, Never>?
        let deliveryEnded = DispatchSemaphore(value: 0)
        if !endpoints.isEmpty {
            let deliverer = WebhookDeliverer(store: store, endpoints: endpoints) { event in
                switch event {
                case .delivered(let id, let sink, let status, let attempts):
                    metrics.countDelivery(sink: sink, outcome: "delivered")
                    log.info("delivered", ["alert": id, "webhook": sink, "status": "\(status)", "attempts": "\(attempts)"])
                case .retrying(let id, let sink, let error, let attempts, _):
                    metrics.countDelivery(sink: sink, outcome: "failed")
                    log.warning("delivery failed; will retry", ["alert": id, "webhook": sink, "error": error, "attempts": "\(attempts)"])
                case .refused(let id, let sink, let status):
                    metrics.countDelivery(sink: sink, outcome: "refused")
                    log.error("webhook refused the alert for good; kept in the outbox", ["alert": id, "webhook": sink, "status": "\(status)"])
                case .storeFailed(let sink, let error):
                    log.error("outbox update failed", ["webhook": sink, "error": "\(error)"])
                }
            }
            delivery = Task.detached {
                await deliverer.run()
                deliveryEnded.signal()
            }
        }

        signal(SIGTERM) { _ in stopSignal = 1 }
        signal(SIGINT) { _ in stopSignal = 1 }
        signal(SIGPIPE, SIG_IGN)
        // A blocked mask survives exec: a parent that blocks these (Foundation's `Process` does) would
        // otherwise leave SIGTERM pending forever and the daemon unstoppable short of kill -9.
        var stopSignals = sigset_t()
        sigemptyset(&stopSignals)
        sigaddset(&stopSignals, SIGTERM)
        sigaddset(&stopSignals, SIGINT)
        pthread_sigmask(SIG_UNBLOCK, &stopSignals, nil)

        var options = FileTailer.Options()
        options.maxLineLength = configuration.maxLineLength
        // Small batches keep alerts and metrics flowing while a backlog is read.
        options.readBudget = 1 << 20
        if fromEnd { options.existingFiles = .end }
        let tailer = FileTailer(patterns: paths, positions: positions, options: options)
        var live = LiveAnalyzer(configuration: configuration, fingerprinter: fingerprinter, engine: engine)
        let printer = output == "none" ? nil : AlertPrinter(format: output == "table" ? .table : .jsonl, minimum: .low)
        var pending: [Alert] = []
        var eventsSinceCheckpoint = 0
        var lastCheckpoint = Date()
        var lastPrune = Date.distantPast
        var lastRate = (time: Date(), events: 0)
        log.info("watching", ["paths": "\(paths.joined(separator: " "))", "state": stateDirectory, "keys": "\(live.engine.keyCount)"])

        func checkpoint() throws {
            let snapshot = live.snapshot(alerts: pending, events: eventsSinceCheckpoint)
            eventsTotal += Int64(eventsSinceCheckpoint)
            var batch = Checkpoint(snapshot, eventsTotal: eventsTotal)
            batch.positions = tailer.positions()
            let now = Int64(Date().timeIntervalSince1970 * 1000)
            batch.outbox = endpoints.flatMap { $0.outboxItems(for: pending, nowMs: now) }
            try fileSink?.checkpoint()
            try store.checkpoint(batch)
            live.engine.markClean()
            pending.removeAll(keepingCapacity: true)
            eventsSinceCheckpoint = 0
            lastCheckpoint = Date()
            metrics.checkpointed()
            if let depth = try? store.outboxDepth() { metrics.setOutbox(depth, nowMs: now) }
            // Delivered rows would otherwise pile up for as long as the daemon runs.
            if lastCheckpoint.timeIntervalSince(lastPrune) >= 3600 {
                lastPrune = lastCheckpoint
                do {
                    let removed = try store.pruneOutbox(deliveredBeforeMs: now - StateStore.deliveredRetentionMs)
                    if removed > 0 { log.info("pruned delivered outbox rows", ["rows": "\(removed)"]) }
                } catch {
                    log.warning("could not prune the outbox: \(error)")
                }
            }
        }

        var failure: (any Error)?
        while stopSignal == 0 {
            let chunks = tailer.next(timeout: .milliseconds(250))
            for chunk in chunks {
                let before = live.events
                let alerts = chunk.bytes.withUnsafeBytes {
                    live.feed(path: chunk.path, lines: $0, firstLine: chunk.firstLine)
                }
                eventsSinceCheckpoint += live.events - before
                for alert in alerts {
                    metrics.countAlert(alert)
                    printer?.print(alert)
                    do { try fileSink?.emit(alert) } catch { log.error("\(error)") }
                }
                pending.append(contentsOf: alerts)
            }
            printer?.finishBatch()
            for status in tailer.status() {
                let counts = live.perInput[status.path] ?? LiveAnalyzer.InputCounts()
                metrics.setInput(
                    status.path, lines: counts.lines, parsed: counts.events, rejected: counts.rejected,
                    lagBytes: status.lagBytes)
            }
            let now = Date()
            if now.timeIntervalSince(lastRate.time) >= 1 {
                let rate = Double(live.events - lastRate.events) / now.timeIntervalSince(lastRate.time)
                metrics.setTotals(keys: live.engine.keyCount, events: Int64(live.events), eventsPerSecond: rate)
                lastRate = (now, live.events)
            }
            // Alerts are committed within half a second so webhooks see them within a second;
            // otherwise every few seconds.
            // Under a flood of alerts, at most two checkpoints a second: each one is an fsync.
            if (!pending.isEmpty && now.timeIntervalSince(lastCheckpoint) >= 0.5)
                || (now.timeIntervalSince(lastCheckpoint) >= checkpointSeconds && !chunks.isEmpty)
                || now.timeIntervalSince(lastCheckpoint) >= 30
            {
                do { try checkpoint() } catch {
                    failure = error
                    break
                }
            }
        }
        if failure == nil {
            do { try checkpoint() } catch { failure = error }
        }
        // Let delivery wind down (a cancelled request is not counted as an attempt) before the
        // process exits, so no task is inside a request or the store while the runtime tears down.
        if let delivery {
            delivery.cancel()
            if deliveryEnded.wait(timeout: .now() + 5) == .timedOut {
                log.warning("webhook delivery did not stop within 5 s; exiting anyway")
            }
        }
        _ = server
        if let failure {
            log.error("could not write the state; stopping: \(failure)")
            throw ExitCode.failure
        }
        log.info("stopped; state checkpointed", ["events": "\(live.events)", "keys": "\(live.engine.keyCount)"])
    }
}

/// Format flags for live files (no directories or gzip: live logs are plain files).
struct WatchFormatOptions: ParsableArguments {
    @Option(help: "Force a format: \(FormatSpec.names.joined(separator: ", ")). Default: detect per file.")
    var format: String?

    @Option(name: .customLong("log-format"), help: ArgumentHelp("Your nginx log_format (or @FILE).", valueName: "log_format"))
    var logFormat: String?

    @Option(name: .customLong("field"), help: ArgumentHelp("Map a JSON field: ROLE=PATH[:UNIT].", valueName: "role=path"))
    var fields: [String] = []

    @Option(name: .customLong("key-field"), help: "Where the key lives.")
    var keyField: String?

    @Option(name: .customLong("trusted-proxy"), help: "A proxy network (CIDR) whose X-Forwarded-For is believed; repeat.")
    var trustedProxies: [String] = []

    func configuration(fallback: WatchConfig? = nil) throws -> IngestConfiguration {
        try InputOptions.makeConfiguration(
            format: format ?? fallback?.format, logFormat: logFormat ?? fallback?.logFormat, fields: fields,
            keyField: keyField, trustedProxies: trustedProxies, endpointTemplates: [], maxLine: 64 << 10, inflate: .zlib)
    }
}

/// The watch command's logger: swift-log with ``KeyValueLogHandler`` (structured lines on stderr).
struct Diagnostic {
    let logger: Logger

    init(label: String) { logger = Logs.logger(label) }

    func info(_ message: String, _ metadata: [String: String] = [:]) {
        logger.info("\(message)", metadata: metadata.mapValues { .string($0) })
    }

    func warning(_ message: String, _ metadata: [String: String] = [:]) {
        logger.warning("\(message)", metadata: metadata.mapValues { .string($0) })
    }

    func error(_ message: String, _ metadata: [String: String] = [:]) {
        logger.error("\(message)", metadata: metadata.mapValues { .string($0) })
    }
}
