import Foundation
import Testing

@testable import KeywatchCore

@Suite struct IdentityTests {
    @Test func keyIDsAreStableKeyedAndShort() {
        let a = KeyFingerprinter(secret: [UInt8](repeating: 1, count: 32))
        let b = KeyFingerprinter(secret: [UInt8](repeating: 2, count: 32))
        let key = "ak_live_Q7xYzW3kLmN8pR2sT5uVnD"
        #expect(a.keyID(for: key) == a.keyID(for: key))
        #expect(a.keyID(for: key) != b.keyID(for: key))
        #expect(a.keyID(for: key) != a.keyID(for: key + "x"))
        #expect(a.keyID(for: key).hasPrefix("k_"))
        #expect(a.keyID(for: key).count == 26)
        #expect(a.keyID(for: "c1", source: .consumer) != a.keyID(for: "c1", source: .header))
    }

    /// Known answers (HMAC-SHA256 computed independently), so reusing the keyed state changes no id.
    @Test func keyIDsAreTheHMACOfTheKey() {
        // Ids are computed outside #expect, so a failure prints ids and never the (fake) key.
        let f = Fixtures.fingerprinter
        let key = Self.hintCases[0].0
        let first = f.keyID(for: key)
        let consumer = f.keyID(for: "c1", source: .consumer)
        // The shared keyed state is copied, never consumed: the same key gives the same id again.
        let again = f.keyID(for: key)
        #expect(first == "k_1f4d8792b773ea8e3b55c909")
        #expect(consumer == "k_adb3e80d90d45c080f2f645c")
        #expect(again == first)
    }

    /// The dotted-quad fast path reads exactly what the general IPv4 parser reads.
    @Test func dottedQuadAgreesWithTheGeneralParser() {
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array("0123456789..25 ,:a".utf8)
        var samples = [
            "1.2.3.4", "255.255.255.255", "256.1.1.1", "01.2.3.4", "1.2.3", "1.2.3.4.5", "1..2.3", "1234.1.1.1",
        ]
        for _ in 0..<20_000 {
            let length = Int.random(in: 1...17, using: &generator)
            samples.append(
                String(decoding: (0..<length).map { _ in alphabet.randomElement(using: &generator)! }, as: UTF8.self)
            )
        }
        // Address-shaped text: octets of one to four digits (leading zeros, values past 255), three to
        // five of them, now and then a stray byte.
        for _ in 0..<20_000 {
            var parts = (0..<Int.random(in: 3...5, using: &generator)).map { _ in
                String(
                    decoding: (0..<Int.random(in: 1...4, using: &generator)).map { _ in
                        UInt8(ascii: "0") + UInt8.random(in: 0...9, using: &generator)
                    },
                    as: UTF8.self
                )
            }
            if Int.random(in: 0..<8, using: &generator) == 0 {
                parts[Int.random(in: 0..<parts.count, using: &generator)] += String(
                    UnicodeScalar(alphabet.randomElement(using: &generator)!)
                )
            }
            samples.append(parts.joined(separator: "."))
        }
        for sample in samples {
            withBytes(sample) { v in
                #expect(EventNormalizer.dottedQuad(v) == IPAddress.parseIPv4(v), "\(sample)")
            }
        }
    }

    /// Keys and their hints. Tests take an index, not the key, so no key (even a fake one) is
    /// printed in the test log as an argument.
    static let hintCases = [
        ("ak_live_Q7xYzW3kLmN8pR2sT5uVnD", "ak_live_Q7…nD"),
        ("0123456789abcdef0123456789abcdef", "0123…ef"),
        ("short-key-1", "sh…1"),
        ("tiny", "t…"),
        ("sk-proj-AAAABBBBCCCCDDDD", "sk-proj-AA…DD"),
    ]

    @Test(arguments: 0..<hintCases.count)
    func hintsMaskMostOfTheKey(index: Int) {
        let (key, expected) = Self.hintCases[index]
        let hint = withBytes(key) { KeyHint.make(for: $0) }
        #expect(hint == expected, "hint case \(index)")
    }

    @Test func secretIsCreatedOnceWithMode0600() throws {
        let dir = TemporaryDirectory()
        let state = dir.path + "/state"
        let first = try KeyFingerprinter(stateDirectory: state)
        let second = try KeyFingerprinter(stateDirectory: state)
        #expect(first.keyID(for: "k") == second.keyID(for: "k"))
        let attributes = try FileManager.default.attributesOfItem(atPath: state + "/" + StateStore.fileName)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        #expect(try StateStore(directory: state).secret().count == 32)
        #expect(!FileManager.default.fileExists(atPath: state + "/" + KeyFingerprinter.secretFileName))
    }

    @Test func fingerprinterOfAnExistingStoreWritesNothing() throws {
        // `parse` and `key-id` only need the secret: reading it must leave the database as it was.
        let dir = TemporaryDirectory()
        let state = dir.path + "/state"
        let first = try KeyFingerprinter(stateDirectory: state)
        let database = state + "/" + StateStore.fileName
        let before = try Data(contentsOf: URL(fileURLWithPath: database))
        for _ in 0..<3 {
            let again = try KeyFingerprinter(stateDirectory: state)
            #expect(again.keyID(for: "ak_live_Q7xx") == first.keyID(for: "ak_live_Q7xx"))
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: database)) == before)
    }

    @Test func fingerprinterMakesAReadableStorePrivateAgain() throws {
        // The database holds the secret: one that others may read (restored from a backup, say) is
        // narrowed to 0600 by any command that reads the secret, `parse` and `key-id` included.
        let dir = TemporaryDirectory()
        let state = dir.path + "/state"
        _ = try KeyFingerprinter(stateDirectory: state)
        let database = state + "/" + StateStore.fileName
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: database)
        _ = try KeyFingerprinter(stateDirectory: state)
        let attributes = try FileManager.default.attributesOfItem(atPath: database)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
    }

    @Test func damagedLegacySecretIsReportedNotReplaced() throws {
        // A damaged secret from an earlier version is reported, not silently replaced: ids would change.
        let dir = TemporaryDirectory()
        let state = dir.path + "/state"
        try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
        dir.write("state/" + KeyFingerprinter.secretFileName, "short")
        #expect(throws: StateError.self) { try KeyFingerprinter(stateDirectory: state) }
    }

    @Test func registryFingerprintsEachKeyOnceAndKeepsNoRawKey() {
        var registry = KeyRegistry(fingerprinter: Fixtures.fingerprinter)
        let h1 = withBytes("ak_live_AAAA0000000000000001") { registry.handle(for: $0, source: .header) }
        let h2 = withBytes("ak_live_AAAA0000000000000002") { registry.handle(for: $0, source: .header) }
        let h1again = withBytes("ak_live_AAAA0000000000000001") { registry.handle(for: $0, source: .query) }
        #expect(h1 == h1again)
        #expect(h1 != h2)
        #expect(registry.count == 2)
        #expect(registry[h1].id == Fixtures.fingerprinter.keyID(for: "ak_live_AAAA0000000000000001"))
        for handle in 0..<5000 {
            _ = withBytes("key-\(handle)-padding-padding") { registry.handle(for: $0, source: .header) }
        }
        #expect(registry.count == 5002)
        let dump = String(describing: registry)
        #expect(!dump.contains("ak_live_AAAA0000000000000001"))
    }

    @Test func parsingThreadsOfOneRunFingerprintEachKeyOnce() {
        // Two registries of one run (two parsing threads) meet the same keys: the second one reuses
        // the first one's ids, and both give every key the id the fingerprinter alone would.
        let run = Fixtures.fingerprinter.sharingIDs()
        var first = KeyRegistry(fingerprinter: run)
        var second = KeyRegistry(fingerprinter: run)
        let keys = (0..<50).map { "ak_live_SHARED\(1000 + $0)xxxxxxxx" }
        for key in keys { _ = withBytes(key) { first.handle(for: $0, source: .header) } }
        for key in keys.reversed() { _ = withBytes(key) { second.handle(for: $0, source: .query) } }
        #expect(run.shared?.computed == keys.count)
        for key in keys {
            let a = withBytes(key) { first.handle(for: $0, source: .header) }
            let b = withBytes(key) { second.handle(for: $0, source: .header) }
            #expect(first[a].id == Fixtures.fingerprinter.keyID(for: key))
            #expect(second[b].id == first[a].id)
            // Each registry keeps where it met the key first.
            #expect(second[b].source == .query)
        }
        // A consumer id of the same text is another namespace: another id.
        let consumer = withBytes(keys[0]) { second.handle(for: $0, source: .consumer) }
        #expect(second[consumer].id != Fixtures.fingerprinter.keyID(for: keys[0]))
    }

    @Test func bearerTokensAndHeaderPriority() throws {
        var fields = RawFields()
        try withBytes("Bearer tok_ABCDEFGH12345678") { auth in
            fields.authorization = auth
            fields.timeMillis = 0
            fields.target = ByteView.empty
            var normalizer = EventNormalizer(fingerprinter: Fixtures.fingerprinter)
            let normalized = normalizer.normalize(fields, source: SourceRef(input: 0, line: 1))
            let event = try #require(normalized)
            let identity = normalizer.keys[try #require(event.key)]
            #expect(identity.source == .bearer)
            #expect(identity.id == Fixtures.fingerprinter.keyID(for: "tok_ABCDEFGH12345678"))
        }
    }

    @Test func trustedProxyResolution() {
        let normalizer = EventNormalizer(fingerprinter: Fixtures.fingerprinter)
        func client(_ remote: String, _ xff: String) -> String? {
            withBytes(remote) { r in withBytes(xff) { x in normalizer.resolveClient(remote: r, forwardedFor: x) } }?
                .description
        }
        #expect(client("203.0.113.1", "198.51.100.9") == "203.0.113.1")  // untrusted peer: ignore XFF
        #expect(client("10.0.0.5", "198.51.100.9, 10.1.1.1") == "198.51.100.9")
        #expect(client("10.0.0.5", "6.6.6.6, 198.51.100.9") == "198.51.100.9")  // spoofed left entry ignored
        #expect(client("10.0.0.5", "-") == "10.0.0.5")
        #expect(client("[2001:db8::5]:1234", "") == "2001:db8::5")
    }
}

@Suite struct RedactorTests {
    func excerpt(_ text: String) -> String { withBytes(text) { Redactor.excerpt($0, limit: 400) } }

    @Test func masksKeysWhateverTheirShape() {
        // All letters, no digits: caught by length.
        #expect(!excerpt("{\"foo\": \"abcdefghijklmnopqrstuvwxyzABCDEF\"").contains("abcdefghijklmnopqrstuvwxyz"))
        // Short and plain, but named: caught by the name before it.
        let json = excerpt(#"{"request":{"headers":{"apikey":"letmein1","x-api-key":"hunter22"}"#)
        #expect(!json.contains("letmein1"))
        #expect(!json.contains("hunter22"))
        #expect(json.contains("apikey"))
        let header = excerpt("Authorization: Bearer shortTok and Basic dXNlcjpwYXNz")
        #expect(!header.contains("shortTok"))
        #expect(!header.contains("dXNlcjpwYXNz"))
        let traefik = excerpt(#"{"request_X-Api-Key":"plainkey99"}"#)
        #expect(!traefik.contains("plainkey99"))
        let query = excerpt("GET /v1/x?api_key=abc&page=2 HTTP/1.1")
        #expect(query.contains("?api_key=…&page=…"))
    }

    @Test func keepsOrdinaryText() {
        let text = #"198.51.100.4 - - [26/Oct/2026:13:55:36 +0000] "GET /v1/orders HTTP/1.1" 200 10 "-" "curl/8.0""#
        #expect(excerpt(text) == text)
    }
}
