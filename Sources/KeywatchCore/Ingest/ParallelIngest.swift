import Dispatch

/// Receives events from the parallel path, in input order, with run-wide key and endpoint handles.
protocol BatchEventSink {
    mutating func consume(_ event: AccessEvent, tables: borrowing RunTables)
}

/// The run-wide key and endpoint tables that parallel workers' local handles are mapped into.
struct RunTables {
    var keys: [KeyIdentity] = []
    var keyIndex: [String: KeyHandle] = [:]
    var endpoints: [String] = []
    var endpointIndex: [String: EndpointID] = [:]

    mutating func intern(_ identity: KeyIdentity) -> KeyHandle {
        if let handle = keyIndex[identity.id] { return handle }
        let handle = KeyHandle(keys.count)
        keys.append(identity)
        keyIndex[identity.id] = handle
        return handle
    }

    mutating func intern(endpoint: String) -> EndpointID {
        if let id = endpointIndex[endpoint] { return id }
        let id = EndpointID(endpoints.count)
        endpoints.append(endpoint)
        endpointIndex[endpoint] = id
        return id
    }
}

/// What a worker made of one line-aligned chunk: events with the worker's own handles and
/// chunk-relative line numbers, and what the merge needs to map them.
struct ChunkResult {
    var events: [AccessEvent] = []
    var lines: Int64 = 0
    var diagnostics = Diagnostics()
    var newKeys: [KeyIdentity] = []
    var newEndpoints: [String] = []
}

private struct EventCollector: EventSink {
    var events: [AccessEvent] = []
    @inline(__always)
    mutating func consume(_ event: AccessEvent, fields: RawFields, normalizer: EventNormalizer, inputName: String) {
        events.append(event)
    }
}

/// Parses chunks with its own normaliser (its own key and endpoint tables), so two workers never share state.
///
/// Safety (`@unchecked Sendable`): a worker is used by one thread at a time. The background worker
/// is driven by `submit`/`wait`, whose semaphores order every access between the two threads.
final class ChunkWorker: @unchecked Sendable {
    var engine: IngestEngine
    var format: AnyFormat = .combined(CombinedFormat())
    private var splitter: LineSplitter
    private var reportedKeys = 0
    private var reportedEndpoints = 0
    private var job: (bytes: UnsafeRawBufferPointer, name: String, index: Int32)?
    private var result = ChunkResult()
    private let start = DispatchSemaphore(value: 0)
    private let done = DispatchSemaphore(value: 0)
    private var stopping = false

    init(configuration: IngestConfiguration, fingerprinter: KeyFingerprinter) {
        engine = IngestEngine(configuration: configuration, fingerprinter: fingerprinter)
        splitter = LineSplitter(maxLineLength: configuration.maxLineLength)
    }

    deinit { splitter.deallocate() }

    func parse(_ bytes: UnsafeRawBufferPointer, name: String, index: Int32) -> ChunkResult {
        engine.diagnostics = Diagnostics()
        var sink = EventCollector()
        sink.events.reserveCapacity(bytes.count / 100)
        switch format {
        case .combined(var f):
            engine.parseAlignedChunk(bytes, format: &f, splitter: &splitter, name: name, index: index, sink: &sink)
            format = .combined(f)
        case .nginx(var f):
            engine.parseAlignedChunk(bytes, format: &f, splitter: &splitter, name: name, index: index, sink: &sink)
            format = .nginx(f)
        case .json(var f):
            engine.parseAlignedChunk(bytes, format: &f, splitter: &splitter, name: name, index: index, sink: &sink)
            format = .json(f)
        case .alb(var f):
            engine.parseAlignedChunk(bytes, format: &f, splitter: &splitter, name: name, index: index, sink: &sink)
            format = .alb(f)
        case .envoy(var f):
            engine.parseAlignedChunk(bytes, format: &f, splitter: &splitter, name: name, index: index, sink: &sink)
            format = .envoy(f)
        }
        var out = ChunkResult(events: sink.events, lines: splitter.lineNumber, diagnostics: engine.diagnostics)
        let keys = engine.normalizer.keys
        if keys.count > reportedKeys {
            out.newKeys = Array(keys.identities[reportedKeys..<keys.count])
            reportedKeys = keys.count
        }
        let endpoints = engine.normalizer.endpoints
        if endpoints.count > reportedEndpoints {
            out.newEndpoints = (reportedEndpoints..<endpoints.count).map { endpoints.string(Int32($0)) }
            reportedEndpoints = endpoints.count
        }
        return out
    }

    // MARK: Running on a background thread

    func launch() {
        startThread(name: "keywatch-parse") { [self] in
            while true {
                start.wait()
                if stopping {
                    done.signal()
                    return
                }
                let j = job!
                result = parse(j.bytes, name: j.name, index: j.index)
                done.signal()
            }
        }
    }

    func submit(_ bytes: UnsafeRawBufferPointer, name: String, index: Int32) {
        job = (bytes, name, index)
        start.signal()
    }

    func wait() -> ChunkResult {
        done.wait()
        job = nil
        return result
    }

    func shutdown() {
        stopping = true
        start.signal()
        done.wait()
    }
}

/// Reads inputs with two parsing threads: the reader thread cuts line-aligned chunks, the calling
/// thread and a helper parse alternate chunks, and the calling thread merges their results in
/// input order. Used where only events are needed (no raw fields): `parse --output none`, analysis.
struct ParallelIngest {
    let configuration: IngestConfiguration
    private(set) var diagnostics = Diagnostics()
    private(set) var tables = RunTables()
    private let workers: [ChunkWorker]
    private var keyMaps: [[KeyHandle]] = [[], []]
    private var endpointMaps: [[EndpointID]] = [[], []]

    init(configuration: IngestConfiguration, fingerprinter: KeyFingerprinter) {
        self.configuration = configuration
        workers = [
            ChunkWorker(configuration: configuration, fingerprinter: fingerprinter),
            ChunkWorker(configuration: configuration, fingerprinter: fingerprinter),
        ]
    }

    mutating func run<S: BatchEventSink>(_ inputs: [InputSource], into sink: inout S) {
        workers[1].launch()
        defer { workers[1].shutdown() }
        for (index, input) in inputs.enumerated() {
            run(input, index: Int32(index), into: &sink)
        }
    }

    private mutating func run<S: BatchEventSink>(_ input: InputSource, index: Int32, into sink: inout S) {
        let pipe = ChunkPipe(slotCount: 6, alignToLines: true)
        let done = DispatchSemaphore(value: 0)
        let reader = InputReader(source: input, backend: configuration.inflateBackend)
        startThread(name: "keywatch-read") {
            reader.run(into: pipe)
            done.signal()
        }
        defer { done.wait() }
        let name = input.displayName
        var detector = IngestEngine(configuration: configuration, fingerprinter: KeyFingerprinter(secret: [0]))
        var unused = LineSplitter(maxLineLength: 16)
        defer { unused.deallocate() }
        let detected = detector.detectFormat(pipe, name: name, index: index, splitter: &unused)
        diagnostics.merge(detector.diagnostics, lineOffset: 0)
        guard let (format, first) = detected else { return }
        for worker in workers { worker.format = format }
        var lineBase: Int64 = 0
        var held: UnsafeRawBufferPointer? = first
        while true {
            let (bytes, kind) = pipe.next()
            if case .data = kind, bytes.count > 0 {
                guard let firstOfPair = held else {
                    held = bytes
                    continue
                }
                // Two chunks in hand: the helper takes the second while this thread parses the first.
                workers[1].submit(bytes, name: name, index: index)
                let mine = workers[0].parse(firstOfPair, name: name, index: index)
                merge(mine, worker: 0, lineBase: &lineBase, into: &sink)
                let theirs = workers[1].wait()
                merge(theirs, worker: 1, lineBase: &lineBase, into: &sink)
                pipe.release()
                pipe.release()
                held = nil
                continue
            }
            if let firstOfPair = held {
                merge(
                    workers[0].parse(firstOfPair, name: name, index: index),
                    worker: 0,
                    lineBase: &lineBase,
                    into: &sink
                )
                pipe.release()
                held = nil
            }
            pipe.release()
            if diagnostics.recordControl(kind, hadPartialLine: bytes.count > 0, file: name, lineBase: &lineBase) {
                return
            }
        }
    }

    private mutating func merge<S: BatchEventSink>(
        _ result: ChunkResult,
        worker: Int,
        lineBase: inout Int64,
        into sink: inout S
    ) {
        for identity in result.newKeys { keyMaps[worker].append(tables.intern(identity)) }
        for endpoint in result.newEndpoints { endpointMaps[worker].append(tables.intern(endpoint: endpoint)) }
        keyMaps[worker].withUnsafeBufferPointer { keyMap in
            endpointMaps[worker].withUnsafeBufferPointer { endpointMap in
                for var event in result.events {
                    if let key = event.key { event.key = keyMap[Int(key)] }
                    event.endpoint = endpointMap[Int(event.endpoint)]
                    event.source.line += lineBase
                    sink.consume(event, tables: tables)
                }
            }
        }
        diagnostics.merge(result.diagnostics, lineOffset: lineBase)
        lineBase += result.lines
    }
}

struct DiscardBatchSink: BatchEventSink {
    @inline(__always)
    mutating func consume(_ event: AccessEvent, tables: borrowing RunTables) {}
}
