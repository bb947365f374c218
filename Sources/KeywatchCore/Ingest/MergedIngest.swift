import Dispatch

/// Groups inputs into streams, one per gateway node's log: the files of a rotated set
/// (`access.log-20261026.gz`, …, `access.log`) in one directory form one stream, read oldest first.
public enum StreamGrouping {
    /// The stream a path belongs to: its directory and its name without rotation suffixes.
    public static func streamKey(_ path: String) -> String {
        let slash = path.lastIndex(of: "/").map { path.index(after: $0) } ?? path.startIndex
        let directory = String(path[..<slash])
        var name = String(path[slash...])
        // Peel rotation decorations off the end, in any order: ".gz", ".3", "-20261026", ".json".
        var peeled = true
        while peeled {
            peeled = false
            if name.hasSuffix(".gz") {
                name.removeLast(3)
                peeled = true
                continue
            }
            guard let cut = name.lastIndex(where: { $0 == "-" || $0 == "." || $0 == "_" }), cut > name.startIndex else {
                break
            }
            let suffix = name[name.index(after: cut)...]
            let isNumber = !suffix.isEmpty && suffix.allSatisfy(\.isNumber) && (name[cut] == "." || suffix.count >= 6)
            let isDate = suffix.filter(\.isNumber).count >= 6 && suffix.allSatisfy { $0.isNumber || $0 == "-" }
            let isExtension = name[cut] == "." && (1...5).contains(suffix.count) && suffix.allSatisfy(\.isLetter)
            if isNumber || isDate || isExtension {
                name = String(name[..<cut])
                peeled = true
            }
        }
        return directory + name
    }

    /// Input indices grouped into streams, each oldest first; streams in order of first appearance.
    public static func streams(_ inputs: [InputSource]) -> [[Int]] {
        var order: [String] = []
        var groups: [String: [Int]] = [:]
        for (index, input) in inputs.enumerated() {
            let key = input.path == "-" ? "-" : streamKey(input.path)
            if groups[key] == nil { order.append(key) }
            groups[key, default: []].append(index)
        }
        return order.map { key in
            let members = groups[key]!
            let sorted = InputExpansion.sortRotated(members.map { inputs[$0].path })
            var remaining = members
            return sorted.map { path in
                let at = remaining.firstIndex { inputs[$0].path == path }!
                return remaining.remove(at: at)
            }
        }
    }
}

/// A bounded single-producer single-consumer queue of values.
///
/// Safety (`@unchecked Sendable`): slot `i` is written only by the producer between `space.wait()`
/// and `items.signal()`, and read only by the consumer between `items.wait()` and `space.signal()`;
/// the semaphores order those accesses, and each index is used by one side only.
///
/// The slots are plain memory allocated once, not an array: writing an element of an array
/// property checks and may copy the whole buffer, so the two sides writing different elements
/// still raced on the buffer itself (a debug build crashed in `pop` under load).
final class HandOff<Value>: @unchecked Sendable {
    private let slots: UnsafeMutablePointer<Value?>
    private let capacity: Int
    private let space: DispatchSemaphore
    private let items = DispatchSemaphore(value: 0)
    private var writeIndex = 0
    private var readIndex = 0

    init(capacity: Int) {
        self.capacity = capacity
        slots = .allocate(capacity: capacity)
        slots.initialize(repeating: nil, count: capacity)
        space = DispatchSemaphore(value: capacity)
    }

    deinit {
        slots.deinitialize(count: capacity)
        slots.deallocate()
    }

    func push(_ value: Value) {
        space.wait()
        slots[writeIndex] = value
        writeIndex = (writeIndex + 1) % capacity
        items.signal()
    }

    func pop() -> Value {
        items.wait()
        let value = slots[readIndex]!
        slots[readIndex] = nil
        readIndex = (readIndex + 1) % capacity
        space.signal()
        return value
    }
}

/// Reads one stream's inputs in order on its own thread, parsing line-aligned chunks into event
/// batches with input line numbers. With a helper, the two threads each take the next chunk
/// whenever they are free (``ChunkDispenser``, as ``ParallelIngest`` does), and this thread sends
/// the batches on in input order.
final class StreamReader: @unchecked Sendable {
    // Safety: `worker`, `helper` and `configuration` are used only by this reader's thread once
    // started (the helper's own thread is ordered by its `submit`/`wait`); results travel to the
    // merger through `output`, and emptied event arrays come back through `buffers`.
    enum Item {
        /// Events with the handles of the worker that parsed them (0: `worker`, 1: `helper`).
        case batch(ChunkResult, worker: Int)
        case end
    }

    let inputs: [(index: Int32, source: InputSource)]
    let configuration: IngestConfiguration
    let worker: ChunkWorker
    let helper: ChunkWorker?
    let output = HandOff<Item>(capacity: 4)
    /// Event arrays the merger is done with, for the workers to fill again.
    let buffers = EventBufferPool()
    /// Chunks in flight between the reader, the two workers and this thread.
    private static let helpedSlots = 6

    init(
        inputs: [(index: Int32, source: InputSource)],
        configuration: IngestConfiguration,
        fingerprinter: KeyFingerprinter,
        helped: Bool = false
    ) {
        self.inputs = inputs
        self.configuration = configuration
        worker = ChunkWorker(configuration: configuration, fingerprinter: fingerprinter, id: 0)
        helper = helped ? ChunkWorker(configuration: configuration, fingerprinter: fingerprinter, id: 1) : nil
        worker.buffers = buffers
        helper?.buffers = buffers
    }

    func start() {
        startThread(name: "keywatch-stream") { [self] in
            helper?.launch()
            for (index, source) in inputs { read(source, index: index) }
            helper?.shutdown()
            output.push(.end)
        }
    }

    /// Sends one parsed chunk on, its line numbers made input-relative. The chunk is taken, not
    /// borrowed: a shared event array would be copied whole (hundreds of KiB) by the first change.
    private func deliver(_ result: consuming ChunkResult, worker: Int, lineBase: inout Int64) {
        for i in result.events.indices { result.events[i].source.line += lineBase }
        result.diagnostics.shiftSampleLines(by: lineBase)
        lineBase += result.lines
        output.push(.batch(result, worker: worker))
    }

    /// Records a control chunk (end, truncation, read error) and sends its diagnostics on.
    /// - Returns: Whether the input ended.
    private func deliverControl(_ kind: ChunkKind, hadPartialLine: Bool, name: String, lineBase: inout Int64) -> Bool {
        var result = ChunkResult()
        let ended = result.diagnostics.recordControl(
            kind, hadPartialLine: hadPartialLine, file: name, lineBase: &lineBase)
        output.push(.batch(result, worker: 0))
        return ended
    }

    private func read(_ input: InputSource, index: Int32) {
        let pipe = ChunkPipe(slotCount: helper == nil ? 4 : Self.helpedSlots, alignToLines: true)
        let (detected, detection, finish) = IngestEngine.startReading(
            input, index: index, pipe: pipe, configuration: configuration)
        defer { finish() }
        let name = input.displayName
        var setup = ChunkResult()
        setup.diagnostics = detection
        output.push(.batch(setup, worker: 0))
        guard let (format, first) = detected else { return }
        worker.format = format
        helper?.format = format
        var lineBase: Int64 = 0
        if let helper {
            readHelped(pipe: pipe, first: first, helper: helper, name: name, index: index, lineBase: &lineBase)
            return
        }
        var chunk = (bytes: first, kind: ChunkKind.data)
        while true {
            if case .data = chunk.kind, chunk.bytes.count > 0 {
                let result = worker.parse(chunk.bytes, name: name, index: index)
                pipe.release()
                deliver(result, worker: 0, lineBase: &lineBase)
            } else {
                pipe.release()
                if deliverControl(chunk.kind, hadPartialLine: chunk.bytes.count > 0, name: name, lineBase: &lineBase) {
                    return
                }
            }
            chunk = pipe.next()
        }
    }

    /// Both workers parse whichever chunk comes next; this thread sends the outcomes on in input
    /// order, and parses itself whenever the next outcome is not ready yet.
    private func readHelped(
        pipe: ChunkPipe,
        first: UnsafeRawBufferPointer,
        helper: ChunkWorker,
        name: String,
        index: Int32,
        lineBase: inout Int64
    ) {
        let dispenser = ChunkDispenser(pipe: pipe, first: first, limit: Self.helpedSlots)
        dispenser.run(worker: worker, helper: helper, name: name, index: index) { outcome in
            switch consume outcome {
            case .parsed(let result, let parsedBy):
                deliver(result, worker: parsedBy, lineBase: &lineBase)
                return false
            case .control(let kind, let hadPartialLine):
                return deliverControl(kind, hadPartialLine: hadPartialLine, name: name, lineBase: &lineBase)
            }
        }
    }
}

/// Reads many inputs from several gateway nodes in event-time order: one ``StreamReader`` per node
/// (rotated set), a merge of their batches by event time, and a reorder window that sorts small
/// disorder (lines logged at completion, clocks a little apart).
///
/// Events later than the window are still delivered, in the order they arrive.
struct MergedIngest {
    let configuration: IngestConfiguration
    let fingerprinter: KeyFingerprinter
    /// How far back in event time a late event is still put in its place, in milliseconds.
    let reorderWindowMillis: Int64
    private(set) var diagnostics = Diagnostics()
    private(set) var tables = RunTables()

    init(configuration: IngestConfiguration, fingerprinter: KeyFingerprinter, reorderWindowMillis: Int64 = 5_000) {
        self.configuration = configuration
        self.fingerprinter = fingerprinter
        self.reorderWindowMillis = reorderWindowMillis
    }

    /// How many events ahead of the one consumed the sink is told to prefetch.
    static let prefetchDistance = 12

    private struct Head {
        var batch: ChunkResult
        var position: Int
        var ended: Bool
    }

    mutating func run<S: BatchEventSink>(_ inputs: [InputSource], into sink: inout S) {
        let groups = StreamGrouping.streams(inputs)
        // Every stream's parsing threads share the ids they compute: a key is fingerprinted once per run.
        let fingerprinter = fingerprinter.sharingIDs()
        // One node's logs would parse on one thread while the detection waits: give it a helper.
        let streams = groups.map { members in
            StreamReader(
                inputs: members.map { (Int32($0), inputs[$0]) },
                configuration: configuration,
                fingerprinter: fingerprinter,
                helped: groups.count == 1
            )
        }
        for stream in streams { stream.start() }
        // Handle maps by stream and worker: each worker numbers keys and endpoints on its own.
        var keyMaps = Array(repeating: [[KeyHandle]](repeating: [], count: 2), count: streams.count)
        var endpointMaps = Array(repeating: [[EndpointID]](repeating: [], count: 2), count: streams.count)
        var heads = Array(
            repeating: Head(batch: ChunkResult(), position: 0, ended: false), count: streams.count)
        var window = ReorderWindow()
        var sequence: UInt64 = 0

        // Brings stream `s` to a batch with an event to offer, or to its end.
        func advance(_ s: Int) {
            while !heads[s].ended && heads[s].position >= heads[s].batch.events.count {
                switch streams[s].output.pop() {
                case .end: heads[s].ended = true
                case .batch(var batch, let w):
                    streams[s].buffers.give(&heads[s].batch.events)
                    for identity in batch.newKeys { keyMaps[s][w].append(tables.intern(identity)) }
                    for endpoint in batch.newEndpoints { endpointMaps[s][w].append(tables.intern(endpoint: endpoint)) }
                    diagnostics.merge(batch.diagnostics)
                    // The worker's handles become the run's in one pass over the batch, not one
                    // event at a time in the merge loop below.
                    keyMaps[s][w].withUnsafeBufferPointer { keyMap in
                        endpointMaps[s][w].withUnsafeBufferPointer { endpointMap in
                            batch.events.withUnsafeMutableBufferPointer { events in
                                for i in events.indices {
                                    if let key = events[i].key { events[i].key = keyMap[Int(key)] }
                                    events[i].endpoint = endpointMap[Int(events[i].endpoint)]
                                }
                            }
                        }
                    }
                    heads[s] = Head(batch: batch, position: 0, ended: false)
                }
            }
        }
        for s in streams.indices { advance(s) }
        while true {
            // The stream whose next event is earliest (few streams: a scan beats a heap).
            var best = -1
            var bestTime = Int64.max
            for s in heads.indices where !heads[s].ended {
                let time = heads[s].batch.events[heads[s].position].time
                if time < bestTime {
                    best = s
                    bestTime = time
                }
            }
            if best < 0 { break }
            let event = heads[best].batch.events[heads[best].position]
            heads[best].position += 1
            if event.time < window.released { diagnostics.lateEvents += 1 }
            window.push(event, sequence: sequence)
            sequence += 1
            while let ready = window.popReady(before: window.newest - reorderWindowMillis) {
                // Events waiting behind this one: their keys' state is fetched into cache now, so
                // it is there when they are consumed (first the key, then the tables it points to).
                sink.prefetch(
                    far: window.upcomingKey(Self.prefetchDistance), near: window.upcomingKey(Self.prefetchDistance / 2))
                sink.consume(ready, tables: tables)
            }
            // Only at a batch's end: a call to `advance` checks exclusive access to the captured
            // state at run time, which cost more per event than the merge itself.
            if heads[best].position >= heads[best].batch.events.count { advance(best) }
        }
        while let rest = window.popReady(before: Int64.max) { sink.consume(rest, tables: tables) }
    }
}

/// Puts events back in (time, arrival) order within the last few seconds of event time.
///
/// Most events arrive in order, so they wait in a first-in, first-out queue at no sorting cost;
/// only an event older than the queue's newest goes into a min-heap. Release takes the earlier of
/// the two fronts. Noncopyable: the queue's ring is memory of its own, which a copy would share.
struct ReorderWindow: ~Copyable {
    private struct Entry {
        var sequence: UInt64
        var event: AccessEvent
        @inline(__always) func precedes(_ other: Entry) -> Bool {
            event.time != other.event.time ? event.time < other.event.time : sequence < other.sequence
        }
    }

    /// In-order arrivals, non-decreasing in time: `queueCount` entries in a ring from `queueHead`.
    private let queue = EntryRing()
    private var queueHead = 0
    private var queueCount = 0
    /// Late arrivals.
    private var heap: [Entry] = []
    /// The newest event time pushed so far.
    private(set) var newest = Int64.min
    /// The latest event time released so far: an event before it arrives too late to be put in place.
    private(set) var released = Int64.min

    /// The ring's memory: plain slots that grow by doubling, so an event goes in and out without
    /// the uniqueness checks and the occasional shift of an array used as a queue.
    private final class EntryRing {
        var slots: UnsafeMutablePointer<Entry>
        var capacity: Int
        init() {
            capacity = 1_024
            slots = .allocate(capacity: capacity)
        }
        deinit { slots.deallocate() }  // Entry is a trivial value: nothing to deinitialise.

        /// Doubles the ring, moving its `count` entries from `head` to the start.
        func grow(head: Int, count: Int) {
            let bigger = UnsafeMutablePointer<Entry>.allocate(capacity: capacity * 2)
            let first = min(count, capacity - head)
            bigger.moveInitialize(from: slots + head, count: first)
            (bigger + first).moveInitialize(from: slots, count: count - first)
            slots.deallocate()
            slots = bigger
            capacity *= 2
        }
    }

    /// Events waiting.
    var count: Int { queueCount + heap.count }

    /// The key of the in-order event `offset` places behind the next one, if that many wait (late
    /// events in the heap are not counted): what will be consumed soon, to prefetch.
    func upcomingKey(_ offset: Int) -> KeyHandle? {
        offset < queueCount ? queue.slots[(queueHead + offset) & (queue.capacity - 1)].event.key : nil
    }

    mutating func push(_ event: AccessEvent, sequence: UInt64) {
        newest = max(newest, event.time)
        let entry = Entry(sequence: sequence, event: event)
        let mask = queue.capacity - 1
        if queueCount == 0 || queue.slots[(queueHead + queueCount - 1) & mask].event.time <= event.time {
            if queueCount == queue.capacity {
                queue.grow(head: queueHead, count: queueCount)
                queueHead = 0
            }
            (queue.slots + ((queueHead + queueCount) & (queue.capacity - 1))).initialize(to: entry)
            queueCount += 1
            return
        }
        heap.append(entry)
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            if !heap[child].precedes(heap[parent]) { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    /// The earliest event if its time is before `limit` (`Int64.max` releases everything).
    mutating func popReady(before limit: Int64) -> AccessEvent? {
        let fromQueue: Bool
        if queueCount > 0 {
            fromQueue = heap.isEmpty || queue.slots[queueHead].precedes(heap[0])
        } else if !heap.isEmpty {
            fromQueue = false
        } else {
            return nil
        }
        let time = fromQueue ? queue.slots[queueHead].event.time : heap[0].event.time
        guard time < limit || limit == Int64.max else { return nil }
        released = max(released, time)
        if fromQueue {
            let event = queue.slots[queueHead].event
            queueHead = (queueHead + 1) & (queue.capacity - 1)
            queueCount -= 1
            return event
        }
        return popHeap().event
    }

    private mutating func popHeap() -> Entry {
        let top = heap[0]
        let last = heap.removeLast()
        if !heap.isEmpty {
            heap[0] = last
            var parent = 0
            while true {
                let left = 2 * parent + 1
                let right = left + 1
                var smallest = parent
                if left < heap.count && heap[left].precedes(heap[smallest]) { smallest = left }
                if right < heap.count && heap[right].precedes(heap[smallest]) { smallest = right }
                if smallest == parent { break }
                heap.swapAt(parent, smallest)
                parent = smallest
            }
        }
        return top
    }
}

extension Diagnostics {
    /// Adds `offset` to the line numbers of the samples (chunk-relative to input-relative).
    mutating func shiftSampleLines(by offset: Int64) {
        for i in samples.indices { samples[i].line += offset }
    }

    /// Records what a control chunk of a line-aligned pipe says; returns true at the input's end.
    mutating func recordControl(_ kind: ChunkKind, hadPartialLine: Bool, file: String, lineBase: inout Int64) -> Bool {
        switch kind {
        case .data: return false
        case .end: return true
        case .overlongLine:
            lineBase += 1
            lines += 1
            reject(.lineTooLong, file: file, line: lineBase, bytes: nil)
        case .discontinuity(let error):
            errors.append(error)
            if hadPartialLine {
                lineBase += 1
                lines += 1
                reject(.truncated, file: file, line: lineBase, bytes: nil)
            }
        case .warning(let error), .failure(let error):
            errors.append(error)
        }
        return false
    }
}
