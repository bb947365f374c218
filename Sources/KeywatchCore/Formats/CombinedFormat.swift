import CPrefetch
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Scanning helpers shared by the text formats.
enum TextScan {
    /// The end of a quoted field whose opening quote is at `open`: the index of the closing quote,
    /// skipping backslash escapes (`\"`, `\\`). `nil` if the line ends first.
    @inline(__always)
    static func closingQuote(_ line: ByteView, after open: Int) -> Int? {
        var i = open + 1
        while true {
            guard let q = index(of: 0x22, in: line, from: i) else { return nil }
            // Escaped when preceded by an odd number of backslashes.
            var backslashes = 0
            var k = q - 1
            while k > open && line[k] == UInt8(ascii: "\\") {
                backslashes += 1
                k -= 1
            }
            if backslashes & 1 == 0 { return q }
            i = q + 1
        }
    }

    /// Index of the first `byte` at or after `from`, or `nil`. The first two bytes are looked at
    /// alone (short fields such as `-` or a one-digit count end there), then the next sixteen at
    /// once; longer searches continue out of line (``index(of:in:after:)``). A call to `memchr`
    /// cost more than the search for the few dozen bytes a field spans.
    @inline(__always)
    static func index(of byte: UInt8, in line: ByteView, from: Int) -> Int? {
        guard let base = line.base else { return nil }
        let n = line.count
        guard from &+ 2 <= n else { return from >= 0 && from < n && base[from] == byte ? from : nil }
        if base[from] == byte { return from }
        if base[from &+ 1] == byte { return from &+ 1 }
        let i = from &+ 2
        if i &+ 16 <= n {
            let mask = keywatch_byte_mask16(base + i, byte)
            if mask != 0 { return i &+ mask.trailingZeroBitCount }
            return index(of: byte, in: base, count: n, after: i &+ 16)
        }
        return index(of: byte, in: base, count: n, after: i)
    }

    /// The rest of ``index(of:in:from:)``: the first `byte` in `base[from..<n]`, sixteen bytes at a
    /// time, the last block overlapping the one before so that no byte past the line is read.
    @inline(never)
    static func index(of byte: UInt8, in base: UnsafePointer<UInt8>, count n: Int, after from: Int) -> Int? {
        var i = from
        if n >= 16 {
            while i &+ 16 <= n {
                let mask = keywatch_byte_mask16(base + i, byte)
                if mask != 0 { return i &+ mask.trailingZeroBitCount }
                i &+= 16
            }
            guard i < n else { return nil }
            // The last block ends at the line's end; bytes before `i` were already looked at.
            let mask = keywatch_byte_mask16(base + (n &- 16), byte) >> UInt32(i &- (n &- 16))
            return mask != 0 ? i &+ mask.trailingZeroBitCount : nil
        }
        while i < n {
            if base[i] == byte { return i }
            i &+= 1
        }
        return nil
    }

    /// Index of the next space at or after `from`, or the line's end.
    @inlinable
    static func nextSpace(_ line: ByteView, from: Int) -> Int {
        var i = from
        while i < line.count && line[i] != UInt8(ascii: " ") { i += 1 }
        return i
    }

    /// Index of the first non-space at or after `from`.
    @inlinable
    static func skipSpaces(_ line: ByteView, from: Int) -> Int {
        var i = from
        while i < line.count && line[i] == UInt8(ascii: " ") { i += 1 }
        return i
    }

    /// Splits a request line `GET /path?q HTTP/1.1` into method and target.
    /// A request line without spaces (junk, `-`) yields an empty method and the whole text as target.
    @inlinable
    static func splitRequest(_ request: ByteView, into fields: inout RawFields) {
        guard let firstSpace = request.firstIndex(of: UInt8(ascii: " ")) else {
            fields.target = request
            return
        }
        fields.method = request.slice(0, firstSpace)
        let start = firstSpace + 1
        let n = request.count
        // Most lines end in " HTTP/1.1": one word load settles it without scanning back for the
        // last space (the three bytes after "HTTP/" hold no space, so the one before is the last).
        if n >= 10, n - 9 > firstSpace, let base = request.base, base[n - 9] == UInt8(ascii: " "),
            base[n - 3] != UInt8(ascii: " "), base[n - 2] != UInt8(ascii: " "), base[n - 1] != UInt8(ascii: " ")
        {
            let word = UnsafeRawPointer(base + n - 8).loadUnaligned(as: UInt64.self).littleEndian
            // "HTTP/" with the letters in either case: bytes 0-3 with 0x20 set, then '/'.
            if (word | 0x20_2020_20) & 0xFF_FFFF_FFFF == 0x2F_7074_7468 {
                fields.target = request.slice(start, n - 9)
                return
            }
        }
        var end = n
        // The protocol is the last token when it starts with "HTTP/".
        if let lastSpace = request.lastIndex(of: UInt8(ascii: " ")), lastSpace > firstSpace,
            lastSpace + 5 < request.count, request[lastSpace + 1] | 0x20 == UInt8(ascii: "h"),
            request[lastSpace + 2] | 0x20 == UInt8(ascii: "t"), request[lastSpace + 3] | 0x20 == UInt8(ascii: "t"),
            request[lastSpace + 4] | 0x20 == UInt8(ascii: "p"), request[lastSpace + 5] == UInt8(ascii: "/")
        {
            end = lastSpace
        }
        fields.target = request.slice(start, end)
    }

    /// Parses an integer field where `-` means missing.
    @inlinable
    static func optionalInteger(_ v: ByteView) -> Int64? {
        v.isMissing ? nil : v.decimalValue
    }
}

/// nginx and Apache "combined" and "common" access logs.
///
/// `host ident user [time] "request" status bytes ["referer" "user-agent" [extra…]]`
///
/// Handles an X-Forwarded-For list in the first field (`203.0.113.9, 10.0.0.1 - - [...]`), Apache's
/// `\"` escapes, `-` for missing bytes, any zone offset (`+0330`), trailing spaces and extra
/// trailing fields (which it ignores). The credential can only come from the query string here;
/// for a logged header use ``NginxFormat`` with the `log_format` string.
public struct CombinedFormat: LogFormat {
    public var name: String { "combined" }
    private var timeCache = CommonLogTimeCache()

    /// Creates the format.
    public init() {}

    /// Whether `line` looks like a combined/common log line.
    public static func detect(_ line: ByteView) -> Bool {
        var format = CombinedFormat()
        var buffer = RecordBuffer()
        if case .records = format.parse(line, into: &buffer) { return true }
        return false
    }

    public mutating func parse(_ line: ByteView, into records: inout RecordBuffer) -> ParseOutcome {
        let n = line.count
        if n == 0 { return .ignored }
        // host ident user: everything before " [".
        var open = 0
        while open < n && line[open] != UInt8(ascii: "[") { open += 1 }
        guard open > 4, open < n, line[open - 1] == UInt8(ascii: " ") else { return .rejected(.malformed) }
        // Peel user and ident off the right of the prefix; the rest is the host (maybe a list).
        var end = open - 1
        while end > 0 && line[end - 1] == UInt8(ascii: " ") { end -= 1 }
        var cut = end
        var spaces = 0
        var k = end - 1
        while k > 0 {
            if line[k] == UInt8(ascii: " ") && line[k - 1] != UInt8(ascii: ",") {
                spaces += 1
                if spaces == 2 {
                    cut = k
                    break
                }
            }
            k -= 1
        }
        guard spaces == 2 else { return .rejected(.malformed) }
        let host = line.slice(0, cut).trimmed()
        guard let close = line.firstIndex(of: UInt8(ascii: "]"), from: open + 1) else { return .rejected(.malformed) }
        let timeBytes = line.slice(open + 1, close)
        guard let time = timeCache.parse(timeBytes) else { return .rejected(.badTimestamp) }
        var i = TextScan.skipSpaces(line, from: close + 1)
        guard i < n, line[i] == UInt8(ascii: "\"") else { return .rejected(.malformed) }
        guard let requestEnd = TextScan.closingQuote(line, after: i) else { return .rejected(.malformed) }
        let request = line.slice(i + 1, requestEnd)
        i = TextScan.skipSpaces(line, from: requestEnd + 1)
        let statusEnd = TextScan.nextSpace(line, from: i)
        let statusBytes = line.slice(i, statusEnd)
        let status: Int
        if let s = statusBytes.decimalValue, s < 1000 {
            status = Int(s)
        } else if statusBytes.isMissing {
            status = 0
        } else {
            return .rejected(.malformed)
        }
        i = TextScan.skipSpaces(line, from: statusEnd)
        let bytesEnd = TextScan.nextSpace(line, from: i)
        let bytesField = line.slice(i, bytesEnd)
        guard bytesField.isMissing || bytesField.decimalValue != nil else { return .rejected(.malformed) }

        var f = RawFields()
        f.timeMillis = time
        f.remoteAddress = host
        TextScan.splitRequest(request, into: &f)
        f.status = status
        f.bytes = TextScan.optionalInteger(bytesField)
        // Optional "referer" "user-agent".
        i = TextScan.skipSpaces(line, from: bytesEnd)
        if i < n && line[i] == UInt8(ascii: "\""), let refererEnd = TextScan.closingQuote(line, after: i) {
            i = TextScan.skipSpaces(line, from: refererEnd + 1)
            if i < n && line[i] == UInt8(ascii: "\""), let agentEnd = TextScan.closingQuote(line, after: i) {
                f.userAgent = line.slice(i + 1, agentEnd)
            }
        }
        records.append(f)
        return .records(1)
    }
}
