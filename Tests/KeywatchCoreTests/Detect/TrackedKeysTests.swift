import Foundation
import Testing

@testable import KeywatchCore

/// The engine keeps its keys in one buffer changed in place (``DetectionEngine/TrackedKeys``); it
/// must still behave as a value, and keys must survive the buffer growing.
@Suite struct TrackedKeysTests {
    typealias F = DetectionFixture

    static func request(key: Int, minute: Int, client: String = "34.86.1.1") -> F.Request {
        F.Request(time: F.at(day: 0, 9, minute), key: key, client: F.ip(client))
    }

    @Test func aCopiedEngineChangesIndependentlyOfTheOriginal() {
        var original = DetectionEngine(geo: F.geo)
        _ = F.feed((0..<40).map { Self.request(key: $0 % 4, minute: $0) }, to: &original)
        var copy = original

        // From another country: the copy learns it, the original does not.
        _ = F.feed([Self.request(key: 0, minute: 45, client: "45.125.64.9")], to: &copy, firstLine: 100)
        #expect(original.key(at: 0).state.baseline.requests == 10)
        #expect(original.key(at: 0).state.baseline.countries.entries.count == 1)
        #expect(copy.key(at: 0).state.baseline.requests == 11)
        #expect(copy.key(at: 0).state.baseline.countries.entries.count == 2)

        // And the other way round.
        _ = F.feed([Self.request(key: 1, minute: 46)], to: &original, firstLine: 200)
        #expect(original.key(at: 1).state.baseline.requests == 11)
        #expect(copy.key(at: 1).state.baseline.requests == 10)
        #expect(original.keyCount == 4 && copy.keyCount == 4)
    }

    @Test func keysKeepTheirStateAsTheBufferGrows() {
        var engine = DetectionEngine(geo: F.geo)
        var alerts: [Alert] = []
        let identities = (0..<600).map(F.identity)
        // Interleaved so every key is changed again after the buffer has moved.
        for round in 0..<3 {
            for (i, identity) in identities.enumerated() where round < i % 3 + 1 {
                let r = Self.request(key: 0, minute: round)
                engine.observe(
                    F.event(r, line: round * 1_000 + i), identity: identity, endpoint: "/v1/orders/{id}",
                    source: "grow.log:\(i)", into: &alerts)
            }
        }
        #expect(engine.keyCount == 600)
        #expect(alerts.isEmpty)
        for (i, identity) in identities.enumerated() {
            let key = engine.key(at: i)
            #expect(key.id == identity.id && key.hint == identity.hint)
            #expect(key.state.baseline.requests == Int64(i % 3 + 1))
            #expect(key.dirty)
        }
        #expect(engine.dirtyKeys.count == 600)
        engine.markClean()
        #expect(engine.dirtyKeys.isEmpty)
        engine.observe(
            F.event(Self.request(key: 0, minute: 5), line: 9_999), identity: identities[321], endpoint: "/v1/orders/{id}",
            source: "grow.log:9999", into: &alerts)
        #expect(engine.dirtyKeys.map(\.id) == [identities[321].id])
    }
}
