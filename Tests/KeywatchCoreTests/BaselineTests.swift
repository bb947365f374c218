import Testing

@testable import KeywatchCore

/// The per-key baseline: live windows, the rolling day, the daily ring, bounded value tables and
/// the stored encoding.
@Suite struct BaselineTests {
    /// Monday 2 November 2026, 10:00 UTC.
    static let t0 = utc(2026, 11, 2, 10, 0, 0)

    /// `minute` minutes and 5 seconds after ``t0``.
    static func minute(_ minute: Int) -> Int64 { t0 + Int64(minute) * 60_000 + 5_000 }

    /// Advances `baseline` to `time` and counts one request there, as the engine does.
    static func request(
        _ baseline: inout KeyBaseline, at time: Int64, status: UInt16 = 200, country: String? = nil,
        endpoint: UInt64 = 1, address: UInt64 = 0
    ) {
        baseline.advance(to: time)
        let code = country.flatMap { CountryCode($0) }.map { UInt64($0.rawValue) }
        baseline.record(
            time: time, status: status, method: .get, geo: GeoValues(country: code), endpoint: endpoint,
            userAgent: 0, address: address, limits: KeyBaseline.Limits()
        )
    }

    // MARK: - Minute windows

    @Test func tenAndThirtyMinuteWindowsRollAcrossMinuteGaps() {
        var b = KeyBaseline()
        for status: UInt16 in [200, 401, 401] { Self.request(&b, at: Self.minute(0), status: status) }
        Self.request(&b, at: Self.minute(1))
        Self.request(&b, at: Self.minute(1))
        Self.request(&b, at: Self.minute(5), status: 403)
        #expect(b.window10 == 6)
        #expect(b.window30 == 6)
        #expect(b.authWindow10 == 3)

        // Minute 0 leaves the 10-minute window when minute 10 begins, but stays in the 30-minute one.
        b.advance(to: Self.minute(10))
        #expect(b.window10 == 3)
        #expect(b.window30 == 6)
        #expect(b.authWindow10 == 1)
        Self.request(&b, at: Self.minute(10))
        #expect(b.window10 == 4)
        #expect(b.window30 == 7)

        // Minutes 3…12: the requests of minutes 5, 10 and 12.
        Self.request(&b, at: Self.minute(12))
        #expect(b.window10 == 3)
        #expect(b.window30 == 8)
        b.advance(to: Self.minute(15))
        #expect(b.authWindow10 == 0)
        #expect(b.window10 == 2)

        // A 19-minute step: minutes 22…31 hold only the new request; minutes 2…31 also 5, 10 and 12.
        Self.request(&b, at: Self.minute(31))
        #expect(b.window10 == 1)
        #expect(b.window30 == 4)
        #expect(b.minutes.reduce(0) { $0 + Int($1) } == 4)
        #expect(b.hourPeak10 == 6)
        #expect(b.hourPeak30 == 8)
        #expect(b.hourCount == 9)

        // 44 silent minutes clear both windows; the finished hour is folded into the rhythm.
        Self.request(&b, at: Self.minute(75))
        Self.request(&b, at: Self.minute(75))
        #expect(b.window10 == 2)
        #expect(b.window30 == 2)
        #expect(b.minutes.reduce(0) { $0 + Int($1) } == 2)
        #expect(b.hourCount == 2)
        #expect(b.hourPeak10 == 2)
        #expect(b.peak10[10] == 6)
        #expect(b.peak30[10] == 8)
        #expect(b.hourMean[10] == 9)
        #expect(b.hourMean[11] == 0)
        #expect(b.rolling24 == 11)
        #expect(b.requests == 11)
        #expect(b.authFailures == 3)
        #expect(b.status2xx == 8)
    }

    // MARK: - Rolling day and daily ring

    @Test func rollingDayDropsTheHourADayEarlierAndResetsAfterADayOfSilence() {
        var b = KeyBaseline()
        let nov2 = utc(2026, 11, 2, 0, 0, 0)
        func at(_ day: Int, _ hour: Int, _ minute: Int) -> Int64 {
            nov2 + Int64(day) * 86_400_000 + Int64(hour) * 3_600_000 + Int64(minute) * 60_000
        }
        for _ in 0..<5 { Self.request(&b, at: at(0, 22, 10)) }
        for _ in 0..<3 { Self.request(&b, at: at(0, 23, 20)) }
        #expect(b.rolling24 == 8)
        #expect(b.today == 8)

        // Across midnight and an empty hour.
        Self.request(&b, at: at(1, 1, 5))
        #expect(b.previous23 == 8)
        Self.request(&b, at: at(1, 1, 6))
        #expect(b.rolling24 == 10)
        #expect(b.today == 2)
        #expect(b.pastDays() == [8])

        // 22:30 the next day: Nov 2 22:00–22:59 has left the window, 23:00 is still in.
        Self.request(&b, at: at(1, 22, 30))
        #expect(b.rolling24 == 6)
        // 23:40: now Nov 2 23:00 has left too.
        Self.request(&b, at: at(1, 23, 40))
        #expect(b.rolling24 == 4)
        #expect(b.today == 4)

        // More than a day of silence: only the new request is in the window.
        Self.request(&b, at: at(3, 2, 0))
        #expect(b.rolling24 == 1)
        #expect(b.previous23 == 0)
        #expect(b.today == 1)
        #expect(b.pastDays() == [0, 4, 8])
        #expect(b.daysLearned == 3)
        // The late-evening hours were folded once with their counts, then decayed by the silent day.
        #expect(b.hourMean[22] > 0)
        #expect(b.hourMean[1] > 0)
        #expect(b.hourMean[12] == 0)
    }

    @Test func dailyRingKeepsFourWeeksAndClearsAfterALongGap() {
        var b = KeyBaseline()
        let first = utc(2026, 10, 1, 12, 0, 0)
        for day in 0..<40 {
            for _ in 0...(day % 7) { Self.request(&b, at: first + Int64(day) * 86_400_000) }
        }
        #expect(b.today == UInt32(39 % 7 + 1))
        func volumes(_ days: ClosedRange<Int>) -> [UInt32] { days.reversed().map { UInt32($0 % 7 + 1) } }
        #expect(b.pastDays(limit: 14) == volumes(25...38))
        #expect(b.pastDays(limit: 100) == volumes(12...38))
        #expect(b.daysLearned == 39)

        Self.request(&b, at: first + 79 * 86_400_000)
        #expect(b.today == 1)
        #expect(b.pastDays(limit: 14) == [UInt32](repeating: 0, count: 14))
        #expect(b.daily.reduce(0, +) == 1)
        #expect(b.daysLearned == 79)
        #expect(b.longestGap == 40 * 86_400_000)
    }

    @Test func longestGapIgnoresLateEvents() {
        var b = KeyBaseline()
        Self.request(&b, at: Self.t0)
        Self.request(&b, at: Self.t0 + 5 * 60_000)
        Self.request(&b, at: Self.t0 + 3 * 3_600_000)
        Self.request(&b, at: Self.t0 + 3 * 3_600_000 + 1_000)
        Self.request(&b, at: Self.t0 + 3_600_000)  // late: counted, but it is no gap
        #expect(b.longestGap == 2 * 3_600_000 + 55 * 60_000)
        #expect(b.firstSeen == Self.t0)
        #expect(b.lastSeen == Self.t0 + 3 * 3_600_000 + 1_000)
        #expect(b.age == 3 * 3_600_000 + 1_000)
        #expect(b.requests == 5)
    }

    @Test func distinctAddressesAreExactWhileFew() {
        var b = KeyBaseline()
        // Addresses whose top bytes differ land in different sketch bits.
        for i in 0..<5 { Self.request(&b, at: Self.t0, address: UInt64(i * 40 + 1) << 56) }
        Self.request(&b, at: Self.t0, address: 1 << 56)
        #expect(b.distinctAddresses == 5)
    }

    // MARK: - Value tables

    @Test func valueStatsEvictTheLeastRecentlySeenWhenFull() {
        var stats = ValueStats()
        func record(_ value: UInt64, hour: UInt32, capacity: Int) -> Bool {
            stats.record(value, hour: hour, capacity: capacity)
        }
        #expect(record(10, hour: 1, capacity: 3) == true)
        #expect(record(20, hour: 2, capacity: 3) == true)
        #expect(record(30, hour: 3, capacity: 3) == true)
        #expect(record(10, hour: 4, capacity: 3) == false)
        // 20 was seen longest ago; 10 is older but was used again.
        #expect(record(40, hour: 5, capacity: 3) == true)
        #expect(stats.entries.map(\.value) == [10, 40, 30])
        #expect(stats.entries.map(\.count) == [2, 1, 1])
        #expect(stats.entries.map(\.lastSeenHour) == [4, 5, 3])
        #expect(!stats.contains(20))
        #expect(stats.total == 4)

        // Seen in the same hour: the one used less goes.
        #expect(record(30, hour: 5, capacity: 3) == false)
        #expect(record(10, hour: 5, capacity: 3) == false)
        #expect(record(50, hour: 5, capacity: 3) == true)
        #expect(stats.entries.map(\.value) == [10, 50, 30])

        stats.forget(before: 5)
        #expect(stats.entries.map(\.value) == [10, 50, 30])
        stats.forget(before: 6)
        #expect(stats.entries.isEmpty)
    }

    @Test func aHoppingKeysFullTableKeepsItsRegularValuesAndNoDuplicates() {
        // A key that uses three networks all the time and a new one on every other request: the
        // table stays full of distinct values, the three regular ones are never evicted, and every
        // returning value is found (the filter never hides a value the table holds).
        var stats = ValueStats()
        let regular: [UInt64] = [0xAAAA, 0xBBBB, 0xCCCC]
        var hopping: UInt64 = 0x1_0000
        for i in 0..<5_000 {
            let hour = UInt32(i / 100)
            if i % 2 == 0 {
                let value = regular[(i / 2) % 3]
                let isNew = stats.record(value, hour: hour, capacity: 32)
                #expect(isNew == (i < 6), "request \(i)")
            } else {
                hopping &+= 0x9E37
                let isNew = stats.record(hopping, hour: hour, capacity: 32)
                #expect(isNew)
            }
        }
        #expect(stats.entries.count == 32)
        #expect(Set(stats.entries.map(\.value)).count == 32)
        for value in regular { #expect(stats.contains(value)) }
        // A value seen again in the same hour is counted, not added twice.
        let last = stats.entries[5].value
        let lastIsNew = stats.record(last, hour: 49, capacity: 32)
        #expect(!lastIsNew)
        #expect(stats.entries.count == 32)
    }

    @Test func valuesSharingATagAreKeptApartInATaggedTable() {
        // Tables of 16 slots or more find values by a 16-bit tag: values whose tags collide must
        // still be told apart by the value itself, wherever they sit among the tags.
        var byTag: [UInt64: [UInt64]] = [:]
        var value: UInt64 = 1
        while byTag.values.filter({ $0.count >= 2 }).count < 6 {
            byTag[ValueStats.tag(value), default: []].append(value)
            value &+= 0x9E37
        }
        let colliding = byTag.values.filter { $0.count >= 2 }.prefix(6).flatMap { $0.prefix(2) }
        var stats = ValueStats()
        var fillers: [UInt64] = []
        for i in 0..<20 {
            let filler = 0xF000_0000 &+ UInt64(i)
            if byTag[ValueStats.tag(filler)] == nil { fillers.append(filler) }
        }
        // Fillers first, so the colliding pairs land in later tag words and lanes.
        for filler in fillers.prefix(10) {
            let isNew = stats.record(filler, hour: 1, capacity: 32)
            #expect(isNew)
        }
        for (i, v) in colliding.enumerated() {
            let isNew = stats.record(v, hour: 2, capacity: 32)
            #expect(isNew, "value \(i) is new")
        }
        #expect(stats.count == 10 + colliding.count)
        for v in colliding {
            let isNew = stats.record(v, hour: 3, capacity: 32)
            #expect(!isNew)
            #expect(stats.contains(v))
        }
        #expect(stats.entries.filter { colliding.contains($0.value) }.allSatisfy { $0.count == 2 })
        #expect(!stats.contains(colliding.max()! &+ 0x9E37 * 1_000_003))
    }

    @Test func aGrowingTableKeepsOrderCountsAndFindsEveryValue() {
        // Slots grow 4, 8, 16 (the first tagged size), 32: each step copies the entries in order.
        var stats = ValueStats()
        for v in 1...30 {
            for hour in 0..<UInt32(v % 3 + 1) {
                _ = stats.record(UInt64(v) * 1_000_003, hour: hour, capacity: 32)
            }
        }
        #expect(stats.entries.map(\.value) == (1...30).map { UInt64($0) * 1_000_003 })
        #expect(stats.entries.map(\.count) == (1...30).map { UInt32($0 % 3 + 1) })
        for v in 1...30 { #expect(stats.contains(UInt64(v) * 1_000_003)) }
        #expect(!stats.contains(31 * 1_000_003))
        // Forgetting rebuilds the tags: what left is not found, what stayed is.
        stats.forget(before: 2)
        let kept = (1...30).filter { $0 % 3 == 2 }.map { UInt64($0) * 1_000_003 }
        #expect(stats.entries.map(\.value) == kept)
        for v in 1...30 { #expect(stats.contains(UInt64(v) * 1_000_003) == kept.contains(UInt64(v) * 1_000_003)) }
        let isNew = stats.record(99, hour: 5, capacity: 32)
        #expect(isNew)
        #expect(stats.contains(99))
    }

    @Test func todaysCountIsFoldedIntoTheDayRingAndSurvivesEncoding() throws {
        var b = KeyBaseline()
        let day: Int64 = 86_400_000
        for _ in 0..<3 { Self.request(&b, at: Self.t0) }
        #expect(b.today == 3)
        #expect(b.daily.reduce(0, +) == 3)
        let decoded = try KeyBaseline(decoding: b.encoded())
        #expect(decoded == b)
        #expect(decoded.today == 3)
        var next = decoded
        Self.request(&next, at: Self.t0 + day)
        #expect(next.today == 1)
        #expect(next.pastDays(limit: 3) == [3])
        #expect(next.daily.reduce(0, +) == 4)
    }

    @Test func aDecodedTableFindsTheValuesItHolds() throws {
        // The filter is not stored: a table read back must rebuild it, or every known value would
        // look new again and be added a second time.
        var b = KeyBaseline()
        for (i, value) in [UInt64(7), 1_234_567, 0xDEAD_BEEF].enumerated() {
            b.networks.record(value, hour: UInt32(i), capacity: 32)
        }
        var w = ByteWriter()
        b.encode(into: &w)
        var r = ByteReader(w.bytes)
        var decoded = try KeyBaseline(decoding: &r)
        let isNew = decoded.networks.record(1_234_567, hour: 9, capacity: 32)
        #expect(!isNew)
        #expect(decoded.networks.entries.count == 3)
        #expect(decoded.networks.entries.map(\.count) == [1, 2, 1])
    }

    @Test func forgetDropsValuesUnseenForTheHorizon() {
        var b = KeyBaseline()
        let day: Int64 = 86_400_000
        Self.request(&b, at: Self.t0, country: "GB", endpoint: 7)
        Self.request(&b, at: Self.t0 + 20 * day, country: "FR", endpoint: 8)
        Self.request(&b, at: Self.t0 + 25 * day, country: "FR", endpoint: 7)
        b.forget(olderThan: 30 * day, now: Self.t0 + 35 * day)
        let fr = UInt64(CountryCode("FR").rawValue)
        #expect(b.countries.entries.map(\.value) == [fr])
        #expect(b.countries.entries.map(\.count) == [2])
        #expect(b.endpoints.entries.map(\.value) == [7, 8])
        b.forget(olderThan: 10 * day, now: Self.t0 + 35 * day)
        #expect(b.countries.entries.map(\.value) == [fr])
        #expect(b.endpoints.entries.map(\.value) == [7])
        #expect(b.requests == 3)
    }

    // MARK: - Encoding

    /// A state with three weeks of varied traffic and two open episodes.
    static func busyState() -> KeyState {
        var state = KeyState()
        var g = RobustnessTests.Generator(state: 0x5EED)
        func next() -> UInt64 { g.next() }
        var time = utc(2026, 10, 12, 0, 0, 0)
        let statuses: [UInt16] = [200, 200, 200, 201, 304, 401, 403, 404, 429, 500, 502]
        for _ in 0..<3_000 {
            time += Int64(next() % 1_200_000)
            let r = next()
            state.baseline.advance(to: time)
            state.baseline.record(
                time: time, status: statuses[Int(r % UInt64(statuses.count))],
                method: HTTPMethod(rawValue: UInt8(1 + (r >> 8) % 5))!,
                geo: GeoValues(country: 1 + (r >> 16) % 20, asn: 64_500 + (r >> 24) % 30, network: (r >> 32) % 40),
                endpoint: (r >> 40) % 70, userAgent: (r >> 48) % 10, address: next(), limits: KeyBaseline.Limits()
            )
        }
        state.episodes = [
            Episode(
                kind: .newCountry, value: 77, start: time - 60_000, last: time, requests: 3, alerted: .medium, score: 60
            ),
            Episode(kind: .quotaSpike, value: 0, start: time - 9_000_000, last: time, requests: 1, alerted: .high, score: 75),
        ]
        return state
    }

    @Test func keyStateRoundTripsExactly() throws {
        let state = Self.busyState()
        // The traffic filled every bounded table, so eviction has happened before encoding.
        #expect(state.baseline.endpoints.entries.count == KeyBaseline.Limits().endpoints)
        #expect(state.baseline.networks.entries.count == KeyBaseline.Limits().networks)
        let bytes = state.encoded()
        let decoded = try KeyState(decoding: bytes)
        #expect(decoded == state)
        #expect(decoded.encoded() == bytes)
        #expect(decoded.episodes.map(\.kind) == [.newCountry, .quotaSpike])
        #expect(try KeyBaseline(decoding: state.baseline.encoded()) == state.baseline)
        #expect(try KeyState(decoding: KeyState().encoded()) == KeyState())
    }

    @Test func damagedOrNewerBytesThrow() throws {
        let bytes = Self.busyState().encoded()
        #expect(throws: BaselineDecodingError.truncated(at: 0)) { try KeyState(decoding: []) }
        // The first field after the version byte is an 8-byte time: any cut inside it names its start.
        #expect(throws: BaselineDecodingError.truncated(at: 1)) { try KeyState(decoding: Array(bytes.prefix(1))) }
        #expect(throws: BaselineDecodingError.truncated(at: 1)) { try KeyState(decoding: Array(bytes.prefix(6))) }
        // The last byte is the last episode's score.
        #expect(throws: BaselineDecodingError.truncated(at: bytes.count - 1)) {
            try KeyState(decoding: Array(bytes.dropLast()))
        }
        var newer = bytes
        newer[0] = KeyBaseline.encodingVersion + 1
        #expect(throws: BaselineDecodingError.unsupportedVersion(KeyBaseline.encodingVersion + 1)) {
            try KeyState(decoding: newer)
        }
        #expect(throws: BaselineDecodingError.unsupportedVersion(KeyBaseline.encodingVersion + 1)) {
            try KeyBaseline(decoding: newer)
        }
        #expect(BaselineDecodingError.unsupportedVersion(2).description.contains("upgrade keywatch"))
        #expect(BaselineDecodingError.truncated(at: 9).description.contains("truncated at byte 9"))
    }
}
