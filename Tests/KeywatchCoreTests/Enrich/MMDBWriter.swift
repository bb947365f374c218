import Foundation

@testable import KeywatchCore

/// Writes small MaxMind DB files (format 2.0, 24-bit records) for tests that need a
/// `database_type` or a record layout the MaxMind test data lacks, such as IPinfo's.
///
/// Spec: https://maxmind.github.io/MaxMind-DB/ — a binary search tree over address bits, 16 zero
/// bytes, the data section, then `\xAB\xCD\xEFMaxMind.com` and the metadata map.
struct MMDBWriter {
    /// A value in the data section.
    indirect enum Value {
        case string(String)
        case uint16(UInt16)
        case uint32(UInt32)
        case uint64(UInt64)
        case map([(String, Value)])
        case array([Value])
    }

    var databaseType: String
    /// 4 (IPv4 tree, 32 bits) or 6 (IPv6 tree, 128 bits; IPv4 lives under `::a.b.c.d`).
    var ipVersion: Int = 4
    private var networks: [(bits: [Bool], value: Value)] = []

    init(databaseType: String, ipVersion: Int = 4) {
        self.databaseType = databaseType
        self.ipVersion = ipVersion
    }

    /// Adds a record for `cidr` (given in its own family).
    mutating func insert(_ cidr: String, _ value: Value) {
        let network = CIDR(cidr)!
        let depth = ipVersion == 6 ? 128 : 32
        let bitsBefore = network.network.isIPv4 ? (ipVersion == 6 ? 96 : 0) : 0
        let length = bitsBefore + network.prefixLength
        precondition(length <= depth)
        var address = network.network
        if network.network.isIPv4 && ipVersion == 6 { address = IPAddress(high: 0, low: UInt64(network.network.ipv4)) }
        var bits: [Bool] = []
        let skip = depth == 32 ? 96 : 0
        for i in skip..<(skip + length) {
            let word = i < 64 ? address.high : address.low
            bits.append((word >> UInt64(63 - i % 64)) & 1 == 1)
        }
        networks.append((bits, value))
    }

    /// The file's bytes.
    func build() -> [UInt8] {
        // Build a trie: node i has children [left, right], each a node index, a data index, or empty.
        enum Child {
            case empty
            case node(Int)
            case data(Int)
        }
        var nodes: [[Child]] = [[.empty, .empty]]
        for (index, network) in networks.enumerated() {
            var node = 0
            for (depth, bit) in network.bits.enumerated() {
                let side = bit ? 1 : 0
                if depth == network.bits.count - 1 {
                    nodes[node][side] = .data(index)
                } else if case .node(let next) = nodes[node][side] {
                    node = next
                } else {
                    nodes.append([.empty, .empty])
                    nodes[node][side] = .node(nodes.count - 1)
                    node = nodes.count - 1
                }
            }
        }
        var data: [UInt8] = []
        var offsets: [Int] = []
        for network in networks {
            offsets.append(data.count)
            encode(network.value, into: &data)
        }
        let count = nodes.count
        var out: [UInt8] = []
        for node in nodes {
            for child in node {
                let record: Int
                switch child {
                case .empty: record = count
                case .node(let n): record = n
                case .data(let d): record = count + 16 + offsets[d]
                }
                out += [UInt8(record >> 16 & 255), UInt8(record >> 8 & 255), UInt8(record & 255)]
            }
        }
        out += [UInt8](repeating: 0, count: 16)
        out += data
        out += [0xAB, 0xCD, 0xEF] + Array("MaxMind.com".utf8)
        encode(
            .map([
                ("binary_format_major_version", .uint16(2)),
                ("binary_format_minor_version", .uint16(0)),
                ("build_epoch", .uint64(1_700_000_000)),
                ("database_type", .string(databaseType)),
                ("description", .map([("en", .string("keywatch test database"))])),
                ("ip_version", .uint16(UInt16(ipVersion))),
                ("languages", .array([.string("en")])),
                ("node_count", .uint32(UInt32(count))),
                ("record_size", .uint16(24)),
            ]),
            into: &out
        )
        return out
    }

    private func encode(_ value: Value, into out: inout [UInt8]) {
        func control(_ type: Int, _ size: Int) {
            let extended = type > 7
            var sizeBits: Int
            var extra: [UInt8] = []
            if size < 29 {
                sizeBits = size
            } else if size < 285 {
                sizeBits = 29
                extra = [UInt8(size - 29)]
            } else {
                sizeBits = 30
                extra = [UInt8((size - 285) >> 8), UInt8((size - 285) & 255)]
            }
            out.append(UInt8((extended ? 0 : type) << 5 | sizeBits))
            if extended { out.append(UInt8(type - 7)) }
            out += extra
        }
        func unsigned(_ type: Int, _ v: UInt64) {
            var bytes: [UInt8] = []
            var x = v
            while x > 0 {
                bytes.insert(UInt8(x & 255), at: 0)
                x >>= 8
            }
            control(type, bytes.count)
            out += bytes
        }
        switch value {
        case .string(let s):
            control(2, s.utf8.count)
            out += Array(s.utf8)
        case .uint16(let v): unsigned(5, UInt64(v))
        case .uint32(let v): unsigned(6, UInt64(v))
        case .uint64(let v): unsigned(9, v)
        case .map(let pairs):
            control(7, pairs.count)
            for (key, v) in pairs {
                encode(.string(key), into: &out)
                encode(v, into: &out)
            }
        case .array(let values):
            control(11, values.count)
            for v in values { encode(v, into: &out) }
        }
    }
}
