/// A client address as it appears in `$remote_addr` or Kong's `client_ip`.
enum ClientAddress: Hashable, Sendable, CustomStringConvertible {
    /// An IPv4 address in host byte order.
    case v4(UInt32)
    /// An IPv6 address as two 64-bit halves.
    case v6(high: UInt64, low: UInt64)

    /// Dotted-quad or RFC 5952 text.
    var description: String {
        switch self {
        case .v4(let value):
            return "\(value >> 24).\(value >> 16 & 0xFF).\(value >> 8 & 0xFF).\(value & 0xFF)"
        case .v6(let high, let low):
            return ClientAddress.ipv6Text(high: high, low: low)
        }
    }

    /// Formats IPv6 per RFC 5952: lowercase, no leading zeros, longest run of 2+ zero groups as `::`.
    static func ipv6Text(high: UInt64, low: UInt64) -> String {
        var groups: [UInt16] = []
        for shift in stride(from: 48, through: 0, by: -16) {
            groups.append(UInt16(truncatingIfNeeded: high >> UInt64(shift)))
        }
        for shift in stride(from: 48, through: 0, by: -16) {
            groups.append(UInt16(truncatingIfNeeded: low >> UInt64(shift)))
        }
        var bestStart = -1
        var bestLength = 0
        var index = 0
        while index < 8 {
            if groups[index] == 0 {
                var end = index
                while end < 8, groups[end] == 0 {
                    end += 1
                }
                if end - index > bestLength {
                    bestStart = index
                    bestLength = end - index
                }
                index = end
            } else {
                index += 1
            }
        }
        let text = groups.map { String($0, radix: 16) }
        guard bestLength >= 2 else {
            return text.joined(separator: ":")
        }
        let head = text[0..<bestStart].joined(separator: ":")
        let tail = text[(bestStart + bestLength)...].joined(separator: ":")
        return head + "::" + tail
    }
}

/// An IPv4 or IPv6 prefix.
enum CIDR: Hashable, Sendable, CustomStringConvertible {
    /// IPv4 base address and prefix length.
    case v4(base: UInt32, prefix: Int)
    /// The top 64 bits of an IPv6 prefix and its length (at most 64).
    case v6(high: UInt64, prefix: Int)

    /// Parses `a.b.c.d/n` or `xxxx:xxxx:xxxx::/n` (IPv6 prefixes up to /64 only).
    init(_ text: String) {
        let parts = text.split(separator: "/")
        let prefix = Int(parts[1])!
        if parts[0].contains(":") {
            let groups = parts[0].split(separator: ":", omittingEmptySubsequences: true)
            var high: UInt64 = 0
            for (index, group) in groups.enumerated() {
                high |= UInt64(UInt16(group, radix: 16)!) << UInt64(48 - 16 * index)
            }
            self = .v6(high: high, prefix: prefix)
        } else {
            let octets = parts[0].split(separator: ".").map { UInt32($0)! }
            self = .v4(base: octets[0] << 24 | octets[1] << 16 | octets[2] << 8 | octets[3], prefix: prefix)
        }
    }

    /// Canonical text, e.g. `77.20.0.0/14` or `2001:db8:4a00::/40`.
    var description: String {
        switch self {
        case .v4(let base, let prefix):
            return "\(ClientAddress.v4(base))/\(prefix)"
        case .v6(let high, let prefix):
            return "\(ClientAddress.v6(high: high, low: 0))/\(prefix)"
        }
    }

    /// Whether this is an IPv6 prefix.
    var isIPv6: Bool {
        if case .v6 = self {
            return true
        }
        return false
    }

    /// A random host address inside the prefix, avoiding IPv4 network and broadcast-looking octets.
    func randomAddress(using rng: inout SimRandom) -> ClientAddress {
        switch self {
        case .v4(let base, let prefix):
            let hostBits = 32 - prefix
            let size = UInt32(1) << UInt32(hostBits)
            var offset = UInt32(truncatingIfNeeded: rng.next()) & (size - 1)
            var address = base | offset
            while address & 0xFF == 0 || address & 0xFF == 255 {
                offset = UInt32(truncatingIfNeeded: rng.next()) & (size - 1)
                address = base | offset
            }
            return .v4(address)
        case .v6(let high, let prefix):
            let hostBits = 64 - prefix
            let mask: UInt64 = hostBits >= 64 ? .max : (UInt64(1) << UInt64(hostBits)) - 1
            // Carriers hand out /64s; the interface identifier is a privacy address.
            return .v6(high: high | (rng.next() & mask), low: rng.next() | 0x0100_0000_0000_0000)
        }
    }
}

/// What kind of operator a synthetic network belongs to.
enum NetworkKind: String, Sendable {
    case cloud, mobile, isp, hosting, monitoring, `internal`
}

/// One address range of a synthetic network, as written to `networks.csv`.
struct NetworkRange: Sendable {
    /// The prefix.
    let cidr: CIDR
    /// ISO 3166-1 alpha-2 country, or `ZZ` for internal ranges.
    let country: String
    /// Autonomous system number (private-use numbers, so no real operator is named).
    let asn: Int
    /// Operator name; all names are invented.
    let org: String
    /// Operator kind.
    let kind: NetworkKind
}

/// The invented address plan: every client range the simulator uses.
///
/// ASNs come from the private-use range 64512–65534 and IPv6 prefixes from `2001:db8::/32`, so the
/// plan names no real operator; IPv4 prefixes merely look public.
enum AddressPlan {
    /// All ranges, in `networks.csv` order.
    static let ranges: [NetworkRange] = {
        var list: [NetworkRange] = []
        func add(_ cidr: String, _ country: String, _ asn: Int, _ org: String, _ kind: NetworkKind) {
            list.append(NetworkRange(cidr: CIDR(cidr), country: country, asn: asn, org: org, kind: kind))
        }
        add("34.86.0.0/16", "US", 64610, "Nimbus Cloud", .cloud)
        add("2001:db8:100::/48", "US", 64610, "Nimbus Cloud", .cloud)
        add("34.89.0.0/16", "DE", 64610, "Nimbus Cloud", .cloud)
        add("34.92.0.0/16", "SG", 64610, "Nimbus Cloud", .cloud)
        add("35.153.0.0/16", "US", 64611, "Stratus Compute", .cloud)
        add("35.176.0.0/16", "GB", 64611, "Stratus Compute", .cloud)
        add("35.180.0.0/16", "FR", 64611, "Stratus Compute", .cloud)
        add("20.113.0.0/16", "NL", 64612, "Azurite Cloud", .cloud)
        add("20.121.0.0/16", "US", 64612, "Azurite Cloud", .cloud)
        add("20.194.0.0/16", "JP", 64612, "Azurite Cloud", .cloud)
        add("20.201.0.0/16", "BR", 64612, "Azurite Cloud", .cloud)
        add("20.219.0.0/16", "IN", 64612, "Azurite Cloud", .cloud)
        add("77.20.0.0/14", "DE", 64620, "Telco Verde Mobil", .mobile)
        add("2001:db8:4a00::/40", "DE", 64620, "Telco Verde Mobil", .mobile)
        add("109.40.0.0/14", "DE", 64621, "Funkwelle Mobilfunk", .mobile)
        add("172.56.0.0/14", "US", 64622, "Liberty Wireless", .mobile)
        add("2001:db8:5b00::/40", "US", 64622, "Liberty Wireless", .mobile)
        add("174.192.0.0/14", "US", 64623, "Coastline Mobile", .mobile)
        add("177.60.0.0/14", "BR", 64624, "Celular Sul", .mobile)
        add("179.96.0.0/14", "BR", 64625, "VivaNet Movel", .mobile)
        add("106.192.0.0/14", "IN", 64626, "Bharat Mobile", .mobile)
        add("2001:db8:6c00::/40", "IN", 64626, "Bharat Mobile", .mobile)
        add("92.184.0.0/14", "FR", 64627, "Mobilis France", .mobile)
        add("85.50.0.0/16", "ES", 64628, "Movil Iberia", .mobile)
        add("5.90.0.0/16", "IT", 64629, "Onda Mobile", .mobile)
        add("31.94.0.0/16", "GB", 64630, "Albion Mobile", .mobile)
        add("126.200.0.0/14", "JP", 64631, "Sakura Mobile", .mobile)
        add("91.64.0.0/14", "DE", 64640, "Rheinnetz Breitband", .isp)
        add("73.160.0.0/14", "US", 64641, "Prairie Fiber", .isp)
        add("98.208.0.0/14", "US", 64642, "Metro Cable", .isp)
        add("90.100.0.0/14", "FR", 64643, "Hexanet Telecom", .isp)
        add("86.150.0.0/15", "GB", 64644, "Thames Broadband", .isp)
        add("189.20.0.0/14", "BR", 64645, "Rede Aurora", .isp)
        add("153.200.0.0/14", "JP", 64646, "Kanto Hikari", .isp)
        add("49.36.0.0/14", "IN", 64647, "Ganga Broadband", .isp)
        add("84.80.0.0/14", "NL", 64648, "Polder Online", .isp)
        add("116.86.0.0/16", "SG", 64649, "Merlion Fibre", .isp)
        add("194.87.0.0/20", "RU", 64660, "Volga Hosting", .hosting)
        add("185.107.56.0/22", "NL", 64661, "Dijk Hosting", .hosting)
        add("89.42.212.0/22", "RO", 64662, "Carpathia VPS", .hosting)
        add("103.157.100.0/22", "VN", 64663, "Saigon Cloud VPS", .hosting)
        add("45.125.64.0/22", "CN", 64664, "Pearl River IDC", .hosting)
        add("102.89.32.0/22", "NG", 64665, "Lagos Datacenter", .hosting)
        add("104.244.72.0/22", "US", 64666, "Dallas Dedicated", .hosting)
        add("5.175.0.0/18", "DE", 64667, "Spree Server", .hosting)
        add("177.71.128.0/18", "BR", 64668, "Sampa Hosting", .hosting)
        add("103.21.124.0/22", "IN", 64669, "Deccan VPS", .hosting)
        add("37.59.128.0/17", "FR", 64670, "Gaule Serveurs", .hosting)
        add("43.229.52.0/22", "HK", 64671, "Kowloon Hosting", .hosting)
        add("185.255.88.0/22", "TR", 64672, "Anatolia Host", .hosting)
        add("160.16.64.0/18", "JP", 64673, "Tokyo Edge Hosting", .hosting)
        add("185.59.220.0/22", "GB", 64674, "Albion Colo", .hosting)
        add("103.253.144.0/22", "SG", 64675, "Raffles VPS", .hosting)
        add("69.162.124.224/28", "US", 64680, "UptimePing", .monitoring)
        add("10.20.0.0/24", "ZZ", 64512, "Internal load balancer", .internal)
        return list
    }()

    /// Countries where legitimate clients live; attackers come from elsewhere.
    static let clientCountries: Set<String> = ["US", "DE", "FR", "GB", "NL", "BR", "JP", "IN", "SG", "ES", "IT"]

    /// Indices of the ranges matching a filter.
    static func indices(where predicate: (NetworkRange) -> Bool) -> [Int] {
        ranges.indices.filter { predicate(ranges[$0]) }
    }

    /// Distinct ASNs of a kind in a country, ascending.
    static func asns(kind: NetworkKind, country: String) -> [Int] {
        Array(Set(ranges.filter { $0.kind == kind && $0.country == country }.map(\.asn))).sorted()
    }

    /// Indices of the ranges of `asn` in `country`.
    static func ranges(asn: Int, country: String) -> [Int] {
        indices { $0.asn == asn && $0.country == country }
    }

    /// Whether `address` lies in `cidr`.
    static func contains(_ cidr: CIDR, _ address: ClientAddress) -> Bool {
        switch (cidr, address) {
        case (.v4(let base, let prefix), .v4(let value)):
            let mask: UInt32 = prefix == 0 ? 0 : ~UInt32(0) << UInt32(32 - prefix)
            return value & mask == base
        case (.v6(let high, let prefix), .v6(let value, _)):
            let mask: UInt64 = prefix == 0 ? 0 : ~UInt64(0) << UInt64(64 - prefix)
            return value & mask == high
        default:
            return false
        }
    }

    /// The internal load balancer's health-check source for a gateway node.
    static func healthChecker(node: Int) -> ClientAddress {
        .v4(0x0A14_0002 + UInt32(node))
    }
}
