/// Timestamp readers for the layouts gateways write, all returning milliseconds since the Unix epoch (UTC).
///
/// They work on bytes and allocate nothing; none uses Foundation.
public enum Timestamps {
    /// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
    @inlinable
    public static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146097 + doe - 719468
    }

    /// The civil date of a day number since 1970-01-01.
    public static func civil(fromDays days: Int) -> (year: Int, month: Int, day: Int) {
        let z = days + 719468
        let era = (z >= 0 ? z : z - 146096) / 146097
        let doe = z - era * 146097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
        let y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (m <= 2 ? y + 1 : y, m, d)
    }

    @inlinable
    static func digits(_ v: ByteView, _ at: Int, _ n: Int) -> Int? {
        if at + n > v.count { return nil }
        var value = 0
        for i in at..<(at + n) {
            let d = v[i] &- 0x30
            if d > 9 { return nil }
            value = value * 10 + Int(d)
        }
        return value
    }

    @inlinable
    static func monthNumber(_ a: UInt8, _ b: UInt8, _ c: UInt8) -> Int? {
        let key = (UInt32(lowercaseASCII(a)) << 16) | (UInt32(lowercaseASCII(b)) << 8) | UInt32(lowercaseASCII(c))
        switch key {
        case 0x6a616e: return 1  // jan
        case 0x666562: return 2  // feb
        case 0x6d6172: return 3  // mar
        case 0x617072: return 4  // apr
        case 0x6d6179: return 5  // may
        case 0x6a756e: return 6  // jun
        case 0x6a756c: return 7  // jul
        case 0x617567: return 8  // aug
        case 0x736570: return 9  // sep
        case 0x6f6374: return 10  // oct
        case 0x6e6f76: return 11  // nov
        case 0x646563: return 12  // dec
        default: return nil
        }
    }

    /// Reads a fractional-second part starting at `at` (just after the `.` or `,`), returning milliseconds and the end index.
    @inlinable
    static func fraction(_ v: ByteView, _ at: Int) -> (millis: Int, end: Int) {
        var i = at
        var millis = 0
        var n = 0
        while i < v.count, v[i] &- 0x30 <= 9 {
            if n < 3 { millis = millis * 10 + Int(v[i] &- 0x30) }
            n += 1
            i += 1
        }
        while n < 3 {
            millis *= 10
            n += 1
        }
        return (millis, i)
    }

    /// Reads a zone offset (`Z`, `+0330`, `+03:30`, `-07`) at `at`; returns seconds east of UTC and the end index.
    @inlinable
    static func zoneOffset(_ v: ByteView, _ at: Int) -> (seconds: Int, end: Int)? {
        if at >= v.count { return nil }
        let c = v[at]
        if c == UInt8(ascii: "Z") || c == UInt8(ascii: "z") { return (0, at + 1) }
        guard c == UInt8(ascii: "+") || c == UInt8(ascii: "-") else { return nil }
        let sign = c == UInt8(ascii: "-") ? -1 : 1
        guard let hh = digits(v, at + 1, 2) else { return nil }
        var i = at + 3
        var mm = 0
        if i < v.count && v[i] == UInt8(ascii: ":") { i += 1 }
        if let m = digits(v, i, 2) {
            mm = m
            i += 2
        }
        guard hh <= 23, mm <= 59 else { return nil }
        return (sign * (hh * 3600 + mm * 60), i)
    }

    /// Reads the common-log time `10/Oct/2000:13:55:36 -0700` (brackets already removed).
    ///
    /// A fraction after the seconds (`13:55:36.123`) is accepted; a missing zone means UTC.
    /// - Parameter v: The timestamp bytes.
    /// - Returns: Milliseconds since the epoch, or `nil` if `v` is not such a time.
    @inlinable
    public static func parseCommonLog(_ v: ByteView) -> Int64? {
        guard v.count >= 20, let day = digits(v, 0, 2), v[2] == UInt8(ascii: "/"),
            let month = monthNumber(v[3], v[4], v[5]), v[6] == UInt8(ascii: "/"),
            let year = digits(v, 7, 4), v[11] == UInt8(ascii: ":"),
            let hour = digits(v, 12, 2), v[14] == UInt8(ascii: ":"),
            let minute = digits(v, 15, 2), v[17] == UInt8(ascii: ":"),
            let second = digits(v, 18, 2)
        else { return nil }
        guard day >= 1, day <= 31, hour <= 23, minute <= 59, second <= 60 else { return nil }
        var i = 20
        var millis = 0
        if i < v.count && (v[i] == UInt8(ascii: ".") || v[i] == UInt8(ascii: ",")) {
            (millis, i) = fraction(v, i + 1)
        }
        var offset = 0
        if i < v.count && v[i] == UInt8(ascii: " ") {
            guard let zone = zoneOffset(v, i + 1) else { return nil }
            offset = zone.seconds
        }
        let days = daysFromCivil(year: year, month: month, day: day)
        let seconds = days * 86400 + hour * 3600 + minute * 60 + second - offset
        return Int64(seconds) * 1000 + Int64(millis)
    }

    /// Reads ISO 8601 / RFC 3339 times: `2016-04-15T20:17:00.310Z`, `2019-01-22T03:56:14+03:30`,
    /// `2019-01-22 03:56:14`, with any number of fraction digits. A missing zone means UTC.
    /// - Parameter v: The timestamp bytes.
    /// - Returns: Milliseconds since the epoch, or `nil` if `v` is not such a time.
    @inlinable
    public static func parseISO8601(_ v: ByteView) -> Int64? {
        guard v.count >= 19, let year = digits(v, 0, 4), v[4] == UInt8(ascii: "-"),
            let month = digits(v, 5, 2), v[7] == UInt8(ascii: "-"), let day = digits(v, 8, 2),
            v[10] == UInt8(ascii: "T") || v[10] == UInt8(ascii: " ") || v[10] == UInt8(ascii: "t"),
            let hour = digits(v, 11, 2), v[13] == UInt8(ascii: ":"),
            let minute = digits(v, 14, 2), v[16] == UInt8(ascii: ":"),
            let second = digits(v, 17, 2)
        else { return nil }
        guard month >= 1, month <= 12, day >= 1, day <= 31, hour <= 23, minute <= 59, second <= 60 else {
            return nil
        }
        var i = 19
        var millis = 0
        if i < v.count && (v[i] == UInt8(ascii: ".") || v[i] == UInt8(ascii: ",")) {
            (millis, i) = fraction(v, i + 1)
        }
        var offset = 0
        if i < v.count {
            if v[i] == UInt8(ascii: " ") { i += 1 }
            guard let zone = zoneOffset(v, i), zone.end == v.count else { return nil }
            offset = zone.seconds
        }
        let days = daysFromCivil(year: year, month: month, day: day)
        let seconds = days * 86400 + hour * 3600 + minute * 60 + second - offset
        return Int64(seconds) * 1000 + Int64(millis)
    }

    /// Reads a Unix time in `unit`s, with an optional fraction (`1700000000.123` seconds, `1700000000123` ms).
    /// - Parameters:
    ///   - v: The number's bytes.
    ///   - unit: What one unit of the number is.
    /// - Returns: Milliseconds since the epoch, or `nil` if `v` is not a number.
    public static func parseEpoch(_ v: ByteView, unit: TimeUnit) -> Int64? {
        // Integer and fraction are read apart, so `1700000000.123` s is exactly 1700000000123 ms.
        var i = 0
        var whole: Int64 = 0
        var digits = 0
        while i < v.count, v[i] &- 0x30 <= 9 {
            if digits >= 19 { return nil }
            whole = whole * 10 + Int64(v[i] &- 0x30)
            i += 1
            digits += 1
        }
        guard digits > 0 else { return nil }
        var fractionMillis = 0.0
        if i < v.count && v[i] == UInt8(ascii: ".") {
            i += 1
            var scale = 0.1
            var fractionDigits = 0
            var fraction = 0.0
            while i < v.count, v[i] &- 0x30 <= 9 {
                if fractionDigits < 9 { fraction += Double(v[i] &- 0x30) * scale }
                scale *= 0.1
                fractionDigits += 1
                i += 1
            }
            // Round the fraction at a nanosecond so 0.123 does not become 0.12299999.
            fractionMillis = (unit.toMillis(fraction) * 1e6).rounded() / 1e6
        }
        guard i == v.count else { return nil }
        let millis: Int64
        switch unit {
        case .seconds:
            guard whole < 8_000_000_000_000 else { return nil }
            millis = whole * 1000
        case .milliseconds: millis = whole
        case .microseconds: millis = whole / 1000
        case .nanoseconds: millis = whole / 1_000_000
        }
        guard millis >= 0, millis < 8_000_000_000_000_000 else { return nil }
        return millis + Int64(fractionMillis.rounded(.down))
    }

    /// Reads a number of seconds, milliseconds, microseconds or nanoseconds since the epoch,
    /// picking the unit from its magnitude (as Kong, AWS and Traefik emit all four).
    public static func parseEpochGuessingUnit(_ v: ByteView) -> Int64? {
        guard let value = v.doubleValue, value.isFinite, value > 0, value < 1e20 else { return nil }
        let unit: TimeUnit =
            value >= 1e17 ? .nanoseconds : value >= 1e14 ? .microseconds : value >= 1e11 ? .milliseconds : .seconds
        if let exact = parseEpoch(v, unit: unit) { return exact }
        let millis = unit.toMillis(value)
        guard millis < 8e15 else { return nil }
        return Int64(millis.rounded(.down))
    }

    /// Reads any of the layouts above, choosing by shape.
    public static func parseAny(_ v: ByteView) -> Int64? {
        if v.count >= 19 && v[4] == UInt8(ascii: "-") { return parseISO8601(v) }
        if v.count >= 20 && v[2] == UInt8(ascii: "/") { return parseCommonLog(v) }
        return parseEpochGuessingUnit(v)
    }

    /// Formats milliseconds since the epoch as RFC 3339 UTC with millisecond precision: `2026-10-26T13:55:36.123Z`.
    public static func rfc3339(_ millis: Int64) -> String {
        var buffer = [UInt8]()
        buffer.reserveCapacity(24)
        appendRFC3339(millis, to: &buffer)
        return String(decoding: buffer, as: UTF8.self)
    }

    /// Appends the RFC 3339 form of `millis` to `out`.
    public static func appendRFC3339(_ millis: Int64, to out: inout [UInt8]) {
        let totalSeconds = Int(millis >= 0 ? millis / 1000 : (millis - 999) / 1000)
        let ms = Int(millis - Int64(totalSeconds) * 1000)
        let days = totalSeconds >= 0 ? totalSeconds / 86400 : (totalSeconds - 86399) / 86400
        let secOfDay = totalSeconds - days * 86400
        let (y, m, d) = civil(fromDays: days)
        func put(_ value: Int, _ width: Int) {
            var digits = [UInt8](repeating: 0x30, count: width)
            var v = value
            for i in stride(from: width - 1, through: 0, by: -1) {
                digits[i] = UInt8(0x30 + v % 10)
                v /= 10
            }
            out.append(contentsOf: digits)
        }
        put(y, 4)
        out.append(UInt8(ascii: "-"))
        put(m, 2)
        out.append(UInt8(ascii: "-"))
        put(d, 2)
        out.append(UInt8(ascii: "T"))
        put(secOfDay / 3600, 2)
        out.append(UInt8(ascii: ":"))
        put(secOfDay / 60 % 60, 2)
        out.append(UInt8(ascii: ":"))
        put(secOfDay % 60, 2)
        out.append(UInt8(ascii: "."))
        put(ms, 3)
        out.append(UInt8(ascii: "Z"))
    }
}

/// A unit of time that logs use for latencies and epoch timestamps.
public enum TimeUnit: String, Sendable, CaseIterable {
    case seconds = "s"
    case milliseconds = "ms"
    case microseconds = "us"
    case nanoseconds = "ns"

    /// Converts `value` in this unit to milliseconds.
    @inlinable
    public func toMillis(_ value: Double) -> Double {
        switch self {
        case .seconds: value * 1000
        case .milliseconds: value
        case .microseconds: value / 1000
        case .nanoseconds: value / 1_000_000
        }
    }
}
