/// A fast, seeded 64-bit hash over bytes for in-memory tables (not cryptographic).
///
/// It reads eight bytes at a time and mixes with multiply-xorshift, so a 30-byte path costs a few
/// nanoseconds. Seeds come from the system's random source per process where callers need
/// unpredictability (the key cache).
public enum FastHash {
    @inlinable
    static func mix(_ a: UInt64, _ b: UInt64) -> UInt64 {
        let product = a.multipliedFullWidth(by: b)
        return product.high ^ product.low
    }

    /// Hashes `v` with `seed`.
    @inlinable
    public static func hash(_ v: ByteView, seed: UInt64) -> UInt64 {
        var h = seed ^ 0x9E37_79B9_7F4A_7C15 ^ UInt64(v.count)
        guard let base = v.base else { return mix(h, 0xA076_1D64_78BD_642F) }
        var i = 0
        let n = v.count
        let raw = UnsafeRawPointer(base)
        while i + 8 <= n {
            let word = raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            h = mix(h ^ word, 0xE703_7ED1_A0B4_28DB)
            i += 8
        }
        if i < n {
            let tail = tailWord(raw, from: i, count: n)
            h = mix(h ^ tail, 0x8EBC_6AF0_9C88_C6E3)
        }
        return mix(h, 0x5899_65CC_7537_4CC3)
    }
}

extension FastHash {
    /// The bytes `from..<count` (one to seven) as a little-endian word, as a byte-by-byte loop would
    /// build it; past eight bytes it shifts the view's last word instead of looping.
    @inlinable @inline(__always)
    static func tailWord(_ raw: UnsafeRawPointer, from i: Int, count n: Int) -> UInt64 {
        if n >= 8 {
            return raw.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self).littleEndian >> UInt64(8 * (8 - (n - i)))
        }
        var tail: UInt64 = 0
        var shift: UInt64 = 0
        var k = i
        while k < n {
            tail |= UInt64(raw.load(fromByteOffset: k, as: UInt8.self)) << shift
            shift += 8
            k += 1
        }
        return tail
    }

    /// Two independent 64-bit hashes of `v` in one pass, for a 128-bit digest.
    @inlinable
    public static func hash128(_ v: ByteView, seeds: (UInt64, UInt64)) -> (UInt64, UInt64) {
        var a = seeds.0 ^ 0x9E37_79B9_7F4A_7C15 ^ UInt64(v.count)
        var b = seeds.1 ^ 0xC2B2_AE3D_27D4_EB4F ^ UInt64(v.count)
        guard let base = v.base else { return (mix(a, 0xA076_1D64_78BD_642F), mix(b, 0xA076_1D64_78BD_642F)) }
        var i = 0
        let n = v.count
        let raw = UnsafeRawPointer(base)
        while i + 8 <= n {
            let word = raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            a = mix(a ^ word, 0xE703_7ED1_A0B4_28DB)
            b = mix(b ^ word, 0x8EBC_6AF0_9C88_C6E3)
            i += 8
        }
        if i < n {
            let tail = tailWord(raw, from: i, count: n)
            a = mix(a ^ tail, 0x8EBC_6AF0_9C88_C6E3)
            b = mix(b ^ tail, 0xE703_7ED1_A0B4_28DB)
        }
        return (mix(a, 0x5899_65CC_7537_4CC3), mix(b, 0x1D8E_4E27_C47D_124F))
    }
}

/// Interns byte strings into dense 32-bit ids, looking up without allocating.
///
/// Used for endpoint templates and other values that repeat across millions of lines.
/// It holds at most ``capacity`` distinct values; further new values are refused.
public struct ByteInterner: Sendable {
    private var arena: [UInt8] = []
    private var offsets: [Int32] = [0]
    private var hashes: [UInt64] = []
    private var slots: [Int32]
    private var mask: Int
    /// The most distinct values it holds.
    public let capacity: Int

    /// Creates an interner that holds up to `capacity` values.
    public init(capacity: Int = 1 << 20) {
        self.capacity = capacity
        slots = [Int32](repeating: -1, count: 1024)
        mask = 1023
    }

    /// Number of distinct values.
    public var count: Int { hashes.count }

    /// The id of `value`, interning it if new; `nil` when new and the interner is full.
    @inlinable
    public mutating func intern(_ value: ByteView) -> Int32? {
        let h = FastHash.hash(value, seed: 0x5EED)
        if let found = lookup(value, hash: h) { return found }
        return insert(value, hash: h)
    }

    @usableFromInline
    func lookup(_ value: ByteView, hash h: UInt64) -> Int32? {
        var slot = Int(truncatingIfNeeded: h) & mask
        return arena.withUnsafeBufferPointer { arenaBuffer -> Int32? in
            while true {
                let id = slots[slot]
                if id < 0 { return nil }
                if hashes[Int(id)] == h {
                    let start = Int(offsets[Int(id)])
                    let end = Int(offsets[Int(id) + 1])
                    if end - start == value.count
                        && (value.count == 0
                            || memcmp(arenaBuffer.baseAddress! + start, value.base!, value.count) == 0)
                    {
                        return id
                    }
                }
                slot = (slot + 1) & mask
            }
        }
    }

    @usableFromInline
    mutating func insert(_ value: ByteView, hash h: UInt64) -> Int32? {
        if hashes.count >= capacity { return nil }
        let id = Int32(hashes.count)
        if let base = value.base { arena.append(contentsOf: UnsafeBufferPointer(start: base, count: value.count)) }
        offsets.append(Int32(arena.count))
        hashes.append(h)
        if hashes.count * 2 > slots.count { grow() } else { place(id, hash: h) }
        return id
    }

    private mutating func place(_ id: Int32, hash h: UInt64) {
        var slot = Int(truncatingIfNeeded: h) & mask
        while slots[slot] >= 0 { slot = (slot + 1) & mask }
        slots[slot] = id
    }

    private mutating func grow() {
        slots = [Int32](repeating: -1, count: slots.count * 2)
        mask = slots.count - 1
        for id in 0..<hashes.count { place(Int32(id), hash: hashes[id]) }
    }

    /// The bytes of `id` as a string.
    public func string(_ id: Int32) -> String {
        let start = Int(offsets[Int(id)])
        let end = Int(offsets[Int(id) + 1])
        return String(decoding: arena[start..<end], as: UTF8.self)
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
