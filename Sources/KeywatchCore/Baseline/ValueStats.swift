/// A bounded table of values a key has used (countries, ASNs, networks, endpoints, agents), each with
/// a count and the hour it was last seen.
///
/// When the table is full, a new value evicts the entry seen longest ago among eight (least
/// requests on a tie), so memory per key stays fixed while recent behaviour is kept. Values unseen
/// for the forget horizon are dropped.
///
/// A 128-bit filter of the values held answers most misses without a scan: a key that hops
/// networks misses its full table on almost every request, and scanning it then cost more than
/// anything else its request did.
public struct ValueStats: Sendable, Hashable {
    /// One value and how it was used.
    public struct Entry: Sendable, Hashable {
        /// The value: a country code, an ASN, a network or endpoint hash.
        public var value: UInt64
        /// Requests with this value.
        public var count: UInt32
        /// Hours since the epoch when it was last seen.
        public var lastSeenHour: UInt32
    }

    /// The entries, in first-seen order until the table is full; a new value then takes its
    /// victim's place. (The first stored property: the detection engine prefetches its storage.)
    public private(set) var entries: [Entry] = []
    /// One bit of 128 per value held (``filterBit(_:)``), set on insertion and recomputed when
    /// values leave or too many bits are set: a clear bit proves a value absent.
    private var filterLow: UInt64 = 0
    private var filterHigh: UInt64 = 0

    /// How many entries a full table compares to choose a victim.
    static let evictionSample = 8
    /// Set bits past which the filter is recomputed from the entries (its false positives then
    /// approach a half), for tables of up to 32 values; larger tables allow more (see `record`).
    static let filterRebuildBits = 64

    /// Creates an empty table.
    public init() {}

    public static func == (a: ValueStats, b: ValueStats) -> Bool { a.entries == b.entries }
    public func hash(into hasher: inout Hasher) { hasher.combine(entries) }

    /// The filter bit of a value: the top seven bits of a multiplicative hash (country codes and
    /// ASNs are small numbers, not hashes).
    @inline(__always)
    static func filterBit(_ value: UInt64) -> UInt64 { (value &* 0x9E37_79B9_7F4A_7C15) >> 57 }

    @inline(__always)
    private func mayHold(_ value: UInt64) -> Bool {
        let bit = Self.filterBit(value)
        return (bit < 64 ? filterLow >> bit : filterHigh >> (bit &- 64)) & 1 != 0
    }

    @inline(__always)
    private mutating func setFilterBit(_ value: UInt64) {
        let bit = Self.filterBit(value)
        if bit < 64 { filterLow |= 1 << bit } else { filterHigh |= 1 << (bit &- 64) }
    }

    private mutating func rebuildFilter() {
        filterLow = 0
        filterHigh = 0
        for entry in entries { setFilterBit(entry.value) }
    }

    /// Whether the table holds `value`; the filter answers most misses without a scan.
    @inline(__always)
    public func contains(_ value: UInt64) -> Bool { mayHold(value) && index(of: value) != nil }

    /// The position of `value`, if present.
    @inlinable
    public func index(of value: UInt64) -> Int? {
        entries.withUnsafeBufferPointer { table in
            for i in 0..<table.count where table[i].value == value { return i }
            return nil
        }
    }

    /// Counts one use of `value`.
    /// - Parameters:
    ///   - value: The value.
    ///   - hour: Hours since the epoch of the use.
    ///   - capacity: The most entries to keep.
    /// - Returns: `true` when the value was new to the table.
    @discardableResult
    public mutating func record(_ value: UInt64, hour: UInt32, capacity: Int) -> Bool {
        // The networks table of a key that hops addresses is full and misses on most requests: the
        // filter settles most misses, and a full table compares only a sample of entries.
        if mayHold(value), let found = index(of: value) {
            entries.withUnsafeMutableBufferPointer { table in
                table[found].count &+= 1
                table[found].lastSeenHour = hour
            }
            return false
        }
        let entry = Entry(value: value, count: 1, lastSeenHour: hour)
        if entries.count < capacity {
            entries.append(entry)
            setFilterBit(value)
            return true
        }
        guard !entries.isEmpty else { return true }
        // The victim: among `evictionSample` entries from a place the value picks, the one with the
        // smallest (last-seen hour, count), the first such.
        let victim: Int = entries.withUnsafeBufferPointer { table in
            let n = table.count
            var i = Int(truncatingIfNeeded: value % UInt64(n))
            var best = i
            var bestKey = UInt64.max
            for _ in 0..<min(n, Self.evictionSample) {
                let key = UInt64(table[i].lastSeenHour) << 32 | UInt64(table[i].count)
                if key < bestKey {
                    best = i
                    bestKey = key
                }
                i = i + 1 == n ? 0 : i + 1
            }
            return best
        }
        entries[victim] = entry
        // The victim's bit may be another value's too: it stays set (a false positive costs only a
        // scan) until the filter fills up and is recomputed.
        setFilterBit(value)
        // A table of many values sets many bits by itself: its threshold is higher, so a rebuild
        // never follows every eviction (about 100 of 128 bits for 200 values).
        let threshold = min(120, max(Self.filterRebuildBits, capacity + 32))
        if filterLow.nonzeroBitCount + filterHigh.nonzeroBitCount > threshold { rebuildFilter() }
        return true
    }

    /// Drops values last seen before `hour`.
    public mutating func forget(before hour: UInt32) {
        if entries.contains(where: { $0.lastSeenHour < hour }) {
            entries.removeAll { $0.lastSeenHour < hour }
            rebuildFilter()
        }
    }

    /// The total count over all entries.
    public var total: Int64 { entries.reduce(0) { $0 + Int64($1.count) } }

    func encode(into writer: inout ByteWriter) {
        writer.append(UInt16(entries.count))
        for entry in entries {
            writer.append(entry.value)
            writer.append(entry.count)
            writer.append(entry.lastSeenHour)
        }
    }

    init(decoding reader: inout ByteReader) throws(BaselineDecodingError) {
        let count = Int(try reader.read(UInt16.self))
        entries.reserveCapacity(count)
        for _ in 0..<count {
            entries.append(
                Entry(
                    value: try reader.read(UInt64.self),
                    count: try reader.read(UInt32.self),
                    lastSeenHour: try reader.read(UInt32.self)
                )
            )
        }
        rebuildFilter()
    }
}

/// The stored baseline bytes could not be read.
public enum BaselineDecodingError: Error, Hashable, CustomStringConvertible {
    /// The bytes end early.
    case truncated(at: Int)
    /// The encoding is newer than this build understands.
    case unsupportedVersion(UInt8)

    public var description: String {
        switch self {
        case .truncated(let at):
            "stored baseline is truncated at byte \(at); the state may be damaged: restore it or start a new --state"
        case .unsupportedVersion(let v):
            "stored baseline has encoding version \(v), newer than this keywatch understands; upgrade keywatch"
        }
    }
}

/// Appends little-endian integers and floats to a byte array.
///
/// Values are stored into a zero-filled buffer that grows by doubling: `Array.append(contentsOf:)`
/// of a few bytes cost hundreds of instructions each, and a checkpoint encodes every changed key.
struct ByteWriter {
    private var storage: [UInt8]
    private var count = 0

    /// Creates a writer with room for `capacity` bytes before it grows.
    init(capacity: Int = 256) { storage = [UInt8](repeating: 0, count: Swift.max(capacity, 16)) }

    /// The bytes written so far.
    var bytes: [UInt8] { Array(storage[0..<count]) }

    mutating func append<T: FixedWidthInteger>(_ value: T) {
        let size = MemoryLayout<T>.size
        if count + size > storage.count {
            storage.append(contentsOf: repeatElement(0, count: Swift.max(storage.count, size)))
        }
        let at = count
        storage.withUnsafeMutableBytes { $0.storeBytes(of: value.littleEndian, toByteOffset: at, as: T.self) }
        count += size
    }

    mutating func append(_ value: Float) { append(value.bitPattern) }
}

/// Reads what ``ByteWriter`` wrote.
struct ByteReader {
    let bytes: [UInt8]
    var offset = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    mutating func read<T: FixedWidthInteger>(_: T.Type) throws(BaselineDecodingError) -> T {
        let size = MemoryLayout<T>.size
        guard offset + size <= bytes.count else { throw .truncated(at: offset) }
        let at = offset
        let value = bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: at, as: T.self) }
        offset += size
        return T(littleEndian: value)
    }

    mutating func read(_: Float.Type) throws(BaselineDecodingError) -> Float {
        Float(bitPattern: try read(UInt32.self))
    }
}
