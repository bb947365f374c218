/// Reads common-log timestamps, remembering the last one: consecutive lines mostly share their second.
struct CommonLogTimeCache {
    private var key: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
    private var valid = false
    private var value: Int64 = 0

    @inline(__always)
    mutating func parse(_ v: ByteView) -> Int64? {
        guard v.count == 26, let base = v.base else { return Timestamps.parseCommonLog(v) }
        let raw = UnsafeRawPointer(base)
        let k = (
            raw.loadUnaligned(as: UInt64.self), raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self),
            raw.loadUnaligned(fromByteOffset: 16, as: UInt64.self),
            raw.loadUnaligned(fromByteOffset: 18, as: UInt64.self)
        )
        if valid && k == key { return value }
        guard let t = Timestamps.parseCommonLog(v) else { return nil }
        key = k
        value = t
        valid = true
        return t
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An nginx access log written with the user's own `log_format`, given as `--log-format`.
///
/// The format string is compiled once into literals and variables; each line is matched against
/// it. Known variables fill the event (`$remote_addr`, `$http_x_forwarded_for`, `$time_local`,
/// `$time_iso8601`, `$msec`, `$request`, `$request_method`, `$request_uri`, `$uri`, `$args`,
/// `$query_string`, `$arg_NAME`, `$status`, `$body_bytes_sent`, `$bytes_sent`, `$request_time`,
/// `$upstream_response_time`, `$http_NAME`, `$remote_user`); others are skipped. A variable ends
/// where the next literal text begins; inside quotes, escaped quotes are skipped.
///
/// A format written as a JSON object (`escape=json`) is read by ``JSONLogFormat`` through
/// ``jsonMappings(for:options:)``.
public struct NginxFormat: LogFormat {
    /// What a variable's value is; a plain byte, so the per-line dispatch is one jump table. A
    /// ``key`` step's credential source is kept beside it (``Step/keySource``).
    enum Role: UInt8 {
        case remoteAddress, forwardedFor, timeLocal, timeISO, msec, request, method, requestURI, uri, query
        case status, bodyBytes, bytesSent, requestTime, upstreamTime, userAgent, authorization
        case requestTimeMillis, requestTimeMicros, key, ignored
    }

    struct Step {
        var role: Role
        /// For ``Role/key``: how the credential ranks.
        var keySource: KeySource
        /// Where the literal text that follows the variable starts in ``literals`` (it may be empty at the end).
        var literalStart: Int
        /// Its length.
        var literalCount: Int
        /// Whether the variable sits between quotes, so its end is the closing quote.
        var quoted: Bool
        /// `$time_local` holds a space: search for its end only past its first 20 bytes.
        var searchFrom: Int = 0
    }

    /// A step as the per-line loop reads it: 24 bytes, everything it needs in one place.
    struct Op {
        /// The literal's first four bytes (fewer when shorter) as a little-endian word, and the
        /// mask of the bytes that count, so a short literal is matched with one load and compare.
        var word: UInt32
        var mask: UInt32
        var literalStart: Int32
        var literalCount: Int32
        var searchFrom: Int32
        var role: Role
        var keySource: KeySource
        /// How the value ends: at the line's end, at the closing quote, or where the literal is found.
        var end: End

        enum End: UInt8 { case lineEnd, closingQuote, literal }
    }

    /// The compiled format: its literal texts back to back, and its steps, in memory that lives
    /// as long as the format, so matching a line reads them through plain pointers (no array
    /// bounds checks or reference counting per line).
    final class Program: @unchecked Sendable {
        // Immutable after init; only read afterwards, so sharing it is safe.
        let literals: UnsafeMutablePointer<UInt8>
        let ops: UnsafeMutablePointer<Op>
        let count: Int
        init(literals bytes: [UInt8], steps: [Step]) {
            literals = .allocate(capacity: max(1, bytes.count))
            if !bytes.isEmpty { literals.initialize(from: bytes, count: bytes.count) }
            count = steps.count
            ops = .allocate(capacity: max(1, steps.count))
            for (k, step) in steps.enumerated() {
                var word: UInt32 = 0
                var mask: UInt32 = 0
                for b in 0..<min(step.literalCount, 4) {
                    word |= UInt32(bytes[step.literalStart + b]) << (8 * b)
                    mask |= 0xFF << (8 * b)
                }
                let end: Op.End =
                    step.literalCount == 0
                    ? .lineEnd : step.quoted && bytes[step.literalStart] == UInt8(ascii: "\"") ? .closingQuote : .literal
                (ops + k).initialize(
                    to: Op(
                        word: word, mask: mask, literalStart: Int32(step.literalStart),
                        literalCount: Int32(step.literalCount), searchFrom: Int32(step.searchFrom),
                        role: step.role, keySource: step.keySource, end: end))
            }
        }
        deinit {
            literals.deallocate()
            ops.deinitialize(count: count)
            ops.deallocate()
        }
    }

    public var name: String { "nginx" }
    let leading: [UInt8]
    let program: Program
    let hasRequestTime: Bool
    let hasBodyBytes: Bool
    private var timeCache = CommonLogTimeCache()

    /// Compiles a `log_format` string.
    /// - Parameters:
    ///   - template: The format, as in nginx.conf (without the `log_format name` prefix and quotes around lines).
    ///   - options: `keyField` names a variable (`http_x_my_key`, `arg_token`) or header that holds the key.
    /// - Throws: ``FormatError/badLogFormat(_:reason:)`` for a format keywatch cannot read.
    public init(template: String, options: FormatOptions = FormatOptions()) throws(FormatError) {
        var text = NginxFormat.stripConfigSyntax(template)
        if ApacheLogFormat.looksLikeApache(text) { text = try ApacheLogFormat.translate(text) }
        let bytes = Array(text.utf8)
        var i = 0
        var literal: [UInt8] = []
        var lead: [UInt8]?
        var pending: (Role, KeySource, Bool)?
        var steps: [Step] = []
        var store: [UInt8] = []
        var sawTime = false
        func isNameByte(_ c: UInt8) -> Bool {
            c &- 0x30 <= 9 || lowercaseASCII(c) &- 0x61 < 26 || c == UInt8(ascii: "_")
        }
        while i < bytes.count {
            if bytes[i] == UInt8(ascii: "$") {
                var j = i + 1
                var braced = false
                if j < bytes.count && bytes[j] == UInt8(ascii: "{") {
                    braced = true
                    j += 1
                }
                let start = j
                while j < bytes.count && isNameByte(bytes[j]) { j += 1 }
                let variable = String(decoding: bytes[start..<j], as: UTF8.self)
                if braced {
                    guard j < bytes.count && bytes[j] == UInt8(ascii: "}") else {
                        throw .badLogFormat(template, reason: "unclosed ${ at byte \(i)")
                    }
                    j += 1
                }
                guard !variable.isEmpty else {
                    throw .badLogFormat(template, reason: "'$' without a variable name at byte \(i)")
                }
                if let (role, keySource, quoted) = pending {
                    guard !literal.isEmpty else {
                        throw .badLogFormat(
                            template,
                            reason:
                                "two variables with nothing between them before $\(variable); keywatch cannot tell where one ends"
                        )
                    }
                    steps.append(
                        Step(
                            role: role, keySource: keySource, literalStart: store.count, literalCount: literal.count,
                            quoted: quoted)
                    )
                    store += literal
                } else {
                    lead = literal
                }
                let (role, keySource) = NginxFormat.role(of: variable, keyField: options.keyField)
                if [.timeLocal, .timeISO, .msec].contains(role) { sawTime = true }
                let quoted = literal.last == UInt8(ascii: "\"")
                pending = (role, keySource, quoted)
                literal = []
                i = j
            } else {
                literal.append(bytes[i])
                i += 1
            }
        }
        guard let (role, keySource, quoted) = pending else {
            throw .badLogFormat(template, reason: "it has no $variables")
        }
        // Trailing spaces in the format are tolerated on lines either way.
        while literal.last == UInt8(ascii: " ") { literal.removeLast() }
        steps.append(
            Step(
                role: role, keySource: keySource, literalStart: store.count, literalCount: literal.count, quoted: quoted))
        store += literal
        guard sawTime else {
            throw .badLogFormat(template, reason: "it logs no time; add $time_local, $time_iso8601 or $msec")
        }
        leading = lead ?? []
        for k in steps.indices where steps[k].role == .timeLocal { steps[k].searchFrom = 20 }
        program = Program(literals: store, steps: steps)
        hasRequestTime = steps.contains { [.requestTime, .requestTimeMillis, .requestTimeMicros].contains($0.role) }
        hasBodyBytes = steps.contains { $0.role == .bodyBytes }
    }

    /// Removes nginx.conf syntax a user may paste along: `log_format name [escape=…]`, quotes around
    /// each line, and the final `;`.
    static func stripConfigSyntax(_ text: String) -> String {
        var t = text.trimmingSpaces()
        if t.hasPrefix("log_format ") {
            var words = t.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: true).map(String.init)
            if words.count == 3 {
                t = words.removeLast()
                if t.hasPrefix("escape=") { t = String(t.drop { $0 != " " }).trimmingSpaces() }
            }
        }
        if t.hasSuffix(";") { t.removeLast() }
        // 'a' 'b' concatenated config lines.
        if t.hasPrefix("'") && t.hasSuffix("'") && t.count >= 2 {
            let parts = t.split(separator: "'", omittingEmptySubsequences: true)
            t = parts.enumerated().filter { $0.offset % 2 == 0 }.map { String($0.element) }.joined()
        }
        return t
    }

    /// The role of `$variable`, and for a key its source.
    static func role(of variable: String, keyField: String?) -> (Role, KeySource) {
        let v = variable.lowercased()
        if let keyField {
            let k = keyField.lowercased().replacingDashes()
            if v == k || v == "http_" + k || v == "arg_" + k { return (.key, .explicit) }
        }
        if let role = plainRoles[v] { return (role, .none) }
        if ["http_x_api_key", "http_apikey", "http_api_key", "http_x_apikey"].contains(v) { return (.key, .header) }
        if v.hasPrefix("arg_"), EventNormalizer.defaultQueryKeyParameters.contains(String(v.dropFirst(4))) {
            return (.key, .query)
        }
        return (.ignored, .none)
    }

    /// Variables with a role of their own, by lowercased name.
    private static let plainRoles: [String: Role] = [
        "remote_addr": .remoteAddress,
        "realip_remote_addr": .remoteAddress,
        "binary_remote_addr": .remoteAddress,
        "http_x_forwarded_for": .forwardedFor,
        "proxy_add_x_forwarded_for": .forwardedFor,
        "time_local": .timeLocal,
        "time_iso8601": .timeISO,
        "msec": .msec,
        "request": .request,
        "request_method": .method,
        "request_uri": .requestURI,
        "uri": .uri,
        "document_uri": .uri,
        "args": .query,
        "query_string": .query,
        "apache_query": .query,
        "apache_request_time_ms": .requestTimeMillis,
        "apache_request_time_us": .requestTimeMicros,
        "status": .status,
        "body_bytes_sent": .bodyBytes,
        "bytes_sent": .bytesSent,
        "request_time": .requestTime,
        "upstream_response_time": .upstreamTime,
        "http_user_agent": .userAgent,
        "http_authorization": .authorization,
    ]

    public mutating func parse(_ line: ByteView, into records: inout RecordBuffer) -> ParseOutcome {
        if line.count == 0 { return .ignored }
        return records.fillNew { fill(&$0, from: line) }
    }

    /// Reads `line` into `f`, a cleared record; returns `.records(1)` or why the line was rejected.
    @inline(__always)
    private mutating func fill(_ f: inout RawFields, from line: ByteView) -> ParseOutcome {
        let n = line.count
        var pos = 0
        if !leading.isEmpty {
            let matched = leading.withUnsafeBufferPointer {
                matchLiteral(ByteView(base: $0.baseAddress, count: $0.count), in: line, at: 0)
            }
            guard matched else { return .rejected(.malformed) }
            pos = leading.count
        }
        var upstream = ByteView.empty
        var bytesSent = ByteView.empty
        var timeValue: Int64?
        var badTime = false
        let literalBase = UnsafePointer(program.literals)
        let ops = UnsafePointer(program.ops)
        var index = 0
        while index < program.count {
            let op = ops[index]
            index &+= 1
            let end: Int
            let literalCount = Int(op.literalCount)
            switch op.end {
            case .lineEnd:
                end = n
            case .closingQuote:
                guard let q = TextScan.closingQuote(line, after: pos &- 1), matches(op, literalBase, in: line, at: q)
                else {
                    return .rejected(.malformed)
                }
                end = q
            case .literal:
                guard let found = find(op, literalBase, in: line, from: min(pos &+ Int(op.searchFrom), n)) else {
                    return .rejected(.malformed)
                }
                end = found
            }
            var value = line.slice(pos, end)
            if op.end == .lineEnd { value = value.trimmed() }
            switch op.role {
            case .remoteAddress: f.remoteAddress = value
            case .forwardedFor: f.forwardedFor = value
            case .timeLocal:
                timeValue = timeCache.parse(value)
                badTime = timeValue == nil
            case .timeISO:
                timeValue = Timestamps.parseISO8601(value)
                badTime = timeValue == nil
            case .msec:
                timeValue = Timestamps.parseEpoch(value, unit: .seconds)
                badTime = timeValue == nil
            case .request: TextScan.splitRequest(value, into: &f)
            case .method: f.method = value
            case .requestURI: f.target = value
            case .uri: if f.target.isEmpty { f.target = value }
            case .query:
                // Apache's %q keeps its "?".
                if !value.isMissing { f.query = value[0] == UInt8(ascii: "?") ? value.slice(1, value.count) : value }
            case .requestTimeMillis: f.latencyMillis = value.isMissing ? nil : value.doubleValue
            case .requestTimeMicros: f.latencyMillis = value.isMissing ? nil : value.doubleValue.map { $0 / 1000 }
            case .status:
                guard let s = value.decimalValue, s < 1000 else {
                    if value.isMissing { break }
                    return .rejected(.malformed)
                }
                f.status = Int(s)
            case .bodyBytes: f.bytes = TextScan.optionalInteger(value)
            case .bytesSent: bytesSent = value
            case .requestTime: f.latencyMillis = value.isMissing ? nil : NginxFormat.secondsAsMillis(value)
            case .upstreamTime: upstream = value
            case .userAgent: f.userAgent = value
            case .authorization: f.authorization = value
            case .key: f.offerKey(value, from: op.keySource)
            case .ignored: break
            }
            pos = min(end &+ literalCount, n)
        }
        if badTime {
            return .rejected(.badTimestamp)
        }
        guard let timeValue else {
            return .rejected(.badTimestamp)
        }
        f.timeMillis = timeValue
        if !hasBodyBytes && !bytesSent.isEmpty { f.bytes = TextScan.optionalInteger(bytesSent) }
        if !hasRequestTime && !upstream.isMissing {
            // "0.012, 0.034" or "0.012 : 0.034" when several upstreams were tried: take the first.
            var end = 0
            while end < upstream.count && upstream[end] != UInt8(ascii: ",") && upstream[end] != UInt8(ascii: " ") {
                end += 1
            }
            f.latencyMillis = upstream.slice(0, end).doubleValue.map { $0 * 1000 }
        }
        return .records(1)
    }

    /// Reads nginx's seconds with millisecond resolution (`0.043`) as milliseconds, falling back to a
    /// general number parse for other shapes.
    @inline(__always)
    static func secondsAsMillis(_ v: ByteView) -> Double? {
        var i = 0
        var whole = 0
        while i < v.count, v[i] &- 0x30 <= 9, i < 9 {
            whole = whole * 10 + Int(v[i] &- 0x30)
            i += 1
        }
        if i == 0 { return v.doubleValue.map { $0 * 1000 } }
        var micros = 0
        if i < v.count && v[i] == UInt8(ascii: ".") {
            i += 1
            var scale = 100_000
            while i < v.count, v[i] &- 0x30 <= 9, scale > 0 {
                micros += Int(v[i] &- 0x30) * scale
                scale /= 10
                i += 1
            }
        }
        if i != v.count { return v.doubleValue.map { $0 * 1000 } }
        return Double(whole * 1_000_000 + micros) / 1000
    }

    @inline(__always)
    private func matchLiteral(_ literal: ByteView, in line: ByteView, at position: Int) -> Bool {
        if position + literal.count > line.count {
            // Tolerate a missing trailing-space literal at the very end.
            var k = 0
            while k < literal.count && position + k < line.count && line[position + k] == literal[k] { k += 1 }
            if position + k != line.count { return false }
            while k < literal.count {
                if literal[k] != UInt8(ascii: " ") { return false }
                k += 1
            }
            return true
        }
        if literal.count <= 4 {
            for k in 0..<literal.count where line[position + k] != literal[k] { return false }
            return true
        }
        return memcmp(line.base! + position, literal.base!, literal.count) == 0
    }

    /// Whether `op`'s literal is at `position`: one masked word compare for a literal of up to
    /// four bytes with four bytes of line left, ``matchLiteral(_:in:at:)`` otherwise.
    @inline(__always)
    private func matches(_ op: Op, _ literals: UnsafePointer<UInt8>, in line: ByteView, at position: Int) -> Bool {
        if op.literalCount <= 4 && position &+ 4 <= line.count, let base = line.base {
            return UnsafeRawPointer(base + position).loadUnaligned(as: UInt32.self).littleEndian & op.mask == op.word
        }
        let literal = ByteView(base: literals + Int(op.literalStart), count: Int(op.literalCount))
        return matchLiteral(literal, in: line, at: position)
    }

    @inline(__always)
    private func find(_ op: Op, _ literals: UnsafePointer<UInt8>, in line: ByteView, from: Int) -> Int? {
        let first = UInt8(truncatingIfNeeded: op.word)
        var i = from
        while let at = TextScan.index(of: first, in: line, from: i) {
            // A one-byte literal matches where its byte is found.
            if op.literalCount == 1 || matches(op, literals, in: line, at: at) { return at }
            i = at &+ 1
        }
        return nil
    }

    /// For a `log_format` written as a JSON object (`escape=json`), the mappings from its keys to roles;
    /// `nil` when the format is not a JSON object.
    /// - Throws: ``FormatError/badLogFormat(_:reason:)`` when it looks like JSON but maps no time.
    public static func jsonMappings(
        for template: String,
        options: FormatOptions = FormatOptions()
    ) throws(FormatError)
        -> [FieldMapping]?
    {
        let text = stripConfigSyntax(template)
        guard text.hasPrefix("{") else { return nil }
        var mappings: [FieldMapping] = []
        // "name": "$var" pairs, possibly nested one level ("request": {"uri": "$request_uri"}).
        var stack: [String] = []
        var i = text.startIndex
        var pendingKey: String?
        while i < text.endIndex {
            let c = text[i]
            if c == "\"" {
                var j = text.index(after: i)
                var value = ""
                while j < text.endIndex && text[j] != "\"" {
                    if text[j] == "\\" { j = text.index(after: j) }
                    if j < text.endIndex { value.append(text[j]) }
                    j = text.index(after: j)
                }
                i = j < text.endIndex ? text.index(after: j) : j
                // A key is followed by ':'.
                var k = i
                while k < text.endIndex && text[k] == " " { k = text.index(after: k) }
                if k < text.endIndex && text[k] == ":" {
                    pendingKey = value
                    i = text.index(after: k)
                    continue
                }
                if let key = pendingKey, value.hasPrefix("$") {
                    let path = (stack + [key]).joined(separator: ".")
                    if let mapping = mapping(
                        forVariable: String(value.dropFirst()),
                        path: path,
                        keyField: options.keyField
                    ) {
                        mappings.append(mapping)
                    }
                }
                pendingKey = nil
                continue
            }
            if c == "{" {
                if let key = pendingKey { stack.append(key) }
                pendingKey = nil
            } else if c == "}" {
                if !stack.isEmpty { stack.removeLast() }
            } else if c == "$", let key = pendingKey {
                // Unquoted variable (numbers): $status
                var j = text.index(after: i)
                var name = ""
                while j < text.endIndex, text[j].isLetter || text[j].isNumber || text[j] == "_" {
                    name.append(text[j])
                    j = text.index(after: j)
                }
                let path = (stack + [key]).joined(separator: ".")
                if let mapping = mapping(forVariable: name, path: path, keyField: options.keyField) {
                    mappings.append(mapping)
                }
                pendingKey = nil
                i = j
                continue
            }
            i = text.index(after: i)
        }
        guard mappings.contains(where: { $0.role == .time }) else {
            throw .badLogFormat(template, reason: "the JSON log_format has no $time_local, $time_iso8601 or $msec")
        }
        return mappings
    }

    static func mapping(forVariable variable: String, path: String, keyField: String?) -> FieldMapping? {
        switch role(of: variable, keyField: keyField).0 {
        case .remoteAddress: FieldMapping(role: .ip, path: path)
        case .forwardedFor: FieldMapping(role: .xff, path: path)
        case .timeLocal, .timeISO: FieldMapping(role: .time, path: path)
        case .msec: FieldMapping(role: .time, path: path, unit: .seconds)
        case .request: FieldMapping(role: .request, path: path)
        case .method: FieldMapping(role: .method, path: path)
        case .requestURI, .uri: FieldMapping(role: .path, path: path)
        case .query: FieldMapping(role: .query, path: path)
        case .status: FieldMapping(role: .status, path: path)
        case .bodyBytes, .bytesSent: FieldMapping(role: .bytes, path: path)
        case .requestTime, .upstreamTime: FieldMapping(role: .latency, path: path, unit: .seconds)
        case .requestTimeMillis: FieldMapping(role: .latency, path: path, unit: .milliseconds)
        case .requestTimeMicros: FieldMapping(role: .latency, path: path, unit: .microseconds)
        case .userAgent: FieldMapping(role: .userAgent, path: path)
        case .authorization: FieldMapping(role: .authorization, path: path)
        case .key: FieldMapping(role: .key, path: path)
        case .ignored: nil
        }
    }
}

extension String {
    func trimmingSpaces() -> String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\n" || f == "\t" || f == "\r" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\n" || l == "\t" || l == "\r" { s.removeLast() }
        return String(s)
    }

    func replacingDashes() -> String {
        String(map { $0 == "-" ? "_" : $0 })
    }
}
