import Testing

@testable import KeywatchCore

@Suite struct EndpointTemplaterTests {
    func template(_ path: String, patterns: [String] = []) -> String {
        let templater = EndpointTemplater(patterns: patterns.compactMap { EndpointPattern($0) })
        var out: [UInt8] = []
        withBytes(path) { templater.template(of: $0, into: &out) }
        return String(decoding: out, as: UTF8.self)
    }

    @Test(arguments: [
        ("/v1/orders/48213377?expand=items", "/v1/orders/{id}"),
        ("/v1/customers/3f2b8c1e-9a4d-4c2e-8f7a-1b2c3d4e5f60/cards", "/v1/customers/{uuid}/cards"),
        ("/v1/products/SKU-12345", "/v1/products/{id}"),
        ("/v1/invoices/991/pdf", "/v1/invoices/{id}/pdf"),
        ("/v1/blobs/9f86d081884c7d659a2feaa0c55ad015", "/v1/blobs/{hex}"),
        ("/v1/reports/2026-10-26", "/v1/reports/{date}"),
        ("/v1/users/jane.doe@example.com", "/v1/users/{email}"),
        ("/v1/sessions/eyJhbGciOiJIUzI1NiJ9xYz12", "/v1/sessions/{token}"),
        ("/v1/orders/123.json", "/v1/orders/{id}.json"),
        ("/oauth2/token", "/oauth2/token"),
        ("/v2/s3/buckets", "/v2/s3/buckets"),
        ("//v1//orders/", "/v1/orders"),
        ("/", "/"),
        ("https://api.example.com:8443/v1/orders/5?x=1", "/v1/orders/{id}"),
        ("*", "*"),
        ("/filter/%D9%85%DA%AF%D8%A7", "/filter/{str}"),
        // Vendor-style prefixed ids (a nightly export job fetches a new one every night).
        ("/v1/exports/exp_u9gODPJLxC", "/v1/exports/{id}"),
        ("/v1/exports/exp_zobVdtmIPV", "/v1/exports/{id}"),
        ("/v1/customers/cus_J2kd93ksLQ/cards", "/v1/customers/{id}/cards"),
        // …but not ordinary route words with a prefix.
        ("/v1/admin/api-keys", "/v1/admin/api-keys"),
        ("/v1/internal/get_userbyname", "/v1/internal/get_userbyname"),
    ])
    func templates(path: String, expected: String) {
        #expect(template(path) == expected)
    }

    @Test func userPatternsComeFirst() {
        let patterns = ["/v1/users/{user}/avatar", "/files/*"]
        #expect(template("/v1/users/jane/avatar", patterns: patterns) == "/v1/users/{user}/avatar")
        #expect(template("/files/a/b/c.txt", patterns: patterns) == "/files/*")
        #expect(template("/v1/users/jane/profile", patterns: patterns) == "/v1/users/jane/profile")
    }

    /// The one-pass segment loop templates every segment as the reference rules do: a segment without
    /// digits, `@`, `%` or a `_`/`-` at offset 2–6 kept (up to 64 bytes), otherwise
    /// ``EndpointTemplater/placeholder(for:)``.
    @Test func oneSegmentPassAgreesWithTheReferenceRules() {
        func reference(_ segment: [UInt8]) -> [UInt8] {
            segment.withUnsafeBufferPointer { buffer in
                let s = ByteView(base: buffer.baseAddress, count: buffer.count)
                let interesting =
                    segment.contains { $0 &- 0x30 <= 9 || $0 == UInt8(ascii: "@") || $0 == UInt8(ascii: "%") }
                    || segment.indices.contains { k in
                        (2...6).contains(k) && (segment[k] == UInt8(ascii: "_") || segment[k] == UInt8(ascii: "-"))
                    }
                let placeholder: (text: StaticString?, keepFrom: Int) =
                    interesting ? EndpointTemplater.placeholder(for: s) : (nil, 0)
                guard let text = placeholder.text else { return [UInt8(ascii: "/")] + Array(segment.prefix(64)) }
                return [UInt8(ascii: "/")] + text.withUTF8Buffer { Array($0) } + Array(segment[placeholder.keepFrom...])
            }
        }
        let templater = EndpointTemplater()
        func check(_ segment: [UInt8]) {
            var out: [UInt8] = []
            ([UInt8(ascii: "/")] + segment).withUnsafeBufferPointer {
                templater.template(of: ByteView(base: $0.baseAddress, count: $0.count), into: &out)
            }
            #expect(out == reference(segment), "\(String(decoding: segment, as: UTF8.self))")
        }
        // Every short segment over a small alphabet: the loop's shortcut for short words with a digit
        // or two ("v1", "s3") must be a pure shortcut.
        let small = Array("v1x9-_@%".utf8)
        var segments: [[UInt8]] = [[]]
        for _ in 1...4 {
            segments = segments.flatMap { prefix in small.map { prefix + [$0] } }
            for segment in segments { check(segment) }
        }
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array("0123456789abcdefxyzABFX@%.-_=+~!:".utf8) + [0xC3, 0xA9]
        for round in 0..<20_000 {
            let length =
                round % 500 == 0
                ? Int.random(in: 250...300, using: &generator) : Int.random(in: 1...40, using: &generator)
            check((0..<length).map { _ in alphabet.randomElement(using: &generator)! })
        }
    }

    @Test func veryLongPathsAreBounded() {
        let long = "/" + (0..<200).map { "seg\($0 % 3 == 0 ? "a" : "b")" }.joined(separator: "/")
        #expect(template(long).utf8.count <= EndpointTemplater.maxLength + 70)
        #expect(template(long).hasSuffix("/…"))
    }
}

@Suite struct EndpointQueryEdgeTests {
    @Test(arguments: [
        ("/v1/?q=1", "/v1"), ("/?x=1", "/"), ("/v1/orders/7#frag", "/v1/orders/{id}"),
        ("/v1/orders?id=7/8", "/v1/orders"),
    ])
    func queryAndFragmentEndThePath(path: String, expected: String) {
        let templater = EndpointTemplater()
        var out: [UInt8] = []
        withBytes(path) { templater.template(of: $0, into: &out) }
        #expect(String(decoding: out, as: UTF8.self) == expected)
    }
}
