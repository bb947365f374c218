import ArgumentParser
import KeywatchCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Geography flags shared by the commands that enrich addresses.
struct GeoOptions: ParsableArguments {
    @Option(
        name: .customLong("geoip"),
        help: ArgumentHelp(
            "A MaxMind DB (City, Country or ASN; GeoLite2, GeoIP2, DB-IP, IPinfo); repeat. "
                + "Default: the .mmdb files in /var/lib/GeoIP and /usr/share/GeoIP.",
            valueName: "file.mmdb"
        )
    )
    var databases: [String] = []

    @Option(help: ArgumentHelp("A cidr,country,asn,org CSV of your own networks; it overrides the databases.", valueName: "file.csv"))
    var networks: String?

    func resolver() throws -> GeoResolver {
        try Self.resolver(databases: databases, networks: networks)
    }

    /// Opens the given databases (the installed ones when none) and networks file.
    static func resolver(databases: [String], networks: String?) throws -> GeoResolver {
        let paths = databases.isEmpty ? GeoResolver.defaultDatabasePaths() : databases
        do {
            return try GeoResolver(databases: paths, networksFile: networks)
        } catch {
            throw ValidationError(error.description)
        }
    }
}

/// Detection thresholds users commonly change.
struct DetectionOptions: ParsableArguments {
    @Option(name: .customLong("learning-days"), help: "History a key needs before alerts about it fire (default 7).")
    var learningDays: Double?

    @Option(name: .customLong("dormancy-days"), help: "Silence after which a returning key raises dormant_key (default 7).")
    var dormancyDays: Double?

    @Option(name: .customLong("forget-days"), help: "Values unseen this long are forgotten (default 30).")
    var forgetDays: Double?

    func validate() throws {
        for (name, value) in [("learning-days", learningDays), ("dormancy-days", dormancyDays), ("forget-days", forgetDays)] {
            if let value, !(value > 0 && value < 3650) {
                throw ValidationError("--\(name) must be a number of days between 0 and 3650")
            }
        }
    }

    /// The settings, with flags first, then `fallback` (a config file's values), then the defaults.
    func settings(learnOnly: Bool, fallback: WatchConfig.Thresholds? = nil) -> DetectionSettings {
        var settings = DetectionSettings()
        if let days = learningDays ?? fallback?.learningDays { settings.learningPeriodMillis = Int64(days * 86_400_000) }
        if let days = dormancyDays ?? fallback?.dormancyDays { settings.dormancyMillis = Int64(days * 86_400_000) }
        if let days = forgetDays ?? fallback?.forgetDays { settings.forgetAfterMillis = Int64(days * 86_400_000) }
        settings.learnOnly = learnOnly
        return settings
    }
}

struct Analyze: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "analyze",
        abstract: "Learn every key's baseline from archived logs and report anomalies.",
        discussion: """
            Reads many files from several gateway nodes in event-time order (rotated sets oldest \
            first, small disorder tolerated), learns each key's geography, rate rhythm and \
            endpoints, and raises alerts: new_country, new_network, rate_spike, quota_spike, \
            new_endpoint, error_spike, dormant_key. A key alerts only after its learning period.

            The state directory keeps baselines, the fingerprint secret and the watermark; a later \
            run continues from it and skips events at or before the watermark (already learned). \
            Checkpoints are atomic: a killed run leaves a loadable state.
            """
    )

    enum Output: String, ExpressibleByArgument, CaseIterable {
        case table, jsonl
    }

    @OptionGroup var input: InputOptions
    @OptionGroup var stateOptions: StateOptions
    @OptionGroup var geo: GeoOptions
    @OptionGroup var detection: DetectionOptions

    @Option(help: "table prints a readable table; jsonl prints one alert JSON object per line.")
    var output: Output = .table

    @Flag(name: .customLong("learn-only"), help: "Build baselines from history without alerting.")
    var learnOnly = false

    @Option(name: .customLong("min-severity"), help: "Print only alerts of this severity or higher (all are stored).")
    var minSeverity: Severity = .low

    @Flag(name: .customLong("no-progress"), help: "Never show the progress line.")
    var noProgress = false

    /// Wall-clock seconds between state checkpoints (default 15). Hidden from `--help`: users have no
    /// reason to change it, but the end-to-end tests kill `analyze` at random moments and need
    /// checkpoints within a fraction of a second to test crash recovery.
    @Option(name: .customLong("checkpoint-seconds"), help: ArgumentHelp("Seconds between state checkpoints.", visibility: .hidden))
    var checkpointSeconds: Double = 15

    func validate() throws {
        guard checkpointSeconds > 0 && checkpointSeconds <= 86_400 else {
            throw ValidationError("--checkpoint-seconds must be a number of seconds between 0 and 86400")
        }
    }

    func run() throws {
        let configuration = try input.configuration()
        let (inputs, missing) = input.expandedInputs()
        let resolver = try geo.resolver()
        let store: StateStore
        var engine = DetectionEngine(settings: detection.settings(learnOnly: learnOnly), geo: resolver)
        var eventsTotal: Int64
        let fingerprinter: KeyFingerprinter
        do {
            store = try StateStore(directory: stateOptions.directory)
            fingerprinter = try KeyFingerprinter(store: store)
            eventsTotal = try engine.load(from: store)
        } catch {
            printError("keywatch: \(error)")
            throw ExitCode.failure
        }
        var job = AnalyzeJob(inputs: inputs, configuration: configuration, fingerprinter: fingerprinter)
        job.progress = !noProgress
        job.checkpointInterval = checkpointSeconds
        let printer = AlertPrinter(format: output, minimum: minSeverity)
        let report: AnalyzeReport
        do {
            report = try job.run(
                engine: &engine,
                onAlert: { printer.print($0) },
                checkpoint: { snapshot in
                    eventsTotal += Int64(snapshot.events)
                    try store.checkpoint(Checkpoint(snapshot, eventsTotal: eventsTotal))
                }
            )
        } catch {
            printer.finish()
            printError("keywatch: could not write the state: \(error)")
            throw ExitCode.failure
        }
        printer.finish()
        var diagnostics = report.diagnostics
        for pattern in missing { diagnostics.errors.insert(.noMatch(pattern: pattern), at: 0) }
        var final = report
        final.diagnostics = diagnostics
        printError(final.summary)
        if final.hadInputErrors { throw ExitCode.failure }
    }
}

extension Severity: ExpressibleByArgument {}

/// Prints alerts as a table or JSON lines on standard output.
final class AlertPrinter {
    let format: Analyze.Output
    let minimum: Severity
    private var buffer = ""
    private var printedHeader = false

    init(format: Analyze.Output, minimum: Severity) {
        self.format = format
        self.minimum = minimum
    }

    func print(_ alert: Alert) {
        guard alert.severity >= minimum else { return }
        switch format {
        case .jsonl:
            buffer += alert.json + "\n"
        case .table:
            if !printedHeader {
                buffer += Self.row("TIME (UTC)", "SEVERITY", "KIND", "KEY", "SUMMARY") + "\n"
                printedHeader = true
            }
            let stamp = Timestamps.rfc3339(alert.time)
            let time = String(stamp.prefix(10) + " " + stamp.dropFirst(11).prefix(8))
            let prefix = "key \(alert.keyHint) "
            let summary = alert.summary.hasPrefix(prefix) ? String(alert.summary.dropFirst(prefix.count)) : alert.summary
            buffer += Self.row(time, alert.severity.rawValue, alert.kind.rawValue, alert.keyHint, summary) + "\n"
        }
        if buffer.utf8.count > 64 << 10 { flush() }
    }

    func finish() {
        if format == .table && !printedHeader { buffer += "no alerts\n" }
        flush()
    }

    /// Writes what is buffered (live mode: after each batch).
    func finishBatch() {
        if !buffer.isEmpty { flush() }
    }

    private func flush() {
        writeAll(1, buffer)
        buffer = ""
    }

    private static func row(_ a: String, _ b: String, _ c: String, _ d: String, _ e: String) -> String {
        padded(a, to: 20) + padded(b, to: 9) + padded(c, to: 13) + padded(d, to: 16) + e
    }
}
