/// A simplified time-zone rule: a standard offset plus the EU or US daylight-saving rule.
struct ZoneRule: Hashable, Sendable {
    /// How the zone observes daylight-saving time.
    enum Daylight: Hashable, Sendable {
        /// No daylight-saving time.
        case none
        /// EU rule: +1 h from the last Sunday of March to the last Sunday of October, both at 01:00 UTC.
        case europe
        /// US rule: +1 h from the second Sunday of March to the first Sunday of November, at 02:00 local.
        case unitedStates
    }

    /// IANA-style name, for labels only.
    let name: String
    /// Standard (winter) offset from UTC in minutes.
    let standardOffset: Int
    /// Daylight-saving rule.
    let daylight: Daylight

    /// The UTC offset in minutes in force at `millis`.
    func offset(at millis: EpochMillis) -> Int {
        switch daylight {
        case .none:
            return standardOffset
        case .europe:
            let year = CivilDate(dayNumber: TimeFormat.dayNumber(of: millis)).year
            let begin = ZoneRule.lastSunday(year: year, month: 3).startMillis + Span.hour
            let end = ZoneRule.lastSunday(year: year, month: 10).startMillis + Span.hour
            return millis >= begin && millis < end ? standardOffset + 60 : standardOffset
        case .unitedStates:
            let year = CivilDate(dayNumber: TimeFormat.dayNumber(of: millis)).year
            let twoAM = 2 * Span.hour - EpochMillis(standardOffset) * Span.minute
            let begin = ZoneRule.nthSunday(2, year: year, month: 3).startMillis + twoAM
            let end = ZoneRule.nthSunday(1, year: year, month: 11).startMillis + twoAM - Span.hour
            return millis >= begin && millis < end ? standardOffset + 60 : standardOffset
        }
    }

    /// Instants in `range` at which the offset changes.
    func transitions(in range: Range<EpochMillis>) -> [EpochMillis] {
        guard daylight != .none else {
            return []
        }
        var found: [EpochMillis] = []
        var hour = range.lowerBound - range.lowerBound % Span.hour
        var previous = offset(at: range.lowerBound)
        while hour < range.upperBound {
            let current = offset(at: hour)
            if current != previous, hour > range.lowerBound {
                // Refine to the minute.
                var minute = hour - Span.hour
                while offset(at: minute) == previous {
                    minute += Span.minute
                }
                found.append(minute)
            }
            previous = current
            hour += Span.hour
        }
        return found
    }

    /// Local date of an instant in this zone.
    func localDayNumber(_ millis: EpochMillis) -> Int {
        TimeFormat.dayNumber(of: millis + EpochMillis(offset(at: millis)) * Span.minute)
    }

    private static func lastSunday(year: Int, month: Int) -> CivilDate {
        let nextMonth =
            month == 12
            ? CivilDate(year: year + 1, month: 1, day: 1)
            : CivilDate(
                year: year,
                month: month + 1,
                day: 1
            )
        let last = nextMonth.dayNumber - 1
        return CivilDate(dayNumber: last - CivilDate.weekday(dayNumber: last))
    }

    private static func nthSunday(_ n: Int, year: Int, month: Int) -> CivilDate {
        let first = CivilDate(year: year, month: month, day: 1).dayNumber
        let firstSunday = first + (7 - CivilDate.weekday(dayNumber: first)) % 7
        return CivilDate(dayNumber: firstSunday + 7 * (n - 1))
    }
}

/// Where a synthetic client lives: its country, zone and public holidays.
enum Geography {
    /// Zones used per country; the first is the most common.
    static func zones(for country: String) -> [ZoneRule] {
        switch country {
        case "US":
            return [
                ZoneRule(name: "America/New_York", standardOffset: -300, daylight: .unitedStates),
                ZoneRule(name: "America/Chicago", standardOffset: -360, daylight: .unitedStates),
                ZoneRule(name: "America/Los_Angeles", standardOffset: -480, daylight: .unitedStates),
            ]
        case "DE": return [ZoneRule(name: "Europe/Berlin", standardOffset: 60, daylight: .europe)]
        case "FR": return [ZoneRule(name: "Europe/Paris", standardOffset: 60, daylight: .europe)]
        case "NL": return [ZoneRule(name: "Europe/Amsterdam", standardOffset: 60, daylight: .europe)]
        case "ES": return [ZoneRule(name: "Europe/Madrid", standardOffset: 60, daylight: .europe)]
        case "IT": return [ZoneRule(name: "Europe/Rome", standardOffset: 60, daylight: .europe)]
        case "GB": return [ZoneRule(name: "Europe/London", standardOffset: 0, daylight: .europe)]
        case "BR": return [ZoneRule(name: "America/Sao_Paulo", standardOffset: -180, daylight: .none)]
        case "JP": return [ZoneRule(name: "Asia/Tokyo", standardOffset: 540, daylight: .none)]
        case "IN": return [ZoneRule(name: "Asia/Kolkata", standardOffset: 330, daylight: .none)]
        case "SG": return [ZoneRule(name: "Asia/Singapore", standardOffset: 480, daylight: .none)]
        default: return [ZoneRule(name: "UTC", standardOffset: 0, daylight: .none)]
        }
    }

    /// A fixed-date public holiday.
    struct Holiday: Sendable {
        /// ISO country code.
        let country: String
        /// Month, 1...12.
        let month: Int
        /// Day of month.
        let day: Int
        /// English name.
        let name: String
    }

    /// Fixed-date national holidays that partners in these countries take off.
    static let holidays: [Holiday] = [
        Holiday(country: "DE", month: 1, day: 1, name: "New Year's Day"),
        Holiday(country: "DE", month: 10, day: 3, name: "German Unity Day"),
        Holiday(country: "DE", month: 12, day: 25, name: "Christmas Day"),
        Holiday(country: "FR", month: 11, day: 1, name: "All Saints' Day"),
        Holiday(country: "FR", month: 11, day: 11, name: "Armistice Day"),
        Holiday(country: "FR", month: 12, day: 25, name: "Christmas Day"),
        Holiday(country: "US", month: 11, day: 11, name: "Veterans Day"),
        Holiday(country: "US", month: 12, day: 25, name: "Christmas Day"),
        Holiday(country: "GB", month: 12, day: 25, name: "Christmas Day"),
        Holiday(country: "BR", month: 11, day: 2, name: "Finados (All Souls' Day)"),
        Holiday(country: "BR", month: 11, day: 15, name: "Proclamation of the Republic"),
        Holiday(country: "BR", month: 11, day: 20, name: "Black Consciousness Day"),
        Holiday(country: "JP", month: 11, day: 3, name: "Culture Day"),
        Holiday(country: "JP", month: 11, day: 23, name: "Labour Thanksgiving Day"),
        Holiday(country: "IN", month: 10, day: 2, name: "Gandhi Jayanti"),
        Holiday(country: "NL", month: 12, day: 25, name: "Christmas Day"),
    ]

    /// Whether `date` is a public holiday in `country`.
    static func isHoliday(_ date: CivilDate, in country: String) -> Bool {
        holidays.contains { $0.country == country && $0.month == date.month && $0.day == date.day }
    }
}
