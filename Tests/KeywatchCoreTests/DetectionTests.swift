import Foundation
import Testing

@testable import KeywatchCore

/// Synthetic traffic for the detection tests: keys made at run time from an index (no key text in
/// the source or the test log), a small networks file, and a seeded generator so every run sees
/// the same requests.
enum DetectionFixture {
    static let second: Int64 = 1_000
    static let minute: Int64 = 60_000
    static let hour: Int64 = 3_600_000
    static let day: Int64 = 86_400_000
    /// Day 0 of every scenario: Monday 5 October 2026, 00:00 UTC.
    static let day0 = utc(2026, 10, 5, 0, 0, 0)

    static func at(day d: Int, _ h: Int, _ m: Int, _ s: Int = 0) -> Int64 {
        day0 + Int64(d) * day + Int64(h) * hour + Int64(m) * minute + Int64(s) * second
    }

    static let networksCSV = """
        cidr,country,asn,org
        86.150.0.0/15,GB,64644,Thames Broadband
        45.125.64.0/22,CN,64664,Pearl River IDC
        92.184.0.0/14,FR,64627,Mobilis France
        90.100.0.0/14,FR,64643,Hexanet Telecom
        31.94.0.0/16,GB,64630,Albion Mobile
        34.86.0.0/16,US,64610,Nimbus Cloud
        """

    static let geo = GeoResolver(networks: try! NetworksFile(csv: networksCSV), databases: [])

    /// SplitMix64 (shared with the robustness tests): seeded, the same on every platform.
    typealias Generator = RobustnessTests.Generator

    /// A fake credential for `index`, built at run time so it never appears as a literal.
    static func rawKey(_ index: Int) -> String {
        var g = Generator(state: 0xC0FFEE &+ UInt64(index))
        let alphabet = Array("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789")
        return "ak_test_" + String((0..<24).map { _ in alphabet[Int(g.next() % UInt64(alphabet.count))] })
    }

    /// The identity of ``rawKey(_:)`` for `index`: its id under the test secret and its hint.
    static func identity(_ index: Int) -> KeyIdentity {
        let raw = rawKey(index)
        return KeyIdentity(
            id: Fixtures.fingerprinter.keyID(for: raw), hint: withBytes(raw) { KeyHint.make(for: $0) }, source: .header
        )
    }

    static let identities: [KeyIdentity] = (0..<32).map(identity)

    /// One synthetic request.
    struct Request {
        var time: Int64
        var key: Int
        var client: IPAddress
        var method: HTTPMethod = .get
        var endpoint = "/v1/orders/{id}"
        var status: UInt16 = 200
    }

    /// Requests of several keys, put in event-time order by ``sorted``.
    struct Traffic {
        var requests: [Request] = []
        var g: Generator

        init(seed: UInt64) { g = Generator(state: seed) }

        mutating func add(_ request: Request) { requests.append(request) }

        /// One request every `interval` (plus up to `jitter`) from `start` until before `end`, in
        /// the given hours of the day only.
        mutating func steady(
            key: Int, from start: Int64, to end: Int64, every interval: Int64, jitter: Int64 = 0,
            hours: Range<Int> = 0..<24, endpoints: [String] = ["/v1/orders/{id}"],
            client: (inout Generator) -> IPAddress, status: (Int64) -> UInt16 = { _ in 200 }
        ) {
            var t = start
            while t < end {
                let time = t + (jitter > 0 ? g.below(jitter) : 0)
                let hourOfDay = Int((time - day0) % day / hour)
                if hours.contains(hourOfDay) && time < end {
                    let endpoint = endpoints[Int(g.below(Int64(endpoints.count)))]
                    add(Request(time: time, key: key, client: client(&g), endpoint: endpoint, status: status(time)))
                }
                t += interval
            }
        }

        /// The requests in time order (ties keep the order they were added in).
        var sorted: [Request] {
            requests.enumerated().sorted { ($0.element.time, $0.offset) < ($1.element.time, $1.offset) }.map(\.element)
        }
    }

    static func event(_ r: Request, line: Int) -> AccessEvent {
        AccessEvent(
            time: r.time, client: r.client, key: nil, method: r.method, endpoint: 0, status: r.status, bytes: 512,
            latencyMillis: 12, userAgentHash: 0xA9E7 &+ UInt64(r.key), source: SourceRef(input: 0, line: Int64(line))
        )
    }

    /// Feeds `requests` (already in time order) to `engine`; `firstLine` numbers them for sources.
    static func feed(_ requests: [Request], to engine: inout DetectionEngine, firstLine: Int = 1) -> [Alert] {
        var alerts: [Alert] = []
        for (offset, r) in requests.enumerated() {
            let line = firstLine + offset
            engine.observe(
                event(r, line: line), identity: identities[r.key], endpoint: r.endpoint, source: "scenario.log:\(line)",
                into: &alerts)
        }
        return alerts
    }

    /// Runs `requests` through a fresh engine.
    static func run(_ requests: [Request], settings: DetectionSettings = DetectionSettings()) -> (
        alerts: [Alert], engine: DetectionEngine
    ) {
        var engine = DetectionEngine(settings: settings, geo: geo)
        let alerts = feed(requests, to: &engine)
        return (alerts, engine)
    }

    static func ip(_ text: String) -> IPAddress { IPAddress(parsing: text)! }
}

extension RobustnessTests.Generator {
    mutating func below(_ n: Int64) -> Int64 { Int64(next() % UInt64(n)) }

    /// A random address inside `cidr` (IPv4).
    mutating func address(in cidr: String) -> IPAddress {
        let network = CIDR(cidr)!
        let hostBits = 32 - network.prefixLength
        return IPAddress(ipv4: network.network.ipv4 | UInt32(truncatingIfNeeded: next() % (1 << UInt64(hostBits))))
    }
}

extension Alert {
    /// The evidence value named `name`, as JSON text.
    fileprivate func evidenceJSON(_ name: String) -> String? {
        evidence.first { $0.0 == name }?.1.json
    }
}

// MARK: - Scenarios

extension DetectionFixture {
    /// Key 0: an office key used only from four addresses of one British network, 09:00–13:00, for
    /// eight days; on day 8 at 10:00:07 it is used from a hosting range in China every 40 s, 60 times.
    static let abroadStart = at(day: 8, 10, 0, 7)

    static func concentratedKeyAbroad(_ t: inout Traffic) {
        t.steady(
            key: 0, from: at(day: 0, 0, 0), to: at(day: 9, 0, 0), every: 30 * second, jitter: 5 * second, hours: 9..<13,
            endpoints: ["/v1/orders/{id}", "/v1/products/{id}"],
            client: { g in IPAddress(ipv4: 0x5696_140A + UInt32(g.below(4))) }  // 86.150.20.10–13
        )
        for i in 0..<60 {
            t.add(Request(time: abroadStart + Int64(i) * 40 * second, key: 0, client: ip("45.125.65.147")))
        }
    }

    /// Key 1: a mobile app key hopping over two French carriers for eight days; on day 8 it roams to
    /// a British carrier for five requests.
    static func mobileKeyRoaming(_ t: inout Traffic) {
        func home(_ g: inout Generator) -> IPAddress {
            g.below(10) < 7 ? g.address(in: "92.184.0.0/14") : g.address(in: "90.100.0.0/14")
        }
        t.steady(key: 1, from: at(day: 0, 0, 0), to: at(day: 8, 11, 30), every: 8 * minute, jitter: 3 * minute,
                 hours: 7..<23, client: home)
        for i in 0..<5 {
            t.add(Request(time: at(day: 8, 12, 0) + Int64(i) * 12 * minute, key: 1, client: t.g.address(in: "31.94.0.0/16")))
        }
        t.steady(key: 1, from: at(day: 8, 14, 0), to: at(day: 9, 0, 0), every: 8 * minute, jitter: 3 * minute,
                 hours: 7..<23, client: home)
    }

    /// Key 2: first seen on day 5, so on day 8 it has three days of history; then it does everything
    /// that would alert on a mature key.
    static func brandNewKey(_ t: inout Traffic) {
        t.steady(key: 2, from: at(day: 5, 10, 0), to: at(day: 8, 0, 0), every: 10 * minute, hours: 9..<17,
                 client: { _ in ip("86.150.30.7") })
        for i in 0..<30 { t.add(Request(time: at(day: 8, 10, 0) + Int64(i) * 20 * second, key: 2, client: ip("45.125.65.9"))) }
        for i in 0..<10 {
            t.add(Request(time: at(day: 8, 10, 30) + Int64(i) * 30 * second, key: 2, client: ip("86.150.30.7"),
                          endpoint: "/v1/admin/api-keys"))
        }
        for i in 0..<40 {
            t.add(Request(time: at(day: 8, 11, 0) + Int64(i) * 15 * second, key: 2, client: ip("86.150.30.7"), status: 401))
        }
    }

    /// Key 3: used on day 0 from 09:00 to 16:50 every 10 minutes (48 requests), silent, back on day 11
    /// at 14:00 for ten requests.
    static func dormantKey(_ t: inout Traffic) {
        t.steady(key: 3, from: at(day: 0, 9, 0), to: at(day: 0, 17, 0), every: 10 * minute,
                 endpoints: ["/v1/reports/daily"], client: { _ in ip("86.150.40.5") })
        t.steady(key: 3, from: at(day: 11, 14, 0), to: at(day: 11, 15, 0), every: 6 * minute,
                 endpoints: ["/v1/reports/daily"], client: { _ in ip("86.150.40.5") })
    }

    /// Key 4: five requests at 10:00–10:20 on days 0, 5, 11, 17 and 22, then back on day 30.
    static func sparseKey(_ t: inout Traffic) {
        for d in [0, 5, 11, 17, 22, 30] {
            t.steady(key: 4, from: at(day: d, 10, 0), to: at(day: d, 10, 21), every: 5 * minute,
                     endpoints: ["/v1/reports/daily"], client: { _ in ip("86.150.41.5") })
        }
    }

    /// Key 5: a service calling once a minute from 10:00 to 14:00, 401 at minutes 5 and 35 of every
    /// hour (3.3 %); revoked on day 8 at 12:00, its client keeps calling for 30 minutes, every call a 401.
    static let revokedAt = at(day: 8, 12, 0)

    static func revokedKey(_ t: inout Traffic) {
        t.steady(key: 5, from: at(day: 0, 0, 0), to: revokedAt + 30 * minute, every: minute, hours: 10..<14,
                 endpoints: ["/v1/payments/{id}"], client: { _ in ip("34.86.7.20") }) { time in
            if time >= revokedAt { return 401 }
            let m = (time - day0) % hour / minute
            return m == 5 || m == 35 ? 401 : 200
        }
    }

    /// Keys 6–9: once every 2 minutes each; on day 8 from 14:05 to 14:27 the upstream answers 502/503 to all.
    static func gatewayOutage(_ t: inout Traffic) {
        for key in 6...9 {
            t.steady(key: key, from: at(day: 0, 0, 0) + Int64(key) * 7 * second, to: at(day: 8, 16, 0), every: 2 * minute,
                     hours: 12..<17, client: { _ in IPAddress(ipv4: 0x2256_0900 + UInt32(key)) }) { time in
                guard time >= at(day: 8, 14, 5) && time < at(day: 8, 14, 27) else { return 200 }
                return (time / minute) % 2 == 0 ? 502 : 503
            }
        }
    }

    /// Key 12: exactly one request a minute from 12:00 to 17:00 for eight days; on day 8 from 14:00 to
    /// 14:20 ten a minute.
    static func steadyKeyRateSpike(_ t: inout Traffic) {
        let spike = at(day: 8, 14, 0)
        t.steady(key: 12, from: at(day: 0, 0, 0), to: spike, every: minute, hours: 12..<17, client: { _ in ip("34.86.12.1") })
        t.steady(key: 12, from: spike, to: spike + 20 * minute, every: 6 * second, client: { _ in ip("34.86.12.1") })
        t.steady(key: 12, from: spike + 20 * minute, to: at(day: 8, 16, 0), every: minute, client: { _ in ip("34.86.12.1") })
    }

    /// Keys 13 and 14: a request every 15 minutes and a nightly batch of 300 requests over 20 minutes
    /// at 02:00 (a few minutes late some nights). On day 9, key 14 runs its batch at 14:00 instead.
    static func nightlyBatch(_ t: inout Traffic) {
        for key in [13, 14] {
            let client = IPAddress(ipv4: 0x2256_0D00 + UInt32(key))
            t.steady(key: key, from: at(day: 0, 0, 0, 17), to: at(day: 9, 18, 0), every: 15 * minute,
                     endpoints: ["/v1/orders/{id}", "/v1/shipments"], client: { _ in client })
            for d in 0...9 {
                let batch = d == 9 && key == 14 ? at(day: d, 14, 0) : at(day: d, 2, 0) + t.g.below(4) * minute
                t.steady(key: key, from: batch, to: batch + 20 * minute, every: 4 * second,
                         endpoints: ["/v1/shipments"], client: { _ in client })
            }
        }
    }

    /// Key 15: bursts of 16 requests at :15 of every even hour (192 a day) for 14 days; day 14 one
    /// request every 69 s (1253, 6.5 times the usual day).
    /// Key 16: the same bursts growing from 16 to 24 requests over the 14 days, and 24 on day 14.
    static func dailyVolume(_ t: inout Traffic) {
        for d in 0..<14 {
            for h in stride(from: 0, to: 24, by: 2) {
                t.steady(key: 15, from: at(day: d, h, 15), to: at(day: d, h, 15) + 160 * second, every: 10 * second,
                         client: { _ in ip("34.86.15.1") })
            }
        }
        t.steady(key: 15, from: at(day: 14, 0, 0), to: at(day: 15, 0, 0), every: 69 * second,
                 client: { _ in ip("34.86.15.1") })
        for d in 0...14 {
            let burst = Int64(16 + (8 * min(d, 13)) / 13)
            for h in stride(from: 0, to: 24, by: 2) {
                t.steady(key: 16, from: at(day: d, h, 15), to: at(day: d, h, 15) + burst * 10 * second,
                         every: 10 * second, client: { _ in ip("34.86.16.1") })
            }
        }
    }

    /// Keys 17–24: eight keys calling three endpoints every 15 minutes, 08:00–20:00, for eight days.
    /// On day 8 key 17 calls an admin endpoint; keys 18–23 adopt a new refunds endpoint five
    /// minutes apart from 12:00, and key 24 calls it at 13:00.
    static let adminCall = at(day: 8, 11, 0)

    static func endpoints(_ t: inout Traffic) {
        for key in 17...24 {
            t.steady(key: key, from: at(day: 0, 0, 0), to: at(day: 9, 0, 0), every: 15 * minute, hours: 8..<20,
                     endpoints: ["/v1/orders/{id}", "/v1/products/{id}", "/v1/customers/{id}"],
                     client: { _ in IPAddress(ipv4: 0x5696_3209 + UInt32(key) << 8) })
        }
        t.add(Request(time: adminCall, key: 17, client: IPAddress(ipv4: 0x5696_3209 + 17 << 8), endpoint: "/v1/admin/api-keys"))
        for (i, key) in (18...23).enumerated() {
            t.add(Request(time: at(day: 8, 12, 0) + Int64(i) * 5 * minute + 1, key: key,
                          client: IPAddress(ipv4: 0x5696_3209 + UInt32(key) << 8), method: .post,
                          endpoint: "/v2/orders/{id}/refunds", status: 201))
        }
        t.add(Request(time: at(day: 8, 13, 0) + 1, key: 24, client: IPAddress(ipv4: 0x5696_3209 + 24 << 8), method: .post,
                      endpoint: "/v2/orders/{id}/refunds", status: 201))
    }

    static func traffic(_ scenarios: (inout Traffic) -> Void..., seed: UInt64 = 42) -> [Request] {
        var t = Traffic(seed: seed)
        for scenario in scenarios { scenario(&t) }
        return t.sorted
    }

    /// Scenarios with novelty, dormancy, auth, volume and endpoint alerts, together.
    static let mixed: [Request] = traffic(concentratedKeyAbroad, mobileKeyRoaming, dormantKey, revokedKey, endpoints)

    /// ``mixed`` through a fresh engine, once for the tests that share it.
    nonisolated(unsafe) static let mixedRun = run(mixed)
}

// MARK: - Tests

@Suite struct DetectionTests {
    typealias F = DetectionFixture

    static func rfc(_ time: Int64) -> String { Timestamps.rfc3339(time) }

    @Test func concentratedKeyUsedFromAnotherCountryAlertsThenEscalatesOnce() throws {
        let requests = F.traffic(F.concentratedKeyAbroad)
        let (alerts, _) = F.run(requests)
        let key = F.identities[0]
        let before = requests.filter { $0.time < F.abroadStart }.count
        let firstLine = try #require(requests.firstIndex { $0.time == F.abroadStart }) + 1

        // The office traffic plus 15 requests per 10 minutes from abroad is no rate spike: only the
        // first use and its confirmation alert.
        #expect(alerts.map(\.kind) == [.newCountry, .newCountry])
        #expect(alerts.map(\.severity) == [.medium, .high])
        let first = try #require(alerts.first)
        #expect(first.time == F.abroadStart)
        #expect(first.score == 60)
        #expect(first.keyID == key.id)
        #expect(first.keyHint == key.hint)
        #expect(first.source == "scenario.log:\(firstLine)")
        #expect(
            first.summary
                == "key \(key.hint) used from CN (AS64664 Pearl River IDC, CN) for the first time; seen before: GB")
        #expect(first.evidenceJSON("country") == "\"CN\"")
        #expect(first.evidenceJSON("asn") == "64664")
        #expect(first.evidenceJSON("org") == "\"Pearl River IDC\"")
        #expect(first.evidenceJSON("network") == "\"45.125.64.0/22\"")
        #expect(first.evidenceJSON("seen_countries") == "{\"GB\":\(before)}")
        #expect(first.evidenceJSON("key_networks") == "1")
        #expect(first.evidenceJSON("key_addresses") == "4")
        #expect(first.evidenceJSON("key_requests") == "\(before)")

        // The 20th request from China, 12 min 40 s after the first, confirms it: a new alert.
        let second = try #require(alerts.last)
        #expect(second.time == F.abroadStart + 19 * 40 * F.second)
        #expect(second.score == 85)
        #expect(second.summary == "key \(key.hint) made 20 requests in 12.7 min from CN, which it never used before")
        #expect(second.evidenceJSON("requests_since_first") == "20")
        #expect(second.evidenceJSON("minutes_since_first") == "12.667")
        #expect(second.evidenceJSON("first_request") == "\"\(Self.rfc(F.abroadStart))\"")
        #expect(second.evidenceJSON("first_alert_severity") == "\"medium\"")

        // Both ids come from the episode's start, so the escalation has its own id.
        #expect(first.id == Alert.makeID(keyID: key.id, kind: .newCountry, value: "CN", severity: .medium,
                                         episodeStart: F.abroadStart))
        #expect(second.id == Alert.makeID(keyID: key.id, kind: .newCountry, value: "CN", severity: .high,
                                          episodeStart: F.abroadStart))
        #expect(first.id != second.id)
        #expect(first.id.count == 22 && first.id.hasPrefix("a_"))
    }

    @Test func mobileKeyRoamingAbroadIsLowAtMost() throws {
        let requests = F.traffic(F.mobileKeyRoaming)
        let (alerts, engine) = F.run(requests)
        let key = F.identities[1]
        let before = requests.filter { $0.time < F.at(day: 8, 12, 0) }.count
        #expect(alerts.map(\.kind) == [.newCountry])
        let alert = try #require(alerts.first)
        #expect(alert.severity == .low)
        #expect(alert.score == 30)
        #expect(alert.time == F.at(day: 8, 12, 0))
        #expect(alert.summary == "key \(key.hint) used from GB (AS64630 Albion Mobile, GB) for the first time; seen before: FR")
        #expect(alert.evidenceJSON("seen_countries") == "{\"FR\":\(before)}")
        #expect(alert.evidenceJSON("key_networks") == "2")
        // Many addresses: the reason it is low.
        let addresses = Int(try #require(alert.evidenceJSON("key_addresses"))) ?? 0
        #expect(addresses > 32)
        #expect(engine.keys[0].state.baseline.countries.entries.count == 2)
    }

    @Test func anEventBefore1970IsIgnoredNotTrappedOn() {
        // Ingest rejects such times; a library caller's event is skipped by the engine.
        let t = utc(2026, 11, 2, 10, 0, 0)
        let client = F.ip("198.51.100.7")
        let requests: [F.Request] = [
            F.Request(time: -3_600_000 * 24 * 365, key: 0, client: client),
            F.Request(time: t, key: 0, client: client),
            F.Request(time: t + 120_000, key: 0, client: client),
        ]
        let (alerts, engine) = F.run(requests)
        #expect(alerts.isEmpty)
        #expect(engine.eventsObserved == 2)
    }

    @Test func keyInItsLearningPeriodNeverAlerts() throws {
        let requests = F.traffic(F.brandNewKey)
        let (alerts, engine) = F.run(requests)
        #expect(alerts.isEmpty)
        let state = engine.keys[0].state
        #expect(state.baseline.requests == Int64(requests.count))
        #expect(state.baseline.authFailures == 40)
        #expect(state.baseline.countries.entries.count == 2)
        let summary = KeySummary(
            id: engine.keys[0].id, hint: engine.keys[0].hint, state: state, endpointNames: [:],
            watermark: engine.watermark)
        #expect(summary.status == .new)
    }

    @Test func dormantKeyReturningAfterElevenDaysIsMedium() throws {
        let requests = F.traffic(F.dormantKey)
        #expect(requests.count == 58)
        let (alerts, _) = F.run(requests)
        let key = F.identities[3]
        #expect(alerts.map(\.kind) == [.dormantKey])
        let alert = try #require(alerts.first)
        let lastSeen = F.at(day: 0, 16, 50)
        #expect(alert.time == F.at(day: 11, 14, 0))
        #expect(alert.severity == .medium)
        #expect(alert.score == 55)
        #expect(alert.source == "scenario.log:49")
        #expect(
            alert.summary
                == "key \(key.hint) used again after 10.9 days of silence (last seen \(Self.rfc(lastSeen)); "
                + "longest silence before: 0 days)")
        #expect(alert.evidenceJSON("silent_days") == "10.882")
        #expect(alert.evidenceJSON("last_seen") == "\"\(Self.rfc(lastSeen))\"")
        #expect(alert.evidenceJSON("longest_silence_before_days") == "0.007")
        #expect(alert.evidenceJSON("dormancy_days") == "7")
        #expect(alert.evidenceJSON("requests_before") == "48")
        #expect(alert.evidenceJSON("first_seen") == "\"\(Self.rfc(F.at(day: 0, 9, 0)))\"")
    }

    @Test func sparseKeyReturningAfterEightDaysIsLow() throws {
        let (alerts, _) = F.run(F.traffic(F.sparseKey))
        #expect(alerts.map(\.kind) == [.dormantKey])
        let alert = try #require(alerts.first)
        #expect(alert.time == F.at(day: 30, 10, 0))
        #expect(alert.severity == .low)
        #expect(alert.score == 35)
        // 7 days 23 h 40 min; its rhythm had silences of up to 5 days 23 h 40 min.
        #expect(alert.evidenceJSON("silent_days") == "7.986")
        #expect(alert.evidenceJSON("longest_silence_before_days") == "5.986")
        #expect(alert.evidenceJSON("requests_before") == "25")
    }

    @Test func authFailureBurstOnARevokedKeyIsAnErrorSpike() throws {
        let (alerts, _) = F.run(F.traffic(F.revokedKey))
        let key = F.identities[5]
        #expect(alerts.map(\.kind) == [.errorSpike])
        let alert = try #require(alerts.first)
        // The 8th failure in a row, at 12:07: 8 of the last 10 minutes' 10 requests.
        #expect(alert.time == F.revokedAt + 7 * F.minute)
        #expect(alert.severity == .medium)
        #expect(alert.score == 55)
        #expect(
            alert.summary
                == "key \(key.hint) failed authentication 8 times in 10 min (80% of its requests, last status 401); "
                + "usually 3.7% fail")
        #expect(alert.evidenceJSON("auth_failures") == "8")
        #expect(alert.evidenceJSON("requests") == "10")
        #expect(alert.evidenceJSON("share") == "0.8")
        // 76 failures in 2048 requests, these 8 included.
        #expect(alert.evidenceJSON("usual_failure_rate") == "0.037")
        #expect(alert.evidenceJSON("last_status") == "401")
    }

    @Test func gatewayWideOutageRaisesNothing() throws {
        let requests = F.traffic(F.gatewayOutage)
        let (alerts, engine) = F.run(requests)
        #expect(alerts.isEmpty)
        #expect(engine.keys.count == 4)
        #expect(engine.keys.map(\.state.baseline.status5xx) == [11, 11, 11, 11])
    }

    @Test func steadyKeyTenTimesItsRateIsARateSpikeThatEscalates() throws {
        let (alerts, _) = F.run(F.traffic(F.steadyKeyRateSpike))
        let key = F.identities[12]
        #expect(alerts.map(\.kind) == [.rateSpike, .rateSpike])
        #expect(alerts.map(\.severity) == [.medium, .high])
        let first = try #require(alerts.first)
        // 14:03:54: 6 one-a-minute requests of 13:54–13:59 and 40 of the spike.
        #expect(first.time == F.at(day: 8, 14, 3, 54))
        #expect(first.score == 63)
        #expect(
            first.summary
                == "key \(key.hint) made 46 requests in 10 min; its busiest 10 min at this hour was 10 (typical 10)")
        #expect(first.evidenceJSON("window_minutes") == "10")
        #expect(first.evidenceJSON("requests") == "46")
        #expect(first.evidenceJSON("busiest_before") == "10")
        #expect(first.evidenceJSON("typical") == "10")
        #expect(first.evidenceJSON("ratio") == "4.6")
        #expect(first.evidenceJSON("hour_utc") == "14")
        #expect(first.evidenceJSON("days_learned") == "8")
        let second = try #require(alerts.last)
        #expect(second.time == F.at(day: 8, 14, 5, 48))
        #expect(second.evidenceJSON("requests") == "63")
        #expect(second.score == 70)
    }

    @Test func nightlyBatchAtItsUsualHourIsNoSpikeButAtAnotherHourIs() throws {
        let (alerts, _) = F.run(F.traffic(F.nightlyBatch))
        let batch = F.identities[13]
        let moved = F.identities[14]
        #expect(!alerts.contains { $0.keyID == batch.id })
        #expect(alerts.map(\.kind) == [.rateSpike, .rateSpike])
        #expect(alerts.allSatisfy { $0.keyID == moved.id })
        #expect(alerts.map(\.severity) == [.high, .critical])
        // 14:00:36: ten batch requests and the daytime one of 14:00:17, where the busiest 10 minutes
        // of 13:00–16:00 held one request and an hour four.
        #expect(alerts.map(\.time) == [F.at(day: 9, 14, 0, 36), F.at(day: 9, 14, 0, 56)])
        #expect(alerts.map { $0.evidenceJSON("requests") } == ["11", "16"])
        let alert = try #require(alerts.first)
        #expect(alert.score == 82)
        #expect(alert.evidenceJSON("hour_utc") == "14")
        #expect(alert.evidenceJSON("busiest_before") == "1")
        #expect(alert.evidenceJSON("typical") == "0.667")
        #expect(alert.evidenceJSON("ratio") == "11")
    }

    @Test func dayAtSixTimesTheUsualVolumeIsAQuotaSpikeAndGrowthIsNot() throws {
        let (alerts, _) = F.run(F.traffic(F.dailyVolume))
        let key = F.identities[15]
        #expect(alerts.map(\.keyID) == [key.id, key.id])
        #expect(alerts.map(\.kind) == [.quotaSpike, .quotaSpike])
        #expect(alerts.map(\.severity) == [.medium, .high])
        let first = try #require(alerts.first)
        // 464 requests of day 14 by 08:52:27 and 112 of day 13's bursts still inside the 24 hours.
        #expect(first.time == F.at(day: 14, 8, 52, 27))
        #expect(first.score == 50)
        #expect(
            first.summary
                == "key \(key.hint) made 576 requests in 24 h; its daily volume is 192 on average (busiest day 192, "
                + "14 days of history)")
        #expect(first.evidenceJSON("requests") == "576")
        #expect(first.evidenceJSON("daily_mean") == "192")
        #expect(first.evidenceJSON("daily_max") == "192")
        #expect(first.evidenceJSON("threshold") == "576")
        #expect(first.evidenceJSON("ratio_to_mean") == "3")
        #expect(first.evidenceJSON("days_of_history") == "14")
        let second = try #require(alerts.last)
        #expect(second.time == F.at(day: 14, 21, 45, 15))
        #expect(second.score == 75)
        #expect(second.evidenceJSON("requests") == "1152")
        #expect(second.evidenceJSON("ratio_to_mean") == "6")
        #expect(first.id != second.id)
    }

    @Test func newEndpointsScoreBySensitivityAndHowManyKeysUseThem() throws {
        let requests = F.traffic(F.endpoints)
        let (alerts, _) = F.run(requests)
        #expect(alerts.allSatisfy { $0.kind == .newEndpoint })
        let admin = try #require(alerts.first)
        let key = F.identities[17]
        // Its regular request of 11:00:00 comes first.
        let adminIndex = try #require(requests.firstIndex { $0.endpoint == "/v1/admin/api-keys" })
        let before = requests[..<adminIndex].filter { $0.key == 17 }.count
        #expect(admin.keyID == key.id)
        #expect(admin.time == F.adminCall)
        #expect(admin.severity == .high)
        #expect(admin.score == 75)
        #expect(
            admin.summary
                == "key \(key.hint) called GET /v1/admin/api-keys for the first time (sensitive path; no other key has "
                + "called it; 3 endpoints known)")
        #expect(admin.evidenceJSON("endpoint") == "\"GET /v1/admin/api-keys\"")
        #expect(admin.evidenceJSON("sensitive") == "\"yes\"")
        #expect(admin.evidenceJSON("keys_using_endpoint") == "0")
        #expect(admin.evidenceJSON("key_endpoints") == "3")
        #expect(admin.evidenceJSON("status") == "200")
        #expect(admin.evidenceJSON("key_requests") == "\(before)")

        // The refunds endpoint: the first adopters are noted (low), from the fifth other key on it
        // is common and the first call is learned silently.
        let refunds = Array(alerts.dropFirst())
        #expect(refunds.map(\.keyID) == (18...22).map { F.identities[$0].id })
        #expect(refunds.map(\.score) == [40, 30, 30, 25, 25])
        #expect(refunds.allSatisfy { $0.severity == .low })
        #expect(refunds.map { $0.evidenceJSON("keys_using_endpoint") } == ["0", "1", "2", "3", "4"])
        #expect(refunds.allSatisfy { $0.evidenceJSON("endpoint") == "\"POST /v2/orders/{id}/refunds\"" })
        #expect(refunds[2].summary.hasSuffix("called POST /v2/orders/{id}/refunds for the first time (2 other keys call it; 3 endpoints known)"))
        #expect(!alerts.contains { $0.keyID == F.identities[23].id || $0.keyID == F.identities[24].id })
    }

    @Test func learnOnlyLearnsTheSameBaselinesWithoutAlerts() throws {
        var settings = DetectionSettings()
        settings.learnOnly = true
        let (quiet, learned) = F.run(F.mixed, settings: settings)
        let (alerts, normal) = F.mixedRun
        #expect(quiet.isEmpty)
        #expect(alerts.count > 5)
        #expect(learned.keys.map(\.id) == normal.keys.map(\.id))
        #expect(learned.keys.map(\.state.baseline) == normal.keys.map(\.state.baseline))
        #expect(learned.keys.allSatisfy { $0.state.episodes.isEmpty })
        #expect(learned.population == normal.population)
    }

    @Test func replayGivesTheSameAlertsAndARestoredEngineContinuesIdentically() throws {
        let requests = F.mixed
        let (alerts, whole) = F.mixedRun
        let (again, _) = F.run(requests)
        #expect(alerts.map(\.json) == again.map(\.json))
        #expect(Set(alerts.map(\.kind)) == [.newCountry, .dormantKey, .errorSpike, .newEndpoint])

        // Stop right after the first alert from China (its episode is open), store every state as
        // bytes, and continue in a new engine.
        let split = F.abroadStart + 5 * F.minute
        let cut = try #require(requests.firstIndex { $0.time >= split })
        var first = DetectionEngine(geo: F.geo)
        var restoredAlerts = F.feed(Array(requests[..<cut]), to: &first)
        #expect(first.keys.contains { !$0.state.episodes.isEmpty })
        var restored = DetectionEngine(geo: F.geo)
        for key in first.keys {
            restored.load(keyID: key.id, hint: key.hint, state: try KeyState(decoding: key.state.encoded()))
        }
        for (hash, endpoint) in first.population {
            restored.loadEndpoint(hash: hash, text: endpoint.text, firstSeen: endpoint.firstSeen, keys: endpoint.keys)
        }
        restored.restoreWatermark(first.watermark)
        restoredAlerts += F.feed(Array(requests[cut...]), to: &restored, firstLine: cut + 1)
        #expect(restoredAlerts.map(\.json) == alerts.map(\.json))
        #expect(restored.keys.map(\.id) == whole.keys.map(\.id))
        #expect(restored.keys.map(\.state) == whole.keys.map(\.state))
    }

    @Test func noAlertCarriesARawKey() throws {
        let (alerts, engine) = F.mixedRun
        #expect(alerts.count > 5)
        let used = Set(F.mixed.map(\.key))
        for alert in alerts {
            let json = alert.json
            #expect(json.contains(alert.keyHint))
            for index in used {
                let raw = F.rawKey(index)
                // Neither the key nor its secret middle.
                #expect(!json.contains(raw), "alert \(alert.id) contains key \(index)")
                #expect(!json.contains(String(raw.dropFirst(10).prefix(12))), "alert \(alert.id) contains part of key \(index)")
            }
        }
        for key in engine.keys {
            let bytes = key.state.encoded()
            for index in used {
                #expect(!bytes.containsSubsequence(Array(F.rawKey(index).utf8)), "state of key \(index)")
            }
        }
    }
}

extension Array where Element == UInt8 {
    fileprivate func containsSubsequence(_ needle: [UInt8]) -> Bool {
        guard !needle.isEmpty, needle.count <= count else { return false }
        for start in 0...(count - needle.count) where self[start] == needle[0] {
            if Array(self[start..<(start + needle.count)]) == needle { return true }
        }
        return false
    }
}
