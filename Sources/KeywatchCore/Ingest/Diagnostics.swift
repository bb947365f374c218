/// Counts and samples of what went wrong while reading, for the end-of-run summary.
///
/// Samples are redacted with ``Redactor`` before they are stored: they never hold a credential.
public struct Diagnostics: Sendable {
    /// A bad line kept as an example.
    public struct Sample: Sendable, Hashable {
        /// Input name.
        public var file: String
        /// 1-based line number.
        public var line: Int64
        /// Why it was rejected.
        public var reason: RejectReason
        /// The redacted, shortened line.
        public var excerpt: String
    }

    /// How many samples to keep per reason.
    public var samplesPerReason = 3
    /// Lines read (including bad and blank ones).
    public var lines: Int64 = 0
    /// Events produced.
    public var events: Int64 = 0
    /// Events that carried a credential.
    public var eventsWithKey: Int64 = 0
    /// Rejected lines per reason.
    public var rejects: [RejectReason: Int64] = [:]
    /// Lines with invalid UTF-8 that were still read (their text fields are repaired with U+FFFD).
    public var invalidUTF8: Int64 = 0
    /// Decompressed bytes read.
    public var bytes: Int64 = 0
    /// Events that reached a time-ordered reader later than its reorder window (delivered, out of order).
    public var lateEvents: Int64 = 0
    /// Input-level problems, in order.
    public var errors: [IngestError] = []
    /// Example bad lines.
    public var samples: [Sample] = []
    /// The format used for each input, in order.
    public var formats: [(input: String, format: String)] = []

    /// Creates empty diagnostics.
    public init() {}

    /// Total rejected lines.
    public var rejectedLines: Int64 { rejects.values.reduce(0, +) }

    /// Counts a rejected line and keeps it as a sample if there are few of its kind yet.
    mutating func reject(_ reason: RejectReason, file: String, line: Int64, bytes: ByteView?) {
        let count = rejects[reason, default: 0] + 1
        rejects[reason] = count
        if count <= Int64(samplesPerReason) {
            samples.append(
                Sample(file: file, line: line, reason: reason, excerpt: bytes.map { Redactor.excerpt($0) } ?? "")
            )
        }
    }

    /// Merges another run's counts into this one; `lineOffset` is added to the other's sample line numbers.
    public mutating func merge(_ other: Diagnostics, lineOffset: Int64 = 0) {
        lines += other.lines
        events += other.events
        eventsWithKey += other.eventsWithKey
        for (reason, count) in other.rejects {
            let before = rejects[reason, default: 0]
            rejects[reason] = before + count
            // Keep the first few samples per reason across merged parts.
            let room = max(0, samplesPerReason - Int(before))
            for var sample in other.samples.filter({ $0.reason == reason }).prefix(room) {
                sample.line += lineOffset
                samples.append(sample)
            }
        }
        invalidUTF8 += other.invalidUTF8
        lateEvents += other.lateEvents
        bytes += other.bytes
        errors += other.errors
        formats += other.formats
    }
}

/// Removes credentials from text that keywatch prints: query strings, bearer tokens and anything
/// that looks like a key.
public enum Redactor {
    /// The marker that replaces a redacted value.
    public static let marker = "…"

    /// A printable excerpt of a bad line: at most `limit` bytes, with query values, bearer tokens and
    /// key-like tokens masked, and non-printable bytes shown as `\xHH`.
    public static func excerpt(_ line: ByteView, limit: Int = 160) -> String {
        var out = ""
        var i = 0
        let n = line.count
        var shown = 0
        // Set after a credential-like name ("apikey", "Bearer", "token"…): the next token is masked whatever its shape.
        var maskNext = false
        var sinceName = 0
        while i < n && shown < limit {
            let c = line[i]
            // Query string: keep parameter names, drop values.
            if c == UInt8(ascii: "?") || (c == UInt8(ascii: "&")) {
                out.append(Character(Unicode.Scalar(c)))
                i += 1
                shown += 1
                while i < n, line[i] != UInt8(ascii: "="), line[i] != UInt8(ascii: " "), line[i] != UInt8(ascii: "\""),
                    line[i] != UInt8(ascii: "&")
                {
                    out.append(printable(line[i]))
                    i += 1
                    shown += 1
                }
                if i < n && line[i] == UInt8(ascii: "=") {
                    out += "=" + marker
                    i += 1
                    while i < n, line[i] != UInt8(ascii: "&"), line[i] != UInt8(ascii: " "),
                        line[i] != UInt8(ascii: "\"")
                    {
                        i += 1
                    }
                }
                continue
            }
            // A run of token characters: mask if it looks like a secret.
            if isTokenByte(c) {
                var j = i
                var digits = 0
                var letters = 0
                while j < n && isTokenByte(line[j]) {
                    if line[j] &- 0x30 <= 9 {
                        digits += 1
                    } else if lowercaseASCII(line[j]) &- 0x61 < 26 {
                        letters += 1
                    }
                    j += 1
                }
                let token = line.slice(i, j)
                if isCredentialName(token) {
                    // "Authorization: Bearer x": a name may follow a name; the value comes after both.
                    for k in 0..<token.count { out.append(printable(token[k])) }
                    maskNext = true
                    sinceName = 0
                } else if maskNext || token.count >= 20 || (token.count >= 12 && digits >= 2 && letters >= 2) {
                    out += token.count >= 8 ? KeyHint.make(for: token) : marker
                    maskNext = false
                } else {
                    for k in 0..<token.count { out.append(printable(token[k])) }
                }
                shown += token.count
                i = j
                continue
            }
            // A credential name's value follows within a few separator bytes (`":"`, `=`, `: `).
            sinceName += 1
            if sinceName > 4 { maskNext = false }
            out += printable(c)
            i += 1
            shown += 1
        }
        if i < n { out += " [+\(n - i) bytes]" }
        return out
    }

    /// A request target for printing: the path as logged, each query value replaced by ``marker``.
    public static func target(_ target: ByteView) -> String {
        guard let q = target.firstIndex(of: UInt8(ascii: "?")) else { return target.string }
        return target.slice(0, q).string + "?" + query(target.slice(q + 1, target.count))
    }

    /// A query string (without `?`) for printing: parameter names kept, values replaced by ``marker``.
    public static func query(_ query: ByteView) -> String {
        var out = ""
        var i = 0
        while i < query.count {
            var end = i
            while end < query.count && query[end] != UInt8(ascii: "&") { end += 1 }
            let pair = query.slice(i, end)
            if !out.isEmpty { out += "&" }
            if let eq = pair.firstIndex(of: UInt8(ascii: "=")) {
                out += pair.slice(0, eq).string + "=" + marker
            } else {
                out += marker
            }
            i = end + 1
        }
        return out
    }

    /// Names whose value is a credential: the value is masked in excerpts whatever it looks like.
    static let credentialNames: [[UInt8]] = [
        "apikey", "api_key", "api-key", "x-api-key", "x_api_key", "authorization", "bearer", "token", "access_token",
        "key", "password", "secret", "basic",
    ].map { Array($0.utf8) }

    static func isCredentialName(_ token: ByteView) -> Bool {
        // Header names arrive as "request_X-Api-Key" or "headers.apikey" too: compare the tail.
        for name in credentialNames where token.count >= name.count {
            let tail = token.slice(token.count - name.count, token.count)
            if tail.equalsIgnoringCase(name) {
                if token.count == name.count { return true }
                let before = token[token.count - name.count - 1]
                if before == UInt8(ascii: "_") || before == UInt8(ascii: "-") || before == UInt8(ascii: ".") {
                    return true
                }
            }
        }
        return false
    }

    @inline(__always)
    static func isTokenByte(_ c: UInt8) -> Bool {
        c &- 0x30 <= 9 || lowercaseASCII(c) &- 0x61 < 26 || c == UInt8(ascii: "_") || c == UInt8(ascii: "-")
            || c == UInt8(ascii: "+") || c == UInt8(ascii: "=") || c == UInt8(ascii: ".")
    }

    static func printable(_ c: UInt8) -> String {
        if c >= 0x20 && c < 0x7F { return String(Character(Unicode.Scalar(c))) }
        let hex = Array("0123456789abcdef")
        return "\\x" + String(hex[Int(c >> 4)]) + String(hex[Int(c & 15)])
    }
}

extension Diagnostics {
    /// Whether an input had a problem (unreadable, truncated, corrupt, unrecognised) that makes the
    /// exit status non-zero; trailing garbage after a complete gzip member does not count.
    public var hasInputErrors: Bool {
        errors.contains {
            if case .trailingGarbage = $0 { return false }
            return true
        }
    }
}

extension Duration {
    /// The duration in seconds, as a `Double`.
    var inSeconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
