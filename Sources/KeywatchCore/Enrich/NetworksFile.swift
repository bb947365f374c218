import Foundation

/// In-house networks from a `--networks FILE.csv`: offices, VPNs, NAT gateways, partners.
///
/// The file is CSV with a header naming its columns; `cidr` is required, and `country`, `asn` and
/// `org` are optional, in any order:
///
/// ```
/// cidr,country,asn,org
/// 203.0.113.0/24,DE,AS64512,"Office Berlin, 3rd floor"
/// 2001:db8:100::/48,US,64513,VPN
/// 198.51.100.7,,,NAT gateway
/// ```
///
/// A bare address is a single host; host bits after the prefix are cleared. Empty fields mean
/// "not given". `asn` may be `AS64512` or `64512`; `org` may be quoted (with `""` for a quote) to
/// hold commas. Blank lines and lines starting with `#` are skipped. The longest matching prefix
/// wins, and a network listed twice is an error.
///
/// ``GeoResolver`` consults this file before any database, so its answers override them field by
/// field, with `asn` and `org` counting as one field: a line with only `cidr,country` still takes
/// its ASN and organisation from a database, a line with an `org` label but no `asn` hides the
/// database's ASN, and the answer's network is always the line's `cidr`.
public struct NetworksFile: GeoSource {
    /// The path the networks were read from.
    public let path: String
    /// The networks as answers, in file order.
    public let entries: [GeoInfo]

    /// Tables by prefix length, longest first, each keyed by the masked network address.
    private let ipv4Tables: [(prefixLength: Int, table: [IPAddress: GeoInfo])]
    private let ipv6Tables: [(prefixLength: Int, table: [IPAddress: GeoInfo])]

    /// Reads a networks CSV file.
    /// - Parameter path: The file.
    /// - Throws: ``GeoError/cannotOpen(file:reason:)`` when it cannot be read, and
    ///   ``GeoError/invalidNetworksLine(file:line:expected:found:)`` naming the first bad line.
    public init(path: String) throws(GeoError) {
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else { throw .cannotOpen(file: path, reason: String(cString: strerror(errno))) }
        close(descriptor)
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .cannotOpen(file: path, reason: "not a readable file")
        }
        try self.init(csv: String(decoding: data, as: UTF8.self), path: path)
    }

    /// Reads networks from CSV text (see the type's documentation for the format).
    /// - Parameters:
    ///   - csv: The CSV text, header first.
    ///   - path: The name to give in errors.
    /// - Throws: ``GeoError/invalidNetworksLine(file:line:expected:found:)`` naming the first bad line.
    public init(csv: String, path: String = "<networks>") throws(GeoError) {
        var entries: [GeoInfo] = []
        var firstLine: [CIDR: Int] = [:]
        var columns: Columns?
        var lineNumber = 0
        // `Character` treats "\r\n" as one newline, so CRLF files split like LF ones.
        for rawLine in csv.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline) {
            lineNumber += 1
            var line = Substring(rawLine)
            if lineNumber == 1 && line.hasPrefix("\u{FEFF}") { line = line.dropFirst() }
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            func fail(_ expected: String, _ found: String) -> GeoError {
                .invalidNetworksLine(
                    file: path,
                    line: lineNumber,
                    expected: expected,
                    found: NetworksFile.excerpt(found)
                )
            }
            guard let fields = NetworksFile.fields(of: line) else {
                throw fail("a closing quote in a quoted field", String(line))
            }
            guard let layout = columns else {
                columns = try Columns(header: fields, fail: fail)
                continue
            }
            guard fields.count == layout.count else {
                let header = layout.names.joined(separator: ",")
                throw fail("\(layout.count) comma-separated fields (\(header))", "\(fields.count) fields: \(line)")
            }
            let cidrText = fields[layout.cidr]
            // An IPv4 network written with a colon (`::ffff:10.0.0.0/8`, `10.0.0.1:80`) is ambiguous: reject it.
            guard !cidrText.isEmpty, let cidr = CIDR(cidrText), !(cidr.network.isIPv4 && cidrText.contains(":")) else {
                throw fail("a network such as 10.0.0.0/8 or 2001:db8::/32 in column cidr", cidrText)
            }
            if let first = firstLine[cidr] {
                throw fail("each network once (\(cidr) is already on line \(first))", cidrText)
            }
            firstLine[cidr] = lineNumber
            var info = GeoInfo(network: cidr, origin: .networksFile)
            if let column = layout.country, !fields[column].isEmpty {
                guard let code = CountryCode(fields[column]) else {
                    throw fail("a two-letter country code such as US, or nothing, in column country", fields[column])
                }
                info.country = code
            }
            if let column = layout.asn, !fields[column].isEmpty {
                var text = fields[column]
                let asn = text.withUTF8 { parseASN(UnsafeRawBufferPointer($0)) }
                guard let asn else {
                    throw fail("an AS number such as AS64512 or 64512, or nothing, in column asn", fields[column])
                }
                info.asn = asn
            }
            if let column = layout.organization, !fields[column].isEmpty {
                info.organization = fields[column]
            }
            entries.append(info)
        }
        if columns == nil {
            throw .invalidNetworksLine(
                file: path,
                line: 1,
                expected: "a header line such as cidr,country,asn,org",
                found: "end of file"
            )
        }
        self.path = path
        self.entries = entries
        var v4: [Int: [IPAddress: GeoInfo]] = [:]
        var v6: [Int: [IPAddress: GeoInfo]] = [:]
        for entry in entries {
            let cidr = entry.network!
            if cidr.network.isIPv4 {
                v4[cidr.prefixLength, default: [:]][cidr.network] = entry
            } else {
                v6[cidr.prefixLength, default: [:]][cidr.network] = entry
            }
        }
        ipv4Tables = v4.sorted { $0.key > $1.key }.map { ($0.key, $0.value) }
        ipv6Tables = v6.sorted { $0.key > $1.key }.map { ($0.key, $0.value) }
    }

    /// The longest-prefix match for `address`; see ``GeoSource/lookup(_:)``.
    /// - Parameter address: The address.
    /// - Returns: The matching line's fields with its network and origin ``GeoInfo/Origin/networksFile``,
    ///   or ``GeoInfo/unknown``.
    public func lookup(_ address: IPAddress) -> GeoInfo {
        let tables = address.isIPv4 ? ipv4Tables : ipv6Tables
        for (length, table) in tables {
            if let info = table[address.masked(to: length)] { return info }
        }
        return .unknown
    }
}

extension NetworksFile {
    /// Which field index holds which column.
    private struct Columns {
        var names: [String]
        var cidr: Int
        var country: Int?
        var asn: Int?
        var organization: Int?
        var count: Int { names.count }

        init(header: [String], fail: (String, String) -> GeoError) throws(GeoError) {
            let known = "columns named cidr, country, asn and org"
            var cidr: Int?
            names = []
            for (index, raw) in header.enumerated() {
                let name = raw.lowercased()
                names.append(name)
                if (name == "cidr" || name == "network") && cidr == nil {
                    cidr = index
                } else if name == "country" && country == nil {
                    country = index
                } else if name == "asn" && asn == nil {
                    asn = index
                } else if (name == "org" || name == "organization") && organization == nil {
                    organization = index
                } else {
                    throw fail("a header line with \(known), each once", raw)
                }
            }
            guard let cidr else {
                throw fail("a header line such as cidr,country,asn,org (a cidr column)", header.joined(separator: ","))
            }
            self.cidr = cidr
        }
    }

    /// Splits one CSV line into trimmed fields, unquoting quoted ones. `nil` for an unclosed quote.
    static func fields(of line: Substring) -> [String]? {
        var fields: [String] = []
        var current = ""
        var quoted = false  // inside quotes
        var wasQuoted = false  // the current field was quoted (keep its spaces)
        var iterator = line.makeIterator()
        while let c = iterator.next() {
            if quoted {
                if c == "\"" {
                    // A doubled quote is a literal quote; otherwise the quoted part ends.
                    var lookahead = iterator
                    if lookahead.next() == "\"" {
                        current.append("\"")
                        iterator = lookahead
                    } else {
                        quoted = false
                    }
                } else {
                    current.append(c)
                }
            } else if c == "," {
                fields.append(wasQuoted ? current : current.trimmingCharacters(in: .whitespaces))
                current = ""
                wasQuoted = false
            } else if c == "\"" && current.allSatisfy({ $0 == " " || $0 == "\t" }) {
                current = ""
                quoted = true
                wasQuoted = true
            } else {
                current.append(c)
            }
        }
        if quoted { return nil }
        fields.append(wasQuoted ? current : current.trimmingCharacters(in: .whitespaces))
        return fields
    }

    private static func excerpt(_ text: String) -> String {
        text.count <= 80 ? text : String(text.prefix(77)) + "…"
    }
}
