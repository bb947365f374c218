import Foundation

/// SplitMix64, used to expand seeds and to derive independent stream seeds.
///
/// See Steele, Lea and Flood, "Fast splittable pseudorandom number generators" (2014).
struct SplitMix64 {
    private(set) var state: UInt64

    /// Creates a generator whose first output depends only on `seed`.
    init(seed: UInt64) {
        state = seed
    }

    /// Advances the state and returns the next 64 random bits.
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// A seeded xoshiro256** generator with the distributions the simulator needs.
///
/// Every random decision in the simulator draws from a `SimRandom` derived from the run's seed and a
/// few stream numbers (key index, day, purpose), so the output does not depend on generation order:
///
/// ```swift
/// var rng = SimRandom(seed: 42, streams: [Stream.keyTraffic, UInt64(key), UInt64(day)])
/// let calls = rng.poisson(3.5)
/// ```
struct SimRandom {
    private var s0: UInt64
    private var s1: UInt64
    private var s2: UInt64
    private var s3: UInt64

    /// Creates a generator from a single seed.
    init(seed: UInt64) {
        var mixer = SplitMix64(seed: seed)
        s0 = mixer.next()
        s1 = mixer.next()
        s2 = mixer.next()
        s3 = mixer.next()
    }

    /// Creates a generator for an independent stream identified by `streams` under `seed`.
    init(seed: UInt64, streams: [UInt64]) {
        self.init(seed: SimRandom.mix(seed, streams))
    }

    /// Hashes a seed and stream identifiers into one 64-bit seed.
    static func mix(_ seed: UInt64, _ streams: [UInt64]) -> UInt64 {
        var mixer = SplitMix64(seed: seed ^ 0x6A09_E667_F3BC_C908)
        var value = mixer.next()
        for stream in streams {
            mixer = SplitMix64(seed: value ^ (stream &* 0x9E37_79B9_7F4A_7C15))
            value = mixer.next()
        }
        return value
    }

    /// Returns the next 64 random bits.
    mutating func next() -> UInt64 {
        let result = ((s1 &* 5) << 7 | (s1 &* 5) >> 57) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = (s3 << 45) | (s3 >> 19)
        return result
    }

    /// A uniform double in `[0, 1)`.
    mutating func unit() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    /// A uniform integer in `0..<bound`; `bound` must be positive.
    mutating func int(below bound: Int) -> Int {
        precondition(bound > 0, "bound must be positive")
        return Int(next().multipliedFullWidth(by: UInt64(bound)).high)
    }

    /// A uniform integer in `range`.
    mutating func int(in range: ClosedRange<Int>) -> Int {
        range.lowerBound + int(below: range.upperBound - range.lowerBound + 1)
    }

    /// A uniform 64-bit integer in `range`.
    mutating func int64(in range: Range<Int64>) -> Int64 {
        precondition(!range.isEmpty, "range must not be empty")
        let width = UInt64(range.upperBound - range.lowerBound)
        return range.lowerBound + Int64(next().multipliedFullWidth(by: width).high)
    }

    /// A uniform double in `range`.
    mutating func double(in range: ClosedRange<Double>) -> Double {
        range.lowerBound + unit() * (range.upperBound - range.lowerBound)
    }

    /// `true` with probability `probability`.
    mutating func chance(_ probability: Double) -> Bool {
        unit() < probability
    }

    /// A uniformly chosen element of a non-empty array.
    mutating func pick<T>(_ elements: [T]) -> T {
        elements[int(below: elements.count)]
    }

    /// An index drawn with probability proportional to `weights`.
    mutating func weightedIndex(_ weights: [Double]) -> Int {
        let total = weights.reduce(0, +)
        var target = unit() * total
        for (index, weight) in weights.enumerated() {
            target -= weight
            if target < 0 {
                return index
            }
        }
        return weights.count - 1
    }

    /// An exponentially distributed value with the given mean.
    mutating func exponential(mean: Double) -> Double {
        -mean * log(1 - unit())
    }

    /// A standard normal value (Box–Muller).
    mutating func normal() -> Double {
        let u1 = max(unit(), 0x1.0p-60)
        let u2 = unit()
        return sqrt(-2 * log(u1)) * cos(2 * Double.pi * u2)
    }

    /// A log-normal value with the given median and log-space standard deviation.
    mutating func logNormal(median: Double, sigma: Double) -> Double {
        median * exp(sigma * normal())
    }

    /// A Poisson-distributed count with mean `lambda` (normal approximation above 30).
    mutating func poisson(_ lambda: Double) -> Int {
        guard lambda > 0 else {
            return 0
        }
        if lambda > 30 {
            return max(0, Int((lambda + sqrt(lambda) * normal()).rounded()))
        }
        let limit = exp(-lambda)
        var product = unit()
        var count = 0
        while product > limit {
            product *= unit()
            count += 1
        }
        return count
    }

    /// Shuffles `elements` in place (Fisher–Yates).
    mutating func shuffle<T>(_ elements: inout [T]) {
        guard elements.count > 1 else {
            return
        }
        for index in stride(from: elements.count - 1, to: 0, by: -1) {
            elements.swapAt(index, int(below: index + 1))
        }
    }

    /// Up to `count` distinct elements of `elements`, in random order.
    mutating func sample<T>(_ elements: [T], count: Int) -> [T] {
        var copy = elements
        shuffle(&copy)
        return Array(copy.prefix(count))
    }

    /// A string of `count` characters from `[0-9A-Za-z]`.
    mutating func base62(count: Int) -> String {
        let alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".utf8)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(count)
        for _ in 0..<count {
            bytes.append(alphabet[int(below: alphabet.count)])
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// A string of `count` lowercase hexadecimal digits.
    mutating func hex(count: Int) -> String {
        let alphabet = Array("0123456789abcdef".utf8)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(count)
        for _ in 0..<count {
            bytes.append(alphabet[int(below: 16)])
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// A random version-4 UUID in lowercase canonical form.
    mutating func uuid() -> String {
        SimRandom.uuid(high: next(), low: next())
    }

    /// Formats 128 bits as a version-4 UUID string.
    static func uuid(high: UInt64, low: UInt64) -> String {
        let h = (high & 0xFFFF_FFFF_FFFF_0FFF) | 0x0000_0000_0000_4000
        let l = (low & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000
        let digits = hexDigits(h, width: 16) + hexDigits(l, width: 16)
        let chars = Array(digits)
        return String(chars[0..<8]) + "-" + String(chars[8..<12]) + "-" + String(chars[12..<16]) + "-"
            + String(chars[16..<20]) + "-" + String(chars[20..<32])
    }

    /// `value` as lowercase hex, zero-padded to `width` digits.
    static func hexDigits(_ value: UInt64, width: Int) -> String {
        let text = String(value, radix: 16)
        return String(repeating: "0", count: max(0, width - text.count)) + text
    }
}

/// Stream identifiers, so that each purpose draws from its own independent generator.
enum Stream {
    static let profiles: UInt64 = 1
    static let scenario: UInt64 = 2
    static let keyTraffic: UInt64 = 3
    static let episode: UInt64 = 4
    static let background: UInt64 = 5
    static let gatewayIDs: UInt64 = 6
    static let mobilePool: UInt64 = 7
}
