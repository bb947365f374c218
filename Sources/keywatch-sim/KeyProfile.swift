import Foundation

/// The behavioural family of an API key.
enum KeyKind: String, CaseIterable, Sendable {
    /// Backend service: steady 24/7 traffic with a mild daily rhythm from a few cloud IPs.
    case service
    /// Nightly batch job: a burst of sequential calls at about 02:00 local time.
    case batch
    /// Mobile or web app: many users hopping across carrier IPs, peaking in the evening.
    case mobile
    /// Partner integration: office hours Monday to Friday in the partner's own zone.
    case partner
    /// Low-volume key: a handful of Poisson-distributed calls per day.
    case rare
    /// Dormant key: silent for long stretches.
    case dormant

    /// Endpoint audience used to draw this kind's endpoint set.
    var audience: Audience {
        switch self {
        case .service: return .service
        case .batch: return .batch
        case .mobile: return .mobile
        case .partner: return .partner
        case .rare, .dormant: return [.rare, .partner]
        }
    }
}

/// The gateway family a key's traffic goes through.
enum GatewayFamily: String, Sendable {
    /// The two nginx nodes behind the load balancer.
    case nginx
    /// The Kong node.
    case kong
}

/// On which days a key is active.
enum Activity: Hashable, Sendable {
    /// Every day, following its rhythm.
    case always
    /// Only on these day indices (0 = first simulated day).
    case days(Set<Int>)
}

/// Where a key's requests come from during some interval.
struct TrafficSource: Sendable {
    /// ASN of the network.
    let asn: Int
    /// Country of the ranges.
    let country: String
    /// Indices into ``AddressPlan/ranges`` (IPv4 and possibly IPv6 ranges of one ASN in one country).
    let ranges: [Int]
    /// Fixed addresses; empty means a fresh per-day pool of carrier addresses (mobile users).
    var addresses: [ClientAddress]
    /// Relative share of the key's traffic.
    var weight: Double
    /// First instant the source is used.
    var from: EpochMillis = .min
    /// First instant the source is no longer used.
    var until: EpochMillis = .max

    /// Whether the source is in use at `millis`.
    func isActive(at millis: EpochMillis) -> Bool {
        millis >= from && millis < until
    }

    /// The operator name of the first range.
    var org: String {
        AddressPlan.ranges[ranges[0]].org
    }
}

/// Everything that determines one synthetic key's traffic.
struct KeyProfile: Sendable {
    /// Position in the key list; also the key's stream number.
    let index: Int
    /// The raw synthetic key.
    let key: String
    /// A short, non-secret form of the key, e.g. `ak_live_Q7…nD`.
    let hint: String
    /// Behavioural family.
    let kind: KeyKind
    /// Gateway family its traffic goes through.
    let gateway: GatewayFamily
    /// Kong consumer username (also used as a readable name in labels).
    let consumerName: String
    /// Kong consumer id.
    let consumerID: String
    /// Kong key-auth credential id (`authenticated_entity.id`).
    let credentialID: String
    /// Home country.
    let country: String
    /// Zone that drives the key's rhythm.
    let zone: ZoneRule
    /// Mean requests per day at scale 1 (for batch keys: per nightly run; dormant keys: per active day).
    var dailyVolume: Double
    /// Indices into ``APICatalogue/endpoints``.
    let endpoints: [Int]
    /// Relative weights of `endpoints`.
    let endpointWeights: [Double]
    /// User agents; `nil` entries send no user agent.
    let userAgents: [String?]
    /// Relative weights of `userAgents`.
    let userAgentWeights: [Double]
    /// Referer sent by browser front-ends.
    let referer: String?
    /// Whether the key travels as a query parameter instead of a header.
    let keyInQuery: Bool
    /// Share of requests made over HTTP/2.
    let http2Share: Double
    /// Share of requests answered with a 4xx in normal operation.
    let clientErrorRate: Double
    /// Share of requests answered with a 5xx in normal operation.
    let serverErrorRate: Double
    /// Salt for the key's id space.
    let salt: UInt64
    /// Where requests come from.
    var sources: [TrafficSource]
    /// First instant of use for keys created mid-period.
    var createdAt: EpochMillis?
    /// Extra volume reached linearly by the period's end (0.5 = +50 %).
    var growth: Double
    /// On which days the key is active.
    var activity: Activity
    /// When the key starts calling the newly released endpoints.
    var releaseAdoption: EpochMillis?
    /// Whether this is a browser front-end (sends CORS preflights and a referer).
    let isWeb: Bool
    /// Whether the key is served from two cloud regions from the start.
    let isMultiRegion: Bool

    /// Countries the key's sources use at any time.
    var countries: Set<String> {
        Set(sources.map(\.country))
    }

    /// ASNs the key's sources use at any time.
    var asns: Set<Int> {
        Set(sources.map(\.asn))
    }
}

/// Builds the deterministic key population for a configuration.
struct KeyFactory {
    private let config: SimulationConfig
    private var rng: SimRandom
    private var names: [String: Int] = [:]

    private static let cloudCountryWeights: [(String, Double)] = [
        ("US", 40), ("DE", 20), ("GB", 8), ("FR", 7), ("NL", 7), ("SG", 6), ("JP", 5), ("BR", 4), ("IN", 3),
    ]
    private static let mobileCountryWeights: [(String, Double)] = [
        ("DE", 25), ("US", 25), ("BR", 15), ("IN", 12), ("FR", 10), ("GB", 8), ("JP", 5),
    ]
    private static let partnerCountryWeights: [(String, Double)] = [
        ("US", 24), ("DE", 22), ("GB", 10), ("FR", 10), ("BR", 10), ("JP", 8), ("IN", 8), ("NL", 8),
    ]
    private static let kindShares: [(KeyKind, Double)] = [
        (.service, 0.22), (.batch, 0.07), (.mobile, 0.06), (.partner, 0.30), (.rare, 0.22), (.dormant, 0.13),
    ]
    private static let serviceNames = [
        "billing", "checkout", "fulfilment", "catalog-sync", "crm-bridge", "fraud-scoring", "pricing", "returns",
        "loyalty", "notifications", "erp-connector", "warehouse", "recommendations", "tax-engine", "ledger",
    ]

    /// Creates a factory for `config`.
    init(config: SimulationConfig) {
        self.config = config
        self.rng = SimRandom(seed: config.seed, streams: [Stream.profiles])
    }

    /// Builds all keys.
    /// - Returns: `config.keyCount` profiles in index order.
    mutating func makeKeys() -> [KeyProfile] {
        var kinds: [KeyKind] = []
        for (kind, share) in KeyFactory.kindShares where kind != .rare {
            kinds += Array(repeating: kind, count: max(1, Int((share * Double(config.keyCount)).rounded())))
        }
        kinds = Array(kinds.prefix(config.keyCount))
        kinds += Array(repeating: KeyKind.rare, count: config.keyCount - kinds.count)
        rng.shuffle(&kinds)
        var ordinals: [KeyKind: Int] = [:]
        var keys: [KeyProfile] = []
        for (index, kind) in kinds.enumerated() {
            let ordinal = ordinals[kind, default: 0]
            ordinals[kind] = ordinal + 1
            keys.append(makeKey(index: index, kind: kind, ordinal: ordinal))
        }
        assignNewKeys(&keys)
        return keys
    }

    private mutating func makeKey(index: Int, kind: KeyKind, ordinal: Int) -> KeyProfile {
        let (key, hint) = makeKeyString(kind: kind)
        // Two partners always sit behind nginx with user agents that need escaping.
        let forcedAgent: String? =
            kind == .partner && ordinal < 2 ? UserAgents.partner[ordinal == 0 ? 6 : 8] : nil
        let gateway: GatewayFamily = forcedAgent == nil && rng.chance(config.kongShare) ? .kong : .nginx
        var country: String
        var sources: [TrafficSource]
        var isMultiRegion = false
        var isWeb = false
        var zone: ZoneRule
        switch kind {
        case .service, .batch:
            country = weightedCountry(KeyFactory.cloudCountryWeights)
            let asn = rng.pick(cloudASNs(in: country))
            sources = [fixedSource(asn: asn, country: country, count: rng.int(in: 2...4), ipv6: rng.chance(0.3))]
            if kind == .service, rng.chance(0.15) {
                let others = AddressPlan.ranges.filter {
                    $0.asn == asn && $0.country != country && !$0.cidr.isIPv6
                }.map(\.country)
                if let second = others.isEmpty ? nil : rng.pick(others) {
                    sources[0].weight = 0.6
                    var extra = fixedSource(asn: asn, country: second, count: rng.int(in: 2...3), ipv6: false)
                    extra.weight = 0.4
                    sources.append(extra)
                    isMultiRegion = true
                }
            }
            zone = Geography.zones(for: country)[0]
        case .mobile:
            country = weightedCountry(KeyFactory.mobileCountryWeights)
            isWeb = rng.chance(0.3)
            var asns = rng.sample(
                AddressPlan.asns(kind: .mobile, country: country),
                count: rng.int(in: 1...3)
            )
            if isWeb {
                asns.append(rng.pick(AddressPlan.asns(kind: .isp, country: country)))
            }
            sources = asns.map { asn in
                TrafficSource(
                    asn: asn,
                    country: country,
                    ranges: AddressPlan.ranges(asn: asn, country: country),
                    addresses: [],
                    weight: rng.double(in: 0.5...1.5)
                )
            }
            zone = rng.pick(Geography.zones(for: country))
        case .partner, .rare, .dormant:
            country = weightedCountry(KeyFactory.partnerCountryWeights)
            let count = kind == .partner ? rng.int(in: 1...3) : rng.int(in: 1...2)
            if rng.chance(kind == .partner ? 0.3 : 0.25) {
                let asn = rng.pick(cloudASNs(in: country))
                sources = [fixedSource(asn: asn, country: country, count: count, ipv6: false)]
            } else {
                let asn = rng.pick(AddressPlan.asns(kind: .isp, country: country))
                sources = [officeSource(asn: asn, country: country, count: count)]
            }
            zone = rng.pick(Geography.zones(for: country))
        }
        let (endpoints, weights) = drawEndpoints(kind: kind)
        let (agents, agentWeights) = drawUserAgents(kind: kind, isWeb: isWeb, forced: forcedAgent)
        let consumer = consumerName(kind: kind, ordinal: ordinal)
        return KeyProfile(
            index: index,
            key: key,
            hint: hint,
            kind: kind,
            gateway: gateway,
            consumerName: consumer,
            consumerID: rng.uuid(),
            credentialID: rng.uuid(),
            country: country,
            zone: zone,
            dailyVolume: drawVolume(kind: kind),
            endpoints: endpoints,
            endpointWeights: weights,
            userAgents: agents,
            userAgentWeights: agentWeights,
            referer: isWeb ? "https://www.\(consumer.replacingOccurrences(of: "app-", with: "")).example/" : nil,
            keyInQuery: kind != .mobile && rng.chance(0.06),
            http2Share: isWeb ? 1 : kind == .mobile ? 0.7 : kind == .service ? 0.2 : 0,
            clientErrorRate: min(0.15, rng.logNormal(median: kind == .partner ? 0.035 : 0.02, sigma: 0.6)),
            serverErrorRate: rng.double(in: 0.001...0.004),
            salt: rng.next(),
            sources: sources,
            createdAt: nil,
            growth: (kind == .service || kind == .mobile) && rng.chance(0.12) ? 0.5 : 0,
            activity: kind == .dormant ? dormantActivity() : .always,
            releaseAdoption: nil,
            isWeb: isWeb,
            isMultiRegion: isMultiRegion
        )
    }

    /// Marks a few keys as created mid-period.
    private mutating func assignNewKeys(_ keys: inout [KeyProfile]) {
        let candidates = keys.indices.filter {
            [.service, .partner, .mobile, .rare].contains(keys[$0].kind) && keys[$0].growth == 0
                && !keys[$0].isMultiRegion
        }
        let count = max(3, Int((Double(config.keyCount) * 0.05).rounded()))
        for index in rng.sample(candidates, count: count).sorted() {
            let day = rng.int(in: 1...(config.days - 1))
            let localNine = EpochMillis(9 * 60 - keys[index].zone.standardOffset) * Span.minute
            let created =
                config.startMillis + EpochMillis(day) * Span.day + localNine
                + rng.int64(in: 0..<(6 * Span.hour))
            keys[index].createdAt = min(created, config.endMillis - Span.hour)
        }
    }

    private mutating func dormantActivity() -> Activity {
        let roll = rng.unit()
        if roll < 0.2 {
            return .days([])
        }
        if roll < 0.5 {
            return .days(Set(0..<rng.int(in: 1...4)))
        }
        // Sparse use: gaps of 5–8 days, below a 10-day dormancy threshold.
        var days: Set<Int> = []
        var day = rng.int(in: 0...4)
        while day <= config.days {
            days.insert(day)
            day += rng.int(in: 5...8)
        }
        return .days(days)
    }

    private mutating func drawVolume(kind: KeyKind) -> Double {
        switch kind {
        case .service: return min(3000, max(4, rng.logNormal(median: 11, sigma: 1.1)))
        case .batch: return min(1000, max(8, rng.logNormal(median: 16, sigma: 0.7)))
        case .mobile: return min(3000, max(20, rng.logNormal(median: 55, sigma: 0.9)))
        case .partner: return min(1000, max(2, rng.logNormal(median: 7, sigma: 1.0)))
        case .rare: return rng.double(in: 0.5...6)
        case .dormant: return rng.double(in: 4...25)
        }
    }

    private mutating func drawEndpoints(kind: KeyKind) -> ([Int], [Double]) {
        let range: ClosedRange<Int>
        switch kind {
        case .service: range = 4...12
        case .batch: range = 2...5
        case .mobile: range = 6...15
        case .partner: range = 3...10
        case .rare: range = 1...4
        case .dormant: range = 1...3
        }
        var candidates = APICatalogue.endpoints.indices.filter {
            !APICatalogue.endpoints[$0].audience.isDisjoint(with: kind.audience)
        }
        var chosen: [Int] = []
        let count = min(rng.int(in: range), candidates.count)
        while chosen.count < count {
            let pick = rng.weightedIndex(candidates.map { APICatalogue.endpoints[$0].popularity })
            chosen.append(candidates.remove(at: pick))
        }
        let weights = chosen.indices.map { rank in
            APICatalogue.endpoints[chosen[rank]].popularity / pow(Double(rank + 1), 0.8)
        }
        return (chosen, weights)
    }

    private mutating func drawUserAgents(kind: KeyKind, isWeb: Bool, forced: String?) -> ([String?], [Double]) {
        if let forced {
            return ([forced, rng.pick(UserAgents.adHoc)], [0.97, 0.03])
        }
        switch kind {
        case .service:
            if rng.chance(0.05) {
                return ([nil], [1])
            }
            if rng.chance(0.15) {
                return (rng.sample(UserAgents.service, count: 2), [0.7, 0.3])
            }
            return ([rng.pick(UserAgents.service)], [1])
        case .batch:
            return ([rng.pick(UserAgents.batch)], [1])
        case .mobile:
            let agents =
                isWeb ? UserAgents.browsers : UserAgents.mobileApp(name: rng.pick(UserAgents.apps), using: &rng)
            return (agents, agents.indices.map { pow(0.8, Double($0)) })
        case .partner:
            let main = rng.pick(
                UserAgents.partner.enumerated().filter { $0.offset != 6 && $0.offset != 8 }.map(\.element)
            )
            return rng.chance(0.2) ? ([main, rng.pick(UserAgents.adHoc)], [0.92, 0.08]) : ([main], [1])
        case .rare, .dormant:
            return rng.chance(0.3)
                ? ([rng.pick(UserAgents.adHoc), rng.pick(UserAgents.adHoc)], [0.6, 0.4])
                : ([rng.pick(UserAgents.adHoc + UserAgents.service)], [1])
        }
    }

    private mutating func makeKeyString(kind: KeyKind) -> (String, String) {
        let legacy = [.service, .batch, .partner, .dormant].contains(kind) && rng.chance(0.12)
        if legacy {
            let key = rng.hex(count: 32)
            return (key, String(key.prefix(4)) + "…" + String(key.suffix(2)))
        }
        let test = [.partner, .rare, .dormant].contains(kind) && rng.chance(0.1)
        let key = (test ? "sk_test_" : "ak_live_") + rng.base62(count: 24)
        return (key, String(key.prefix(10)) + "…" + String(key.suffix(2)))
    }

    private mutating func consumerName(kind: KeyKind, ordinal: Int) -> String {
        let base: String
        switch kind {
        case .service: base = "svc-" + KeyFactory.serviceNames[ordinal % KeyFactory.serviceNames.count]
        case .batch: base = "job-" + rng.pick(["export", "reconcile", "ledger-close", "feed", "sync"])
        case .mobile: base = "app-" + rng.pick(UserAgents.apps).lowercased()
        case .partner: base = "partner-\(ordinal + 1)"
        case .rare: base = "dev-\(ordinal + 1)"
        case .dormant: base = "legacy-\(ordinal + 1)"
        }
        let seen = names[base, default: 0]
        names[base] = seen + 1
        return seen == 0 ? base : "\(base)-\(seen + 1)"
    }

    private mutating func weightedCountry(_ table: [(String, Double)]) -> String {
        table[rng.weightedIndex(table.map(\.1))].0
    }

    private func cloudASNs(in country: String) -> [Int] {
        let asns = AddressPlan.asns(kind: .cloud, country: country)
        return asns.isEmpty ? AddressPlan.asns(kind: .cloud, country: "US") : asns
    }

    private mutating func fixedSource(asn: Int, country: String, count: Int, ipv6: Bool) -> TrafficSource {
        let ranges = AddressPlan.ranges(asn: asn, country: country)
        let v4 = ranges.filter { !AddressPlan.ranges[$0].cidr.isIPv6 }
        var addresses = (0..<count).map { _ in AddressPlan.ranges[v4[0]].cidr.randomAddress(using: &rng) }
        if ipv6, let v6 = ranges.first(where: { AddressPlan.ranges[$0].cidr.isIPv6 }) {
            addresses.append(AddressPlan.ranges[v6].cidr.randomAddress(using: &rng))
        }
        return TrafficSource(asn: asn, country: country, ranges: ranges, addresses: addresses, weight: 1)
    }

    /// A partner office: consecutive addresses in a small block of a business ISP range.
    private mutating func officeSource(asn: Int, country: String, count: Int) -> TrafficSource {
        let ranges = AddressPlan.ranges(asn: asn, country: country)
        guard case .v4(let base) = AddressPlan.ranges[ranges[0]].cidr.randomAddress(using: &rng) else {
            preconditionFailure("ISP ranges are IPv4")
        }
        let block = (base & ~UInt32(0xF)) | 2
        let addresses = (0..<count).map { ClientAddress.v4(block + UInt32($0)) }
        return TrafficSource(asn: asn, country: country, ranges: ranges, addresses: addresses, weight: 1)
    }
}
