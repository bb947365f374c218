/// Thresholds and periods for learning and detection. The defaults are the documented ones.
public struct DetectionSettings: Sendable, Hashable {
    /// History a key needs before novelty, rate and error alerts fire (default 7 days), counted in
    /// whole UTC days from the day of its first request.
    public var learningPeriodMillis: Int64 = 7 * 86_400_000
    /// Requests a key needs before it is mature (with the learning period).
    public var minimumRequests: Int64 = 10
    /// Values unseen this long are forgotten (default 30 days).
    public var forgetAfterMillis: Int64 = 30 * 86_400_000
    /// Silence after which a returning key raises `dormant_key` (default 7 days).
    public var dormancyMillis: Int64 = 7 * 86_400_000
    /// One alert per key, kind and value within this period; a higher severity may still follow.
    public var cooldownMillis: Int64 = 6 * 3_600_000
    /// Requests from a new value within ``escalationWindowMillis`` that confirm it is real use, not a blip.
    public var escalationRequests: UInt32 = 20
    /// The window for ``escalationRequests``.
    public var escalationWindowMillis: Int64 = 30 * 60_000
    /// A minutes-scale rate must exceed the key's busiest window for that hour by this factor.
    public var rateFactor: Float = 2.5
    /// And be at least this many requests in 10 minutes (30 minutes: 1.5x as many).
    public var rateMinimum: UInt32 = 8
    /// A rolling day must exceed the key's mean daily volume by this factor (and its busiest day by half).
    public var quotaFactor: Double = 3
    /// And be at least this many requests.
    public var quotaMinimum: UInt32 = 100
    /// Days of daily history a key needs before `quota_spike`.
    public var quotaMinimumDays = 5
    /// Auth failures (401/403) in 10 minutes before `error_spike`.
    public var errorMinimum: UInt32 = 8
    /// Share of the last 10 minutes' requests that must have failed auth.
    public var errorShare: Double = 0.6
    /// Findings scoring below this are learned without an alert (a key's first call of an endpoint
    /// that many keys use scores 15).
    public var minimumScore = 20
    /// Learn baselines without raising alerts (`--learn-only`).
    public var learnOnly = false
    /// Per-key table bounds.
    public var limits = KeyBaseline.Limits()

    /// The defaults.
    public init() {}
}
