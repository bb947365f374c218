import Dispatch

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How inputs are read and parsed.
public struct IngestConfiguration: Sendable {
    /// A format forced with `--format`; `nil` detects each input's format from its first lines.
    public var format: FormatSpec?
    /// An nginx `log_format` (`--log-format`), tried first on every input when detecting.
    public var logFormat: String?
    /// `--field` and `--key-field`.
    public var formatOptions = FormatOptions()
    /// Lines longer than this many bytes are skipped and counted (`--max-line`).
    public var maxLineLength = 64 << 10
    /// Proxies whose X-Forwarded-For entries are believed.
    public var trustedProxies = EventNormalizer.defaultTrustedProxies
    /// User endpoint templates.
    public var endpointPatterns: [EndpointPattern] = []
    /// The gzip inflate backend (`--inflate`).
    public var inflateBackend = InflateBackend.zlib

    /// Creates the default configuration: auto-detected formats, 64 KiB lines.
    public init() {}

    /// Checks that the configured format strings compile.
    /// - Throws: ``FormatError`` describing what is wrong.
    public func validate() throws(FormatError) {
        if let format {
            _ = try FormatFactory.make(format, options: formatOptions)
        }
        if let logFormat {
            _ = try FormatFactory.make(.nginx(logFormat), options: formatOptions)
        }
    }
}

/// Receives normalised events from the engine.
protocol EventSink {
    /// Called once per event, in input order.
    mutating func consume(_ event: AccessEvent, fields: RawFields, normalizer: EventNormalizer, inputName: String)
}

/// A format chosen for one input: the concrete parsers, so the hot loop is specialised per format.
enum AnyFormat {
    case combined(CombinedFormat)
    case nginx(NginxFormat)
    case json(JSONLogFormat)
    case alb(ALBFormat)
    case envoy(EnvoyTextFormat)

    var name: String {
        switch self {
        case .combined(let f): f.name
        case .nginx(let f): f.name
        case .json(let f): f.name
        case .alb(let f): f.name
        case .envoy(let f): f.name
        }
    }
}

/// Builds and detects formats.
enum FormatFactory {
    static func make(_ spec: FormatSpec, options: FormatOptions) throws(FormatError) -> AnyFormat {
        switch spec {
        case .combined: return .combined(CombinedFormat())
        case .nginx(let template):
            if let mappings = try NginxFormat.jsonMappings(for: template, options: options) {
                return .json(JSONLogFormat(mappings: mappings, options: options, name: "nginx-json"))
            }
            return .nginx(try NginxFormat(template: template, options: options))
        case .alb: return .alb(ALBFormat(options: options))
        case .envoy: return .envoy(EnvoyTextFormat(options: options))
        case .kong, .awsAPIGateway, .envoyJSON, .traefik, .json:
            return .json(try JSONLogFormat(spec: spec, options: options))
        }
    }

    /// A JSON object, or a JSON array of objects (a Kong http-log batch); not Envoy's `[2016-04-15T…]`.
    static func looksLikeJSON(_ line: ByteView) -> Bool {
        guard line.count > 0 else { return false }
        if line[0] == UInt8(ascii: "{") { return true }
        guard line[0] == UInt8(ascii: "[") else { return false }
        var i = 1
        while i < line.count && (line[i] == 0x20 || line[i] == 0x09) { i += 1 }
        return i < line.count && (line[i] == UInt8(ascii: "{") || line[i] == UInt8(ascii: "]"))
    }

    /// Picks the format that reads most of `lines` (the input's first non-blank lines).
    static func detect(_ lines: [ByteView], configuration: IngestConfiguration) -> AnyFormat? {
        guard let first = lines.first else { return nil }
        let options = configuration.formatOptions
        func score(_ format: inout AnyFormat) -> Int {
            var records = RecordBuffer()
            var good = 0
            for line in lines {
                records.removeAll()
                let outcome: ParseOutcome
                switch format {
                case .combined(var f): outcome = f.parse(line, into: &records)
                case .nginx(var f): outcome = f.parse(line, into: &records)
                case .json(var f): outcome = f.parse(line, into: &records)
                case .alb(var f): outcome = f.parse(line, into: &records)
                case .envoy(var f): outcome = f.parse(line, into: &records)
                }
                if case .records = outcome { good += 1 }
            }
            return good
        }
        var candidates: [AnyFormat] = []
        if let logFormat = configuration.logFormat, let f = try? make(.nginx(logFormat), options: options) {
            candidates.append(f)
        }
        if looksLikeJSON(first) {
            if let spec = JSONLogFormat.detect(first), let f = try? make(spec, options: options) {
                candidates.append(f)
            }
        } else {
            if ALBFormat.detect(first) { candidates.append(.alb(ALBFormat(options: options))) }
            if EnvoyTextFormat.detect(first) { candidates.append(.envoy(EnvoyTextFormat(options: options))) }
            candidates.append(.combined(CombinedFormat()))
        }
        var best: AnyFormat?
        var bestScore = 0
        for var candidate in candidates {
            let s = score(&candidate)
            if s > bestScore {
                best = candidate
                bestScore = s
            }
        }
        // A quarter of the sample, or five lines, must parse: one lucky line does not decide, and a
        // file that starts with some junk is still read (its junk lines are counted as rejects).
        return bestScore > 0 && (bestScore * 4 >= lines.count || bestScore >= 5) ? best : nil
    }
}

/// Reads inputs one after another, each on a reader thread feeding the calling thread, which
/// splits, checks, parses and normalises lines and hands events to a sink.
struct IngestEngine {
    let configuration: IngestConfiguration
    var normalizer: EventNormalizer
    var diagnostics = Diagnostics()
    /// Whether the chunk being split is plain ASCII without NULs, so its lines skip the per-line check.
    private var chunkIsClean = false

    init(configuration: IngestConfiguration, fingerprinter: KeyFingerprinter) {
        self.configuration = configuration
        normalizer = EventNormalizer(
            fingerprinter: fingerprinter,
            trustedProxies: configuration.trustedProxies,
            endpointPatterns: configuration.endpointPatterns,
            keyField: configuration.formatOptions.keyField
        )
    }

    mutating func run<S: EventSink>(_ inputs: [InputSource], into sink: inout S) {
        for (index, input) in inputs.enumerated() {
            run(input, index: Int32(index), into: &sink)
        }
    }

    mutating func run<S: EventSink>(_ input: InputSource, index: Int32, into sink: inout S) {
        let pipe = ChunkPipe()
        let done = DispatchSemaphore(value: 0)
        let reader = InputReader(source: input, backend: configuration.inflateBackend)
        startThread(name: "keywatch-read") {
            reader.run(into: pipe)
            done.signal()
        }
        consume(pipe, input: input, index: index, into: &sink)
        done.wait()
    }

    /// Handles control chunks; returns false at the end of the input.
    private mutating func control(_ kind: ChunkKind, splitter: inout LineSplitter, name: String, index: Int32) -> Bool {
        switch kind {
        case .data, .overlongLine: return true
        case .end: return false
        case .warning(let error), .failure(let error):
            diagnostics.errors.append(error)
            return true
        case .discontinuity(let error):
            diagnostics.errors.append(error)
            splitter.cut { line, verdict in
                diagnostics.lines += 1
                if case .rejected(let reason, let bytes) = verdict {
                    diagnostics.reject(reason, file: name, line: line, bytes: bytes)
                }
            }
            return true
        }
    }

    /// Waits for an input's first bytes and picks its format from the first lines.
    ///
    /// Returns the format and the first data chunk (still owned: the caller releases it), or `nil`
    /// when the input ended first or no format fits (then the input is drained and reported).
    /// The forced format, or the one detected from the first lines of `bytes`; `nil` when none fits.
    static func chooseFormat(for bytes: UnsafeRawBufferPointer, configuration: IngestConfiguration) -> AnyFormat? {
        if let forced = configuration.format {
            return try? FormatFactory.make(forced, options: configuration.formatOptions)
        }
        return FormatFactory.detect(IngestEngine.sampleLines(bytes), configuration: configuration)
    }

    /// Starts `input`'s reader thread filling `pipe`, then detects the format from its first chunk
    /// with a throwaway engine (no key is fingerprinted). The chunk-parallel and merged readers
    /// share this start.
    /// - Returns: The detection (as ``detectFormat(_:name:index:splitter:)``), its diagnostics, and a
    ///   closure that waits for the reader thread to end; call it once the pipe is drained.
    static func startReading(
        _ input: InputSource, index: Int32, pipe: ChunkPipe, configuration: IngestConfiguration
    ) -> (detected: (format: AnyFormat, first: UnsafeRawBufferPointer)?, diagnostics: Diagnostics, finish: () -> Void) {
        let done = DispatchSemaphore(value: 0)
        let reader = InputReader(source: input, backend: configuration.inflateBackend)
        startThread(name: "keywatch-read") {
            reader.run(into: pipe)
            done.signal()
        }
        var detector = IngestEngine(configuration: configuration, fingerprinter: KeyFingerprinter(secret: [0]))
        var unused = LineSplitter(maxLineLength: 16)
        defer { unused.deallocate() }
        let detected = detector.detectFormat(pipe, name: input.displayName, index: index, splitter: &unused)
        return (detected, detector.diagnostics, { done.wait() })
    }

    mutating func detectFormat(
        _ pipe: ChunkPipe,
        name: String,
        index: Int32,
        splitter: inout LineSplitter
    ) -> (format: AnyFormat, first: UnsafeRawBufferPointer)? {
        while true {
            let chunk = pipe.next()
            if case .data = chunk.kind, chunk.bytes.count > 0 {
                guard let format = IngestEngine.chooseFormat(for: chunk.bytes, configuration: configuration) else {
                    let first = IngestEngine.sampleLines(chunk.bytes).first ?? ByteView.empty
                    diagnostics.errors.append(
                        .unrecognisedFormat(file: name, firstLine: Redactor.excerpt(first, limit: 120))
                    )
                    pipe.cancel()
                    pipe.release()
                    IngestEngine.drain(pipe)
                    return nil
                }
                diagnostics.formats.append((name, format.name))
                return (format, chunk.bytes)
            }
            let goOn = control(chunk.kind, splitter: &splitter, name: name, index: index)
            pipe.release()
            if !goOn { return nil }
        }
    }

    private mutating func consume<S: EventSink>(_ pipe: ChunkPipe, input: InputSource, index: Int32, into sink: inout S)
    {
        let name = input.displayName
        var splitter = LineSplitter(maxLineLength: configuration.maxLineLength)
        defer { splitter.deallocate() }
        let detected = detectFormat(pipe, name: name, index: index, splitter: &splitter)
        guard let (chosen, firstBytes) = detected else { return }
        let first = (bytes: firstBytes, kind: ChunkKind.data)
        switch chosen {
        case .combined(var f):
            stream(&f, first: first.bytes, pipe: pipe, splitter: &splitter, name: name, index: index, sink: &sink)
        case .nginx(var f):
            stream(&f, first: first.bytes, pipe: pipe, splitter: &splitter, name: name, index: index, sink: &sink)
        case .json(var f):
            stream(&f, first: first.bytes, pipe: pipe, splitter: &splitter, name: name, index: index, sink: &sink)
        case .alb(var f):
            stream(&f, first: first.bytes, pipe: pipe, splitter: &splitter, name: name, index: index, sink: &sink)
        case .envoy(var f):
            stream(&f, first: first.bytes, pipe: pipe, splitter: &splitter, name: name, index: index, sink: &sink)
        }
    }

    static func drain(_ pipe: ChunkPipe) {
        while true {
            let chunk = pipe.next()
            pipe.release()
            if case .end = chunk.kind { return }
        }
    }

    /// The first non-blank lines of a chunk, for format detection.
    static func sampleLines(_ bytes: UnsafeRawBufferPointer, limit: Int = 1000) -> [ByteView] {
        guard let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return [] }
        var lines: [ByteView] = []
        var p = base
        let end = base + bytes.count
        while p < end && lines.count < limit {
            let nl = findNewline(p, end)
            var length = (nl ?? end) - p
            if length > 0 && p[length - 1] == 0x0D { length -= 1 }
            if length > 0 { lines.append(ByteView(base: p, count: min(length, 64 << 10))) }
            guard let nl else { break }
            p = nl + 1
        }
        return lines
    }

    private mutating func stream<F: LogFormat, S: EventSink>(
        _ format: inout F,
        first: UnsafeRawBufferPointer,
        pipe: ChunkPipe,
        splitter: inout LineSplitter,
        name: String,
        index: Int32,
        sink: inout S
    ) {
        var records = RecordBuffer()
        var chunk = first
        var kind = ChunkKind.data
        while true {
            if case .data = kind {
                feed(
                    chunk,
                    format: &format,
                    splitter: &splitter,
                    records: &records,
                    name: name,
                    index: index,
                    sink: &sink
                )
            } else if !control(kind, splitter: &splitter, name: name, index: index) {
                break
            }
            pipe.release()
            (chunk, kind) = pipe.next()
        }
        pipe.release()
        feed(nil, format: &format, splitter: &splitter, records: &records, name: name, index: index, sink: &sink)
    }

    /// Parses one line-aligned chunk on its own (the parallel path): numbering starts at 1 in the chunk.
    mutating func parseAlignedChunk<F: LogFormat, S: EventSink>(
        _ bytes: UnsafeRawBufferPointer,
        format: inout F,
        splitter: inout LineSplitter,
        name: String,
        index: Int32,
        sink: inout S
    ) {
        var records = RecordBuffer()
        splitter.restartNumbering()
        feed(bytes, format: &format, splitter: &splitter, records: &records, name: name, index: index, sink: &sink)
        feed(nil, format: &format, splitter: &splitter, records: &records, name: name, index: index, sink: &sink)
    }

    /// Splits `bytes` into lines and handles each; `nil` ends the input (a last line without newline).
    @inline(__always)
    private mutating func feed<F: LogFormat, S: EventSink>(
        _ bytes: UnsafeRawBufferPointer?,
        format: inout F,
        splitter: inout LineSplitter,
        records: inout RecordBuffer,
        name: String,
        index: Int32,
        sink: inout S
    ) {
        guard let bytes else {
            chunkIsClean = false
            splitter.finish {
                handle($1, lineNumber: $0, format: &format, records: &records, name: name, index: index, sink: &sink)
            }
            return
        }
        diagnostics.bytes += Int64(bytes.count)
        chunkIsClean = LineCheck.isCleanASCII(bytes)
        splitter.feed(bytes) {
            handle($1, lineNumber: $0, format: &format, records: &records, name: name, index: index, sink: &sink)
        }
    }

    @inline(__always)
    private mutating func handle<F: LogFormat, S: EventSink>(
        _ verdict: LineVerdict,
        lineNumber: Int64,
        format: inout F,
        records: inout RecordBuffer,
        name: String,
        index: Int32,
        sink: inout S
    ) {
        diagnostics.lines += 1
        switch verdict {
        case .rejected(let reason, let bytes):
            diagnostics.reject(reason, file: name, line: lineNumber, bytes: bytes)
        case .line(let line, let carried):
            if line.count == 0 { return }
            switch chunkIsClean && !carried ? .ascii : LineCheck.check(line) {
            case .ascii, .utf8: break
            case .invalidUTF8: diagnostics.invalidUTF8 += 1
            case .binary:
                diagnostics.reject(.binary, file: name, line: lineNumber, bytes: line)
                return
            }
            records.removeAll()
            switch format.parse(line, into: &records) {
            case .records(let count):
                let source = SourceRef(input: index, line: lineNumber)
                for i in 0..<count {
                    guard let event = normalizer.normalize(&records.storage[i], source: source) else {
                        diagnostics.reject(.badTimestamp, file: name, line: lineNumber, bytes: line)
                        continue
                    }
                    diagnostics.events += 1
                    if event.key != nil { diagnostics.eventsWithKey += 1 }
                    sink.consume(event, fields: records.storage[i], normalizer: normalizer, inputName: name)
                }
            case .ignored: break
            case .rejected(let reason): diagnostics.reject(reason, file: name, line: lineNumber, bytes: line)
            }
        }
    }
}
