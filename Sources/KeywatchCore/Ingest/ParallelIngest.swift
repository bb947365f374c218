import Dispatch

/// Receives events from the parallel path, in input order, with run-wide key and endpoint handles.
protocol BatchEventSink {
    mutating func consume(_ event: AccessEvent, tables: borrowing RunTables)
    /// A hint about the keys of the events ``MergedIngest/prefetchDistance`` (`far`) and half as
    /// many (`near`) places behind the next one consumed.
    func prefetch(far: KeyHandle?, near: KeyHandle?)
}

extension BatchEventSink {
    func prefetch(far: KeyHandle?, near: KeyHandle?) {}
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
/// is driven by `submit`/`wait`, whose semaphores order every access between the two threads; in
/// between, only the background thread touches it.
final class ChunkWorker: @unchecked Sendable {
    var engine: IngestEngine
    var format: AnyFormat = .combined(CombinedFormat())
    private var splitter: LineSplitter
    private var reportedKeys = 0
    private var reportedEndpoints = 0
    /// Which of the run's workers this is, for mapping its handles.
    let id: Int
    /// Event arrays already merged, to fill again instead of allocating (and faulting in) new ones.
    var buffers: EventBufferPool?
    private var job: (() -> Void)?
    private let start = DispatchSemaphore(value: 0)
    private let done = DispatchSemaphore(value: 0)
    private var stopping = false

    init(configuration: IngestConfiguration, fingerprinter: KeyFingerprinter, id: Int = 0) {
        self.id = id
        engine = IngestEngine(configuration: configuration, fingerprinter: fingerprinter)
        splitter = LineSplitter(maxLineLength: configuration.maxLineLength)
    }

    deinit { splitter.deallocate() }

    func parse(_ bytes: UnsafeRawBufferPointer, name: String, index: Int32) -> ChunkResult {
        engine.diagnostics = Diagnostics()
        var sink = EventCollector()
        sink.events = buffers?.take() ?? []
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

    /// What this worker makes of a chunk taken from a ``ChunkDispenser``: its parse, or the control
    /// chunk as it came.
    func outcome(for item: ChunkDispenser.Item, name: String, index: Int32) -> ChunkDispenser.Outcome {
        switch item.content {
        case .data(let bytes): .parsed(parse(bytes, name: name, index: index), worker: id)
        case .control(let kind, let hadPartialLine): .control(kind, hadPartialLine: hadPartialLine)
        }
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
                job?()
                done.signal()
            }
        }
    }

    /// Runs `body` on the background thread; ``wait()`` waits for it to return.
    func submit(_ body: @escaping () -> Void) {
        job = body
        start.signal()
    }

    func wait() {
        done.wait()
        job = nil
    }

    func shutdown() {
        stopping = true
        start.signal()
        done.wait()
    }
}

/// Event arrays handed back by the merge for the workers to fill again: a chunk's events take
/// about half a MiB, and a fresh allocation of that size costs page faults every time.
///
/// Safety (`@unchecked Sendable`): `spare` is touched only while holding `lock`.
final class EventBufferPool: @unchecked Sendable {
    private let lock = DispatchSemaphore(value: 1)
    private var spare: [[AccessEvent]] = []

    /// An empty array with room, or an empty one without when none is spare.
    func take() -> [AccessEvent] {
        lock.wait()
        defer { lock.signal() }
        return spare.popLast() ?? []
    }

    /// Empties `events` into the pool, keeping its memory; a few arrays are kept at most.
    func give(_ events: inout [AccessEvent]) {
        var buffer: [AccessEvent] = []
        swap(&buffer, &events)
        // Batches without events (set-up, control) have no memory worth keeping.
        guard buffer.capacity > 0 else { return }
        buffer.removeAll(keepingCapacity: true)
        lock.wait()
        defer { lock.signal() }
        if spare.count < 8 { spare.append(buffer) }
    }
}

/// Hands an input's chunks, in input order, to whichever parsing thread asks first, and carries
/// each one's outcome back to the thread that merges them in order.
///
/// At most `limit` chunks (the pipe's slot count) are out of the pipe and not yet released, so a
/// taker's `pipe.next()` always leaves the reader a slot to fill and never waits forever. The
/// merging thread releases chunks, and so must never wait for a credit itself: it only tries.
///
/// Safety (`@unchecked Sendable`): `nextSequence`, `ended` and `first` are touched only while
/// holding `lock`, which also serialises the takers' calls to `pipe.next()`. An outcome slot is
/// written by the one thread that took its sequence number, before it signals that slot's
/// semaphore, and read by the merging thread after waiting on it; a slot is reused only after
/// its chunk was merged and released, which frees the credit its next user needs.
final class ChunkDispenser: @unchecked Sendable {
    /// A chunk taken from the pipe, numbered in input order.
    struct Item {
        enum Content {
            case data(UnsafeRawBufferPointer)
            case control(ChunkKind, hadPartialLine: Bool)
        }
        let sequence: Int
        let content: Content
    }

    /// What became of an item.
    enum Outcome {
        case parsed(ChunkResult, worker: Int)
        case control(ChunkKind, hadPartialLine: Bool)
    }

    private let pipe: ChunkPipe
    private let limit: Int
    private let lock = DispatchSemaphore(value: 1)
    private let credits: DispatchSemaphore
    private var first: UnsafeRawBufferPointer?
    private var nextSequence = 0
    private var ended = false
    private let outcomes: UnsafeMutablePointer<Outcome?>
    private let ready: [DispatchSemaphore]

    /// - Parameters:
    ///   - pipe: The input's pipe, in line-aligned mode.
    ///   - first: The first data chunk, already taken from the pipe (format detection read it).
    ///   - limit: The pipe's slot count.
    init(pipe: ChunkPipe, first: UnsafeRawBufferPointer, limit: Int) {
        self.pipe = pipe
        self.first = first
        self.limit = limit
        credits = DispatchSemaphore(value: limit - 1)  // one is the first chunk's
        outcomes = .allocate(capacity: limit)
        outcomes.initialize(repeating: nil, count: limit)
        ready = (0..<limit).map { _ in DispatchSemaphore(value: 0) }
    }

    deinit {
        outcomes.deinitialize(count: limit)
        outcomes.deallocate()
    }

    /// The next chunk in input order, or `nil` after the input's end. With `waiting` false (the
    /// merging thread) it also returns `nil` rather than wait for a credit or for another taker.
    func take(waiting: Bool) -> Item? {
        if waiting {
            credits.wait()
            lock.wait()
        } else {
            guard credits.wait(timeout: .now()) == .success else { return nil }
            guard lock.wait(timeout: .now()) == .success else {
                credits.signal()
                return nil
            }
        }
        defer { lock.signal() }
        if ended {
            credits.signal()
            return nil
        }
        let sequence = nextSequence
        nextSequence += 1
        if let bytes = first {
            first = nil
            return Item(sequence: sequence, content: .data(bytes))
        }
        let (bytes, kind) = pipe.next()
        if case .data = kind, bytes.count > 0 { return Item(sequence: sequence, content: .data(bytes)) }
        if case .end = kind { ended = true }
        return Item(sequence: sequence, content: .control(kind, hadPartialLine: bytes.count > 0))
    }

    /// Hands `outcome` of item `sequence` to the merging thread.
    func deliver(_ outcome: Outcome, for sequence: Int) {
        outcomes[sequence % limit] = outcome
        ready[sequence % limit].signal()
    }

    /// The outcome of item `sequence` (the next to merge), waiting for it when `waiting`.
    func outcome(of sequence: Int, waiting: Bool) -> Outcome? {
        let slot = sequence % limit
        if waiting {
            ready[slot].wait()
        } else if ready[slot].wait(timeout: .now()) == .timedOut {
            return nil
        }
        defer { outcomes[slot] = nil }
        return outcomes[slot]
    }

    /// Returns item `sequence`'s chunk to the pipe, after it was merged; items are merged in order.
    func release() {
        pipe.release()
        credits.signal()
    }

    /// Parses the input on two threads and hands every outcome, in input order, to `handle` on the
    /// calling thread: `helper`'s thread takes the next chunk whenever it is free; the calling thread
    /// takes outcomes that are ready, parses with `worker` while the next one is not, and waits
    /// only when there is nothing to parse. Each chunk goes back to the pipe before its outcome is
    /// handled (an outcome holds copies, never the chunk's bytes).
    /// - Parameter handle: Takes the outcome (owned, so its event array can be changed in place);
    ///   returns `true` once the input has ended (its end control outcome).
    func run(
        worker: ChunkWorker, helper: ChunkWorker, name: String, index: Int32, _ handle: (consuming Outcome) -> Bool
    ) {
        helper.submit { [self] in
            while let item = take(waiting: true) {
                deliver(helper.outcome(for: item, name: name, index: index), for: item.sequence)
            }
        }
        defer { helper.wait() }
        var next = 0
        while true {
            var outcome = outcome(of: next, waiting: false)
            if outcome == nil, let item = take(waiting: false) {
                deliver(worker.outcome(for: item, name: name, index: index), for: item.sequence)
                continue
            }
            if outcome == nil { outcome = self.outcome(of: next, waiting: true) }
            next += 1
            release()
            if handle(outcome.take()!) { return }
        }
    }
}

/// Reads inputs with two parsing threads: the reader thread cuts line-aligned chunks, the calling
/// thread and a helper each take the next chunk whenever they are free (``ChunkDispenser``), and
/// the calling thread merges their results in input order. Used where only events are needed (no
/// raw fields): `parse --output none`, analysis.
struct ParallelIngest {
    let configuration: IngestConfiguration
    private(set) var diagnostics = Diagnostics()
    private(set) var tables = RunTables()
    private let workers: [ChunkWorker]
    private var keyMaps: [[KeyHandle]] = [[], []]
    private var endpointMaps: [[EndpointID]] = [[], []]
    private static let slotCount = 6
    private let buffers = EventBufferPool()

    init(configuration: IngestConfiguration, fingerprinter: KeyFingerprinter) {
        self.configuration = configuration
        // Both workers meet every key: the first to meet one computes its id for both.
        let shared = fingerprinter.sharingIDs()
        workers = [
            ChunkWorker(configuration: configuration, fingerprinter: shared, id: 0),
            ChunkWorker(configuration: configuration, fingerprinter: shared, id: 1),
        ]
        for worker in workers { worker.buffers = buffers }
    }

    mutating func run<S: BatchEventSink>(_ inputs: [InputSource], into sink: inout S) {
        workers[1].launch()
        defer { workers[1].shutdown() }
        for (index, input) in inputs.enumerated() {
            run(input, index: Int32(index), into: &sink)
        }
    }

    private mutating func run<S: BatchEventSink>(_ input: InputSource, index: Int32, into sink: inout S) {
        let pipe = ChunkPipe(slotCount: ParallelIngest.slotCount, alignToLines: true)
        let (detected, detection, finish) = IngestEngine.startReading(
            input, index: index, pipe: pipe, configuration: configuration)
        defer { finish() }
        let name = input.displayName
        diagnostics.merge(detection, lineOffset: 0)
        guard let (format, first) = detected else { return }
        for worker in workers { worker.format = format }
        let dispenser = ChunkDispenser(pipe: pipe, first: first, limit: ParallelIngest.slotCount)
        var lineBase: Int64 = 0
        dispenser.run(worker: workers[0], helper: workers[1], name: name, index: index) { outcome in
            switch consume outcome {
            case .parsed(var result, let worker):
                merge(result, worker: worker, lineBase: &lineBase, into: &sink)
                buffers.give(&result.events)
                return false
            case .control(let kind, let hadPartialLine):
                return diagnostics.recordControl(kind, hadPartialLine: hadPartialLine, file: name, lineBase: &lineBase)
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
