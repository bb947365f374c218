/// All knobs of one simulator run; derived from the command line.
struct SimulationConfig: Sendable {
    /// Output directory (`samples`).
    var outputDirectory: String
    /// Seed for every random decision.
    var seed: UInt64
    /// First simulated date; the period starts at its midnight UTC.
    var startDate: CivilDate
    /// Complete days written to rotated files.
    var days: Int
    /// Hours of the final partial day written to the live files.
    var liveHours: Int
    /// Number of keys.
    var keyCount: Int
    /// Multiplier on all per-key request rates.
    var scale: Double
    /// Share of keys that go through Kong instead of nginx.
    var kongShare: Double
    /// Incidents per kind; `nil` picks `max(3, keys / 75)`.
    var incidentsPerKind: Int?
    /// Days at the start in which no incident is injected.
    var learningDays: Int
    /// zlib compression level for rotated files.
    var gzipLevel: Int32
    /// Seconds between load-balancer health checks of each nginx node.
    var healthCheckInterval: Int

    /// Midnight UTC of the first day.
    var startMillis: EpochMillis {
        startDate.startMillis
    }

    /// End of the simulated period (exclusive).
    var endMillis: EpochMillis {
        startMillis + EpochMillis(days) * Span.day + EpochMillis(liveHours) * Span.hour
    }

    /// End of the learning period; incidents start at or after it.
    var learningEndMillis: EpochMillis {
        startMillis + EpochMillis(learningDays) * Span.day
    }

    /// Number of UTC days touched by the period, including the partial live day.
    var dayCount: Int {
        days + (liveHours > 0 ? 1 : 0)
    }

    /// Incidents injected per kind.
    var effectiveIncidentsPerKind: Int {
        incidentsPerKind ?? max(3, Int((Double(keyCount) / 75).rounded()))
    }
}
