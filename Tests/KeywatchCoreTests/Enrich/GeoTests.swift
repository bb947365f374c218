import Foundation
import Testing

@testable import KeywatchCore

/// The MaxMind test databases copied into `Tests/Fixtures/mmdb` (see its README for provenance).
enum GeoFixtures {
    static func path(_ name: String) -> String { Fixtures.path("mmdb/" + name) }

    static let geoIP2Country = path("GeoIP2-Country-Test.mmdb")
    static let geoIP2City = path("GeoIP2-City-Test.mmdb")
    static let geoLite2Country = path("GeoLite2-Country-Test.mmdb")
    static let geoLite2City = path("GeoLite2-City-Test.mmdb")
    static let geoLite2ASN = path("GeoLite2-ASN-Test.mmdb")

    static func open(_ path: String) throws -> MaxMindDatabase { try MaxMindDatabase(path: path) }
}

func ip(_ text: String) -> IPAddress { IPAddress(parsing: text)! }

// MARK: - MaxMind databases against the README's known answers

@Suite struct GeoMaxMindTests {
    @Test(arguments: [
        (GeoFixtures.geoIP2Country, "GeoIP2-Country", MaxMindDatabase.Fields.country),
        (GeoFixtures.geoIP2City, "GeoIP2-City", .country),
        (GeoFixtures.geoLite2Country, "GeoLite2-Country", .country),
        (GeoFixtures.geoLite2City, "GeoLite2-City", .country),
        (GeoFixtures.geoLite2ASN, "GeoLite2-ASN", .asn),
    ])
    func readsDatabaseTypeFromMetadata(path: String, type: String, fields: MaxMindDatabase.Fields) throws {
        let database = try GeoFixtures.open(path)
        #expect(database.databaseType == type)
        #expect(database.fields == fields)
        #expect(database.buildEpoch == 1_770_245_369)
        #expect(database.path == path)
    }

    @Test(
        arguments: [
            ("GeoIP2-City", MaxMindDatabase.Fields.country),
            ("GeoIP2-Enterprise", [.country, .asn]),
            ("GeoIP2-ISP", .asn),
            ("GeoIP2-Anonymous-IP", []),
            ("GeoIP2-Connection-Type", []),
            ("GeoIP2-Domain", []),
            ("DBIP-Country-Lite", .country),
            ("DBIP-City-Lite", .country),
            ("DBIP-ASN-Lite (compat=GeoLite2-ASN)", .asn),
            ("DBIP-Location-ISP (compat=Enterprise)", [.country, .asn]),
            ("ipinfo country.mmdb", .country),
            ("ipinfo asn.mmdb", .asn),
            ("ipinfo country_asn.mmdb", [.country, .asn]),
            ("ipinfo ipinfo_lite.mmdb", [.country, .asn]),
            ("sapics dbip-geo-whois-asn-country", [.country, .asn]),
        ] as [(String, MaxMindDatabase.Fields)]
    )
    func classifiesDatabaseTypes(type: String, fields: MaxMindDatabase.Fields) {
        #expect(MaxMindDatabase.classify(databaseType: type).fields == fields)
    }

    /// Country answers from every country-bearing test database; `nil` means "no country".
    @Test(
        arguments: [
            (GeoFixtures.geoIP2Country, "81.2.69.142", "GB"),
            (GeoFixtures.geoIP2Country, "::ffff:81.2.69.142", "GB"),
            (GeoFixtures.geoIP2Country, "2002:5102:458e::1", "GB"),  // 6to4 alias of 81.2.69.142
            (GeoFixtures.geoIP2Country, "2.125.160.216", "GB"),
            (GeoFixtures.geoIP2Country, "216.160.83.56", "US"),
            (GeoFixtures.geoIP2Country, "89.160.20.112", "SE"),
            (GeoFixtures.geoIP2Country, "67.43.156.1", "BT"),
            (GeoFixtures.geoIP2Country, "175.16.199.1", "CN"),
            (GeoFixtures.geoIP2Country, "214.1.1.1", nil),
            (GeoFixtures.geoIP2Country, "2001:218::1", "JP"),
            (GeoFixtures.geoIP2Country, "2001:220::1", "KR"),
            (GeoFixtures.geoIP2Country, "2001:220::", "SE"),
            (GeoFixtures.geoIP2Country, "2a02:d500::1", nil),
            (GeoFixtures.geoIP2Country, "1.1.1.1", nil),
            (GeoFixtures.geoIP2Country, "10.0.0.1", nil),
            (GeoFixtures.geoIP2Country, "127.0.0.1", nil),
            (GeoFixtures.geoLite2Country, "81.2.69.142", "GB"),
            (GeoFixtures.geoLite2Country, "175.16.199.1", nil),
            (GeoFixtures.geoLite2Country, "149.101.100.1", nil),
            (GeoFixtures.geoLite2Country, "2001:218::1", "JP"),
            (GeoFixtures.geoIP2City, "2.125.160.216", "GB"),
            (GeoFixtures.geoIP2City, "214.78.120.1", "US"),
            (GeoFixtures.geoIP2City, "2001:480:10::1", "US"),
            (GeoFixtures.geoLite2City, "89.160.20.128", "SE"),
            (GeoFixtures.geoLite2City, "2a02:d3c0::1", "GB"),
        ] as [(String, String, CountryCode?)]
    )
    func country(path: String, address: String, expected: CountryCode?) throws {
        let info = try GeoFixtures.open(path).lookup(ip(address))
        #expect(info.country == expected)
        #expect(info.asn == nil)
        #expect(info.origin == (expected == nil ? .unknown : .database))
        if expected == nil { #expect(info == .unknown) }
    }

    @Test(
        arguments: [
            ("1.0.0.1", 15169, "Google Inc."),
            ("1.128.0.1", 1221, "Telstra Pty Ltd"),
            ("12.81.92.1", 7018, "AT&T Services"),
            ("12.81.96.1", 7018, nil),
            ("89.160.20.112", 29518, "Bredband2 AB"),
            ("149.101.100.1", 6167, "CELLCO-PART"),
            ("214.78.120.1", 721, "DoD Network Information Center"),
            ("216.160.83.56", 209, nil),
            ("67.43.156.1", 35908, nil),
            ("2600:7000::1", 6939, "Hurricane Electric, Inc."),
            ("2001:1700::1", 6730, "Sunrise Communications AG"),
            ("81.2.69.142", nil, nil),
        ] as [(String, UInt32?, String?)]
    )
    func asn(address: String, asn: UInt32?, organization: String?) throws {
        let info = try GeoFixtures.open(GeoFixtures.geoLite2ASN).lookup(ip(address))
        #expect(info.asn == asn)
        #expect(info.organization == organization)
        #expect(info.country == nil)
    }

    @Test(arguments: [
        (GeoFixtures.geoIP2Country, "81.2.69.142", "81.2.69.142/31"),
        (GeoFixtures.geoIP2Country, "81.2.69.150", "81.2.69.144/28"),
        (GeoFixtures.geoIP2Country, "2001:218::1", "2001:218::/32"),
        (GeoFixtures.geoIP2Country, "2001:220::", "2001:220::/128"),
        (GeoFixtures.geoLite2ASN, "89.160.20.112", "89.160.0.0/17"),  // adjacent equal records are merged
        (GeoFixtures.geoLite2ASN, "1.0.0.1", "1.0.0.0/24"),
    ])
    func recordNetwork(path: String, address: String, network: String) throws {
        let info = try GeoFixtures.open(path).lookup(ip(address))
        #expect(info.network?.description == network)
    }

    @Test func rejectsFilesThatAreNotDatabases() throws {
        let dir = TemporaryDirectory()
        let text = dir.write("notes.mmdb", "cidr,country\n10.0.0.0/8,US\n")
        #expect(
            throws: GeoError.invalidDatabase(
                file: text,
                code: 3,
                message: "The MaxMind DB file contains invalid metadata"
            )
        ) {
            try MaxMindDatabase(path: text)
        }
        let license = GeoFixtures.path("LICENSE-MIT")
        let error = #expect(throws: GeoError.self) { try MaxMindDatabase(path: license) }
        guard case .invalidDatabase(let file, _, _) = error else {
            Issue.record("expected invalidDatabase, got \(String(describing: error))")
            return
        }
        #expect(file == license)
        #expect(throws: GeoError.cannotOpen(file: dir.path + "/missing.mmdb", reason: "No such file or directory")) {
            try MaxMindDatabase(path: dir.path + "/missing.mmdb")
        }
    }

    @Test func rejectsDatabasesWithNeitherCountryNorASN() throws {
        var writer = MMDBWriter(databaseType: "GeoIP2-Anonymous-IP")
        writer.insert("1.2.3.0/24", .map([("is_anonymous", .uint16(1))]))
        let dir = TemporaryDirectory()
        let file = dir.write("anonymous.mmdb", Data(writer.build()))
        #expect(throws: GeoError.unsupportedDatabase(file: file, databaseType: "GeoIP2-Anonymous-IP")) {
            try MaxMindDatabase(path: file)
        }
    }

    /// IPinfo writes `asn` as text ("AS15169") and has a `country_code`; in IPinfo Lite `country` is
    /// the full name, so it must not be taken for a code.
    @Test func readsIPinfoLayout() throws {
        var writer = MMDBWriter(databaseType: "ipinfo ipinfo_lite.mmdb", ipVersion: 6)
        writer.insert(
            "8.8.8.0/24",
            .map([
                ("as_domain", .string("google.com")), ("as_name", .string("Google LLC")), ("asn", .string("AS15169")),
                ("continent", .string("North America")), ("country", .string("United States")),
                ("country_code", .string("US")),
            ])
        )
        writer.insert("2001:db8::/32", .map([("asn", .string("AS64500")), ("country", .string("DE"))]))
        writer.insert("9.9.9.0/24", .map([("asn", .string("not a number")), ("country", .string("Switzerland"))]))
        let dir = TemporaryDirectory()
        let database = try MaxMindDatabase(path: dir.write("lite.mmdb", Data(writer.build())))
        #expect(database.fields == [.country, .asn])
        let google = database.lookup(ip("8.8.8.8"))
        #expect(
            google
                == GeoInfo(
                    country: "US",
                    asn: 15169,
                    organization: "Google LLC",
                    network: CIDR("8.8.8.0/24"),
                    origin: .database
                )
        )
        let v6 = database.lookup(ip("2001:db8::5"))
        #expect(v6 == GeoInfo(country: "DE", asn: 64500, network: CIDR("2001:db8::/32"), origin: .database))
        #expect(database.lookup(ip("9.9.9.9")) == .unknown)
        #expect(database.lookup(ip("7.7.7.7")) == .unknown)
    }

    /// An IPv4-only tree: netmasks are IPv4 prefix lengths, and IPv6 lookups find nothing.
    @Test func readsIPv4OnlyDatabases() throws {
        var writer = MMDBWriter(databaseType: "DBIP-ASN-Lite (compat=GeoLite2-ASN)", ipVersion: 4)
        writer.insert(
            "198.51.100.0/23",
            .map([
                ("autonomous_system_number", .uint32(64496)),
                ("autonomous_system_organization", .string("Example Net")),
            ])
        )
        let dir = TemporaryDirectory()
        let database = try MaxMindDatabase(path: dir.write("dbip-asn.mmdb", Data(writer.build())))
        #expect(database.fields == .asn)
        let info = database.lookup(ip("198.51.101.9"))
        #expect(
            info
                == GeoInfo(asn: 64496, organization: "Example Net", network: CIDR("198.51.100.0/23"), origin: .database)
        )
        #expect(database.lookup(ip("2001:db8::1")) == .unknown)
    }
}

// MARK: - The GeoSource contract, for every backend

@Suite struct GeoSourceContractTests {
    static let addresses = [
        "81.2.69.142", "::ffff:81.2.69.142", "2.125.160.216", "89.160.20.112", "175.16.199.1", "214.1.1.1",
        "2001:218::1", "2a02:d500::1", "2600:7000::1", "1.1.1.1", "10.0.0.1", "10.1.2.3", "127.0.0.1", "::1",
        "2001:db8:100::7", "0.0.0.0", "255.255.255.255",
    ]

    static func sources() throws -> [(String, any GeoSource)] {
        var sources: [(String, any GeoSource)] = []
        for path in [
            GeoFixtures.geoIP2Country, GeoFixtures.geoIP2City, GeoFixtures.geoLite2Country, GeoFixtures.geoLite2City,
            GeoFixtures.geoLite2ASN,
        ] {
            sources.append((path, try GeoFixtures.open(path)))
        }
        sources.append(("networks", try NetworksFile(csv: GeoNetworksFileTests.sample)))
        return sources
    }

    @Test func everyBackendKeepsTheContract() throws {
        for (name, source) in try Self.sources() {
            for text in Self.addresses {
                let address = ip(text)
                let answer = source.lookup(address)
                #expect(answer == source.lookup(address), "\(name) \(text): not deterministic")
                if answer.origin == .unknown {
                    #expect(answer == .unknown, "\(name) \(text): unknown answers carry no fields")
                    continue
                }
                let network = try #require(answer.network, "\(name) \(text): a known answer has a network")
                #expect(network.contains(address), "\(name) \(text): \(network) does not contain the address")
                #expect(network.network.isIPv4 == address.isIPv4, "\(name) \(text): network in the wrong family")
            }
        }
    }
}

// MARK: - Networks file

@Suite struct GeoNetworksFileTests {
    static let sample = #"""
        # In-house networks
        cidr,country,asn,org
        10.0.0.0/8,US,AS64512,Corp
        10.1.0.0/16,DE,64513,"Office Berlin, 3rd floor"
        10.1.2.3,,,"Build ""box"""

        2001:db8:100::/48, us ,as64514,  VPN\#u{20}
        89.160.20.0/24,DE,AS64515,"NAT gateway"\#r
        81.2.69.0/24,FR,,
        216.160.83.0/24,,,
        """#

    @Test func longestPrefixWins() throws {
        let networks = try NetworksFile(csv: Self.sample, path: "n.csv")
        #expect(networks.entries.count == 7)
        #expect(networks.path == "n.csv")
        #expect(
            networks.lookup(ip("10.200.0.1"))
                == GeoInfo(
                    country: "US",
                    asn: 64512,
                    organization: "Corp",
                    network: CIDR("10.0.0.0/8"),
                    origin: .networksFile
                )
        )
        #expect(
            networks.lookup(ip("10.1.200.1"))
                == GeoInfo(
                    country: "DE",
                    asn: 64513,
                    organization: "Office Berlin, 3rd floor",
                    network: CIDR("10.1.0.0/16"),
                    origin: .networksFile
                )
        )
        #expect(
            networks.lookup(ip("10.1.2.3"))
                == GeoInfo(organization: "Build \"box\"", network: CIDR("10.1.2.3/32"), origin: .networksFile)
        )
        #expect(
            networks.lookup(ip("2001:db8:100:5::1"))
                == GeoInfo(
                    country: "US",
                    asn: 64514,
                    organization: "VPN",
                    network: CIDR("2001:db8:100::/48"),
                    origin: .networksFile
                )
        )
        #expect(networks.lookup(ip("11.0.0.1")) == .unknown)
        #expect(networks.lookup(ip("2001:db8:101::1")) == .unknown)
        // An IPv4-mapped IPv6 spelling of an address is the IPv4 address.
        #expect(networks.lookup(ip("::ffff:10.1.2.3")).organization == "Build \"box\"")
    }

    @Test func readsAFileWithAnyColumnOrder() throws {
        let dir = TemporaryDirectory()
        let file = dir.write("networks.csv", "\u{FEFF}ORG,CIDR\r\nLab,192.0.2.0/24\r\n")
        let networks = try NetworksFile(path: file)
        #expect(
            networks.lookup(ip("192.0.2.9"))
                == GeoInfo(organization: "Lab", network: CIDR("192.0.2.0/24"), origin: .networksFile)
        )
        #expect(throws: GeoError.cannotOpen(file: dir.path + "/none.csv", reason: "No such file or directory")) {
            try NetworksFile(path: dir.path + "/none.csv")
        }
    }

    /// Each malformed file names the line and what was expected there.
    @Test(arguments: [
        ("cidr,country,asn,org\n10.0.0.0/8,US,,\n\n# comment\n10.0.0.300/8,US,,\n", 5, "network", "10.0.0.300/8"),
        ("cidr,country,asn,org\n10.0.0.0/33,US,,\n", 2, "network", "10.0.0.0/33"),
        ("cidr,country,asn,org\n,US,,\n", 2, "network", ""),
        ("cidr,country,asn,org\n::ffff:10.0.0.0/8,US,,\n", 2, "network", "::ffff:10.0.0.0/8"),
        ("cidr,country,asn,org\n10.0.0.0/8,USA,,\n", 2, "country code", "USA"),
        ("cidr,country,asn,org\n10.0.0.0/8,US,ASX1,\n", 2, "AS number", "ASX1"),
        ("cidr,country,asn,org\n10.0.0.0/8,US,4294967296,\n", 2, "AS number", "4294967296"),
        ("cidr,country,asn,org\n10.0.0.0/8,US\n", 2, "4 comma-separated fields", "2 fields: 10.0.0.0/8,US"),
        ("cidr,country,asn,org\n10.0.0.0/8,US,,\"Corp\n", 2, "closing quote", "10.0.0.0/8,US,,\"Corp"),
        ("cidr,country,asn,org\n10.0.0.0/8,US,,\n10.0.0.1/8,DE,,\n", 3, "already on line 2", "10.0.0.1/8"),
        ("cidr,contry,asn,org\n10.0.0.0/8,US,,\n", 1, "header", "contry"),
        ("country,asn\nUS,1\n", 1, "a cidr column", "country,asn"),
        ("10.0.0.0/8,US,,\n", 1, "header", "10.0.0.0/8"),
        ("# only a comment\n", 1, "header", "end of file"),
        ("", 1, "header", "end of file"),
    ])
    func reportsTheBadLine(csv: String, line: Int, expected: String, found: String) {
        let error = #expect(throws: GeoError.self) { try NetworksFile(csv: csv, path: "networks.csv") }
        guard case .invalidNetworksLine(let file, let badLine, let expectation, let text) = error else {
            Issue.record("expected invalidNetworksLine, got \(String(describing: error))")
            return
        }
        #expect(file == "networks.csv")
        #expect(badLine == line)
        #expect(expectation.contains(expected), "\(expectation)")
        #expect(text == found)
    }

    @Test func errorsReadWell() {
        let error = GeoError.invalidNetworksLine(
            file: "networks.csv",
            line: 7,
            expected: "a network such as 10.0.0.0/8 or 2001:db8::/32 in column cidr",
            found: "10.0.0.300/8"
        )
        #expect(
            error.description
                == "networks.csv:7: expected a network such as 10.0.0.0/8 or 2001:db8::/32 in column cidr, found '10.0.0.300/8'"
        )
    }
}

// MARK: - Resolver

@Suite struct GeoResolverTests {
    static func standard(networks: String? = nil) throws -> GeoResolver {
        try GeoResolver(
            databases: [GeoFixtures.geoLite2City, GeoFixtures.geoIP2Country, GeoFixtures.geoLite2ASN],
            networksFile: networks
        )
    }

    @Test(
        arguments: [
            ("81.2.69.142", "GB", nil, nil, "81.2.69.142/31"),
            ("::ffff:81.2.69.142", "GB", nil, nil, "81.2.69.142/31"),
            ("2.125.160.216", "GB", nil, nil, "2.125.160.216/29"),
            ("216.160.83.56", "US", 209, nil, "216.160.64.0/18"),  // the ASN record's network
            ("89.160.20.112", "SE", 29518, "Bredband2 AB", "89.160.0.0/17"),
            ("149.101.100.1", "US", 6167, "CELLCO-PART", "149.101.100.0/28"),
            ("175.16.199.1", "CN", nil, nil, "175.16.199.0/24"),  // GeoLite2 lacks it; GeoIP2-Country has it
            ("214.1.1.1", nil, 721, "DoD Network Information Center", "214.0.0.0/8"),  // anycast: no country
            ("2001:218::1", "JP", nil, nil, "2001:218::/32"),
            ("2a02:d500::1", nil, nil, nil, "2a02:d500::/48"),
            ("2600:7000::1", nil, 6939, "Hurricane Electric, Inc.", "2600:7000::/24"),
            ("1.1.1.1", nil, nil, nil, "1.1.1.0/24"),
            ("10.0.0.1", nil, nil, nil, "10.0.0.0/24"),
        ] as [(String, CountryCode?, UInt32?, String?, String)]
    )
    func mergesDatabases(
        address: String,
        country: CountryCode?,
        asn: UInt32?,
        organization: String?,
        network: String
    )
        throws
    {
        var geo = try Self.standard()
        let info = geo.lookup(ip(address))
        #expect(info.country == country)
        #expect(info.asn == asn)
        #expect(info.organization == organization)
        #expect(info.network?.description == network)
        #expect(info.origin == (country == nil && asn == nil ? .unknown : .database))
    }

    @Test func countryComesFromTheFirstDatabaseThatHasIt() throws {
        // GeoLite2-Country lacks 175.16.199.1; GeoIP2-Country has it.
        var liteFirst = try GeoResolver(
            databases: [GeoFixtures.geoLite2Country, GeoFixtures.geoIP2Country],
            networksFile: nil
        )
        #expect(liteFirst.lookup(ip("175.16.199.1")).country == "CN")
        var liteOnly = try GeoResolver(databases: [GeoFixtures.geoLite2Country], networksFile: nil)
        #expect(liteOnly.lookup(ip("175.16.199.1")).country == nil)
        // The deliberate odd /128 entry 2001:220:: is SE in GeoIP2-Country only; GeoLite2 says KR.
        #expect(liteFirst.lookup(ip("2001:220::")).country == "KR")
        var geoIP2First = try GeoResolver(
            databases: [GeoFixtures.geoIP2Country, GeoFixtures.geoLite2Country],
            networksFile: nil
        )
        #expect(geoIP2First.lookup(ip("2001:220::")).country == "SE")
    }

    @Test func networksFileOverridesDatabases() throws {
        let dir = TemporaryDirectory()
        let file = dir.write("networks.csv", GeoNetworksFileTests.sample)
        var geo = try Self.standard(networks: file)
        // The databases say SE, AS29518 Bredband2 AB.
        #expect(
            geo.lookup(ip("89.160.20.112"))
                == GeoInfo(
                    country: "DE",
                    asn: 64515,
                    organization: "NAT gateway",
                    network: CIDR("89.160.20.0/24"),
                    origin: .networksFile
                )
        )
        // Only the country is given: the rest still comes from the databases (81.2.69.142 has no ASN).
        #expect(
            geo.lookup(ip("81.2.69.142"))
                == GeoInfo(country: "FR", network: CIDR("81.2.69.0/24"), origin: .networksFile)
        )
        // Only the network is given: the databases fill every field, the network stays the file's.
        #expect(
            geo.lookup(ip("216.160.83.56"))
                == GeoInfo(country: "US", asn: 209, network: CIDR("216.160.83.0/24"), origin: .networksFile)
        )
        // Private space the databases do not know.
        #expect(geo.lookup(ip("10.1.9.9")).organization == "Office Berlin, 3rd floor")
        #expect(geo.networks?.entries.count == 7)
        #expect(geo.databases.map(\.databaseType) == ["GeoLite2-City", "GeoIP2-Country", "GeoLite2-ASN"])
    }

    @Test func withoutDataEveryAddressIsItsSlash24OrSlash48() {
        var geo = GeoResolver(networks: nil, databases: [])
        #expect(!geo.hasData)
        #expect(geo.lookup(ip("81.2.69.142")) == GeoInfo(network: CIDR("81.2.69.0/24")))
        #expect(geo.lookup(ip("2001:db8:1:2:3::4")) == GeoInfo(network: CIDR("2001:db8:1::/48")))
        #expect(geo.lookup(ip("::ffff:10.0.0.1")).network?.description == "10.0.0.0/24")
    }

    @Test func propagatesOpenErrors() {
        #expect(throws: GeoError.self) {
            try GeoResolver(
                databases: [GeoFixtures.geoLite2ASN, GeoFixtures.path("LICENSE-APACHE")],
                networksFile: nil
            )
        }
        let dir = TemporaryDirectory()
        let bad = dir.write("bad.csv", "cidr,country\n10.0.0.0/8,XYZ\n")
        #expect(throws: GeoError.self) { try GeoResolver(databases: [], networksFile: bad) }
    }

    @Test func cachesAnswers() throws {
        var geo = try Self.standard()
        let addresses = GeoSourceContractTests.addresses.map(ip)
        let first = addresses.map { geo.lookup($0) }
        #expect(geo.cacheMisses == Set(addresses).count)  // ::ffff:81.2.69.142 is 81.2.69.142
        let second = addresses.map { geo.lookup($0) }
        #expect(first == second)
        #expect(second == addresses.map { geo.resolve($0) })
        #expect(geo.cacheHits > 0)
        // Every slot starts out holding `::`; that must read as `::`'s real answer, never as a hit for others.
        #expect(geo.lookup(ip("::")) == geo.resolve(ip("::")))
        #expect(geo.lookup(ip("::")).network?.description == "::/48")
        #expect(geo.cacheHits + geo.cacheMisses == 2 * addresses.count + 2)
    }

    /// A tiny cache evicts constantly; answers must stay right.
    @Test func evictionKeepsAnswersCorrect() throws {
        var small = try GeoResolver(
            databases: [GeoFixtures.geoIP2Country, GeoFixtures.geoLite2ASN],
            networksFile: nil,
            cacheCapacity: 2
        )
        let reference = try GeoResolver(
            databases: [GeoFixtures.geoIP2Country, GeoFixtures.geoLite2ASN],
            networksFile: nil
        )
        for round in 0..<3 {
            for text in GeoSourceContractTests.addresses {
                #expect(small.lookup(ip(text)) == reference.resolve(ip(text)), "round \(round): \(text)")
            }
        }
        for v in 0..<2000 {
            let address = IPAddress(ipv4: 0x5910_1400 | UInt32(v & 0xFF) | UInt32(v >> 8) << 24)
            #expect(small.lookup(address) == reference.resolve(address))
        }
    }

    @Test func sharesOrganizationStrings() throws {
        var geo = try Self.standard()
        let a = geo.lookup(ip("2600:7000::1")).organization
        let b = geo.lookup(ip("2600:7000::2")).organization
        #expect(a == "Hurricane Electric, Inc.")
        // Same interned storage: the second answer did not keep its own copy.
        func storage(_ s: String?) -> UnsafePointer<UInt8>? {
            s?.utf8.withContiguousStorageIfAvailable { $0.baseAddress } ?? nil
        }
        #expect(storage(a) != nil)
        #expect(storage(a) == storage(b))
    }

    @Test func findsInstalledDatabases() {
        let first = TemporaryDirectory()
        let second = TemporaryDirectory()
        for name in [
            "GeoLite2-ASN.mmdb", "GeoLite2-City.mmdb", "GeoIP2-Anonymous-IP.mmdb", "README", "GeoIP.dat",
            "dbip-country-lite-2026-01.mmdb",
        ] {
            first.write(name, "")
        }
        for name in ["GeoLite2-City.mmdb", "GeoIP2-Country.mmdb", "GeoLite2-Country.mmdb"] { second.write(name, "") }
        let paths = GeoResolver.defaultDatabasePaths(in: [first.path, second.path, "/nonexistent"])
        #expect(
            paths == [
                second.path + "/GeoIP2-Country.mmdb",
                first.path + "/GeoLite2-City.mmdb",
                second.path + "/GeoLite2-Country.mmdb",
                first.path + "/GeoLite2-ASN.mmdb",
                first.path + "/dbip-country-lite-2026-01.mmdb",
            ]
        )
        #expect(GeoResolver.defaultDatabasePaths(in: ["/nonexistent"]).isEmpty)
    }
}

// MARK: - Values

@Suite struct GeoValueTests {
    @Test func countryCodes() {
        // Parse from variables: `CountryCode("GB")` with a literal is the literal initialiser.
        func parse(_ text: String) -> CountryCode? { CountryCode(text) }
        #expect(parse("gb")?.description == "GB")
        #expect(parse("GB") == "GB")
        #expect(parse("GBR") == nil)
        #expect(parse("G") == nil)
        #expect(parse("U1") == nil)
        #expect(parse("") == nil)
        #expect(parse("É1") == nil)
        #expect(parse("United States") == nil)
        #expect(CountryCode(rawValue: 0x5553) == "US")
        #expect(CountryCode(rawValue: 0x5531) == nil)
        #expect(CountryCode("DE") < CountryCode("US"))
        #expect(MemoryLayout<CountryCode?>.size <= 3)
    }

    @Test(
        arguments: [
            ("AS64512", 64512), ("as1", 1), ("64512", 64512), ("4294967295", 4_294_967_295), ("4294967296", nil),
            ("", nil), ("AS", nil), ("AS 1", nil), ("-1", nil),
        ] as [(String, UInt32?)]
    )
    func asNumbers(text: String, value: UInt32?) {
        var copy = text
        #expect(copy.withUTF8 { parseASN(UnsafeRawBufferPointer($0)) } == value)
    }

    @Test func describesAnswers() {
        #expect(
            GeoInfo(country: "SE", asn: 29518, organization: "Bredband2 AB", network: CIDR("89.160.20.112/29"))
                .description == "SE AS29518 (Bredband2 AB) 89.160.20.112/29"
        )
        #expect(GeoResolver.fallback(ip("1.1.1.1")).description == "?? 1.1.1.0/24")
        #expect(CIDR(containing: ip("2001:db8::1"), prefixLength: 200).description == "2001:db8::1/128")
    }
}
