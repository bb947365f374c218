import Testing

@testable import KeywatchCore

@Suite struct IPAddressTests {
    @Test(arguments: [
        ("203.0.113.7", "203.0.113.7"),
        ("203.0.113.7:51234", "203.0.113.7"),
        ("[2001:db8::1]:443", "2001:db8::1"),
        ("2001:DB8:0:0:0:0:0:1", "2001:db8::1"),
        ("::1", "::1"),
        ("fe80::1%eth0", "fe80::1"),
        ("::ffff:81.2.69.142", "81.2.69.142"),
        (" \"10.0.0.1\" ", "10.0.0.1"),
        ("2a02:d3c0::", "2a02:d3c0::"),
        ("1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"),
    ])
    func parsesAndPrints(text: String, expected: String) {
        #expect(IPAddress(parsing: text)?.description == expected)
    }

    @Test(arguments: [
        "-", "unknown", "", "256.1.1.1", "1.2.3", "1.2.3.4.5", "1::2::3", "12345::", "1:2:3:4:5:6:7:8:9", "abc",
    ])
    func rejectsNonAddresses(text: String) {
        #expect(IPAddress(parsing: text) == nil)
    }

    @Test func cidrMembership() throws {
        let net = try #require(CIDR("10.0.0.0/8"))
        #expect(net.contains(IPAddress(parsing: "10.200.3.4")!))
        #expect(!net.contains(IPAddress(parsing: "11.0.0.1")!))
        let v6 = try #require(CIDR("2001:db8::/32"))
        #expect(v6.contains(IPAddress(parsing: "2001:db8:ffff::1")!))
        #expect(!v6.contains(IPAddress(parsing: "2001:db9::1")!))
        #expect(!v6.contains(IPAddress(parsing: "10.0.0.1")!))
        #expect(CIDR("10.0.0.0/33") == nil)
        #expect(IPAddress(parsing: "198.51.100.77")!.masked(to: 24).description == "198.51.100.0")
    }
}
