import Testing

@testable import KeywatchCore

/// Spikes on many keys at once point at the gateway, not at a leaked key.
@Suite struct CrowdTests {
    static let day: Int64 = 86_400_000
    static let start: Int64 = 1_790_000_000_000 - 1_790_000_000_000 % day

    func identity(_ index: Int) -> KeyIdentity {
        let hex = String(index, radix: 16)
        return KeyIdentity(
            id: "k_" + String(repeating: "0", count: 24 - hex.count) + hex, hint: "ak_test_\(index)…zz", source: .header)
    }

    func event(_ time: Int64, status: UInt16, client: UInt32) -> AccessEvent {
        AccessEvent(
            time: time, client: IPAddress(ipv4: client), key: nil, method: .get, endpoint: 0, status: status, bytes: 10,
            latencyMillis: 1, userAgentHash: 7, source: SourceRef(input: 0, line: 1))
    }

    /// Eight keys with nine quiet days (one request every 10 minutes, every 40th a 401), then at
    /// `burst` the given keys fail auth 30 times in five minutes each, one key after another.
    /// With `restartAfter`, the engine is checkpointed into a state store after that many keys'
    /// bursts and replaced by a new one loaded from it, as a restarted `watch` or `analyze` would be.
    func run(failing: Int, restartAfter: Int? = nil) throws -> [Alert] {
        var engine = DetectionEngine(geo: GeoResolver(networks: nil, databases: []))
        var alerts: [Alert] = []
        let quietEnd = Self.start + 9 * Self.day
        var t = Self.start
        var n = 0
        while t < quietEnd {
            n += 1
            for k in 0..<8 {
                engine.observe(
                    event(t + Int64(k) * 1000, status: n % 40 == 0 ? 401 : 200, client: 0x0A00_0001 + UInt32(k)),
                    identity: identity(k), endpoint: "/v1/orders", source: "test:\(n)", into: &alerts)
            }
            t += 600_000
        }
        #expect(alerts.isEmpty)
        let directory = TemporaryDirectory()
        for k in 0..<failing {
            if k == restartAfter {
                let store = try StateStore(directory: directory.path)
                try store.checkpoint(
                    Checkpoint(engine.snapshot(alerts: [], watermark: engine.watermark, events: 0), eventsTotal: 0))
                engine = DetectionEngine(geo: GeoResolver(networks: nil, databases: []))
                try engine.load(from: store)
            }
            for i in 0..<30 {
                let time = quietEnd + Int64(k) * 60_000 + Int64(i) * 10_000
                engine.observe(
                    event(time, status: 401, client: 0x0A00_0001 + UInt32(k)), identity: identity(k),
                    endpoint: "/v1/orders", source: "test:burst", into: &alerts)
            }
        }
        return alerts.filter { $0.kind == .errorSpike }
    }

    @Test func oneKeyFailingAuthIsAnAlert() throws {
        let alerts = try run(failing: 1)
        #expect(alerts.count >= 1)
        #expect(alerts.allSatisfy { $0.severity >= .medium })
        #expect(alerts.first?.summary.contains("failed authentication") == true)
    }

    @Test(arguments: [nil, 3, 6])
    func manyKeysFailingTogetherAreAGatewayEventAtLowSeverity(restartAfter: Int?) throws {
        // A restart in the middle of the crowd (after the third or sixth key) changes nothing: the
        // recent spike starts are in the state store.
        let alerts = try run(failing: 8, restartAfter: restartAfter)
        let byKey = Dictionary(grouping: alerts, by: \.keyID)
        #expect(byKey.count == 8)
        // The first keys alert before the crowd forms; from the sixth on, the crowd is plain.
        for k in 5..<8 {
            let keyAlerts = try #require(byKey[identity(k).id])
            #expect(keyAlerts.allSatisfy { $0.severity == .low })
            let evidence = try #require(keyAlerts.first?.evidence.first { $0.0 == "other_keys_failing" }?.1)
            #expect(evidence == .int(Int64(k)))
        }
        #expect(byKey[identity(0).id]?.first?.severity ?? .low >= .medium)
    }
}
