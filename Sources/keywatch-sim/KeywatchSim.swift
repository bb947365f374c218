import ArgumentParser

/// `keywatch-sim`: writes a deterministic synthetic API-gateway traffic set with ground-truth labels.
@main
struct KeywatchSim: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keywatch-sim",
        abstract: "Generate synthetic nginx and Kong access logs with labelled key-abuse incidents.",
        discussion: """
            Writes rotated gzip logs for two nginx nodes and one Kong node, the live (partial) day as plain \
            files, plus labels.json (ground truth), networks.csv (offline IP-to-country/ASN map), \
            nginx.log_format and README.md. The same options always produce byte-identical output.

            The committed sample set is: swift run -c release keywatch-sim --out samples --seed 42
            """
    )

    @Option(name: .long, help: "Output directory.")
    var out = "samples"

    @Option(name: .long, help: "Random seed; the same seed gives byte-identical output.")
    var seed: UInt64 = 42

    @Option(name: .long, help: "Complete days written to rotated files (the live partial day comes on top).")
    var days = 14

    @Option(name: .long, help: "Number of API keys.")
    var keys = 300

    @Option(name: .long, help: "First day (YYYY-MM-DD); the period starts at its midnight UTC.")
    var start = "2026-10-26"

    @Option(name: .long, help: "Multiplier on every request rate (for benchmark-sized sets).")
    var scale = 1.0

    @Option(name: .long, help: "Hours of the final partial day, written to the plain live files (1-23).")
    var liveHours = 6

    @Option(name: .long, help: "Share of keys served by Kong rather than nginx (0-1).")
    var kongShare = 0.2

    @Option(name: .long, help: "Incidents per kind (default: max(3, keys/75)).")
    var incidentsPerKind: Int?

    @Option(name: .long, help: "Days at the start without incidents (the detectors' learning period).")
    var learningDays = 7

    @Option(name: .long, help: "gzip level for rotated files (1-9).")
    var gzipLevel = 9

    @Option(name: .long, help: "Seconds between load-balancer health checks per nginx node.")
    var healthCheckInterval = 60

    func validate() throws {
        guard CivilDate(parsing: start) != nil else {
            throw ValidationError("--start must be a date like 2026-10-26")
        }
        guard learningDays >= 1, days > learningDays, days <= 120 else {
            throw ValidationError("--days must be greater than --learning-days (\(learningDays)) and at most 120")
        }
        guard (10...100_000).contains(keys) else {
            throw ValidationError("--keys must be between 10 and 100000")
        }
        guard scale > 0, scale <= 1000 else {
            throw ValidationError("--scale must be in (0, 1000]")
        }
        guard (1...23).contains(liveHours) else {
            throw ValidationError("--live-hours must be between 1 and 23")
        }
        guard (0...1).contains(kongShare) else {
            throw ValidationError("--kong-share must be between 0 and 1")
        }
        guard (1...9).contains(gzipLevel) else {
            throw ValidationError("--gzip-level must be between 1 and 9")
        }
        guard healthCheckInterval >= 1 else {
            throw ValidationError("--health-check-interval must be at least 1 second")
        }
        if let incidentsPerKind, incidentsPerKind < 0 {
            throw ValidationError("--incidents-per-kind must not be negative")
        }
    }

    func run() throws {
        let config = SimulationConfig(
            outputDirectory: out,
            seed: seed,
            startDate: CivilDate(parsing: start)!,
            days: days,
            liveHours: liveHours,
            keyCount: keys,
            scale: scale,
            kongShare: kongShare,
            incidentsPerKind: incidentsPerKind,
            learningDays: learningDays,
            gzipLevel: Int32(gzipLevel),
            healthCheckInterval: healthCheckInterval
        )
        // A SimulatorError propagates; ArgumentParser prints it to stderr and exits non-zero.
        let summary = try Simulator(config: config).run()
        print(summary.rendered())
    }
}
