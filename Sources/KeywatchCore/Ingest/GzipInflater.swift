import CZlib

/// What one inflate call did.
enum InflateStep {
    /// Produced output; input may remain.
    case progress(consumed: Int, produced: Int)
    /// A member ended after consuming `consumed` bytes.
    case memberEnd(consumed: Int, produced: Int)
    /// The library reported corrupt data.
    case error(consumed: Int, produced: Int, code: Int32, message: String)
}

/// A gzip inflate backend: zlib (``GzipInflater``, the default) or ISA-L (``IsalInflater``).
///
/// Contract: `inflate` reads from `input` and writes to `output`, reports how much of each it used,
/// returns ``InflateStep/memberEnd(consumed:produced:)`` once a member's trailer is read (input after
/// it is left unconsumed), and never reads or writes outside the two buffers. `reset` readies it for
/// the next member.
protocol Inflater: AnyObject {
    func inflate(input: UnsafeRawBufferPointer, output: UnsafeMutableRawBufferPointer) -> InflateStep
    func reset()
}

/// Which inflate backend to use (`--inflate`).
public enum InflateBackend: String, Sendable, CaseIterable {
    /// The system zlib: the default, and always available.
    case zlib
    /// Intel ISA-L (`libisal`), faster on x86-64.
    case isal
}

/// Streams gzip data through the system zlib, one input chunk at a time.
///
/// Handles concatenated members (as `cat a.gz b.gz` and rotating loggers produce) by resetting at
/// each member's end. On corrupt data it reports the offset and resynchronises at the next member
/// header, so data after a damaged region is not lost.
final class GzipInflater: Inflater {
    private let stream: UnsafeMutablePointer<z_stream>
    private var initialised = false

    init() throws(IngestError) {
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        let code = CZlib_inflateInit2(stream, 15 + 16)
        guard code == Z_OK else {
            stream.deallocate()
            throw .corruptGzip(file: "", byteOffset: 0, code: code, message: "inflateInit2 failed")
        }
        initialised = true
    }

    deinit {
        if initialised { inflateEnd(stream) }
        stream.deallocate()
    }

    /// Inflates from `input` into `output`.
    func inflate(input: UnsafeRawBufferPointer, output: UnsafeMutableRawBufferPointer) -> InflateStep {
        stream.pointee.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: Bytef.self))
        stream.pointee.avail_in = uInt(input.count)
        stream.pointee.next_out = output.baseAddress?.assumingMemoryBound(to: Bytef.self)
        stream.pointee.avail_out = uInt(output.count)
        defer {
            stream.pointee.next_in = nil
            stream.pointee.next_out = nil
        }
        let code = CZlib.inflate(stream, Z_NO_FLUSH)
        let consumed = input.count - Int(stream.pointee.avail_in)
        let produced = output.count - Int(stream.pointee.avail_out)
        switch code {
        case Z_OK, Z_BUF_ERROR: return .progress(consumed: consumed, produced: produced)
        case Z_STREAM_END: return .memberEnd(consumed: consumed, produced: produced)
        default:
            let message = stream.pointee.msg.map { String(cString: $0) } ?? "error \(code)"
            return .error(consumed: consumed, produced: produced, code: code, message: message)
        }
    }

    /// Prepares for the next member.
    func reset() { inflateReset(stream) }
}
