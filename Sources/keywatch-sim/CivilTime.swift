/// Milliseconds since 1970-01-01T00:00:00Z. The simulator never reads the wall clock.
typealias EpochMillis = Int64

/// Milliseconds in common spans of time.
enum Span {
    static let second: Int64 = 1000
    static let minute: Int64 = 60 * second
    static let hour: Int64 = 60 * minute
    static let day: Int64 = 24 * hour
}

/// A date on the proleptic Gregorian calendar, converted without Foundation calendars.
struct CivilDate: Hashable, Comparable, Sendable {
    /// Four-digit year.
    let year: Int
    /// Month, 1...12.
    let month: Int
    /// Day of month, 1...31.
    let day: Int

    /// Creates a date from its parts; the parts are not validated.
    init(year: Int, month: Int, day: Int) {
        self.year = year
        self.month = month
        self.day = day
    }

    /// Creates the date that is `dayNumber` days after 1970-01-01 (Howard Hinnant's `civil_from_days`).
    init(dayNumber: Int) {
        let z = dayNumber + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        self.init(year: yoe + era * 400 + (m <= 2 ? 1 : 0), month: m, day: d)
    }

    /// Parses `YYYY-MM-DD`; returns `nil` for anything else or an impossible date.
    init?(parsing text: String) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
            let y = Int(parts[0]), let m = Int(parts[1]), let d = Int(parts[2]),
            (1...12).contains(m), (1...31).contains(d)
        else {
            return nil
        }
        self.init(year: y, month: m, day: d)
        guard CivilDate(dayNumber: dayNumber) == self else {
            return nil
        }
    }

    /// Days since 1970-01-01 (Howard Hinnant's `days_from_civil`).
    var dayNumber: Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = month > 2 ? month - 3 : month + 9
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// Day of the week, 0 = Sunday ... 6 = Saturday.
    var weekday: Int {
        CivilDate.weekday(dayNumber: dayNumber)
    }

    /// Midnight UTC at the start of this date.
    var startMillis: EpochMillis {
        EpochMillis(dayNumber) * Span.day
    }

    /// `YYYY-MM-DD`.
    var iso: String {
        "\(year)-\(TimeFormat.pad2(month))-\(TimeFormat.pad2(day))"
    }

    /// `YYYYMMDD`, as used in rotated file names.
    var compact: String {
        "\(year)\(TimeFormat.pad2(month))\(TimeFormat.pad2(day))"
    }

    /// Day of the week for a day number, 0 = Sunday.
    static func weekday(dayNumber: Int) -> Int {
        ((dayNumber % 7) + 11) % 7
    }

    static func < (lhs: CivilDate, rhs: CivilDate) -> Bool {
        lhs.dayNumber < rhs.dayNumber
    }
}

/// Timestamp formatting for log lines and labels.
enum TimeFormat {
    private static let months = Array("JanFebMarAprMayJunJulAugSepOctNovDec".utf8)

    /// Floor division of milliseconds into whole days.
    static func dayNumber(of millis: EpochMillis) -> Int {
        Int(floorDiv(millis, Span.day))
    }

    /// Floor division that rounds towards negative infinity.
    static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
        let q = a / b
        return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
    }

    /// Two-digit zero-padded decimal.
    static func pad2(_ value: Int) -> String {
        value < 10 ? "0\(value)" : "\(value)"
    }

    /// RFC 3339 UTC with second precision, e.g. `2026-10-26T13:55:36Z`.
    static func rfc3339(_ millis: EpochMillis) -> String {
        let seconds = floorDiv(millis, Span.second)
        let date = CivilDate(dayNumber: Int(floorDiv(seconds, 86_400)))
        let secondOfDay = Int(seconds - floorDiv(seconds, 86_400) * 86_400)
        return "\(date.iso)T\(pad2(secondOfDay / 3600)):\(pad2(secondOfDay / 60 % 60)):\(pad2(secondOfDay % 60))Z"
    }

    /// A UTC offset as `+HH:MM`.
    static func offsetText(minutes: Int, colon: Bool = true) -> String {
        let sign = minutes < 0 ? "-" : "+"
        let magnitude = abs(minutes)
        return sign + pad2(magnitude / 60) + (colon ? ":" : "") + pad2(magnitude % 60)
    }

    /// Appends nginx `$time_local`, e.g. `26/Oct/2026:13:55:36 +0000`, for a node at `offsetMinutes`.
    static func appendNginxTime(_ millis: EpochMillis, offsetMinutes: Int, to out: inout [UInt8]) {
        let local = floorDiv(millis, Span.second) + Int64(offsetMinutes * 60)
        let dayNumber = Int(floorDiv(local, 86_400))
        let secondOfDay = Int(local - Int64(dayNumber) * 86_400)
        let date = CivilDate(dayNumber: dayNumber)
        appendDigits(date.day, width: 2, to: &out)
        out.append(UInt8(ascii: "/"))
        out.append(contentsOf: months[(date.month - 1) * 3..<(date.month * 3)])
        out.append(UInt8(ascii: "/"))
        appendDigits(date.year, width: 4, to: &out)
        out.append(UInt8(ascii: ":"))
        appendDigits(secondOfDay / 3600, width: 2, to: &out)
        out.append(UInt8(ascii: ":"))
        appendDigits(secondOfDay / 60 % 60, width: 2, to: &out)
        out.append(UInt8(ascii: ":"))
        appendDigits(secondOfDay % 60, width: 2, to: &out)
        out.append(UInt8(ascii: " "))
        out.append(contentsOf: offsetText(minutes: offsetMinutes, colon: false).utf8)
    }

    /// Appends a non-negative integer zero-padded to `width` digits.
    static func appendDigits(_ value: Int, width: Int, to out: inout [UInt8]) {
        var digits: [UInt8] = []
        var rest = value
        repeat {
            digits.append(UInt8(ascii: "0") + UInt8(rest % 10))
            rest /= 10
        } while rest > 0
        if digits.count < width {
            out.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: width - digits.count))
        }
        out.append(contentsOf: digits.reversed())
    }
}
