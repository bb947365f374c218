/// Runs a whole simulation: plans the scenario, writes the logs day by day, then the labels.
///
/// ```swift
/// let summary = try Simulator(config: config).run()
/// print(summary.rendered())
/// ```
struct Simulator {
    private let config: SimulationConfig

    /// Creates a simulator for `config`.
    init(config: SimulationConfig) {
        self.config = config
    }

    /// Generates every output file.
    /// - Returns: What was written.
    /// - Throws: ``SimulatorError`` on I/O failure.
    func run() throws(SimulatorError) -> RunSummary {
        var factory = KeyFactory(config: config)
        var planner = ScenarioPlanner(config: config, keys: factory.makeKeys())
        let scenario = planner.plan()
        let out = config.outputDirectory
        for directory in ["nginx/gw1", "nginx/gw2", "kong/kong1"] {
            try FileSystem.createDirectory(out + "/" + directory)
        }
        let gw1 = RotatingLog(
            outputDirectory: out,
            relativeDirectory: "nginx/gw1",
            liveName: "access.log",
            rotatedPrefix: "access.log-",
            offsetMinutes: 0,
            endMillis: config.endMillis,
            gzipLevel: config.gzipLevel,
            formatter: NginxLineFormatter(offsetMinutes: 0)
        )
        let gw2 = RotatingLog(
            outputDirectory: out,
            relativeDirectory: "nginx/gw2",
            liveName: "access.log",
            rotatedPrefix: "access.log-",
            offsetMinutes: 60,
            endMillis: config.endMillis,
            gzipLevel: config.gzipLevel,
            formatter: NginxLineFormatter(offsetMinutes: 60)
        )
        let kong = RotatingLog(
            outputDirectory: out,
            relativeDirectory: "kong/kong1",
            liveName: "file-log.json",
            rotatedPrefix: "file-log-",
            offsetMinutes: 0,
            endMillis: config.endMillis,
            gzipLevel: config.gzipLevel,
            formatter: KongLineFormatter(keys: scenario.keys, ids: KongIdentities(seed: config.seed))
        )
        gw1.removeStaleFiles()
        gw2.removeStaleFiles()
        kong.removeStaleFiles()

        let generator = TrafficGenerator(config: config, scenario: scenario)
        var tallies = Array(repeating: EpisodeTally(), count: scenario.episodes.count)
        var lastRegular = Array(repeating: EpochMillis.min, count: scenario.keys.count)
        var firstUses = FirstUseTracker(scenario: scenario, learningEnd: config.learningEndMillis)
        var carried: [SimEvent] = []
        var sequence: Int32 = 0
        for day in 0..<config.dayCount {
            let dayEnd = min(config.startMillis + EpochMillis(day + 1) * Span.day, config.endMillis)
            var events = carried + generator.events(forDay: day)
            for index in events.indices {
                events[index].seq = sequence
                sequence &+= 1
            }
            events.sort { ($0.time, $0.seq) < ($1.time, $1.seq) }
            let split = events.firstIndex { $0.time >= dayEnd } ?? events.count
            carried = day + 1 < config.dayCount ? Array(events[split...]) : []
            for event in events[..<split] {
                switch event.node {
                case .gw1: try gw1.append(event)
                case .gw2: try gw2.append(event)
                case .kong1: try kong.append(event)
                }
                if event.tag >= 0 {
                    tallies[Int(event.tag)].record(time: event.time, status: Int(event.status))
                }
                if event.regular, event.keyIndex >= 0 {
                    lastRegular[Int(event.keyIndex)] = event.time
                }
                firstUses.observe(event)
            }
        }
        try gw1.close()
        try gw2.close()
        try kong.close()

        let legitCount = scenario.episodes.filter { !$0.isIncident }.count
        let labels = LabelWriter(
            config: config,
            scenario: scenario,
            tallies: tallies,
            lastRegular: lastRegular,
            extraLegitimate: firstUses.labelEntries(firstID: legitCount + 1)
        )
        var extra: [WrittenFile] = []
        for (name, text) in [
            ("labels.json", labels.render()), ("networks.csv", SampleDocs.networksCSV()),
            ("nginx.log_format", NginxLineFormatter.logFormat + "\n"), ("README.md", SampleDocs.readme(config: config)),
        ] {
            let path = out + "/" + name
            let file = try PlainFileSink(path: path)
            try file.write(Array(text.utf8))
            try file.close()
            extra.append(
                WrittenFile(
                    relativePath: name,
                    lines: text.split(separator: "\n").count,
                    bytes: FileSystem.size(of: path)
                )
            )
        }
        return RunSummary(
            config: config,
            logs: [gw1.files, gw2.files, kong.files],
            extras: extra,
            scenario: scenario,
            firstUseLabels: labels.extraLegitimate.count
        )
    }
}

/// What a run wrote, for the closing summary on stdout.
struct RunSummary {
    /// The configuration.
    let config: SimulationConfig
    /// Log files per node (gw1, gw2, kong1).
    let logs: [[WrittenFile]]
    /// Labels, networks, format and README.
    let extras: [WrittenFile]
    /// The scenario.
    let scenario: Scenario
    /// Legitimate first-use entries found while writing.
    let firstUseLabels: Int

    /// A short human-readable summary.
    func rendered() -> String {
        var lines: [String] = []
        let nodes = ["nginx/gw1", "nginx/gw2", "kong/kong1"]
        var totalLines = 0
        var totalBytes = 0
        for (name, files) in zip(nodes, logs) {
            let count = files.reduce(0) { $0 + $1.lines }
            let bytes = files.reduce(0) { $0 + $1.bytes }
            totalLines += count
            totalBytes += bytes
            lines.append(
                "  \(name): \(files.count) files (\(files.count - 1) rotated .gz + live), \(count) lines, "
                    + "\(RunSummary.megabytes(bytes))"
            )
        }
        let extraBytes = extras.reduce(0) { $0 + $1.bytes }
        lines.append(
            "  " + extras.map(\.relativePath).joined(separator: ", ") + ": \(RunSummary.megabytes(extraBytes))"
        )
        var kinds: [KeyKind: Int] = [:]
        for key in scenario.keys {
            kinds[key.kind, default: 0] += 1
        }
        let kindText = KeyKind.allCases.map { "\($0.rawValue) \(kinds[$0, default: 0])" }.joined(separator: ", ")
        let kong = scenario.keys.filter { $0.gateway == .kong }.count
        var incidents: [String: Int] = [:]
        var legit: [String: Int] = [:]
        for episode in scenario.episodes {
            if episode.isIncident {
                incidents[episode.kind, default: 0] += 1
            } else {
                legit[episode.kind, default: 0] += 1
            }
        }
        let incidentText = IncidentKind.allCases.map { "\($0.rawValue) \(incidents[$0.rawValue, default: 0])" }
            .joined(separator: ", ")
        var result = [
            "keywatch-sim: seed \(config.seed), \(TimeFormat.rfc3339(config.startMillis)) .. "
                + "\(TimeFormat.rfc3339(config.endMillis)) (\(config.days) days + \(config.liveHours) h live)",
            "wrote \(config.outputDirectory)/:",
        ]
        result += lines
        result.append("lines: \(totalLines) in \(RunSummary.megabytes(totalBytes + extraBytes)) total")
        result.append("keys: \(scenario.keys.count) (\(kindText); \(kong) via Kong)")
        result.append("incidents: \(incidents.values.reduce(0, +)) (\(incidentText))")
        if !scenario.shortfall.isEmpty {
            let missing = scenario.shortfall.keys.map(\.rawValue).sorted()
                .map { "\($0) \(scenario.shortfall[IncidentKind(rawValue: $0)!]!)" }.joined(separator: ", ")
            result.append("warning: could not place \(missing) (too few eligible keys or days)")
        }
        legit["endpoint/network_first_use"] = firstUseLabels
        result.append(
            "legitimate: \(legit.values.reduce(0, +)) ("
                + legit.keys.sorted().map { "\($0) \(legit[$0]!)" }.joined(separator: ", ") + ")"
        )
        return result.joined(separator: "\n")
    }

    private static func megabytes(_ bytes: Int) -> String {
        let tenths = (bytes * 10 + 524_288) / 1_048_576
        return "\(tenths / 10).\(tenths % 10) MiB"
    }
}
