/// Readers for the field values gateways write, shared by ``JSONLogFormat``, ``ALBFormat`` and
/// ``EnvoyTextFormat``. All work on borrowed bytes and treat empty or `-` as missing.
enum GatewayFieldText {
    /// An integer such as `200`, `"200"` or `200.0`; `nil` when missing or not an integer.
    static func integer(_ v: ByteView) -> Int64? {
        let t = v.trimmed()
        if t.isMissing { return nil }
        if let value = t.decimalValue { return value }
        guard let d = t.doubleValue, d.isFinite, d == d.rounded(), abs(d) < 1e18 else { return nil }
        return Int64(d)
    }

    /// An HTTP status code in 0...999; `nil` otherwise.
    static func status(_ v: ByteView) -> Int? {
        guard let value = integer(v), value >= 0, value < 1000 else { return nil }
        return Int(value)
    }

    /// A non-negative byte count.
    static func byteCount(_ v: ByteView) -> Int64? {
        guard let value = integer(v), value >= 0 else { return nil }
        return value
    }

    /// A duration in milliseconds: a bare number in `unit`, or a Go-style duration with unit
    /// suffixes (`350µs`, `1.5ms`, `2s`, `1m2.5s`). Negative values (ALB's `-1`) are missing.
    static func durationMillis(_ v: ByteView, unit: TimeUnit) -> Double? {
        let t = v.trimmed()
        if t.isMissing { return nil }
        if let d = t.doubleValue {
            guard d.isFinite, d >= 0 else { return nil }
            return unit.toMillis(d)
        }
        // number+suffix pairs
        var total = 0.0
        var i = 0
        let n = t.count
        while i < n {
            let start = i
            while i < n && (t[i] &- 0x30 < 10 || t[i] == UInt8(ascii: ".")) { i += 1 }
            guard i > start, let number = t.slice(start, i).doubleValue else { return nil }
            let suffixStart = i
            while i < n && !(t[i] &- 0x30 < 10 || t[i] == UInt8(ascii: ".")) { i += 1 }
            let suffix = t.slice(suffixStart, i)
            let factor: Double
            if suffix.equalsIgnoringCase("ns") {
                factor = 1e-6
            } else if suffix.equalsIgnoringCase("us") || suffix.equalsIgnoringCase("\u{00B5}s")
                || suffix.equalsIgnoringCase("\u{03BC}s")
            {
                factor = 1e-3
            } else if suffix.equalsIgnoringCase("ms") {
                factor = 1
            } else if suffix.equalsIgnoringCase("s") {
                factor = 1000
            } else if suffix.equalsIgnoringCase("m") {
                factor = 60_000
            } else if suffix.equalsIgnoringCase("h") {
                factor = 3_600_000
            } else {
                return nil
            }
            total += number * factor
        }
        return total.isFinite ? total : nil
    }

    /// A decimal number of seconds (`0.086`, `-1`) in milliseconds, moving the decimal point
    /// instead of multiplying, so `0.001` is exactly 1. `nil` when not a plain decimal.
    static func secondsAsMillis(_ v: ByteView) -> Double? {
        let t = v.trimmed()
        var i = 0
        var negative = false
        if i < t.count && t[i] == UInt8(ascii: "-") {
            negative = true
            i += 1
        }
        var mantissa: Int64 = 0
        var digits = 0
        var fractionDigits = 0
        var inFraction = false
        while i < t.count {
            let c = t[i]
            if c == UInt8(ascii: ".") && !inFraction {
                inFraction = true
            } else if c &- 0x30 < 10 {
                guard digits < 17 else { return nil }
                mantissa = mantissa * 10 + Int64(c &- 0x30)
                digits += 1
                if inFraction { fractionDigits += 1 }
            } else {
                return nil
            }
            i += 1
        }
        guard digits > 0 else { return nil }
        var millis = Double(mantissa)
        if fractionDigits < 3 {
            for _ in fractionDigits..<3 { millis *= 10 }
        } else if fractionDigits > 3 {
            var divisor = 1.0
            for _ in 3..<fractionDigits { divisor *= 10 }
            millis /= divisor
        }
        return negative ? -millis : millis
    }

    /// A timestamp in milliseconds since the epoch: epoch numbers in `unit` when given (else the
    /// unit is guessed from the magnitude), ISO 8601 and common-log times by their shape.
    static func timeMillis(_ v: ByteView, unit: TimeUnit?) -> Int64? {
        let t = v.trimmed().unquoted()
        if t.isMissing { return nil }
        if let exact = epochMillis(t, unit: unit) { return exact }
        if let d = t.doubleValue {
            // Exponent forms such as 1.7e12; range-checked here so that no input can overflow.
            guard d.isFinite, d > 0 else { return nil }
            let resolved =
                unit ?? (d >= 1e17 ? .nanoseconds : d >= 1e14 ? .microseconds : d >= 1e11 ? .milliseconds : .seconds)
            let millis = resolved.toMillis(d)
            guard millis < 8e15 else { return nil }
            return Int64(millis.rounded(.down))
        }
        return Timestamps.parseAny(t)
    }

    /// A plain decimal epoch time (`1700000000.123`, `1726783839538`) read without floating point,
    /// so that `.123` seconds is exactly 123 ms. The unit is guessed from the magnitude when `nil`,
    /// as ``Timestamps/parseEpochGuessingUnit(_:)`` does. `nil` for anything else (exponents, signs).
    static func epochMillis(_ t: ByteView, unit: TimeUnit?) -> Int64? {
        let n = t.count
        var i = 0
        var whole: Int64 = 0
        while i < n, t[i] &- 0x30 < 10 {
            guard whole < 100_000_000_000_000_000 else { return nil }
            whole = whole * 10 + Int64(t[i] &- 0x30)
            i += 1
        }
        guard i > 0 else { return nil }
        var nanos: Int64 = 0  // the fraction of one unit, in billionths
        var scale: Int64 = 100_000_000
        if i < n && t[i] == UInt8(ascii: ".") {
            i += 1
            while i < n, t[i] &- 0x30 < 10 {
                nanos += Int64(t[i] &- 0x30) * scale
                scale /= 10
                i += 1
            }
        }
        guard i == n else { return nil }
        let resolved: TimeUnit
        if let unit {
            resolved = unit
        } else {
            guard whole > 0 else { return nil }
            resolved =
                whole >= 100_000_000_000_000_000
                ? .nanoseconds
                : whole >= 100_000_000_000_000
                    ? .microseconds
                    : whole >= 100_000_000_000 ? .milliseconds : .seconds
        }
        let millis: Int64
        switch resolved {
        case .seconds:
            guard whole < 8_000_000_000_000 else { return nil }
            millis = whole * 1000 + nanos / 1_000_000
        case .milliseconds: millis = whole
        case .microseconds: millis = whole / 1000
        case .nanoseconds: millis = whole / 1_000_000
        }
        return millis < 8_000_000_000_000_000 ? millis : nil
    }

    /// Splits a request line `GET /path?q HTTP/1.1` into method and target; the protocol is dropped
    /// when the last token starts with `HTTP/`. A line without a space is all target.
    static func splitRequestLine(_ request: ByteView) -> (method: ByteView, target: ByteView) {
        let r = request.trimmed()
        guard let firstSpace = r.firstIndex(of: UInt8(ascii: " ")) else { return (.empty, r) }
        var end = r.count
        if let lastSpace = r.lastIndex(of: UInt8(ascii: " ")), lastSpace > firstSpace,
            r.slice(lastSpace + 1, r.count).hasPrefixIgnoringCase("HTTP/")
        {
            end = lastSpace
        }
        let method = r.slice(0, firstSpace)
        let target = r.slice(firstSpace + 1, end).trimmed()
        return (method.isMissing ? .empty : method, target.isMissing ? .empty : target)
    }

    /// The endpoint part of an AWS `routeKey` or `resourcePath`: `GET /pets/{petId}` → `/pets/{petId}`.
    /// Special routes such as `$default` or `$connect` have no endpoint.
    static func endpoint(_ v: ByteView) -> ByteView {
        let t = v.trimmed()
        if t.isMissing || t[0] == UInt8(ascii: "$") { return .empty }
        if let space = t.firstIndex(of: UInt8(ascii: " ")) {
            let rest = t.slice(space + 1, t.count).trimmed()
            if rest.isMissing || rest[0] == UInt8(ascii: "$") { return .empty }
            return rest
        }
        return t
    }

    /// An address with any port removed where that is unambiguous: `[2001:db8::1]:443` →
    /// `2001:db8::1`, `10.0.0.1:8080` → `10.0.0.1`. A bare IPv6 address is returned unchanged.
    static func hostStrippingPort(_ v: ByteView) -> ByteView {
        let t = v.trimmed()
        if t.isMissing { return .empty }
        if t[0] == UInt8(ascii: "[") {
            if let close = t.firstIndex(of: UInt8(ascii: "]")) { return t.slice(1, close) }
            return t
        }
        guard let colon = t.firstIndex(of: UInt8(ascii: ":")) else { return t }
        if t.firstIndex(of: UInt8(ascii: ":"), from: colon + 1) != nil { return t }  // IPv6 without port
        return t.slice(0, colon)
    }

    /// An `address:port` whose port is always present, as ALB writes it even for IPv6 without
    /// brackets (`2001:db8::1:2817`): everything before the last colon.
    static func hostBeforeLastColon(_ v: ByteView) -> ByteView {
        let t = v.trimmed()
        if t.isMissing { return .empty }
        if t[0] == UInt8(ascii: "[") { return hostStrippingPort(t) }
        guard let colon = t.lastIndex(of: UInt8(ascii: ":")), colon > 0 else { return t }
        return t.slice(0, colon)
    }

    /// The last entry of an X-Forwarded-For list: the peer the logging proxy saw.
    static func lastForwardedHop(_ v: ByteView) -> ByteView {
        let t = v.trimmed()
        if t.isMissing { return .empty }
        if let comma = t.lastIndex(of: UInt8(ascii: ",")) { return t.slice(comma + 1, t.count).trimmed() }
        return t
    }
}

/// Splits a line into space-separated fields, where a field may be `"quoted"` (and hold spaces)
/// or `[bracketed]`. A quote closes only when followed by a space or the line's end, so stray
/// quotes inside a user agent do not split it; `\"` is skipped.
struct QuotedFieldTokenizer {
    let line: ByteView
    private(set) var position = 0

    init(_ line: ByteView) {
        self.line = line
    }

    /// The next field, without its quotes or brackets; `nil` at the end of the line or when a
    /// quoted field is not closed.
    mutating func next() -> ByteView? {
        let n = line.count
        while position < n && line[position] == UInt8(ascii: " ") { position += 1 }
        if position >= n { return nil }
        let c = line[position]
        if c == UInt8(ascii: "\"") {
            var k = position + 1
            while k < n {
                let b = line[k]
                if b == UInt8(ascii: "\\") {
                    k += 2
                    continue
                }
                if b == UInt8(ascii: "\"") && (k + 1 == n || line[k + 1] == UInt8(ascii: " ")) {
                    let field = line.slice(position + 1, k)
                    position = k + 1
                    return field
                }
                k += 1
            }
            return nil
        }
        if c == UInt8(ascii: "[") {
            guard let close = line.firstIndex(of: UInt8(ascii: "]"), from: position + 1) else { return nil }
            let field = line.slice(position + 1, close)
            position = close + 1
            return field
        }
        var k = position
        while k < n && line[k] != UInt8(ascii: " ") { k += 1 }
        let field = line.slice(position, k)
        position = k
        return field
    }

    /// Whether the next field starts with a quote.
    func nextIsQuoted() -> Bool {
        var k = position
        while k < line.count && line[k] == UInt8(ascii: " ") { k += 1 }
        return k < line.count && line[k] == UInt8(ascii: "\"")
    }
}
