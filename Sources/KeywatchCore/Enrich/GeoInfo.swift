/// A two-letter ISO 3166-1 alpha-2 country code such as `US`, held in two bytes.
///
/// Baselines keep sets of countries per key, so the code is a small value rather than a `String`:
/// comparing, hashing and storing it never allocates.
///
/// ```swift
/// let code = CountryCode("gb")   // GB
/// code?.description              // "GB"
/// let literal: CountryCode = "SE"
/// ```
public struct CountryCode: RawRepresentable, Sendable, Hashable, Comparable, CustomStringConvertible,
    ExpressibleByStringLiteral
{
    /// The two upper-case ASCII letters, first letter in the high byte (`US` is `0x5553`).
    public let rawValue: UInt16

    /// Creates a code from its ``rawValue``.
    /// - Parameter rawValue: Two upper-case ASCII letters, first letter in the high byte.
    /// - Returns: `nil` when either byte is not an upper-case ASCII letter.
    public init?(rawValue: UInt16) {
        guard CountryCode.isUpper(UInt8(truncatingIfNeeded: rawValue >> 8)),
            CountryCode.isUpper(UInt8(truncatingIfNeeded: rawValue))
        else { return nil }
        self.rawValue = rawValue
    }

    /// A code from a raw value already known to be valid.
    init(uncheckedRawValue: UInt16) { rawValue = uncheckedRawValue }

    /// Creates a code from two ASCII letters in either case.
    /// - Parameters:
    ///   - first: The first letter.
    ///   - second: The second letter.
    /// - Returns: `nil` unless both bytes are ASCII letters.
    @inlinable
    public init?(_ first: UInt8, _ second: UInt8) {
        let a = first & 0xDF  // ASCII upper case
        let b = second & 0xDF
        guard a &- 0x41 < 26, b &- 0x41 < 26 else { return nil }
        rawValue = UInt16(a) << 8 | UInt16(b)
    }

    /// Parses a code such as `US` or `gb` (surrounding spaces are not allowed).
    /// - Parameter text: Exactly two ASCII letters, in either case.
    /// - Returns: `nil` for anything else, including full country names.
    public init?(_ text: some StringProtocol) {
        var iterator = text.utf8.makeIterator()
        guard let first = iterator.next(), let second = iterator.next(), iterator.next() == nil else { return nil }
        self.init(first, second)
    }

    /// Creates a code from a literal such as `"US"`; the literal must be two ASCII letters.
    ///
    /// `CountryCode("US")` with a literal argument calls this initialiser, not the failable
    /// `init?(_:)`; pass a `String` value to parse text.
    /// - Parameter value: The literal.
    public init(stringLiteral value: String) {
        guard let code = CountryCode(value) else { preconditionFailure("not a country code: \(value)") }
        self = code
    }

    /// The two upper-case letters.
    public var description: String {
        String(
            decoding: [UInt8(truncatingIfNeeded: rawValue >> 8), UInt8(truncatingIfNeeded: rawValue)],
            as: UTF8.self
        )
    }

    /// Orders codes alphabetically.
    public static func < (a: CountryCode, b: CountryCode) -> Bool { a.rawValue < b.rawValue }

    private static func isUpper(_ byte: UInt8) -> Bool { byte &- 0x41 < 26 }
}

/// What is known about where an IP address is: country, autonomous system and network.
///
/// ``GeoSource`` backends return one per lookup, and ``GeoResolver`` merges them. Every field is
/// optional because every data source has gaps: the MaxMind test data has records with no country
/// (`214.1.1.1`), and most addresses have no ASN entry in a country database.
///
/// ```swift
/// var geo = try GeoResolver(databases: ["GeoLite2-City.mmdb", "GeoLite2-ASN.mmdb"], networksFile: nil)
/// let info = geo.lookup(IPAddress(parsing: "89.160.20.112")!)
/// info.country        // SE
/// info.asn            // 29518
/// info.organization   // "Bredband2 AB"
/// info.network        // 89.160.0.0/17, the ASN record's network
/// ```
public struct GeoInfo: Sendable, Hashable, CustomStringConvertible {
    /// Where a ``GeoInfo`` came from.
    public enum Origin: UInt8, Sendable, Hashable {
        /// No source knew the address. From ``GeoResolver`` the ``GeoInfo/network`` is then the
        /// fallback /24 (IPv4) or /48 (IPv6).
        case unknown
        /// A MaxMind DB file answered.
        case database
        /// A line of a `--networks` file matched; its fields override the databases.
        case networksFile
    }

    // Stored as plain, aligned fields (40 bytes) rather than optionals: the resolver's cache copies
    // a value on every hit, and optionals' packed tag bytes made those copies several times slower.
    private var networkAddress: IPAddress
    private var storedOrganization: String?
    private var asnValue: UInt32
    private var countryValue: UInt16  // CountryCode.rawValue; 0 = none (never a valid code)
    private var prefixValue: UInt8  // 0xFF = no network
    private var flags: UInt8  // origin in bits 0–1, bit 2: has an ASN

    /// The country the address is located in (not the registered country), when known.
    public var country: CountryCode? {
        get { countryValue == 0 ? nil : CountryCode(uncheckedRawValue: countryValue) }
        set { countryValue = newValue?.rawValue ?? 0 }
    }

    /// The autonomous system number, when known.
    public var asn: UInt32? {
        get { flags & 4 != 0 ? asnValue : nil }
        set {
            asnValue = newValue ?? 0
            flags = newValue == nil ? flags & ~4 : flags | 4
        }
    }

    /// The autonomous system's organisation (or the label a networks file gives), when known.
    public var organization: String? {
        get { storedOrganization }
        set { storedOrganization = newValue }
    }

    /// The network the answer came from: the networks-file line, the database record, or, from
    /// ``GeoResolver`` when nothing is known, the address's /24 (IPv4) or /48 (IPv6).
    /// Backends leave it `nil` when they know nothing.
    public var network: CIDR? {
        get {
            prefixValue == 0xFF ? nil : CIDR(containing: networkAddress, prefixLength: Int(prefixValue))
        }
        set {
            networkAddress = newValue?.network ?? IPAddress(high: 0, low: 0)
            prefixValue = newValue.map { UInt8($0.prefixLength) } ?? 0xFF
        }
    }

    /// Which kind of source answered.
    public var origin: Origin {
        get { Origin(rawValue: flags & 3) ?? .unknown }
        set { flags = flags & ~3 | newValue.rawValue }
    }

    /// Creates a value from its parts.
    /// - Parameters:
    ///   - country: The country, if known.
    ///   - asn: The autonomous system number, if known.
    ///   - organization: The autonomous system's organisation or a label, if known.
    ///   - network: The network the answer applies to.
    ///   - origin: Which kind of source answered.
    public init(
        country: CountryCode? = nil,
        asn: UInt32? = nil,
        organization: String? = nil,
        network: CIDR? = nil,
        origin: Origin = .unknown
    ) {
        networkAddress = network?.network ?? IPAddress(high: 0, low: 0)
        storedOrganization = organization
        asnValue = asn ?? 0
        countryValue = country?.rawValue ?? 0
        prefixValue = network.map { UInt8($0.prefixLength) } ?? 0xFF
        flags = origin.rawValue | (asn == nil ? 0 : 4)
    }

    /// Nothing known: every field `nil`, origin ``Origin/unknown``.
    public static let unknown = GeoInfo()

    /// Whether a source knew anything about the address (country, ASN or organisation).
    public var isKnown: Bool { country != nil || asn != nil || organization != nil }

    /// A short human form such as `SE AS29518 (Bredband2 AB) 89.160.20.112/29`, or `?? 1.1.1.0/24`.
    public var description: String {
        var text = country?.description ?? "??"
        if let asn { text += " AS\(asn)" }
        if let organization { text += " (\(organization))" }
        if let network { text += " \(network)" }
        return text
    }
}

extension CIDR {
    /// The network of `prefixLength` bits that contains `address`, such as `81.2.69.142/31` for
    /// `81.2.69.142` and 31.
    /// - Parameters:
    ///   - address: Any address inside the network.
    ///   - prefixLength: The prefix length in the address's own family, clamped to 0–32 for IPv4
    ///     and 0–128 for IPv6.
    public init(containing address: IPAddress, prefixLength: Int) {
        let length = max(0, min(address.isIPv4 ? 32 : 128, prefixLength))
        self.network = address.masked(to: length)
        self.prefixLength = length
    }
}
