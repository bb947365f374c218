import Foundation

/// Answers "where is this address?" for every request, from a networks file and MaxMind DBs, with
/// a bounded cache in front.
///
/// Sources are consulted in priority order: the ``NetworksFile`` first, then each
/// ``MaxMindDatabase`` in the order given. Each field comes from the first source that knows it:
///
/// - `country` from the first source with a country;
/// - `asn` and `organization` together, from the first source with either;
/// - `network` from the networks-file line if one matched, else the record that gave the ASN, else
///   the record that gave the country, else the address's /24 (IPv4) or /48 (IPv6);
/// - `origin` is ``GeoInfo/Origin/networksFile`` when a line matched, ``GeoInfo/Origin/database``
///   when only databases answered, ``GeoInfo/Origin/unknown`` when nothing did.
///
/// So the answer always has a ``GeoInfo/network``; with no data at all every address is unknown
/// and its network is the /24 or /48.
///
/// ```swift
/// var geo = try GeoResolver(databases: GeoResolver.defaultDatabasePaths(), networksFile: "networks.csv")
/// let info = geo.lookup(event.clientIP)   // cached: repeated addresses cost one probe and no allocation
/// ```
///
/// The resolver is a value with one owner: `lookup` is `mutating` because it fills the cache.
/// Copies share the opened databases but not the cache.
public struct GeoResolver: Sendable {
    /// The directories searched by ``defaultDatabasePaths(in:)``, preferred first: `/var/lib/GeoIP`
    /// is where `geoipupdate` keeps current files; `/usr/share/GeoIP` is where distributions install them.
    public static let defaultDirectories = ["/var/lib/GeoIP", "/usr/share/GeoIP"]

    /// The default number of cached addresses.
    public static let defaultCacheCapacity = 1 << 16

    /// The networks file, if any.
    public let networks: NetworksFile?
    /// The databases, in priority order.
    public let databases: [MaxMindDatabase]
    /// Lookups answered from the cache.
    public private(set) var cacheHits = 0
    /// Lookups that went to the sources.
    public private(set) var cacheMisses = 0

    private var cache: GeoCache
    private var interned = StringInterner(limit: 1 << 17)

    /// Opens a networks file and MaxMind DBs.
    /// - Parameters:
    ///   - databases: `.mmdb` paths in priority order (City or Country, ASN, …). Pass
    ///     ``defaultDatabasePaths(in:)`` to use the installed ones.
    ///   - networksFile: A `cidr,country,asn,org` CSV file whose lines override the databases.
    ///   - cacheCapacity: How many addresses to cache (rounded up to a power of two).
    /// - Throws: The first ``GeoError`` from opening a file.
    public init(
        databases: [String],
        networksFile: String?,
        cacheCapacity: Int = defaultCacheCapacity
    )
        throws(GeoError)
    {
        let networks = try networksFile.map { path throws(GeoError) in try NetworksFile(path: path) }
        var opened: [MaxMindDatabase] = []
        for path in databases { opened.append(try MaxMindDatabase(path: path)) }
        self.init(networks: networks, databases: opened, cacheCapacity: cacheCapacity)
    }

    /// Composes already opened sources.
    /// - Parameters:
    ///   - networks: The networks file, consulted first.
    ///   - databases: The databases, in priority order.
    ///   - cacheCapacity: How many addresses to cache (rounded up to a power of two).
    public init(networks: NetworksFile?, databases: [MaxMindDatabase], cacheCapacity: Int = defaultCacheCapacity) {
        self.networks = networks
        self.databases = databases
        cache = GeoCache(capacity: 0, unspecified: .unknown)
        if hasData { cache = GeoCache(capacity: cacheCapacity, unspecified: resolve(IPAddress(high: 0, low: 0))) }
    }

    /// Whether any source is configured; without one every answer is the /24 or /48 fallback.
    public var hasData: Bool { networks != nil || !databases.isEmpty }

    /// What is known about `address`, from the cache when it was looked up recently.
    ///
    /// A cache hit does not allocate. See the type's documentation for how sources are merged.
    /// - Parameter address: The client address.
    /// - Returns: The merged answer; its ``GeoInfo/network`` is always set.
    public mutating func lookup(_ address: IPAddress) -> GeoInfo {
        if !hasData { return GeoResolver.fallback(address) }
        if let info = cache.value(for: address) {
            cacheHits &+= 1
            return info
        }
        cacheMisses &+= 1
        var info = resolve(address)
        if let organization = info.organization { info.organization = interned.intern(organization) }
        cache.store(info, for: address)
        return info
    }

    /// Merges the sources' answers for `address`, without the cache.
    /// - Parameter address: The client address.
    /// - Returns: The merged answer; its ``GeoInfo/network`` is always set.
    public func resolve(_ address: IPAddress) -> GeoInfo {
        var merger = GeoMerger()
        if let networks { merger.add(networks.lookup(address)) }
        databases.withUnsafeBufferPointer { databases in
            var index = 0
            while index < databases.count && !merger.isComplete {
                merger.add(databases[index].lookup(address))
                index += 1
            }
        }
        return merger.result(fallback: address)
    }

    /// The answer when nothing is known: origin unknown, network the /24 (IPv4) or /48 (IPv6).
    /// - Parameter address: The address.
    /// - Returns: A ``GeoInfo`` with only ``GeoInfo/network`` set.
    public static func fallback(_ address: IPAddress) -> GeoInfo {
        GeoInfo(network: fallbackNetwork(address))
    }

    /// The network that stands for an address no source knows: its /24 (IPv4) or /48 (IPv6).
    @inline(__always)
    public static func fallbackNetwork(_ address: IPAddress) -> CIDR {
        CIDR(containing: address, prefixLength: address.isIPv4 ? 24 : 48)
    }

    /// Finds installed MaxMind DBs: `GeoIP2-*`, `GeoLite2-*` and `dbip-*` City, Country, ASN, ISP and
    /// Enterprise files.
    ///
    /// The result is in priority order: commercial GeoIP2 first, then GeoLite2, then DB-IP; within a
    /// vendor Enterprise, City (same countries as Country, finer networks), Country, then ASN/ISP.
    /// A file name found in several directories is taken from the first.
    /// - Parameter directories: Where to look, preferred first.
    /// - Returns: Full paths; empty when none is installed.
    public static func defaultDatabasePaths(in directories: [String] = defaultDirectories) -> [String] {
        var seen: Set<String> = []
        var found: [(rank: Int, path: String)] = []
        for directory in directories {
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { continue }
            for name in names.sorted() where !seen.contains(name) {
                guard let rank = rank(ofDatabaseNamed: name) else { continue }
                seen.insert(name)
                found.append((rank, directory + "/" + name))
            }
        }
        return found.sorted { $0.rank < $1.rank || ($0.rank == $1.rank && $0.path < $1.path) }.map(\.path)
    }

    /// The priority of a default database file name, lower first; `nil` for files that are not used.
    static func rank(ofDatabaseNamed name: String) -> Int? {
        let lower = name.lowercased()
        guard lower.hasSuffix(".mmdb") else { return nil }
        let vendor: Int
        if lower.hasPrefix("geoip2-") {
            vendor = 0
        } else if lower.hasPrefix("geolite2-") {
            vendor = 1
        } else if lower.hasPrefix("dbip-") {
            vendor = 2
        } else {
            return nil
        }
        let kind: Int
        if lower.contains("enterprise") {
            kind = 0
        } else if lower.contains("city") {
            kind = 1
        } else if lower.contains("country") {
            kind = 2
        } else if lower.contains("asn") || lower.contains("isp") {
            kind = 3
        } else {
            return nil  // Anonymous-IP, Connection-Type, Domain, …: no country, no ASN.
        }
        return vendor * 10 + kind
    }
}

/// Merges answers from sources in priority order, by the rules in ``GeoResolver``'s documentation.
struct GeoMerger {
    private var merged = GeoInfo()
    private var labelNetwork: CIDR?
    private var asnNetwork: CIDR?
    private var countryNetwork: CIDR?

    /// Whether every field is filled, so lower-priority sources cannot change the answer.
    var isComplete: Bool { merged.country != nil && (merged.asn != nil || merged.organization != nil) }

    mutating func add(_ answer: GeoInfo) {
        if answer.origin == .networksFile {
            if labelNetwork == nil { labelNetwork = answer.network }
            merged.origin = .networksFile
        } else if !answer.isKnown {
            return
        } else if merged.origin == .unknown {
            merged.origin = answer.origin
        }
        if merged.country == nil, let country = answer.country {
            merged.country = country
            countryNetwork = answer.network
        }
        if merged.asn == nil && merged.organization == nil && (answer.asn != nil || answer.organization != nil) {
            merged.asn = answer.asn
            merged.organization = answer.organization
            asnNetwork = answer.network
        }
    }

    func result(fallback address: IPAddress) -> GeoInfo {
        var info = merged
        info.network = labelNetwork ?? asnNetwork ?? countryNetwork ?? GeoResolver.fallbackNetwork(address)
        return info
    }
}

/// A direct-mapped cache from address to answer, bounded at a power-of-two number of slots.
///
/// A probe hashes the address to one slot and compares the key: no allocation, no chaining. A new
/// address evicts whatever shared its slot. Keys and answers are kept apart so a miss reads only
/// the 16-byte key.
///
/// There is no "empty" flag: every slot starts as the pair (`::`, the answer for `::`), which is
/// a correct entry wherever it sits, because a probe for `::` only ever reads `::`'s own slot.
struct GeoCache: Sendable {
    private var keys: [IPAddress]
    private var values: [GeoInfo]
    private let shift: UInt64

    /// - Parameters:
    ///   - capacity: The number of slots, rounded up to a power of two; 0 disables the cache.
    ///   - unspecified: The correct answer for `::`, stored in every slot to start with.
    init(capacity: Int, unspecified: GeoInfo) {
        var bits = 0
        while (1 << bits) < capacity { bits += 1 }
        let count = capacity <= 0 ? 0 : 1 << bits
        keys = Array(repeating: IPAddress(high: 0, low: 0), count: count)
        values = Array(repeating: unspecified, count: count)
        shift = UInt64(64 - bits)
    }

    var capacity: Int { keys.count }

    @inline(__always)
    private func index(_ address: IPAddress) -> Int {
        // Multiply-shift hashing over both halves; the high bits of the product are well mixed.
        let x = (address.low ^ (address.high &* 0x9E37_79B9_7F4A_7C15)) &* 0xBF58_476D_1CE4_E5B9
        return shift >= 64 ? 0 : Int(truncatingIfNeeded: x >> shift)
    }

    func value(for address: IPAddress) -> GeoInfo? {
        if keys.isEmpty { return nil }
        let slot = index(address)
        let hit = keys.withUnsafeBufferPointer { $0[slot] == address }
        return hit ? values.withUnsafeBufferPointer { $0[slot] } : nil
    }

    mutating func store(_ value: GeoInfo, for address: IPAddress) {
        if keys.isEmpty { return }
        let slot = index(address)
        keys[slot] = address
        values[slot] = value
    }
}

/// Keeps one copy of each organisation name, so cached answers (and baselines that keep them)
/// share storage. Stops adding after `limit` distinct names.
struct StringInterner: Sendable {
    private var strings: Set<String> = []
    let limit: Int

    init(limit: Int) { self.limit = limit }

    mutating func intern(_ string: String) -> String {
        if let index = strings.firstIndex(of: string) { return strings[index] }
        if strings.count < limit { strings.insert(string) }
        return string
    }
}
