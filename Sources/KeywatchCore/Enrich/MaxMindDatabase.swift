import CMaxMindDB

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// One MaxMind DB (`.mmdb`) file, read through the system libmaxminddb.
///
/// The file's `database_type` metadata decides which fields are read:
///
/// | database_type | country from | ASN and organisation from |
/// |---|---|---|
/// | `GeoIP2-City`, `GeoLite2-Country`, `DBIP-City-Lite`, … | `country.iso_code` | — |
/// | `GeoLite2-ASN`, `GeoIP2-ISP`, `DBIP-ASN-Lite …` | — | `autonomous_system_number`, `autonomous_system_organization` |
/// | `GeoIP2-Enterprise`, `DBIP-Location-ISP …` | `country.iso_code` | the same, or under `traits` |
/// | `ipinfo …` | `country_code`, else `country` when it is a code | `asn` (`"AS15169"`), `as_name` or `name` |
/// | anything else | all of the above that are present | all of the above that are present |
///
/// Only the located country is used, never `registered_country`: a record with no `country`
/// (such as an anycast range) gives no country.
///
/// ```swift
/// let asn = try MaxMindDatabase(path: "/var/lib/GeoIP/GeoLite2-ASN.mmdb")
/// asn.databaseType                                   // "GeoLite2-ASN"
/// asn.fields                                         // [.asn]
/// asn.lookup(IPAddress(parsing: "89.160.20.112")!)   // ?? AS29518 (Bredband2 AB) 89.160.0.0/17
/// ```
///
/// The file is memory-mapped once and shared by copies of the value; it is closed when the last
/// copy goes away. Lookups are thread-safe (libmaxminddb only reads the mapping).
public struct MaxMindDatabase: GeoSource {
    /// The kinds of facts a database provides.
    public struct Fields: OptionSet, Sendable, Hashable {
        /// The bit set.
        public let rawValue: UInt8
        /// Creates a set from its bits.
        /// - Parameter rawValue: The bits.
        public init(rawValue: UInt8) { self.rawValue = rawValue }
        /// The located country.
        public static let country = Fields(rawValue: 1)
        /// The autonomous system number and organisation.
        public static let asn = Fields(rawValue: 2)
    }

    /// The path the database was opened from.
    public var path: String { handle.path }
    /// The `database_type` from the file's metadata, such as `GeoLite2-City`.
    public var databaseType: String { handle.databaseType }
    /// What this database provides, decided from ``databaseType``.
    public var fields: Fields { handle.fields }
    /// When the database was built, in seconds since 1970 (the metadata's `build_epoch`).
    public var buildEpoch: UInt64 { handle.buildEpoch }

    /// Everything lives in the handle, so copying the value (as arrays of databases do) is one retain.
    private let handle: MaxMindHandle

    /// Opens a MaxMind DB file.
    /// - Parameter path: The `.mmdb` file.
    /// - Throws: ``GeoError/cannotOpen(file:reason:)`` when the file cannot be read,
    ///   ``GeoError/invalidDatabase(file:code:message:)`` when it is not a MaxMind DB, and
    ///   ``GeoError/unsupportedDatabase(file:databaseType:)`` when its type provides neither a
    ///   country nor an ASN.
    public init(path: String) throws(GeoError) {
        handle = try MaxMindHandle(path: path)
    }

    /// Looks up `address`; see ``GeoSource/lookup(_:)``.
    ///
    /// The answer's network is the database record's network. A record that holds none of the
    /// fields this database provides (such as an anycast range with only `traits`) counts as unknown.
    /// - Parameter address: The address.
    /// - Returns: The record's country and/or ASN with its network, or ``GeoInfo/unknown``.
    public func lookup(_ address: IPAddress) -> GeoInfo {
        let handle = handle
        guard var found = handle.find(address) else { return .unknown }
        let fields = handle.fields
        let layout = handle.layout
        var info = GeoInfo()
        if fields.contains(.country) {
            for path in layout.country {
                if let code = MaxMindDatabase.country(&found.entry, path) {
                    info.country = code
                    break
                }
            }
        }
        if fields.contains(.asn) {
            for path in layout.asn {
                if let asn = MaxMindDatabase.asn(&found.entry, path) {
                    info.asn = asn
                    break
                }
            }
            for path in layout.organization {
                if let text = MaxMindDatabase.string(&found.entry, path), text.count > 0 {
                    info.organization = String(decoding: text, as: UTF8.self)
                    break
                }
            }
        }
        guard info.isKnown else { return .unknown }
        info.network = CIDR(containing: address, prefixLength: found.prefixLength)
        info.origin = .database
        return info
    }
}

// MARK: - Database types

extension MaxMindDatabase {
    /// The map paths that hold each field, in the order they are tried.
    struct Layout: Sendable {
        var country: [FieldPath]
        var asn: [FieldPath]
        var organization: [FieldPath]

        static let maxMind = Layout(
            country: [FieldPath.countryISOCode],
            asn: [FieldPath.asNumber, FieldPath.traitsASNumber],
            organization: [FieldPath.asOrganization, FieldPath.traitsASOrganization]
        )
        static let ipinfo = Layout(
            country: [FieldPath.countryCode, FieldPath.country],
            asn: [FieldPath.asn],
            organization: [FieldPath.asName, FieldPath.name]
        )
        static let generic = Layout(
            country: [FieldPath.countryISOCode, FieldPath.countryCode, FieldPath.country],
            asn: [FieldPath.asNumber, FieldPath.asn],
            organization: [FieldPath.asOrganization, FieldPath.asName]
        )
    }

    /// Decides what a database provides, and where, from its `database_type`.
    /// - Parameter databaseType: The metadata's `database_type`, such as `GeoLite2-ASN` or
    ///   `DBIP-ASN-Lite (compat=GeoLite2-ASN)`.
    /// - Returns: The fields it provides (empty for types such as `GeoIP2-Anonymous-IP`) and where they are.
    static func classify(databaseType: String) -> (fields: Fields, layout: Layout) {
        let type = databaseType.lowercased()
        func has(_ words: String...) -> Bool { words.contains { type.contains($0) } }
        if type.hasPrefix("ipinfo") {
            // IPinfo names its files: country.mmdb, asn.mmdb, country_asn.mmdb, ipinfo_lite.mmdb, ...
            let country = has("country", "location", "geo")
            let asn = has("asn")
            if country && !asn { return (.country, .ipinfo) }
            if asn && !country { return (.asn, .ipinfo) }
            return ([.country, .asn], .ipinfo)
        }
        if type.hasPrefix("geoip") || type.hasPrefix("geolite") || type.hasPrefix("dbip") {
            var fields: Fields = []
            if has("country", "city", "enterprise", "location") { fields.insert(.country) }
            if has("asn", "isp", "enterprise") { fields.insert(.asn) }
            return (fields, .maxMind)
        }
        return ([.country, .asn], .generic)
    }
}

// MARK: - Reading values

extension MaxMindDatabase {
    /// Reads a UTF-8 string at `path`; the bytes live in the mapped file.
    private static func string(_ entry: inout MMDB_entry_s, _ path: FieldPath) -> UnsafeRawBufferPointer? {
        var data = MMDB_entry_data_s()
        guard MMDB_aget_value(&entry, &data, path.keys) == MMDB_SUCCESS, data.has_data,
            data.type == UInt32(MMDB_DATA_TYPE_UTF8_STRING)
        else { return nil }
        return UnsafeRawBufferPointer(start: data.utf8_string, count: Int(data.data_size))
    }

    private static func country(_ entry: inout MMDB_entry_s, _ path: FieldPath) -> CountryCode? {
        guard let text = string(&entry, path), text.count == 2 else { return nil }
        return CountryCode(text[0], text[1])
    }

    /// Reads an AS number stored as an integer or as text such as `AS15169`.
    private static func asn(_ entry: inout MMDB_entry_s, _ path: FieldPath) -> UInt32? {
        var data = MMDB_entry_data_s()
        guard MMDB_aget_value(&entry, &data, path.keys) == MMDB_SUCCESS, data.has_data else { return nil }
        switch data.type {
        case UInt32(MMDB_DATA_TYPE_UINT32): return data.uint32
        case UInt32(MMDB_DATA_TYPE_UINT16): return UInt32(data.uint16)
        case UInt32(MMDB_DATA_TYPE_UINT64): return UInt32(exactly: data.uint64)
        case UInt32(MMDB_DATA_TYPE_INT32): return UInt32(exactly: data.int32)
        case UInt32(MMDB_DATA_TYPE_UTF8_STRING):
            let text = UnsafeRawBufferPointer(start: data.utf8_string, count: Int(data.data_size))
            return parseASN(text)
        default: return nil
        }
    }
}

/// Parses `AS64512`, `as64512` or `64512` (no spaces) as an AS number.
func parseASN(_ text: UnsafeRawBufferPointer) -> UInt32? {
    var i = 0
    if text.count >= 2 && text[0] | 0x20 == UInt8(ascii: "a") && text[1] | 0x20 == UInt8(ascii: "s") { i = 2 }
    guard i < text.count else { return nil }
    var value: UInt64 = 0
    while i < text.count {
        let digit = text[i] &- 0x30
        guard digit <= 9 else { return nil }
        value = value * 10 + UInt64(digit)
        guard value <= UInt64(UInt32.max) else { return nil }
        i += 1
    }
    return UInt32(value)
}

// MARK: - C plumbing (no C type leaves this file)

/// A NULL-terminated array of map keys for `MMDB_aget_value`.
///
/// `@unchecked Sendable`: the array and its strings are written once in `init` and only read
/// afterwards. The instances are static constants, so the memory is never freed.
final class FieldPath: @unchecked Sendable {
    let keys: UnsafeMutablePointer<UnsafePointer<CChar>?>

    init(_ names: String...) {
        keys = .allocate(capacity: names.count + 1)
        for (i, name) in names.enumerated() { keys[i] = UnsafePointer(strdup(name)) }
        keys[names.count] = nil
    }

    static let countryISOCode = FieldPath("country", "iso_code")
    static let countryCode = FieldPath("country_code")
    static let country = FieldPath("country")
    static let asNumber = FieldPath("autonomous_system_number")
    static let traitsASNumber = FieldPath("traits", "autonomous_system_number")
    static let asOrganization = FieldPath("autonomous_system_organization")
    static let traitsASOrganization = FieldPath("traits", "autonomous_system_organization")
    static let asn = FieldPath("asn")
    static let asName = FieldPath("as_name")
    static let name = FieldPath("name")
}

/// Owns one opened `MMDB_s` on the heap and closes it in `deinit`, like nio-extras' `Decompressor`
/// owns its `z_stream`.
///
/// `@unchecked Sendable`: `MMDB_open` fills the struct in `init`; afterwards it is only read.
/// libmaxminddb documents lookups as thread-safe, and they only read the memory-mapped file.
final class MaxMindHandle: @unchecked Sendable {
    let mmdb: UnsafeMutablePointer<MMDB_s>
    /// Whether the search tree is IPv6 (IPv4 then sits under `::a.b.c.d`, so its netmasks are 96 + n).
    let isIPv6Tree: Bool
    let path: String
    let databaseType: String
    let fields: MaxMindDatabase.Fields
    let layout: MaxMindDatabase.Layout
    let buildEpoch: UInt64

    init(path: String) throws(GeoError) {
        self.path = path
        mmdb = .allocate(capacity: 1)
        mmdb.initialize(to: MMDB_s())
        let status = MMDB_open(path, UInt32(MMDB_MODE_MMAP), mmdb)
        if status != MMDB_SUCCESS {
            // Not fully initialised: deinit will not run, so free here (MMDB_open cleaned up its part).
            let code = errno
            mmdb.deallocate()
            let message = String(cString: MMDB_strerror(status))
            if status == MMDB_FILE_OPEN_ERROR || status == MMDB_IO_ERROR {
                throw .cannotOpen(file: path, reason: code != 0 ? String(cString: strerror(code)) : message)
            }
            throw .invalidDatabase(file: path, code: status, message: message)
        }
        let metadata = mmdb.pointee.metadata
        isIPv6Tree = metadata.ip_version == 6
        buildEpoch = metadata.build_epoch
        databaseType = metadata.database_type.map { String(cString: $0) } ?? ""
        (fields, layout) = MaxMindDatabase.classify(databaseType: databaseType)
        // Every stored property is set, so throwing now runs deinit, which closes the database.
        if fields.isEmpty { throw .unsupportedDatabase(file: path, databaseType: databaseType) }
    }

    deinit {
        MMDB_close(mmdb)
        mmdb.deallocate()
    }

    /// The record for `address` and its prefix length in the address's own family, or `nil` when
    /// the database has no record (or is IPv4-only and the address is IPv6).
    func find(_ address: IPAddress) -> (entry: MMDB_entry_s, prefixLength: Int)? {
        var status: Int32 = 0
        let result: MMDB_lookup_result_s
        if address.isIPv4 {
            var sa = sockaddr_in()
            sa.sin_family = sa_family_t(AF_INET)
            sa.sin_addr.s_addr = in_addr_t(address.ipv4.bigEndian)
            result = withUnsafePointer(to: &sa) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { MMDB_lookup_sockaddr(mmdb, $0, &status) }
            }
        } else {
            var sa = sockaddr_in6()
            sa.sin6_family = sa_family_t(AF_INET6)
            withUnsafeMutableBytes(of: &sa.sin6_addr) {
                $0.storeBytes(of: address.high.bigEndian, toByteOffset: 0, as: UInt64.self)
                $0.storeBytes(of: address.low.bigEndian, toByteOffset: 8, as: UInt64.self)
            }
            result = withUnsafePointer(to: &sa) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { MMDB_lookup_sockaddr(mmdb, $0, &status) }
            }
        }
        guard status == MMDB_SUCCESS, result.found_entry else { return nil }
        var prefix = Int(result.netmask)
        if address.isIPv4 && isIPv6Tree { prefix = max(0, prefix - 96) }
        return (result.entry, prefix)
    }
}
