import CPrefetch

/// A bounded table of values a key has used (countries, ASNs, networks, endpoints, agents), each with
/// a count and the hour it was last seen.
///
/// When the table is full, a new value evicts the entry seen longest ago among eight (least
/// requests on a tie), so memory per key stays fixed while recent behaviour is kept. Values unseen
/// for the forget horizon are dropped.
///
/// The values live in one buffer of words. A table of 16 slots or more keeps a 16-bit tag per slot
/// ahead of its entries, so a lookup reads one or two cache lines of tags and then only the entry
/// whose tag matches. A key that hops networks misses its full table on almost every request:
/// scanning 32 entries (eight cache lines) each time cost more than anything else its request did.
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

    /// The buffer: ``tagWords(slots:)`` words of tags (four per word, slot i in bits 16(i mod 4) of
    /// word i/4, so the i-th 16-bit lane in memory; zero for an empty slot), then
    /// two words per slot: the value, and `lastSeenHour << 32 | count`. Slots are kept in first-seen
    /// order until the table is full; a new value then takes its victim's slot. (The first stored
    /// property: the detection engine prefetches the buffer through it.)
    private var words: [UInt64] = []
    /// Values held.
    private var held: UInt16 = 0
    /// Slots the buffer has room for.
    private var slots: UInt16 = 0

    /// How many entries a full table compares to choose a victim.
    static let evictionSample = 8
    /// Tables with fewer slots scan their entries directly: they span one or two cache lines anyway.
    static let taggedSlots = 16

    /// Creates an empty table.
    public init() {}

    public static func == (a: ValueStats, b: ValueStats) -> Bool { a.entries == b.entries }
    public func hash(into hasher: inout Hasher) { hasher.combine(entries) }

    /// Words of tags for a buffer of `slots` slots.
    @inline(__always)
    static func tagWords(slots: Int) -> Int { slots >= taggedSlots ? (slots + 3) >> 2 : 0 }

    /// A value's tag: sixteen bits of a multiplicative hash, never zero (country codes and ASNs are
    /// small numbers, not hashes).
    @inline(__always)
    static func tag(_ value: UInt64) -> UInt64 { (value &* 0x9E37_79B9_7F4A_7C15) >> 48 | 1 }

    /// Values held.
    public var count: Int { Int(held) }

    /// The entries, in slot order.
    public var entries: [Entry] {
        let tags = Self.tagWords(slots: Int(slots))
        return (0..<Int(held)).map { i in
            let meta = words[tags + 2 * i + 1]
            return Entry(
                value: words[tags + 2 * i],
                count: UInt32(truncatingIfNeeded: meta),
                lastSeenHour: UInt32(meta >> 32)
            )
        }
    }

    /// Whether the table holds `value`.
    @inline(__always)
    public func contains(_ value: UInt64) -> Bool { index(of: value) != nil }

    /// The slot of `value`, if present.
    public func index(of value: UInt64) -> Int? {
        let n = Int(held)
        guard n > 0 else { return nil }
        let tags = Self.tagWords(slots: Int(slots))
        let found = words.withUnsafeBufferPointer { Self.find(value, in: $0.baseAddress!, tags: tags, held: n) }
        return found < 0 ? nil : found
    }

    /// The slot of `value` among the first `held` of buffer `w`, or -1.
    @inline(__always)
    private static func find(_ value: UInt64, in w: UnsafePointer<UInt64>, tags: Int, held n: Int) -> Int {
        let entries = w + tags
        if tags == 0 {
            var i = 0
            while i < n {
                if entries[i &* 2] == value { return i }
                i &+= 1
            }
            return -1
        }
        // Sixteen tags per compare (slot i's tag is the i-th little-endian 16-bit lane of the tag
        // words). A block may read past the tags into the entries, which are larger, and bits for
        // slots not held are masked off; a matching tag is then checked against the value itself.
        let needle = UInt16(truncatingIfNeeded: tag(value))
        let tagBytes = UnsafeRawPointer(w)
        var block = 0
        while block < n {
            var marks = keywatch_tag_match16(tagBytes + block &* 2, needle)
            if n &- block < 16 { marks &= (1 << UInt32(n &- block)) &- 1 }
            while marks != 0 {
                let i = block &+ marks.trailingZeroBitCount
                if entries[i &* 2] == value { return i }
                marks &= marks &- 1
            }
            block &+= 16
        }
        return -1
    }

    /// Counts one use of `value`.
    /// - Parameters:
    ///   - value: The value.
    ///   - hour: Hours since the epoch of the use.
    ///   - capacity: The most entries to keep (at most 65,535, what the stored encoding counts).
    /// - Returns: `true` when the value was new to the table.
    @discardableResult
    public mutating func record(_ value: UInt64, hour: UInt32, capacity: Int) -> Bool {
        let capacity = min(capacity, Int(UInt16.max))
        let n = Int(held)
        let meta = UInt64(hour) << 32 | 1
        if n == Int(slots) && n < capacity {
            // A growing table whose slots are all used (at 4, 8, 16… values): a new value needs
            // a larger buffer.
            if n > 0, let found = index(of: value) {
                count(at: found, hour: hour)
                return false
            }
            grow(capacity: capacity)
            put(value, meta: meta, at: n)
            held &+= 1
            return true
        }
        if n == 0 { return true }  // no room at all (capacity 0)
        let tags = Self.tagWords(slots: Int(slots))
        // One pass over the buffer, one uniqueness check: found, appended, or evicted.
        return words.withUnsafeMutableBufferPointer { buffer in
            let w = buffer.baseAddress!
            let entries = w + tags
            let found = Self.find(value, in: w, tags: tags, held: n)
            if found >= 0 {
                Self.count(at: found, hour: hour, in: entries)
                return false
            }
            var slot = n
            if n >= capacity {
                // The victim: among `evictionSample` entries from a place the value picks, the one
                // with the smallest (last-seen hour, count), the first such.
                var i = Int(truncatingIfNeeded: (value >> 32) &* UInt64(n) >> 32)
                var bestKey = UInt64.max
                for _ in 0..<min(n, Self.evictionSample) {
                    let key = entries[i &* 2 &+ 1]
                    if key < bestKey {
                        slot = i
                        bestKey = key
                    }
                    i = i &+ 1 == n ? 0 : i &+ 1
                }
            }
            Self.store(value, meta: meta, at: slot, in: w, tags: tags)
            if slot == n { held &+= 1 }
            return true
        }
    }

    /// Counts a use of the value in `slot`, seen in `hour` (the count saturates).
    @inline(__always)
    private static func count(at slot: Int, hour: UInt32, in entries: UnsafeMutablePointer<UInt64>) {
        let old = UInt32(truncatingIfNeeded: entries[slot &* 2 &+ 1])
        entries[slot &* 2 &+ 1] = UInt64(hour) << 32 | UInt64(old == .max ? old : old &+ 1)
    }

    /// Writes `value` and `meta` into `slot` of buffer `w`, with the value's tag when it has tags.
    @inline(__always)
    private static func store(
        _ value: UInt64,
        meta: UInt64,
        at slot: Int,
        in w: UnsafeMutablePointer<UInt64>,
        tags: Int
    ) {
        w[tags &+ slot &* 2] = value
        w[tags &+ slot &* 2 &+ 1] = meta
        if tags > 0 {
            let shift = UInt64(slot & 3) << 4
            w[slot >> 2] = w[slot >> 2] & ~(0xFFFF << shift) | tag(value) << shift
        }
    }

    /// Counts a use of the value in `slot`.
    private mutating func count(at slot: Int, hour: UInt32) {
        let tags = Self.tagWords(slots: Int(slots))
        words.withUnsafeMutableBufferPointer { Self.count(at: slot, hour: hour, in: $0.baseAddress! + tags) }
    }

    /// Writes `value` into `slot`, with its tag.
    private mutating func put(_ value: UInt64, meta: UInt64, at slot: Int) {
        let tags = Self.tagWords(slots: Int(slots))
        words.withUnsafeMutableBufferPointer {
            Self.store(value, meta: meta, at: slot, in: $0.baseAddress!, tags: tags)
        }
    }

    /// Makes room for more slots: twice as many (at least four), at most `capacity`.
    private mutating func grow(capacity: Int) {
        let wanted = min(max(capacity, Int(held) + 1), max(4, 2 * Int(slots)))
        relayout(entries, slots: wanted)
    }

    /// Refills the buffer with `list`, in order, with room for `slots` slots.
    private mutating func relayout(_ list: [Entry], slots wanted: Int) {
        slots = UInt16(max(wanted, list.count))
        held = 0
        words = [UInt64](repeating: 0, count: Self.tagWords(slots: Int(slots)) + 2 * Int(slots))
        for (i, entry) in list.enumerated() {
            put(entry.value, meta: UInt64(entry.lastSeenHour) << 32 | UInt64(entry.count), at: i)
        }
        held = UInt16(list.count)
    }

    /// Drops values last seen before `hour`.
    public mutating func forget(before hour: UInt32) {
        let kept = entries.filter { $0.lastSeenHour >= hour }
        if kept.count < Int(held) { relayout(kept, slots: kept.isEmpty ? 0 : Int(slots)) }
    }

    /// The total count over all entries.
    public var total: Int64 { entries.reduce(0) { $0 + Int64($1.count) } }

    func encode(into writer: inout ByteWriter) {
        writer.append(UInt16(held))
        for entry in entries {
            writer.append(entry.value)
            writer.append(entry.count)
            writer.append(entry.lastSeenHour)
        }
    }

    init(decoding reader: inout ByteReader) throws(BaselineDecodingError) {
        let count = Int(try reader.read(UInt16.self))
        var list: [Entry] = []
        list.reserveCapacity(count)
        for _ in 0..<count {
            list.append(
                Entry(
                    value: try reader.read(UInt64.self),
                    count: try reader.read(UInt32.self),
                    lastSeenHour: try reader.read(UInt32.self)
                )
            )
        }
        if count > 0 { relayout(list, slots: max(4, count)) }
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
