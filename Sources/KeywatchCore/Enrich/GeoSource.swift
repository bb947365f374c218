/// A source of geographic and network facts about IP addresses: a MaxMind DB file
/// (``MaxMindDatabase``), a `--networks` CSV (``NetworksFile``), or a test double.
///
/// ``GeoResolver`` composes sources in priority order and caches their answers.
///
/// Contract (checked for every backend by `GeoSourceContractTests`):
/// - `lookup` never fails. An address the source knows nothing about gives ``GeoInfo/unknown``:
///   every field `nil` and origin ``GeoInfo/Origin/unknown``.
/// - When it knows something, the answer's ``GeoInfo/network`` is set, contains the address, and is
///   in the address's own family (an IPv4 address gets an IPv4 network).
/// - It is a pure function of the address: the same address gives the same answer for the life of
///   the value, so callers may cache answers.
/// - It is safe to call from any thread (`Sendable`), and does no file I/O after initialisation.
public protocol GeoSource: Sendable {
    /// Looks up what this source knows about `address`.
    /// - Parameter address: The address; IPv4 is held IPv4-mapped (see ``IPAddress``).
    /// - Returns: The source's answer, or ``GeoInfo/unknown``.
    func lookup(_ address: IPAddress) -> GeoInfo
}

/// Problems opening geo data. They stop only the command that asked for that data.
public enum GeoError: Error, Hashable, CustomStringConvertible, Sendable {
    /// The file could not be opened or read.
    case cannotOpen(file: String, reason: String)
    /// libmaxminddb rejected the file: it is not a MaxMind DB, or it is corrupt. `code` is
    /// libmaxminddb's status (such as `MMDB_INVALID_METADATA_ERROR`) and `message` its text.
    case invalidDatabase(file: String, code: Int32, message: String)
    /// A valid MaxMind DB whose `database_type` provides neither a country nor an ASN
    /// (for example `GeoIP2-Anonymous-IP`).
    case unsupportedDatabase(file: String, databaseType: String)
    /// A line of a networks CSV file could not be read. `line` counts from 1.
    case invalidNetworksLine(file: String, line: Int, expected: String, found: String)

    /// A one-line explanation that names the file and says what to fix.
    public var description: String {
        switch self {
        case .cannotOpen(let file, let reason): "\(file): cannot open: \(reason)"
        case .invalidDatabase(let file, let code, let message):
            "\(file): not a usable MaxMind DB (libmaxminddb error \(code): \(message))"
        case .unsupportedDatabase(let file, let databaseType):
            "\(file): database type '\(databaseType)' provides neither a country nor an ASN; "
                + "pass a City, Country or ASN database"
        case .invalidNetworksLine(let file, let line, let expected, let found):
            "\(file):\(line): expected \(expected), found '\(found)'"
        }
    }
}
