/// Learns and detects from lines of live files as they arrive: the core of `keywatch watch`.
///
/// Each file gets its own parser, its format detected from its first lines (buffered until enough
/// lines arrive to decide). Events go to the ``DetectionEngine`` in arrival order; live files are
/// written in time order, and a baseline ignores the rare older event's time for its windows.
///
/// ```swift
/// var live = LiveAnalyzer(configuration: config, fingerprinter: fingerprinter, engine: engine)
/// let alerts = live.feed(path: "/var/log/nginx/access.log", lines: bytes, firstLine: 1201)
/// ```
public struct LiveAnalyzer {
    private final class Source {
        let index: Int32
        let name: String
        var worker: ChunkWorker?
        var pending: [UInt8] = []
        var pendingFirstLine: Int64 = 1
        var pendingLines = 0
        var failed = false
        var keyMap: [KeyHandle] = []
        var endpointMap: [EndpointID] = []

        init(index: Int32, name: String) {
            self.index = index
            self.name = name
        }
    }

    /// Lines a new file may buffer while its format is not yet recognised.
    static let detectionLines = 20

    public let configuration: IngestConfiguration
    public let fingerprinter: KeyFingerprinter
    /// The detection engine; read it for checkpoints.
    public var engine: DetectionEngine
    /// Lines, events, rejects, formats and errors so far.
    public private(set) var diagnostics = Diagnostics()
    /// Events with a key observed.
    public private(set) var events = 0
    /// Lines, events and rejected lines per file.
    public private(set) var perInput: [String: InputCounts] = [:]

    /// Counts for one followed file.
    public struct InputCounts: Sendable, Hashable {
        public var lines: Int64 = 0
        public var events: Int64 = 0
        public var rejected: Int64 = 0
        public init() {}
    }

    /// What changed since the last checkpoint, for ``Checkpoint/init(_:eventsTotal:)``.
    /// - Parameters:
    ///   - alerts: Alerts raised since the last checkpoint.
    ///   - events: Events observed since the last checkpoint.
    public func snapshot(alerts: [Alert], events: Int) -> StateSnapshot {
        engine.snapshot(alerts: alerts, watermark: engine.watermark, events: events)
    }
    private var tables = RunTables()
    private var sources: [String: Source] = [:]

    /// Creates an analyzer around an engine loaded from the state store.
    public init(configuration: IngestConfiguration, fingerprinter: KeyFingerprinter, engine: DetectionEngine) {
        self.configuration = configuration
        self.fingerprinter = fingerprinter
        self.engine = engine
    }

    /// Parses complete lines of one file, learns from them and returns the alerts they raise.
    /// - Parameters:
    ///   - path: The file the lines came from.
    ///   - lines: Whole lines, each ending in a newline.
    ///   - firstLine: The 1-based line number of the first of them in the file.
    /// - Returns: Alerts raised, in order.
    public mutating func feed(path: String, lines: UnsafeRawBufferPointer, firstLine: Int64) -> [Alert] {
        let source = self.source(path)
        guard !source.failed, lines.count > 0 else { return [] }
        if source.worker == nil {
            if source.pending.isEmpty { source.pendingFirstLine = firstLine }
            source.pending.append(contentsOf: lines)
            source.pendingLines += lines.reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
            let buffered = source.pending
            let decided = buffered.withUnsafeBytes {
                IngestEngine.chooseFormat(for: $0, configuration: configuration)
            }
            guard let format = decided else {
                if source.pendingLines >= Self.detectionLines || source.pending.count > 1 << 20 {
                    let first = buffered.withUnsafeBytes { IngestEngine.sampleLines($0).first.map { Redactor.excerpt($0, limit: 120) } }
                    diagnostics.errors.append(.unrecognisedFormat(file: source.name, firstLine: first ?? ""))
                    source.failed = true
                    source.pending = []
                }
                return []
            }
            diagnostics.formats.append((source.name, format.name))
            let worker = ChunkWorker(configuration: configuration, fingerprinter: fingerprinter)
            worker.format = format
            source.worker = worker
            source.pending = []
            return buffered.withUnsafeBytes { parse($0, source: source, firstLine: source.pendingFirstLine) }
        }
        return parse(lines, source: source, firstLine: firstLine)
    }

    private mutating func source(_ path: String) -> Source {
        if let known = sources[path] { return known }
        let source = Source(index: Int32(engine.inputNames.count), name: path)
        engine.inputNames.append(path)
        sources[path] = source
        return source
    }

    private mutating func parse(_ bytes: UnsafeRawBufferPointer, source: Source, firstLine: Int64) -> [Alert] {
        guard let worker = source.worker else { return [] }
        var result = worker.parse(bytes, name: source.name, index: source.index)
        result.diagnostics.shiftSampleLines(by: firstLine - 1)
        perInput[source.name, default: InputCounts()].lines += result.diagnostics.lines
        perInput[source.name, default: InputCounts()].events += result.diagnostics.events
        perInput[source.name, default: InputCounts()].rejected += result.diagnostics.rejectedLines
        diagnostics.merge(result.diagnostics)
        for identity in result.newKeys { source.keyMap.append(tables.intern(identity)) }
        for endpoint in result.newEndpoints { source.endpointMap.append(tables.intern(endpoint: endpoint)) }
        var alerts: [Alert] = []
        for var event in result.events {
            event.source.line += firstLine - 1
            if let key = event.key {
                event.key = source.keyMap[Int(key)]
                events += 1
            }
            event.endpoint = source.endpointMap[Int(event.endpoint)]
            engine.observe(event, tables: tables, into: &alerts)
        }
        return alerts
    }
}
