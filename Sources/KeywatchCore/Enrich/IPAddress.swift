/// An IPv4 or IPv6 address as 128 bits; IPv4 is held IPv4-mapped (`::ffff:a.b.c.d`).
public struct IPAddress: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// High 64 bits, network order as an integer.
    public var high: UInt64
    /// Low 64 bits.
    public var low: UInt64

    /// Creates an address from its two halves.
    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// Creates the IPv4-mapped form of a 32-bit IPv4 address.
    public init(ipv4 value: UInt32) {
        high = 0
        low = 0x0000_FFFF_0000_0000 | UInt64(value)
    }

    /// Whether this is an IPv4 address (IPv4-mapped).
    @inlinable
    public var isIPv4: Bool { high == 0 && (low >> 32) == 0xFFFF }

    /// The IPv4 value when ``isIPv4``.
    public var ipv4: UInt32 { UInt32(truncatingIfNeeded: low) }

    public static func < (a: IPAddress, b: IPAddress) -> Bool {
        a.high != b.high ? a.high < b.high : a.low < b.low
    }

    /// The address with all bits after the first `bits` (counted in its own family) cleared.
    public func masked(to bits: Int) -> IPAddress {
        let total = isIPv4 ? 96 + max(0, min(32, bits)) : max(0, min(128, bits))
        if total >= 128 { return self }
        if total <= 0 { return IPAddress(high: 0, low: 0) }
        if total <= 64 {
            let mask: UInt64 = total == 64 ? ~0 : ~(~UInt64(0) >> UInt64(total))
            return IPAddress(high: high & mask, low: 0)
        }
        let mask: UInt64 = ~(~UInt64(0) >> UInt64(total - 64))
        return IPAddress(high: high, low: low & mask)
    }

    /// The 16 bytes in network order.
    public var bytes: [UInt8] {
        var out = [UInt8](repeating: 0, count: 16)
        for i in 0..<8 {
            out[i] = UInt8(truncatingIfNeeded: high >> UInt64(56 - 8 * i))
            out[8 + i] = UInt8(truncatingIfNeeded: low >> UInt64(56 - 8 * i))
        }
        return out
    }

    public var description: String {
        if isIPv4 {
            let v = ipv4
            return "\(v >> 24).\((v >> 16) & 255).\((v >> 8) & 255).\(v & 255)"
        }
        var groups = [UInt16]()
        for i in 0..<4 { groups.append(UInt16(truncatingIfNeeded: high >> UInt64(48 - 16 * i))) }
        for i in 0..<4 { groups.append(UInt16(truncatingIfNeeded: low >> UInt64(48 - 16 * i))) }
        // RFC 5952: compress the longest run (>= 2) of zero groups.
        var bestStart = -1
        var bestLength = 0
        var i = 0
        while i < 8 {
            if groups[i] == 0 {
                var j = i
                while j < 8 && groups[j] == 0 { j += 1 }
                if j - i > bestLength && j - i >= 2 {
                    bestStart = i
                    bestLength = j - i
                }
                i = j
            } else {
                i += 1
            }
        }
        var text = ""
        i = 0
        while i < 8 {
            if i == bestStart {
                text += i == 0 ? "::" : ":"
                i += bestLength
                continue
            }
            text += String(groups[i], radix: 16)
            if i < 7 { text += ":" }
            i += 1
        }
        return text
    }

    /// Parses an address, tolerating the decorations logs add: a port (`1.2.3.4:5678`, `[2001:db8::1]:443`),
    /// surrounding spaces or quotes. Returns `nil` for `-`, `unknown` and anything else that is not an address.
    public init?(parsing text: String) {
        var copy = Array(text.utf8)
        guard
            let address = copy.withUnsafeMutableBufferPointer({ buffer -> IPAddress? in
                IPAddress(ByteView(base: UnsafePointer(buffer.baseAddress), count: buffer.count))
            })
        else { return nil }
        self = address
    }

    /// Parses an address from bytes; see ``init(parsing:)``.
    @inlinable
    public init?(_ raw: ByteView) {
        // Fast path: a bare dotted quad, the common case in logs.
        if raw.count >= 7 && raw[0] &- 0x30 <= 9, let value = IPAddress.parseIPv4(raw) {
            self.init(ipv4: value)
            return
        }
        var v = raw.trimmed()
        if v.count >= 2 && v[0] == UInt8(ascii: "\"") && v[v.count - 1] == UInt8(ascii: "\"") {
            v = v.slice(1, v.count - 1).trimmed()
        }
        guard v.count >= 2 else { return nil }
        if v[0] == UInt8(ascii: "[") {
            guard let close = v.firstIndex(of: UInt8(ascii: "]")) else { return nil }
            guard let a = IPAddress.parseIPv6(v.slice(1, close)) else { return nil }
            self = a
            return
        }
        // IPv4, possibly with ":port".
        var colons = 0
        var dots = 0
        for i in 0..<v.count {
            let c = v[i]
            if c == UInt8(ascii: ":") { colons += 1 } else if c == UInt8(ascii: ".") { dots += 1 }
        }
        if colons <= 1 && dots == 3 {
            let end = colons == 1 ? v.firstIndex(of: UInt8(ascii: ":"))! : v.count
            guard let value = IPAddress.parseIPv4(v.slice(0, end)) else { return nil }
            self.init(ipv4: value)
            return
        }
        if colons >= 2 {
            // Strip a zone id (%eth0).
            let end = v.firstIndex(of: UInt8(ascii: "%")) ?? v.count
            guard let a = IPAddress.parseIPv6(v.slice(0, end)) else { return nil }
            self = a
            return
        }
        return nil
    }

    /// Parses dotted-quad IPv4 with no decorations.
    @inlinable
    public static func parseIPv4(_ v: ByteView) -> UInt32? {
        var value: UInt32 = 0
        var part: UInt32 = 0
        var digits = 0
        var parts = 0
        for i in 0..<v.count {
            let c = v[i]
            if c == UInt8(ascii: ".") {
                if digits == 0 || parts == 3 { return nil }
                value = value << 8 | part
                parts += 1
                part = 0
                digits = 0
            } else {
                let d = c &- 0x30
                if d > 9 || digits == 3 { return nil }
                part = part * 10 + UInt32(d)
                if part > 255 { return nil }
                digits += 1
            }
        }
        if digits == 0 || parts != 3 { return nil }
        return value << 8 | part
    }

    /// Parses IPv6 text (with `::` and an optional embedded IPv4 tail) with no decorations.
    public static func parseIPv6(_ v: ByteView) -> IPAddress? {
        var groups = [UInt16](repeating: 0, count: 8)
        var count = 0
        var gap = -1
        var i = 0
        let n = v.count
        if n < 2 { return nil }
        if v[0] == UInt8(ascii: ":") {
            guard v[1] == UInt8(ascii: ":") else { return nil }
            gap = 0
            i = 2
            if i == n { return IPAddress(high: 0, low: 0) }
        }
        while i < n {
            if count == 8 { return nil }
            // Embedded IPv4 tail?
            var j = i
            var sawDot = false
            while j < n && v[j] != UInt8(ascii: ":") {
                if v[j] == UInt8(ascii: ".") { sawDot = true }
                j += 1
            }
            if sawDot {
                guard j == n, count <= 6, let v4 = parseIPv4(v.slice(i, n)) else { return nil }
                groups[count] = UInt16(v4 >> 16)
                groups[count + 1] = UInt16(v4 & 0xFFFF)
                count += 2
                i = n
                break
            }
            if j - i == 0 || j - i > 4 { return nil }
            var g: UInt16 = 0
            for k in i..<j {
                let c = v[k]
                let d: UInt8
                if c &- 0x30 <= 9 {
                    d = c &- 0x30
                } else if lowercaseASCII(c) &- 0x61 <= 5 {
                    d = lowercaseASCII(c) &- 0x61 &+ 10
                } else {
                    return nil
                }
                g = g << 4 | UInt16(d)
            }
            groups[count] = g
            count += 1
            i = j
            if i < n {
                // At a colon.
                if i + 1 < n && v[i + 1] == UInt8(ascii: ":") {
                    if gap >= 0 { return nil }
                    gap = count
                    i += 2
                } else {
                    i += 1
                    if i == n { return nil }
                }
            }
        }
        if gap >= 0 {
            if count == 8 { return nil }
            let tail = count - gap
            var full = [UInt16](repeating: 0, count: 8)
            for k in 0..<gap { full[k] = groups[k] }
            for k in 0..<tail { full[8 - tail + k] = groups[gap + k] }
            groups = full
        } else if count != 8 {
            return nil
        }
        var high: UInt64 = 0
        var low: UInt64 = 0
        for k in 0..<4 { high = high << 16 | UInt64(groups[k]) }
        for k in 4..<8 { low = low << 16 | UInt64(groups[k]) }
        return IPAddress(high: high, low: low)
    }
}

/// A network prefix such as `10.0.0.0/8` or `2001:db8::/32`.
public struct CIDR: Sendable, Hashable, CustomStringConvertible {
    /// The network address, with host bits cleared.
    public var network: IPAddress
    /// Prefix length in the address's own family (0–32 for IPv4, 0–128 for IPv6).
    public var prefixLength: Int

    /// Parses `a.b.c.d/len`, `x::/len`, or a bare address (a host route).
    public init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1)
        guard let first = parts.first, let address = IPAddress(parsing: String(first)) else { return nil }
        let maxLength = address.isIPv4 ? 32 : 128
        var length = maxLength
        if parts.count == 2 {
            guard let l = Int(parts[1]), l >= 0, l <= maxLength else { return nil }
            length = l
        }
        prefixLength = length
        network = address.masked(to: length)
    }

    /// Whether `address` lies inside this network.
    @inlinable
    public func contains(_ address: IPAddress) -> Bool {
        if network.isIPv4 != address.isIPv4 { return false }
        return address.masked(to: prefixLength) == network
    }

    public var description: String { "\(network)/\(prefixLength)" }
}
