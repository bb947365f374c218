import CISAL

/// Streams gzip data through Intel's ISA-L (`libisal`), about twice as fast as zlib on x86-64.
///
/// The same contract as ``GzipInflater`` (concatenated members, errors with offsets); chosen with
/// `--inflate isal`. zlib stays the default and the fallback.
final class IsalInflater: Inflater {
    private let state: UnsafeMutablePointer<inflate_state>

    init() {
        state = .allocate(capacity: 1)
        state.initialize(to: inflate_state())
        CISAL_inflate_init_gzip(state)
    }

    deinit { state.deallocate() }

    func inflate(input: UnsafeRawBufferPointer, output: UnsafeMutableRawBufferPointer) -> InflateStep {
        state.pointee.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: UInt8.self))
        state.pointee.avail_in = UInt32(input.count)
        state.pointee.next_out = output.baseAddress?.assumingMemoryBound(to: UInt8.self)
        state.pointee.avail_out = UInt32(output.count)
        defer {
            state.pointee.next_in = nil
            state.pointee.next_out = nil
        }
        let code = isal_inflate(state)
        let consumed = input.count - Int(state.pointee.avail_in)
        let produced = output.count - Int(state.pointee.avail_out)
        if code < 0 {
            return .error(consumed: consumed, produced: produced, code: code, message: IsalInflater.describe(code))
        }
        if CISAL_inflate_finished(state) != 0 { return .memberEnd(consumed: consumed, produced: produced) }
        return .progress(consumed: consumed, produced: produced)
    }

    func reset() { CISAL_inflate_init_gzip(state) }

    static func describe(_ code: Int32) -> String {
        switch code {
        case -1: "invalid deflate block"
        case -2: "invalid deflate symbol"
        case -3: "invalid look-back distance"
        case -4: "invalid gzip header"
        case -5: "unsupported compression method"
        case -6: "checksum mismatch"
        default: "ISA-L error \(code)"
        }
    }
}
