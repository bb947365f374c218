/// Turns request paths into endpoint templates: `/v1/orders/48213377?expand=items` → `/v1/orders/{id}`.
///
/// Segments that look like identifiers become placeholders: numbers `{id}`, UUIDs `{uuid}`, hex
/// digests `{hex}`, dates `{date}`, e-mail addresses `{email}`, long base64-ish tokens `{token}`,
/// SKU-like mixed codes (`SKU-12345`, `ORD88321`) `{id}`, and long percent-encoded text `{str}`. Short
/// versioned words (`v1`, `oauth2`, `s3`) stay. A file extension after a placeholder stays
/// (`{id}.json`). The query and any scheme and host are dropped; repeated slashes collapse.
///
/// User templates (``EndpointPattern``) are tried first, in order.
public struct EndpointTemplater: Sendable {
    /// Longest template kept, in bytes; longer paths are cut at a segment boundary and end in `/…`.
    public static let maxLength = 200
    private let patterns: [EndpointPattern]
    private let lanes = SegmentCounts.lanes

    /// Creates a templater that tries `patterns` before the built-in rules.
    public init(patterns: [EndpointPattern] = []) {
        self.patterns = patterns
    }

    /// Writes the template of `target` (a path, path with query, or absolute URL) into `out`.
    /// - Parameters:
    ///   - target: The request target.
    ///   - out: Cleared, then filled with the template's bytes.
    public func template(of target: ByteView, into out: inout [UInt8]) {
        let scratch = TemplateScratch()
        let length = template(of: target, into: scratch)
        out = Array(UnsafeBufferPointer(start: scratch.base, count: length))
    }

    /// Writes the template of `target` into `scratch` and returns its length (at most ``TemplateScratch/capacity``).
    @inline(__always)
    func template(of target: ByteView, into scratch: TemplateScratch) -> Int {
        let out = scratch.base
        var length = 0
        @inline(__always) func put(_ byte: UInt8) {
            out[length] = byte
            length += 1
        }
        @inline(__always) func put(_ v: ByteView) {
            if let base = v.base, v.count > 0 {
                EndpointTemplater.copy(base, to: out + length, count: v.count)
                length += v.count
            }
        }
        // A plain path is read in place; its query is cut off by the segment loop below.
        let plainPath = target.count > 0 && target[0] == UInt8(ascii: "/") && patterns.isEmpty
        var path = plainPath ? target : EndpointTemplater.pathPart(of: target)
        if path.isEmpty || path[0] != UInt8(ascii: "/") {
            // "*" (OPTIONS), junk request lines: keep a short literal.
            if path.count > 32 { path = path.slice(0, 32) }
            if path.isEmpty { put(UInt8(ascii: "-")) } else { put(path) }
            return length
        }
        for pattern in patterns where pattern.matches(path) {
            pattern.template.withUnsafeBufferPointer { put(ByteView(base: $0.baseAddress, count: $0.count)) }
            return length
        }
        var i = 0
        let n = path.count
        let lanes = UnsafePointer(self.lanes.base)
        while i < n {
            while i < n && path[i] == UInt8(ascii: "/") { i += 1 }
            if i >= n { break }
            // One pass finds the segment's end and counts its byte classes (one 8-bit lane per class).
            var j = i
            var packed: UInt64 = 0
            var last = false
            while j < n {
                let lane = lanes[Int(path[j])]
                if lane == SegmentCounts.stop {
                    last = path[j] != UInt8(ascii: "/")
                    break
                }
                packed &+= lane
                j += 1
            }
            if j == i { break }  // "/v1/?q=…": nothing after the last slash but the query.
            if length >= EndpointTemplater.maxLength {
                put(UInt8(ascii: "/"))
                put(0xE2)  // "…"
                put(0x80)
                put(0xA6)
                return length
            }
            put(UInt8(ascii: "/"))
            let segment = path.slice(i, j)
            // A lane can overflow past 255 bytes: count long segments again, exactly. The common
            // decisions read the packed lanes; all eight counts are unpacked only for `classify`.
            let placeholder =
                j - i <= 255
                ? EndpointTemplater.placeholder(
                    for: segment, digits: Int(packed & 0xFF), at: Int((packed >> 24) & 0xFF),
                    percent: Int((packed >> 32) & 0xFF), dots: Int((packed >> 40) & 0xFF)
                ) { SegmentCounts(packed: packed) }
                : EndpointTemplater.placeholder(for: segment, counts: SegmentCounts(segment))
            if let text = placeholder.text {
                text.withUTF8Buffer { put(ByteView(base: $0.baseAddress, count: $0.count)) }
                put(segment.slice(placeholder.keepFrom, segment.count))
            } else {
                put(segment.slice(0, min(segment.count, 64)))
            }
            i = last ? n : j
        }
        if length == 0 { put(UInt8(ascii: "/")) }
        return length
    }

    /// The placeholder for a segment from its counts of digits, `@`, `%` and dots, and from where
    /// to keep its own text; `counts` gives all its counts when `classify` needs them.
    @inline(__always)
    static func placeholder(
        for segment: ByteView, digits: Int, at: Int, percent: Int, dots: Int, counts: () -> SegmentCounts
    ) -> (text: StaticString?, keepFrom: Int) {
        let n = segment.count
        // Words without digits, '@', '%' or a short prefix ("orders", "v", "search") are never identifiers.
        if digits + at + percent == 0 && !hasShortPrefix(segment) { return (nil, 0) }
        if digits == n { return ("{id}", n) }  // classify's first rule, the common case
        if dots == 0 {
            // Short words with a digit or two ("v1", "v2", "oauth2", "s3"): no rule of `classify`
            // matches five bytes or fewer with under three digits and no '@' or '%'.
            if n <= 5 && digits <= 2 && at == 0 && percent == 0 { return (nil, 0) }
            return (classify(segment, counts()), n)
        }
        return placeholder(for: segment)
    }

    /// ``placeholder(for:digits:at:percent:dots:counts:)`` with the counts at hand.
    static func placeholder(for segment: ByteView, counts: SegmentCounts) -> (text: StaticString?, keepFrom: Int) {
        placeholder(
            for: segment, digits: counts.digits, at: counts.at, percent: counts.percent, dots: counts.dots
        ) { counts }
    }

    /// Whether a '_' or '-' sits at offset 2–6 of a segment: a short prefix that may start a
    /// vendor-style id ("exp_zobVdtmIPV"), so the segment is worth classifying without any digit.
    @inline(__always)
    static func hasShortPrefix(_ s: ByteView) -> Bool {
        var k = 2
        let end = min(7, s.count)
        while k < end {
            if s[k] == UInt8(ascii: "_") || s[k] == UInt8(ascii: "-") { return true }
            k += 1
        }
        return false
    }

    /// Copies `count` bytes; segments are short, so up to 16 bytes move as two overlapping words
    /// (never touching a byte outside either range) instead of through a call to `memmove`.
    @inline(__always)
    static func copy(_ source: UnsafePointer<UInt8>, to target: UnsafeMutablePointer<UInt8>, count: Int) {
        let from = UnsafeRawPointer(source)
        let to = UnsafeMutableRawPointer(target)
        if count >= 8 && count <= 16 {
            let head = from.loadUnaligned(as: UInt64.self)
            let tail = from.loadUnaligned(fromByteOffset: count - 8, as: UInt64.self)
            to.storeBytes(of: head, as: UInt64.self)
            to.storeBytes(of: tail, toByteOffset: count - 8, as: UInt64.self)
        } else if count >= 4 && count < 8 {
            let head = from.loadUnaligned(as: UInt32.self)
            let tail = from.loadUnaligned(fromByteOffset: count - 4, as: UInt32.self)
            to.storeBytes(of: head, as: UInt32.self)
            to.storeBytes(of: tail, toByteOffset: count - 4, as: UInt32.self)
        } else if count < 4 {
            for k in 0..<count { target[k] = source[k] }
        } else {
            target.update(from: source, count: count)
        }
    }

    /// The placeholder for a segment, and from where to keep the segment's own text (its extension).
    @inline(__always)
    static func placeholder(for s: ByteView) -> (text: StaticString?, keepFrom: Int) {
        // E-mail addresses contain dots that are not extensions.
        var hasAt = false
        for k in 0..<s.count where s[k] == UInt8(ascii: "@") { hasAt = true }
        if hasAt { return (classify(s), s.count) }
        // Keep a short extension after a placeholder: "123.json" → "{id}.json".
        if let dot = s.lastIndex(of: UInt8(ascii: ".")), dot > 0, s.count - dot - 1 >= 1, s.count - dot - 1 <= 5 {
            var letters = true
            for k in (dot + 1)..<s.count where lowercaseASCII(s[k]) &- 0x61 >= 26 { letters = false }
            if letters, let text = classify(s.slice(0, dot)) { return (text, dot) }
        }
        return (classify(s), s.count)
    }

    /// The path of a request target without query, fragment, scheme or host.
    public static func pathPart(of target: ByteView) -> ByteView {
        var v = target
        // Absolute URL: skip "scheme://host[:port]".
        if v.count > 8 && (v[0] == UInt8(ascii: "h") || v[0] == UInt8(ascii: "H")) {
            if let colon = v.firstIndex(of: UInt8(ascii: ":")), colon <= 5, colon + 2 < v.count,
                v[colon + 1] == UInt8(ascii: "/"), v[colon + 2] == UInt8(ascii: "/")
            {
                let hostStart = colon + 3
                let slash = v.firstIndex(of: UInt8(ascii: "/"), from: hostStart) ?? v.count
                v = slash < v.count ? v.slice(slash, v.count) : ByteView.empty
                if v.isEmpty { return v }
            }
        }
        var end = 0
        while end < v.count && v[end] != UInt8(ascii: "?") && v[end] != UInt8(ascii: "#") { end += 1 }
        return v.slice(0, end)
    }

    /// The placeholder for a segment that looks like an identifier, or `nil` to keep it literally.
    static func classify(_ s: ByteView) -> StaticString? {
        classify(s, SegmentCounts(s))
    }

    /// ``classify(_:)`` with the segment's byte classes already counted.
    @inline(__always)
    static func classify(_ s: ByteView, _ counts: SegmentCounts) -> StaticString? {
        let n = s.count
        if n == 0 { return nil }
        let digits = counts.digits
        let letters = counts.letters
        let hexLetters = counts.hexLetters
        let at = counts.at
        let percent = counts.percent
        let dots = counts.dots
        let dashes = counts.dashes
        let other = counts.other
        if digits == n { return "{id}" }
        // Dimensions such as "200x200" are part of the route, not an identifier.
        if other == 0 && letters == 1 && dots == 0 && dashes == 0, let x = s.firstIndex(of: UInt8(ascii: "x")),
            x > 0, x < n - 1
        {
            return nil
        }
        if at == 1 && dots >= 1 && n >= 5 { return "{email}" }
        if percent >= 3 && n >= 12 { return "{str}" }
        if n == 36 && dashes == 4 && s[8] == 0x2D && s[13] == 0x2D && s[18] == 0x2D && s[23] == 0x2D
            && digits + hexLetters == 32
        {
            return "{uuid}"
        }
        if n == 10 && dashes == 2 && s[4] == 0x2D && s[7] == 0x2D && digits == 8 { return "{date}" }
        if n >= 8 && digits >= 1 && digits + hexLetters == n { return "{hex}" }
        if other > 0 || percent > 0 { return nil }
        if n >= 16 && digits >= 2 && letters >= 2 { return "{token}" }
        if digits >= 1 && letters >= 1 && (digits >= 3 || (n >= 6 && digits >= 2)) { return "{id}" }
        if n >= 11 && letters >= 6 && isPrefixedRandomID(s) { return "{id}" }
        return nil
    }

    /// Whether a segment is a vendor-style prefixed id such as `exp_u9gODPJLxC` or `cus-zobVdtmIPV`:
    /// two to six lowercase letters, `_` or `-`, then eight or more letters and digits that look
    /// random (a digit, or at least three changes between lower and upper case).
    static func isPrefixedRandomID(_ s: ByteView) -> Bool {
        var cut = 0
        while cut < s.count && s[cut] &- 0x61 < 26 { cut += 1 }
        guard (2...6).contains(cut), cut < s.count, s[cut] == UInt8(ascii: "_") || s[cut] == UInt8(ascii: "-"),
            s.count - cut - 1 >= 8
        else { return false }
        var digits = 0
        var changes = 0
        var previousUpper: Bool?
        for k in (cut + 1)..<s.count {
            let c = s[k]
            if c &- 0x30 <= 9 {
                digits += 1
                continue
            }
            let upper = c &- 0x41 < 26
            guard upper || c &- 0x61 < 26 else { return false }
            if let previousUpper, previousUpper != upper { changes += 1 }
            previousUpper = upper
        }
        return digits >= 1 || changes >= 3
    }
}

/// How many bytes of each class a path segment holds, which is all ``EndpointTemplater/classify(_:_:)`` needs
/// besides a few positions.
struct SegmentCounts {
    var digits = 0
    /// ASCII letters, `a`–`f` included.
    var letters = 0
    /// `a`–`f` and `A`–`F`.
    var hexLetters = 0
    var at = 0
    var percent = 0
    var dots = 0
    var dashes = 0
    /// Anything but letters, digits and `@ % . - _ = + ~`.
    var other = 0

    /// The lane table's entry for the bytes that end a segment: `/`, `?` and `#`.
    static let stop = UInt64.max

    /// Counts `s` byte by byte.
    init(_ s: ByteView) {
        for k in 0..<s.count {
            let c = s[k]
            if c &- 0x30 <= 9 {
                digits += 1
            } else if lowercaseASCII(c) &- 0x61 < 26 {
                letters += 1
                if lowercaseASCII(c) &- 0x61 < 6 { hexLetters += 1 }
            } else {
                switch c {
                case UInt8(ascii: "@"): at += 1
                case UInt8(ascii: "%"): percent += 1
                case UInt8(ascii: "."): dots += 1
                case UInt8(ascii: "-"): dashes += 1
                case UInt8(ascii: "_"), UInt8(ascii: "="), UInt8(ascii: "+"), UInt8(ascii: "~"): break
                default: other += 1
                }
            }
        }
    }

    /// Unpacks counts summed from ``lanes`` entries (each at most 255).
    @inline(__always)
    init(packed p: UInt64) {
        digits = Int(p & 0xFF)
        letters = Int((p >> 8) & 0xFF)
        hexLetters = Int((p >> 16) & 0xFF)
        at = Int((p >> 24) & 0xFF)
        percent = Int((p >> 32) & 0xFF)
        dots = Int((p >> 40) & 0xFF)
        dashes = Int((p >> 48) & 0xFF)
        other = Int(p >> 56)
    }

    /// For each byte, one in the lane of its class (digits in bits 0–7, letters 8–15, hex letters
    /// 16–23, `@`, `%`, `.`, `-`, other 56–63), or ``stop``; summing entries counts a segment.
    static let lanes = LaneTable()

    /// The 256 lane entries, in memory that lives as long as the process.
    ///
    /// Safety (`@unchecked Sendable`): filled in `init` and only read afterwards, so sharing it is safe.
    final class LaneTable: @unchecked Sendable {
        let base: UnsafeMutablePointer<UInt64>

        init() {
            base = .allocate(capacity: 256)
            var one: UInt8 = 0
            for byte in 0..<256 {
                one = UInt8(byte)
                if one == UInt8(ascii: "/") || one == UInt8(ascii: "?") || one == UInt8(ascii: "#") {
                    base[byte] = SegmentCounts.stop
                    continue
                }
                let c = withUnsafePointer(to: &one) { SegmentCounts(ByteView(base: $0, count: 1)) }
                base[byte] =
                    UInt64(c.digits) | UInt64(c.letters) << 8 | UInt64(c.hexLetters) << 16 | UInt64(c.at) << 24
                    | UInt64(c.percent) << 32 | UInt64(c.dots) << 40 | UInt64(c.dashes) << 48 | UInt64(c.other) << 56
            }
        }

        deinit { base.deallocate() }
    }
}

/// A user-supplied endpoint template such as `/v1/users/{user}/avatar` or `/files/*`.
///
/// `{name}` matches exactly one path segment, a final `*` matches the rest, anything else must
/// match literally.
public struct EndpointPattern: Sendable, Hashable {
    enum Segment: Sendable, Hashable {
        case literal([UInt8])
        case any
        case rest
    }

    let segments: [Segment]
    /// The template text events get when the pattern matches.
    public let template: [UInt8]

    /// Parses a pattern; `nil` if it does not start with `/`.
    public init?(_ text: String) {
        guard text.hasPrefix("/") else { return nil }
        var parsed: [Segment] = []
        for piece in text.split(separator: "/", omittingEmptySubsequences: true) {
            if piece == "*" {
                parsed.append(.rest)
            } else if piece.hasPrefix("{") && piece.hasSuffix("}") {
                parsed.append(.any)
            } else {
                parsed.append(.literal(Array(piece.utf8)))
            }
        }
        segments = parsed
        template = Array(text.utf8)
    }

    /// Whether `path` (no query) matches.
    public func matches(_ path: ByteView) -> Bool {
        var i = 0
        let n = path.count
        for segment in segments {
            while i < n && path[i] == UInt8(ascii: "/") { i += 1 }
            if case .rest = segment { return true }
            if i >= n { return false }
            var j = i
            while j < n && path[j] != UInt8(ascii: "/") { j += 1 }
            if case .literal(let bytes) = segment {
                if j - i != bytes.count { return false }
                for k in 0..<bytes.count where path[i + k] != bytes[k] { return false }
            }
            i = j
        }
        while i < n && path[i] == UInt8(ascii: "/") { i += 1 }
        return i >= n
    }
}

/// Output memory for one endpoint template, reused for every line.
final class TemplateScratch {
    /// Room for the longest template: ``EndpointTemplater/maxLength`` plus one last segment and "/…".
    static let capacity = EndpointTemplater.maxLength + 80
    let base = UnsafeMutablePointer<UInt8>.allocate(capacity: TemplateScratch.capacity)
    deinit { base.deallocate() }
}
