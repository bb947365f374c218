import Dispatch

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
}

/// A bounded single-producer, single-consumer hand-off of fixed-size buffers between the reader
/// (read + inflate) thread and the parsing thread, so the two overlap on two cores.
///
/// Safety (`@unchecked Sendable`): a slot is touched only by the side that currently owns it.
/// The producer owns a slot from `empty.wait()` until `full.signal()`, the consumer from
/// `full.wait()` until `empty.signal()`; the semaphores order every access, and `writeIndex` /
/// `readIndex` are each used by one side only.
final class ChunkPipe: @unchecked Sendable {
    struct Slot {
        var buffer: UnsafeMutableRawBufferPointer
        var length = 0
        var kind = ChunkKind.data
    }

    let chunkSize: Int
    private var slots: [Slot]
    private let empty: DispatchSemaphore
    private let full = DispatchSemaphore(value: 0)
    private var writeIndex = 0
    private var readIndex = 0
    /// Set by the consumer to ask the producer to stop early.
    private let cancelFlag = UnsafeMutablePointer<Int>.allocate(capacity: 1)

    init(slotCount: Int = 4, chunkSize: Int = 1 << 20) {
        self.chunkSize = chunkSize
        slots = (0..<slotCount).map { _ in
            Slot(buffer: .allocate(byteCount: chunkSize, alignment: 16))
        }
        empty = DispatchSemaphore(value: slotCount)
        cancelFlag.initialize(to: 0)
    }

    deinit {
        for slot in slots { slot.buffer.deallocate() }
        cancelFlag.deallocate()
    }

    // MARK: Producer side

    /// Waits for a free buffer and returns it for filling.
    func acquire() -> UnsafeMutableRawBufferPointer {
        empty.wait()
        return slots[writeIndex].buffer
    }

    /// Publishes the buffer last acquired.
    func publish(length: Int, kind: ChunkKind) {
        slots[writeIndex].length = length
        slots[writeIndex].kind = kind
        writeIndex = (writeIndex + 1) % slots.count
        full.signal()
    }

    /// Whether the consumer asked to stop.
    var isCancelled: Bool { cancelFlag.pointee != 0 }

    // MARK: Consumer side

    /// Waits for the next published chunk.
    func next() -> (bytes: UnsafeRawBufferPointer, kind: ChunkKind) {
        full.wait()
        let slot = slots[readIndex]
        return (UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(slot.buffer)[0..<slot.length]), slot.kind)
    }

    /// Returns the chunk last taken with ``next()``.
    func release() {
        readIndex = (readIndex + 1) % slots.count
        empty.signal()
    }

    /// Asks the producer to stop; the consumer must keep draining until ``ChunkKind/end``.
    func cancel() { cancelFlag.pointee = 1 }
}
