import Dispatch

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What a chunk handed from the reader thread to the parser carries.
enum ChunkKind: Sendable {
    /// Decompressed bytes.
    case data
    /// The bytes before this point ended abruptly (corrupt or truncated gzip): a partial line must be dropped.
    case discontinuity(IngestError)
    /// A problem that does not cut the data (trailing garbage).
    case warning(IngestError)
    /// The input could not be read at all, or ended with a read error.
    case failure(IngestError)
    /// The input ended.
    case end
    /// Line-aligned mode only: a line longer than a whole chunk was dropped here.
    case overlongLine
}

/// A bounded single-producer, single-consumer hand-off of fixed-size buffers between the reader
/// (read + inflate) thread and the parsing thread, so the two overlap on two cores.
///
/// Safety (`@unchecked Sendable`): a slot is touched only by the side that currently owns it.
/// The producer owns a slot from `empty.wait()` until `full.signal()`, the consumer from
/// `full.wait()` until `empty.signal()`; the semaphores order every access, and `writeIndex` /
/// `readIndex` are each used by one side only. The consumer side may be two threads when their
/// `next()` calls are serialised (``ChunkDispenser`` holds a lock around them) and one thread
/// releases, in order: `next()` touches only `takeIndex` and `release()` only `readIndex`.
final class ChunkPipe: @unchecked Sendable {
    struct Slot {
        var buffer: UnsafeMutableRawBufferPointer
        var length = 0
        var kind = ChunkKind.data
    }

    let chunkSize: Int
    /// Plain memory allocated once, not an array: the producer writes one slot while the consumer
    /// reads another, and an array property would check (and could copy) its whole buffer on the
    /// producer's write, racing with the consumer's read.
    private let slots: UnsafeMutablePointer<Slot>
    private let slotCount: Int
    private let empty: DispatchSemaphore
    private let full = DispatchSemaphore(value: 0)
    private var writeIndex = 0
    private var takeIndex = 0
    private var readIndex = 0
    /// Set by the consumer to ask the producer to stop early.
    private let cancelFlag = UnsafeMutablePointer<Int>.allocate(capacity: 1)

    /// When set, every data chunk ends at a line end: the bytes after the last newline move to the next chunk.
    let alignToLines: Bool
    private var carry: UnsafeMutableRawBufferPointer
    private var carryLength = 0
    private var discardingLine = false
    private var holding = false

    init(slotCount: Int = 4, chunkSize: Int = 1 << 20, alignToLines: Bool = false) {
        self.chunkSize = chunkSize
        self.alignToLines = alignToLines
        carry = .allocate(byteCount: alignToLines ? chunkSize : 1, alignment: 16)
        self.slotCount = slotCount
        slots = .allocate(capacity: slotCount)
        for i in 0..<slotCount {
            (slots + i).initialize(to: Slot(buffer: .allocate(byteCount: chunkSize, alignment: 16)))
        }
        empty = DispatchSemaphore(value: slotCount)
        cancelFlag.initialize(to: 0)
    }

    deinit {
        carry.deallocate()
        for i in 0..<slotCount { slots[i].buffer.deallocate() }
        slots.deinitialize(count: slotCount)
        slots.deallocate()
        cancelFlag.deallocate()
    }

    // MARK: Producer side

    /// Waits for a free buffer and returns it for filling.
    func acquire() -> UnsafeMutableRawBufferPointer {
        if holding {
            holding = false
        } else {
            empty.wait()
        }
        let buffer = slots[writeIndex].buffer
        guard alignToLines && carryLength > 0 else { return buffer }
        // Start the chunk with the partial line left over from the previous one.
        buffer.baseAddress!.copyMemory(from: carry.baseAddress!, byteCount: carryLength)
        return UnsafeMutableRawBufferPointer(rebasing: buffer[carryLength...])
    }

    /// Publishes the buffer last acquired.
    func publish(length: Int, kind: ChunkKind) {
        guard alignToLines else {
            send(length: length, kind: kind)
            return
        }
        let buffer = slots[writeIndex].buffer
        var total = carryLength + length
        carryLength = 0
        switch kind {
        case .data:
            var start = 0
            if discardingLine {
                // Drop the rest of an overlong line, up to its newline.
                guard let nl = memchr(buffer.baseAddress!, 0x0A, total) else {
                    holding = true
                    return
                }
                start = buffer.baseAddress!.distance(to: nl) + 1
                discardingLine = false
                if start < total {
                    buffer.baseAddress!.copyMemory(from: buffer.baseAddress! + start, byteCount: total - start)
                }
                total -= start
            }
            guard let last = lastNewline(buffer.baseAddress!, total) else {
                if total == buffer.count {
                    discardingLine = true
                    send(length: 0, kind: .overlongLine)
                } else {
                    // Keep the partial line for the next chunk.
                    carry.baseAddress!.copyMemory(from: buffer.baseAddress!, byteCount: total)
                    carryLength = total
                    holding = true
                }
                return
            }
            let cut = buffer.baseAddress!.distance(to: last) + 1
            carryLength = total - cut
            if carryLength > 0 {
                carry.baseAddress!.copyMemory(from: buffer.baseAddress! + cut, byteCount: carryLength)
            }
            send(length: cut, kind: .data)
        case .end:
            if total > 0 && !discardingLine {
                // The last line has no newline: send it, then the end.
                send(length: total, kind: .data)
                empty.wait()
            }
            discardingLine = false
            send(length: 0, kind: .end)
        case .discontinuity:
            // A partial line before the damage is lost; the consumer counts it as truncated.
            discardingLine = false
            send(length: total > 0 ? 1 : 0, kind: kind)
        default:
            if total > 0 {
                carry.baseAddress!.copyMemory(from: buffer.baseAddress!, byteCount: total)
                carryLength = total
            }
            send(length: 0, kind: kind)
        }
    }

    private func lastNewline(_ base: UnsafeMutableRawPointer, _ count: Int) -> UnsafeMutableRawPointer? {
        let bytes = base.assumingMemoryBound(to: UInt8.self)
        var i = count - 1
        while i >= 0 {
            if bytes[i] == 0x0A { return base + i }
            i -= 1
        }
        return nil
    }

    private func send(length: Int, kind: ChunkKind) {
        slots[writeIndex].length = length
        slots[writeIndex].kind = kind
        writeIndex = (writeIndex + 1) % slotCount
        full.signal()
    }

    /// Whether the consumer asked to stop.
    var isCancelled: Bool { cancelFlag.pointee != 0 }

    // MARK: Consumer side

    /// Waits for the next published chunk. The consumer may hold several before releasing them, in order.
    func next() -> (bytes: UnsafeRawBufferPointer, kind: ChunkKind) {
        full.wait()
        let slot = slots[takeIndex]
        takeIndex = (takeIndex + 1) % slotCount
        return (UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(slot.buffer)[0..<slot.length]), slot.kind)
    }

    /// Returns the oldest chunk taken with ``next()`` and not yet released.
    func release() {
        readIndex = (readIndex + 1) % slotCount
        empty.signal()
    }

    /// Asks the producer to stop; the consumer must keep draining until ``ChunkKind/end``.
    func cancel() { cancelFlag.pointee = 1 }
}
