#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What the splitter hands the parser for each line.
enum LineVerdict {
    /// A line to parse; `carried` when it was assembled from two chunks.
    case line(ByteView, carried: Bool)
    /// A line to count as rejected without parsing.
    case rejected(RejectReason, ByteView?)
}

/// Cuts decompressed chunks into lines without copying, except for the rare line that spans two
/// chunks. Strips `\r` before `\n`. A line longer than the limit is counted and skipped without
/// being buffered, so memory stays bounded whatever the input.
struct LineSplitter {
    let maxLineLength: Int
    private var carry: UnsafeMutablePointer<UInt8>
    private var carryLength = 0
    private var discarding = false
    /// Lines seen so far (1-based number of the last one).
    private(set) var lineNumber: Int64 = 0

    init(maxLineLength: Int) {
        self.maxLineLength = maxLineLength
        carry = .allocate(capacity: maxLineLength + 1)
    }

    func deallocate() { carry.deallocate() }

    /// Starts counting lines from zero again (each line-aligned chunk is numbered on its own).
    mutating func restartNumbering() { lineNumber = 0 }

    /// Feeds a chunk; calls `body` for each complete line.
    @inline(__always)
    mutating func feed(_ chunk: UnsafeRawBufferPointer, _ body: (Int64, LineVerdict) -> Void) {
        guard let start = chunk.baseAddress?.assumingMemoryBound(to: UInt8.self), chunk.count > 0 else { return }
        let end = start + chunk.count
        var p = start
        // Finish a line carried over from the previous chunk.
        if carryLength > 0 || discarding {
            guard let nl = findNewline(p, end) else {
                append(p, end - p)
                return
            }
            append(p, nl - p)
            p = nl + 1
            finishCarried(body)
        }
        while p < end {
            guard let nl = findNewline(p, end) else {
                append(p, end - p)
                return
            }
            var length = nl - p
            lineNumber += 1
            if length > maxLineLength {
                body(lineNumber, .rejected(.lineTooLong, ByteView(base: p, count: min(length, 200))))
            } else {
                if length > 0 && p[length - 1] == 0x0D { length -= 1 }
                body(lineNumber, .line(ByteView(base: p, count: length), carried: false))
            }
            p = nl + 1
        }
    }

    private mutating func append(_ p: UnsafePointer<UInt8>, _ count: Int) {
        if discarding { return }
        if carryLength + count > maxLineLength {
            // Keep the head for the diagnostic sample, drop the rest.
            let keep = min(count, maxLineLength - carryLength)
            if keep > 0 { (carry + carryLength).update(from: p, count: keep) }
            carryLength += keep
            discarding = true
            return
        }
        (carry + carryLength).update(from: p, count: count)
        carryLength += count
    }

    private mutating func finishCarried(_ body: (Int64, LineVerdict) -> Void) {
        lineNumber += 1
        if discarding {
            body(lineNumber, .rejected(.lineTooLong, ByteView(base: carry, count: min(carryLength, 200))))
        } else {
            var length = carryLength
            if length > 0 && carry[length - 1] == 0x0D { length -= 1 }
            body(lineNumber, .line(ByteView(base: carry, count: length), carried: true))
        }
        carryLength = 0
        discarding = false
    }

    /// The input was cut: a partial line is rejected as truncated.
    mutating func cut(_ body: (Int64, LineVerdict) -> Void) {
        if carryLength > 0 || discarding {
            lineNumber += 1
            body(lineNumber, .rejected(.truncated, ByteView(base: carry, count: min(carryLength, 200))))
        }
        carryLength = 0
        discarding = false
    }

    /// The input ended: a last line without a newline is still a line.
    mutating func finish(_ body: (Int64, LineVerdict) -> Void) {
        if carryLength > 0 || discarding { finishCarried(body) }
    }
}

/// Fast checks of a line's bytes: NUL (binary junk) and whether it is valid UTF-8.
enum LineCheck {
    enum Result {
        case ascii, utf8, invalidUTF8, binary
    }

    /// Whether a whole chunk is ASCII without NUL bytes, so no line in it needs checking.
    ///
    /// Reads 64 bytes per step as four 16-byte vectors. A byte `b` is bad exactly when `b | (b &- 1)`
    /// has its high bit set: `b >= 0x80` sets it, `b == 0` wraps to `0xFF`, and 1…0x7F leave it clear.
    static func isCleanASCII(_ chunk: UnsafeRawBufferPointer) -> Bool {
        guard let raw = chunk.baseAddress else { return true }
        let n = chunk.count
        let one = SIMD16<UInt8>(repeating: 1)
        var i = 0
        var bad0 = SIMD16<UInt8>()
        var bad1 = SIMD16<UInt8>()
        while i + 64 <= n {
            let a = raw.loadUnaligned(fromByteOffset: i, as: SIMD16<UInt8>.self)
            let b = raw.loadUnaligned(fromByteOffset: i + 16, as: SIMD16<UInt8>.self)
            let c = raw.loadUnaligned(fromByteOffset: i + 32, as: SIMD16<UInt8>.self)
            let d = raw.loadUnaligned(fromByteOffset: i + 48, as: SIMD16<UInt8>.self)
            bad0 |= (a | (a &- one)) | (b | (b &- one))
            bad1 |= (c | (c &- one)) | (d | (d &- one))
            i += 64
        }
        let bad = bad0 | bad1
        if (bad & SIMD16<UInt8>(repeating: 0x80)) != SIMD16<UInt8>() { return false }
        while i < n {
            let byte = raw.load(fromByteOffset: i, as: UInt8.self)
            if byte == 0 || byte >= 0x80 { return false }
            i += 1
        }
        return true
    }

    @inline(__always)
    static func check(_ line: ByteView) -> Result {
        guard let base = line.base else { return .ascii }
        let n = line.count
        let raw = UnsafeRawPointer(base)
        var i = 0
        var high: UInt64 = 0
        var zero: UInt64 = 0
        while i + 8 <= n {
            let w = raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            high |= w
            zero |= (w &- 0x0101_0101_0101_0101) & ~w
            i += 8
        }
        var tailHigh: UInt8 = 0
        var tailZero = false
        while i < n {
            tailHigh |= base[i]
            if base[i] == 0 { tailZero = true }
            i += 1
        }
        if (zero & 0x8080_8080_8080_8080) != 0 || tailZero {
            // The word trick can flag bytes >= 0x80 too; confirm with memchr.
            if memchr(base, 0, n) != nil { return .binary }
        }
        if (high & 0x8080_8080_8080_8080) == 0 && tailHigh & 0x80 == 0 { return .ascii }
        return validUTF8(line) ? .utf8 : .invalidUTF8
    }

    static func validUTF8(_ v: ByteView) -> Bool {
        var i = 0
        let n = v.count
        while i < n {
            let c = v[i]
            if c < 0x80 {
                i += 1
                continue
            }
            let length: Int
            var minimum: UInt32
            var scalar: UInt32
            if c & 0xE0 == 0xC0 {
                length = 2
                minimum = 0x80
                scalar = UInt32(c & 0x1F)
            } else if c & 0xF0 == 0xE0 {
                length = 3
                minimum = 0x800
                scalar = UInt32(c & 0x0F)
            } else if c & 0xF8 == 0xF0 {
                length = 4
                minimum = 0x10000
                scalar = UInt32(c & 0x07)
            } else {
                return false
            }
            if i + length > n { return false }
            for k in 1..<length {
                let b = v[i + k]
                if b & 0xC0 != 0x80 { return false }
                scalar = scalar << 6 | UInt32(b & 0x3F)
            }
            if scalar < minimum || scalar > 0x10FFFF || (scalar >= 0xD800 && scalar <= 0xDFFF) { return false }
            i += length
        }
        return true
    }
}

/// The first `\n` in `[p, end)`, found with the C library's vectorised `memchr`.
@inline(__always)
func findNewline(_ p: UnsafePointer<UInt8>, _ end: UnsafePointer<UInt8>) -> UnsafePointer<UInt8>? {
    guard let found = memchr(p, 0x0A, end - p) else { return nil }
    return UnsafePointer(found.assumingMemoryBound(to: UInt8.self))
}
