import Testing

@testable import KeywatchCore

@Suite struct TimestampsTests {
    @Test(arguments: [
        ("10/Oct/2000:13:55:36 -0700", utc(2000, 10, 10, 20, 55, 36)),
        ("22/Jan/2019:03:56:14 +0330", utc(2019, 1, 22, 0, 26, 14)),
        ("17/May/2015:10:05:03 +0000", utc(2015, 5, 17, 10, 5, 3)),
        ("29/Feb/2024:23:59:59 +0000", utc(2024, 2, 29, 23, 59, 59)),
        ("01/Jan/2026:00:00:00.250 +0100", utc(2025, 12, 31, 23, 0, 0, ms: 250)),
    ])
    func commonLogTimes(text: String, expected: Int64) {
        #expect(withBytes(text) { Timestamps.parseCommonLog($0) } == expected)
    }

    @Test(arguments: [
        ("2016-04-15T20:17:00.310Z", utc(2016, 4, 15, 20, 17, 0, ms: 310)),
        ("2019-01-22T03:56:14+03:30", utc(2019, 1, 22, 0, 26, 14)),
        ("2018-07-02T22:23:00.186641Z", utc(2018, 7, 2, 22, 23, 0, ms: 186)),
        ("2021-02-03T04:05:06.123456789Z", utc(2021, 2, 3, 4, 5, 6, ms: 123)),
        ("2026-11-23 10:00:00", utc(2026, 11, 23, 10, 0, 0)),
        ("2026-11-23T10:00:00-0500", utc(2026, 11, 23, 15, 0, 0)),
    ])
    func iso8601Times(text: String, expected: Int64) {
        #expect(withBytes(text) { Timestamps.parseISO8601($0) } == expected)
    }

    @Test(arguments: [
        "", "-", "32/Oct/2000:13:55:36 -0700", "10/Foo/2000:13:55:36 -0700", "2016-13-15T20:17:00Z",
        "10/Oct/2000:25:55:36 -0700", "2016-04-15T20:17:00.310Q",
    ])
    func rejectsBadTimes(text: String) {
        #expect(withBytes(text) { Timestamps.parseAny($0) } == nil)
    }

    @Test func epochUnits() {
        #expect(withBytes("1700000000.123") { Timestamps.parseEpoch($0, unit: .seconds) } == 1_700_000_000_123)
        #expect(withBytes("1700000000123") { Timestamps.parseEpochGuessingUnit($0) } == 1_700_000_000_123)
        #expect(withBytes("1700000000123456789") { Timestamps.parseEpochGuessingUnit($0) } == 1_700_000_000_123)
        #expect(withBytes("1700000000") { Timestamps.parseEpochGuessingUnit($0) } == 1_700_000_000_000)
    }

    @Test func formatsRFC3339() {
        #expect(Timestamps.rfc3339(utc(2026, 10, 26, 13, 55, 36, ms: 7)) == "2026-10-26T13:55:36.007Z")
        #expect(Timestamps.rfc3339(0) == "1970-01-01T00:00:00.000Z")
    }
}

@Suite struct EpochPrecisionTests {
    @Test(arguments: ["1700000000.123", "1700000000.001", "1761486936.999", "1700000000.5"])
    func millisecondsAreExact(text: String) {
        let parts = text.split(separator: ".")
        let expected = Int64(parts[0])! * 1000 + Int64(parts[1].padding(toLength: 3, withPad: "0", startingAt: 0))!
        #expect(withBytes(text) { Timestamps.parseEpoch($0, unit: .seconds) } == expected)
    }

    @Test(arguments: ["1e300", "99999999999999999999999", "-5", "1.2.3", "NaN"])
    func absurdValuesAreRejectedNotTrapped(text: String) {
        #expect(withBytes(text) { Timestamps.parseEpochGuessingUnit($0) } == nil)
    }
}
