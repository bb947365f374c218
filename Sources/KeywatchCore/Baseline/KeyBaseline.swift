import Foundation

/// What keywatch has learned about how one key is used.
///
/// A plain value owned by the detection engine: where the key is used from (countries, ASNs,
/// networks), what it calls (endpoint templates, methods), its status mix, its rhythm (mean
/// requests and the busiest 10- and 30-minute windows for each hour of the day, daily volumes for
/// four weeks) and the live windows the detectors compare against that history. Every table is
/// bounded, so a key costs a few KiB at most however long it is watched.
///
/// ```swift
/// var baseline = KeyBaseline()
/// baseline.advance(to: event.time)          // roll windows and fold finished hours and days
/// let isNew = baseline.countries.contains(code.rawValue) == false
/// baseline.record(event, geo: geo, endpoint: hash, limits: limits)
/// ```
public struct KeyBaseline: Sendable, Hashable {
    /// Bounds on the per-key tables.
    public struct Limits: Sendable, Hashable {
        public var countries = 16
        public var asns = 24
        public var networks = 32
        public var endpoints = 64
        public var userAgents = 8
        public init() {}
    }

    static let encodingVersion: UInt8 = 1
    static let minutesRing = 30
    static let authRing = 10
    static let dailyRing = 28
    /// Per-day decay of the busiest-window memory (a burst is remembered for weeks).
    static let peakDecayPerDay: Float = 0.93

    /// First request, milliseconds since the epoch.
    public var firstSeen: Int64 = 0
    /// Latest request, milliseconds since the epoch.
    public var lastSeen: Int64 = 0
    /// Requests counted.
    public var requests: Int64 = 0
    /// The longest silence between two requests, in milliseconds.
    public var longestGap: Int64 = 0

    /// Countries (``CountryCode`` raw values).
    public var countries = ValueStats()
    /// Autonomous systems.
    public var asns = ValueStats()
    /// Networks (hash of the network the geo source answered with, or the /24 or /48).
    public var networks = ValueStats()
    /// Endpoints (hash of method and template).
    public var endpoints = ValueStats()
    /// User agents (hash).
    public var userAgents = ValueStats()
    /// Bit per ``HTTPMethod`` raw value.
    public var methods: UInt16 = 0

    /// Lifetime status mix.
    public var status2xx: UInt32 = 0
    public var status3xx: UInt32 = 0
    /// 401 and 403.
    public var authFailures: UInt32 = 0
    public var status429: UInt32 = 0
    /// Other 4xx.
    public var status4xx: UInt32 = 0
    public var status5xx: UInt32 = 0

    // Declared in the order a request touches them (Swift lays a struct out in declaration order):
    // the scalars and the rings written on every request first, the hour-of-day tables read and
    // written once an hour last, so a request reads few cache lines.

    /// Current UTC day number (days since the epoch).
    public var dayHead: Int32 = 0
    /// Current hour number (hours since the epoch).
    public var hourHead: Int32 = 0
    /// Current minute number (minutes since the epoch).
    public var minuteHead: Int32 = 0
    /// Requests in the current hour.
    public var hourCount: UInt32 = 0
    /// Busiest 10- and 30-minute counts inside the current hour.
    public var hourPeak10: UInt16 = 0
    public var hourPeak30: UInt16 = 0
    /// Complete days folded into the rhythm.
    public var daysLearned: UInt16 = 0
    /// Requests in the last 10 and 30 minutes, the current one included.
    public var window10: UInt32 = 0
    public var window30: UInt32 = 0
    /// Auth failures in the last 10 minutes (sum of ``authMinutes``).
    public var authWindow10: UInt32 = 0
    /// Requests in the previous 23 hours (sum of ``recentHours`` without the current hour's slot).
    public var previous23: UInt32 = 0
    /// Requests counted on the current UTC day (``dayHead``); folded into ``daily`` when the day ends.
    public private(set) var today: UInt32 = 0

    /// A 256-bit linear-counting sketch of client addresses. (Four plain words: a SIMD vector would
    /// align the whole key state to 32 bytes and pad it.)
    public var addressSketch = FixedArray<4, UInt64>(repeating: 0)

    /// Requests per minute for the last 30 minutes (ring by minute number).
    public var minutes = FixedArray<30, UInt16>(repeating: 0)
    /// Auth failures per minute for the last 10 minutes. (Read whenever the minute moves: the last
    /// field of the prefix the detection engine prefetches, which ends where ``pastDaily`` begins.)
    public var authMinutes = FixedArray<10, UInt16>(repeating: 0)

    // Read or written at most once an hour from here on.

    /// Requests per finished UTC day for the last four weeks (ring indexed by day number; the
    /// current day's slot stays zero until the day ends, since a request counts into ``today``).
    var pastDaily = FixedArray<28, UInt32>(repeating: 0)
    /// Requests per hour for the previous 23 hours (ring by hour number).
    public var recentHours = FixedArray<24, UInt32>(repeating: 0)
    /// Mean requests in each hour of the day (UTC), learned day by day.
    public var hourMean = FixedArray<24, Float>(repeating: 0)
    /// The busiest 10-minute count seen in each hour of the day, decaying slowly.
    public var peak10 = FixedArray<24, Float>(repeating: 0)
    /// The busiest 30-minute count seen in each hour of the day, decaying slowly.
    public var peak30 = FixedArray<24, Float>(repeating: 0)

    /// Creates an empty baseline.
    public init() {}

    /// Whether a request has been counted.
    public var isEmpty: Bool { requests == 0 }

    /// Milliseconds of history.
    public var age: Int64 { lastSeen - firstSeen }

    /// Requests per UTC day for the last four weeks, ring indexed by day number, today's count
    /// included.
    public var daily: FixedArray<28, UInt32> {
        var ring = pastDaily
        ring[Int(dayHead) % Self.dailyRing] = today
        return ring
    }

    /// Sets the day ring and today's count from a whole ring (as ``daily`` gives it), after ``dayHead``.
    mutating func setDaily(_ ring: FixedArray<28, UInt32>) {
        pastDaily = ring
        today = ring[Int(dayHead) % Self.dailyRing]
        pastDaily[Int(dayHead) % Self.dailyRing] = 0
    }

    /// Requests in the 24 hours up to the current hour, current hour included.
    public var rolling24: UInt32 { previous23 &+ hourCount }

    /// Distinct client addresses, estimated (exact while small).
    public var distinctAddresses: Int {
        let set = addressSketch[0].nonzeroBitCount + addressSketch[1].nonzeroBitCount
            + addressSketch[2].nonzeroBitCount + addressSketch[3].nonzeroBitCount
        let zero = 256 - set
        if zero == 0 { return 1_500 }
        return Int((256 * log(256.0 / Double(zero))).rounded())
    }

    /// Complete past days of volume, most recent first, at most `limit` (only days since the first request).
    public func pastDays(limit: Int = 14) -> [UInt32] {
        let firstDay = Int32(firstSeen / 86_400_000)
        var out: [UInt32] = []
        var day = dayHead - 1
        while day >= firstDay && out.count < min(limit, Self.dailyRing - 1) {
            out.append(pastDaily[Int(day) % Self.dailyRing])
            day -= 1
        }
        return out
    }

    /// Brings every window up to `time` (milliseconds): folds finished hours into the hour-of-day
    /// rhythm and finished days into the daily history. Call before checking or recording an event.
    /// Time never goes backwards here: an older time only updates nothing.
    public mutating func advance(to time: Int64) {
        let minute = Int32(clamping: time / 60_000)
        if requests == 0 {
            minuteHead = minute
            hourHead = minute / 60
            dayHead = minute / 1440
            return
        }
        if minute > minuteHead { advanceMinutes(to: minute) }
        let hour = minute / 60
        if hour > hourHead { advanceHours(to: hour) }
        let day = hour / 24
        if day > dayHead { advanceDays(to: day) }
    }

    private mutating func advanceMinutes(to minute: Int32) {
        let steps = Int(minute - minuteHead)
        if steps >= Self.minutesRing {
            for i in minutes.indices { minutes[i] = 0 }
            for i in authMinutes.indices { authMinutes[i] = 0 }
            window10 = 0
            window30 = 0
            authWindow10 = 0
        } else {
            // Each new minute n clears its slot (minute n - 30 leaves the 30-minute window) and
            // minute n - 10 leaves the 10-minute one. Slots step with wrap-around instead of a
            // remainder per minute; a window never goes below zero, even from a damaged state.
            let first = Int(minuteHead) + 1
            var slot = first % Self.minutesRing
            var authSlot = first % Self.authRing
            for _ in 0..<steps {
                let leaving10 = UInt32(minutes[slot >= 10 ? slot - 10 : slot + Self.minutesRing - 10])
                window10 = window10 > leaving10 ? window10 - leaving10 : 0
                let leaving30 = UInt32(minutes[slot])
                window30 = window30 > leaving30 ? window30 - leaving30 : 0
                minutes[slot] = 0
                let leavingAuth = UInt32(authMinutes[authSlot])
                authWindow10 = authWindow10 > leavingAuth ? authWindow10 - leavingAuth : 0
                authMinutes[authSlot] = 0
                slot = slot + 1 == Self.minutesRing ? 0 : slot + 1
                authSlot = authSlot + 1 == Self.authRing ? 0 : authSlot + 1
            }
        }
        minuteHead = minute
    }

    private mutating func advanceHours(to hour: Int32) {
        let gap = Int(hour - hourHead)
        // Fold the finished hour, then the empty hours after it (at most a day's worth matters).
        for step in 0..<min(gap, 24) {
            let h = Int(hourHead) + step
            let count = step == 0 ? hourCount : 0
            foldHour(hourOfDay: h % 24, count: count, peak10: step == 0 ? hourPeak10 : 0, peak30: step == 0 ? hourPeak30 : 0)
            recentHours[h % 24] = count
        }
        if gap >= 24 {
            // Whole silent days: every hour of the day decays once per day missed beyond the first.
            let extraDays = min((gap - 24) / 24 + (gap % 24 > 0 ? 1 : 0), 60)
            if extraDays > 0 {
                for h in 0..<24 {
                    for _ in 0..<extraDays { foldHour(hourOfDay: h, count: 0, peak10: 0, peak30: 0) }
                }
            }
            for i in recentHours.indices { recentHours[i] = 0 }
        }
        // The ring now holds the hours up to `hour - 1`; the slot of `hour` itself holds the hour a
        // day earlier, which has left the rolling day.
        previous23 = recentHours.reduce(0, &+) &- recentHours[Int(hour) % 24]
        hourHead = hour
        hourCount = 0
        hourPeak10 = 0
        hourPeak30 = 0
    }

    private mutating func foldHour(hourOfDay h: Int, count: UInt32, peak10 p10: UInt16, peak30 p30: UInt16) {
        let days = Float(max(1, Int(daysLearned) + 1))
        let alpha = max(1 / days, 1 / 14)
        hourMean[h] += alpha * (Float(count) - hourMean[h])
        peak10[h] = max(peak10[h] * Self.peakDecayPerDay, Float(p10))
        peak30[h] = max(peak30[h] * Self.peakDecayPerDay, Float(p30))
    }

    private mutating func advanceDays(to day: Int32) {
        let gap = Int(day - dayHead)
        pastDaily[Int(dayHead) % Self.dailyRing] = today
        today = 0
        for step in 1...min(gap, Self.dailyRing) {
            pastDaily[(Int(dayHead) + step) % Self.dailyRing] = 0
        }
        daysLearned = daysLearned &+ UInt16(min(gap, 1000))
        dayHead = day
    }

    /// Counts one request (after ``advance(to:)``).
    /// - Parameters:
    ///   - time: Event time in milliseconds.
    ///   - status: HTTP status.
    ///   - method: HTTP method.
    ///   - geo: Country, ASN and network values for the client, if any.
    ///   - endpoint: The endpoint hash.
    ///   - userAgent: The user-agent hash (0 when missing).
    ///   - address: A hash of the client address (0 when missing).
    ///   - limits: Table bounds.
    /// - Returns: Whether the endpoint was new to the key's endpoint table.
    @discardableResult
    public mutating func record(
        time: Int64, status: UInt16, method: HTTPMethod, geo: GeoValues, endpoint: UInt64, userAgent: UInt64,
        address: UInt64, limits: Limits
    ) -> Bool {
        if requests == 0 {
            firstSeen = time
            advance(to: time)
        } else if time > lastSeen {
            longestGap = max(longestGap, time - lastSeen)
        }
        lastSeen = max(lastSeen, time)
        requests += 1
        let hour = UInt32(clamping: time / 3_600_000)
        if let country = geo.country { countries.record(country, hour: hour, capacity: limits.countries) }
        if let asn = geo.asn { asns.record(asn, hour: hour, capacity: limits.asns) }
        if let network = geo.network { networks.record(network, hour: hour, capacity: limits.networks) }
        let newEndpoint = endpoints.record(endpoint, hour: hour, capacity: limits.endpoints)
        if userAgent != 0 { userAgents.record(userAgent, hour: hour, capacity: limits.userAgents) }
        methods |= 1 << UInt16(method.rawValue)
        if address != 0 {
            let bit = Int(address >> 56)
            addressSketch[bit >> 6] |= 1 << UInt64(bit & 63)
        }
        switch status {
        case 200..<300: status2xx &+= 1
        case 300..<400: status3xx &+= 1
        case 401, 403: authFailures &+= 1
        case 429: status429 &+= 1
        case 400..<500: status4xx &+= 1
        case 500..<600: status5xx &+= 1
        default: break
        }
        // Live windows (events older than the current minute still count toward totals only).
        if Int32(clamping: time / 60_000) == minuteHead {
            let slot = Int(minuteHead) % Self.minutesRing
            minutes[slot] &+= 1
            window10 += 1
            window30 += 1
            if status == 401 || status == 403 {
                authMinutes[Int(minuteHead) % Self.authRing] &+= 1
                authWindow10 += 1
            }
        }
        hourCount &+= 1
        hourPeak10 = max(hourPeak10, UInt16(clamping: window10))
        hourPeak30 = max(hourPeak30, UInt16(clamping: window30))
        today &+= 1
        return newEndpoint
    }

    /// Drops values unseen since `time` minus `horizon` milliseconds.
    public mutating func forget(olderThan horizon: Int64, now time: Int64) {
        let hour = UInt32(clamping: max(0, time - horizon) / 3_600_000)
        countries.forget(before: hour)
        asns.forget(before: hour)
        networks.forget(before: hour)
        endpoints.forget(before: hour)
        userAgents.forget(before: hour)
    }
}

/// The geography values a baseline records for one request.
public struct GeoValues: Sendable, Hashable {
    /// ``CountryCode`` raw value, when known.
    public var country: UInt64?
    /// ASN, when known.
    public var asn: UInt64?
    /// Network hash.
    public var network: UInt64?

    /// Creates values.
    public init(country: UInt64? = nil, asn: UInt64? = nil, network: UInt64? = nil) {
        self.country = country
        self.asn = asn
        self.network = network
    }
}
