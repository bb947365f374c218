/// A borrowed, non-owning view of bytes, valid only while its owner keeps the storage alive.
///
/// Parsers hand these out for the duration of one line callback: nothing on the hot path
/// copies field bytes into a `String` unless the value is kept.
public struct ByteView {
    /// First byte; `nil` only for the empty view.
    public var base: UnsafePointer<UInt8>?
    /// Number of bytes.
    public var count: Int

    /// The empty view.
    public static var empty: ByteView { ByteView(base: nil, count: 0) }

    /// Creates a view over `count` bytes at `base`.
    @inlinable
    public init(base: UnsafePointer<UInt8>?, count: Int) {
        self.base = base
        self.count = count
    }

    /// Whether the view holds no bytes.
    @inlinable
    public var isEmpty: Bool { count == 0 }

    /// The byte at `index`, without bounds checks beyond a debug assertion.
    @inlinable
    public subscript(index: Int) -> UInt8 {
        assert(index >= 0 && index < count)
        return base.unsafelyUnwrapped[index]
    }

    /// A sub-view of `range`, which must lie inside the view.
    @inlinable
    public func slice(_ start: Int, _ end: Int) -> ByteView {
        assert(start >= 0 && end <= count && start <= end)
        if start == end { return .empty }
        return ByteView(base: base.unsafelyUnwrapped + start, count: end - start)
    }

    /// The view with a single leading and trailing byte removed when they are `quote`.
    @inlinable
    public func unquoted(_ quote: UInt8 = UInt8(ascii: "\"")) -> ByteView {
        if count >= 2 && self[0] == quote && self[count - 1] == quote { return slice(1, count - 1) }
        return self
    }

    /// The view with ASCII spaces and tabs trimmed on both sides.
    @inlinable
    public func trimmed() -> ByteView {
        var start = 0
        var end = count
        while start < end && (self[start] == 0x20 || self[start] == 0x09) { start += 1 }
        while end > start && (self[end - 1] == 0x20 || self[end - 1] == 0x09) { end -= 1 }
        return slice(start, end)
    }

    /// Whether the view is empty or holds the single byte `-`, the log convention for "no value".
    @inlinable
    public var isMissing: Bool { count == 0 || (count == 1 && self[0] == UInt8(ascii: "-")) }

    /// Index of the first `byte` at or after `from`, or `nil`.
    @inlinable
    public func firstIndex(of byte: UInt8, from: Int = 0) -> Int? {
        var i = from
        while i < count {
            if self[i] == byte { return i }
            i += 1
        }
        return nil
    }

    /// Index of the last `byte`, or `nil`.
    @inlinable
    public func lastIndex(of byte: UInt8) -> Int? {
        var i = count - 1
        while i >= 0 {
            if self[i] == byte { return i }
            i -= 1
        }
        return nil
    }

    /// Whether the bytes equal `other` exactly.
    @inlinable
    public func equals(_ other: ByteView) -> Bool {
        if count != other.count { return false }
        if count == 0 { return true }
        return memcmp(base!, other.base!, count) == 0
    }

    /// Whether the bytes equal the ASCII string `ascii`, ignoring ASCII case.
    public func equalsIgnoringCase(_ ascii: StaticString) -> Bool {
        if count != ascii.utf8CodeUnitCount { return false }
        let other = ascii.utf8Start
        for i in 0..<count where lowercaseASCII(self[i]) != lowercaseASCII(other[i]) { return false }
        return true
    }

    /// Whether the bytes equal `bytes`, ignoring ASCII case.
    public func equalsIgnoringCase(_ bytes: [UInt8]) -> Bool {
        if count != bytes.count { return false }
        for i in 0..<count where lowercaseASCII(self[i]) != lowercaseASCII(bytes[i]) { return false }
        return true
    }

    /// Whether the view starts with the ASCII string `prefix`, ignoring ASCII case.
    public func hasPrefixIgnoringCase(_ prefix: StaticString) -> Bool {
        let n = prefix.utf8CodeUnitCount
        if count < n { return false }
        let other = prefix.utf8Start
        for i in 0..<n where lowercaseASCII(self[i]) != lowercaseASCII(other[i]) { return false }
        return true
    }

    /// The bytes as a `String`, repairing invalid UTF-8 with U+FFFD.
    public var string: String {
        guard let base, count > 0 else { return "" }
        return String(decoding: UnsafeBufferPointer(start: base, count: count), as: UTF8.self)
    }

    /// The bytes copied into an array.
    public var bytes: [UInt8] {
        guard let base, count > 0 else { return [] }
        return Array(UnsafeBufferPointer(start: base, count: count))
    }

    /// Parses an unsigned decimal integer that fills the whole view; `nil` otherwise.
    @inlinable
    public var decimalValue: Int64? {
        if count == 0 || count > 18 { return nil }
        var value: Int64 = 0
        for i in 0..<count {
            let d = self[i] &- 0x30
            if d > 9 { return nil }
            value = value &* 10 &+ Int64(d)
        }
        return value
    }

    /// Parses a decimal number such as `12`, `0.053` or `-1.5e3`; `nil` if the view is not one.
    public var doubleValue: Double? {
        if count == 0 { return nil }
        var i = 0
        var negative = false
        if self[0] == UInt8(ascii: "-") {
            negative = true
            i = 1
        } else if self[0] == UInt8(ascii: "+") {
            i = 1
        }
        var mantissa: Double = 0
        var digits = 0
        while i < count, self[i] &- 0x30 <= 9 {
            mantissa = mantissa * 10 + Double(self[i] &- 0x30)
            i += 1
            digits += 1
        }
        if i < count && self[i] == UInt8(ascii: ".") {
            i += 1
            var scale = 0.1
            while i < count, self[i] &- 0x30 <= 9 {
                mantissa += Double(self[i] &- 0x30) * scale
                scale *= 0.1
                i += 1
                digits += 1
            }
        }
        if digits == 0 { return nil }
        if i < count && (self[i] == UInt8(ascii: "e") || self[i] == UInt8(ascii: "E")) {
            i += 1
            var expNegative = false
            if i < count && (self[i] == UInt8(ascii: "-") || self[i] == UInt8(ascii: "+")) {
                expNegative = self[i] == UInt8(ascii: "-")
                i += 1
            }
            var exponent = 0
            var expDigits = 0
            while i < count, self[i] &- 0x30 <= 9, exponent < 400 {
                exponent = exponent * 10 + Int(self[i] &- 0x30)
                i += 1
                expDigits += 1
            }
            if expDigits == 0 { return nil }
            var factor = 1.0
            for _ in 0..<exponent { factor *= 10 }
            mantissa = expNegative ? mantissa / factor : mantissa * factor
        }
        if i != count { return nil }
        return negative ? -mantissa : mantissa
    }
}

/// Lower-cases one ASCII letter and leaves every other byte alone.
@inlinable
public func lowercaseASCII(_ byte: UInt8) -> UInt8 {
    byte &- 0x41 < 26 ? byte | 0x20 : byte
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
