import Foundation

/// Expected request rates: daily and weekly rhythms per key kind, growth and creation.
enum Rhythm {
    /// Mobile traffic by local hour: quiet at night, peaking in the evening.
    private static let mobileHourly: [Double] = [
        0.35, 0.2, 0.12, 0.08, 0.07, 0.1, 0.25, 0.5, 0.7, 0.75, 0.8, 0.85,
        0.95, 0.9, 0.85, 0.85, 0.9, 1.0, 1.2, 1.45, 1.6, 1.55, 1.2, 0.7,
    ]
    /// Partner traffic by local hour on a working day: 09–18 with a lunch dip.
    private static let officeHourly: [Double] = [
        0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.08, 0.5, 1.0, 1.0, 1.0,
        0.6, 1.0, 1.0, 1.0, 1.0, 0.8, 0.25, 0.08, 0.02, 0.02, 0.02, 0.01,
    ]
    /// Partner traffic on weekends and public holidays.
    private static let offDay = 0.004

    /// Relative activity of a kind at a local hour.
    /// - Parameters:
    ///   - kind: Key kind.
    ///   - hour: Local hour, 0...23.
    ///   - weekday: Local weekday, 0 = Sunday.
    ///   - holiday: Whether the local date is a public holiday for the key.
    /// - Returns: A weight whose weekly mean is ``meanWeight(_:)``.
    static func weight(_ kind: KeyKind, hour: Int, weekday: Int, holiday: Bool) -> Double {
        let weekend = weekday == 0 || weekday == 6
        switch kind {
        case .service:
            return (1 + 0.25 * cos(2 * Double.pi * Double(hour - 14) / 24)) * (weekend ? 0.85 : 1)
        case .mobile:
            return mobileHourly[hour] * (weekend ? 1.1 : 1)
        case .partner:
            return weekend || holiday ? offDay : officeHourly[hour]
        case .rare:
            return 1
        case .batch:
            return 0.02
        case .dormant:
            return (8..<20).contains(hour) ? 1 : 0.05
        }
    }

    /// Mean of ``weight(_:hour:weekday:holiday:)`` over a week without holidays.
    static func meanWeight(_ kind: KeyKind) -> Double {
        switch kind {
        case .service: return serviceMean
        case .mobile: return mobileMean
        case .partner: return partnerMean
        case .rare, .batch: return 1
        case .dormant: return 12.0 * 1.05 / 24
        }
    }

    private static let serviceMean = weeklyMean(.service)
    private static let mobileMean = weeklyMean(.mobile)
    private static let partnerMean = weeklyMean(.partner)

    private static func weeklyMean(_ kind: KeyKind) -> Double {
        var total = 0.0
        for weekday in 0..<7 {
            for hour in 0..<24 {
                total += weight(kind, hour: hour, weekday: weekday, holiday: false)
            }
        }
        return total / 168
    }

    /// Expected regular requests of `key` in the hour starting at `millis`, before incidents.
    /// - Parameters:
    ///   - key: The key.
    ///   - millis: Start of the hour.
    ///   - config: Run configuration (period and scale).
    /// - Returns: The Poisson mean for that hour.
    static func expectedPerHour(_ key: KeyProfile, at millis: EpochMillis, config: SimulationConfig) -> Double {
        if let created = key.createdAt, millis + Span.hour <= created {
            return 0
        }
        let localMillis = millis + EpochMillis(key.zone.offset(at: millis)) * Span.minute
        let localDay = TimeFormat.dayNumber(of: localMillis)
        let hour = Int((localMillis - EpochMillis(localDay) * Span.day) / Span.hour)
        let date = CivilDate(dayNumber: localDay)
        let holiday = key.kind == .partner && Geography.isHoliday(date, in: key.country)
        let rhythm = weight(key.kind, hour: hour, weekday: date.weekday, holiday: holiday) / meanWeight(key.kind)
        let volume = key.kind == .batch ? 1 : key.dailyVolume
        return volume / 24 * rhythm * growthFactor(key, at: millis, config: config) * config.scale
    }

    /// Growth multiplier: 1 at the period's start, `1 + growth` at its end.
    static func growthFactor(_ key: KeyProfile, at millis: EpochMillis, config: SimulationConfig) -> Double {
        guard key.growth > 0 else {
            return 1
        }
        let progress = Double(millis - config.startMillis) / Double(config.endMillis - config.startMillis)
        return 1 + key.growth * min(1, max(0, progress))
    }

    /// Start of the nightly run of a batch key for the local date `localDay`, before jitter.
    static func batchStart(_ key: KeyProfile, localDay: Int) -> EpochMillis {
        let approx = EpochMillis(localDay) * Span.day + 2 * Span.hour
        return approx - EpochMillis(key.zone.offset(at: approx)) * Span.minute
    }
}
