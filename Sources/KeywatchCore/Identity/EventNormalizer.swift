/// Turns a format's ``RawFields`` into an ``AccessEvent``: resolves the client address behind trusted
/// proxies, picks and fingerprints the credential, and templates the endpoint.
///
/// It owns the run's key and endpoint tables; one normaliser serves one consumer thread.
///
/// ```swift
/// var normalizer = EventNormalizer(fingerprinter: try KeyFingerprinter(stateDirectory: "baselines"))
/// if let event = normalizer.normalize(fields, source: SourceRef(input: 0, line: 1)) {
///     print(normalizer.keys[event.key!].hint)
/// }
/// ```
public struct EventNormalizer {
    /// Query parameters that carry a credential by default.
    public static let defaultQueryKeyParameters = ["api_key", "apikey", "api-key", "key", "access_token", "x-api-key"]
    /// Networks whose addresses are taken as proxies by default: loopback, private and link-local ranges.
    public static let defaultTrustedProxies = [
        "127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16", "::1/128", "fc00::/7",
        "fe80::/10",
    ].compactMap { CIDR($0) }

    /// The keys seen so far.
    public private(set) var keys: KeyRegistry
    /// The endpoint templates seen so far.
    public private(set) var endpoints = ByteInterner(capacity: 200_000)
    private let templater: EndpointTemplater
    private let trustedProxies: [CIDR]
    private let queryKeyParameters: [[UInt8]]
    private let explicitQueryParameter: [UInt8]?
    private let templateScratch = TemplateScratch()
    private let overflowEndpoint: EndpointID

    /// Creates a normaliser.
    /// - Parameters:
    ///   - fingerprinter: Makes key ids.
    ///   - trustedProxies: Proxies whose X-Forwarded-For entries are believed.
    ///   - endpointPatterns: User endpoint templates, tried first.
    ///   - keyField: `--key-field`; for text input a query parameter name also counts.
    public init(
        fingerprinter: KeyFingerprinter,
        trustedProxies: [CIDR] = EventNormalizer.defaultTrustedProxies,
        endpointPatterns: [EndpointPattern] = [],
        keyField: String? = nil
    ) {
        keys = KeyRegistry(fingerprinter: fingerprinter)
        templater = EndpointTemplater(patterns: endpointPatterns)
        self.trustedProxies = trustedProxies
        queryKeyParameters = EventNormalizer.defaultQueryKeyParameters.map { Array($0.utf8) }
        explicitQueryParameter = keyField.map { Array($0.utf8) }
        var interner = ByteInterner(capacity: 200_000)
        overflowEndpoint = Array("{other}".utf8).withUnsafeBufferPointer {
            interner.intern(ByteView(base: $0.baseAddress, count: $0.count))!
        }
        endpoints = interner
    }

    /// The template text of `endpoint`.
    public func endpointName(_ endpoint: EndpointID) -> String { endpoints.string(endpoint) }

    /// Times an event may have: from 1970 up to (not including) 2200, in milliseconds. A clock
    /// further off is not a log time, and the baseline's per-minute and per-day rings index by
    /// minute and day numbers since 1970.
    static let plausibleTimes: Range<Int64> = 0..<7_258_118_400_000

    /// Normalises one record.
    /// - Parameters:
    ///   - fields: What the format read; `timeMillis` must be set.
    ///   - source: Where the record came from.
    /// - Returns: The event, or `nil` when the record has no time or one outside ``plausibleTimes``
    ///   (counted as a bad timestamp).
    public mutating func normalize(_ fields: RawFields, source: SourceRef) -> AccessEvent? {
        var f = fields
        return normalize(&f, source: source)
    }

    /// Normalises one record in place (the credential choice is written back into `f`); the hot path's form.
    @inline(__always)
    mutating func normalize(_ f: inout RawFields, source: SourceRef) -> AccessEvent? {
        guard let time = f.timeMillis, Self.plausibleTimes.contains(time) else { return nil }
        if f.keySource < .bearer, !f.authorization.isEmpty {
            let auth = f.authorization.trimmed()
            if auth.count > 7 && auth.hasPrefixIgnoringCase("bearer ") {
                f.offerKey(auth.slice(7, auth.count).trimmed(), from: .bearer)
            }
        }
        // Only look for the query when a query key could still win: most lines carry a header key.
        if f.keySource < .query {
            var query = f.query
            if query.isEmpty, let q = f.target.firstIndex(of: UInt8(ascii: "?")) {
                query = f.target.slice(q + 1, f.target.count)
            }
            if !query.isEmpty { offerQueryKey(query, to: &f) }
        }
        var key: KeyHandle?
        if f.keySource != .none { key = keys.handle(for: f.key, source: f.keySource) }

        let gateway = f.gatewayEndpoint
        let endpoint: EndpointID
        if !gateway.isEmpty && !gateway.isMissing {
            endpoint =
                endpoints.intern(gateway.count > EndpointTemplater.maxLength ? gateway.slice(0, 200) : gateway)
                ?? overflowEndpoint
        } else {
            let length = templater.template(of: f.target, into: templateScratch)
            endpoint =
                endpoints.intern(ByteView(base: UnsafePointer(templateScratch.base), count: length)) ?? overflowEndpoint
        }
        return AccessEvent(
            time: time,
            client: resolveClient(remote: f.remoteAddress, forwardedFor: f.forwardedFor),
            key: key,
            method: HTTPMethod(f.method),
            endpoint: endpoint,
            status: UInt16(clamping: f.status),
            bytes: f.bytes ?? -1,
            latencyMillis: f.latencyMillis.map { Float($0) } ?? .nan,
            userAgentHash: f.userAgent.isMissing ? 0 : FastHash.hash(f.userAgent, seed: 0xA6E7),
            source: source
        )
    }

    private func offerQueryKey(_ query: ByteView, to f: inout RawFields) {
        var i = 0
        let n = query.count
        while i < n {
            var end = i
            while end < n && query[end] != UInt8(ascii: "&") { end += 1 }
            let pair = query.slice(i, end)
            if let eq = pair.firstIndex(of: UInt8(ascii: "=")) {
                let name = pair.slice(0, eq)
                let value = pair.slice(eq + 1, pair.count)
                if let explicit = explicitQueryParameter, name.equalsIgnoringCase(explicit) {
                    f.offerKey(value, from: .explicit)
                } else {
                    for candidate in queryKeyParameters where name.equalsIgnoringCase(candidate) {
                        f.offerKey(value, from: .query)
                        break
                    }
                }
            }
            i = end + 1
        }
    }

    /// Picks the client: walking the hops (X-Forwarded-For entries, then the peer) from the nearest,
    /// skip trusted proxies; the first untrusted hop is the client. A peer field that itself holds a
    /// list (`203.0.113.9, 10.0.0.1`) is read the same way.
    public func resolveClient(remote: ByteView, forwardedFor: ByteView) -> IPAddress? {
        // Fast path: a single peer address that is not a trusted proxy, most often a bare dotted quad.
        if let v4 = EventNormalizer.dottedQuad(remote) {
            let peer = IPAddress(ipv4: v4)
            if forwardedFor.isMissing || !isTrusted(peer) { return peer }
        } else if remote.firstIndex(of: UInt8(ascii: ",")) == nil, let peer = IPAddress(remote) {
            if forwardedFor.isMissing || !isTrusted(peer) { return peer }
        }
        var hops: [IPAddress] = []
        func collect(_ list: ByteView) {
            if list.isMissing { return }
            var i = 0
            while i < list.count {
                var end = i
                while end < list.count && list[end] != UInt8(ascii: ",") { end += 1 }
                if let address = IPAddress(list.slice(i, end)) { hops.append(address) }
                i = end + 1
            }
        }
        collect(forwardedFor)
        collect(remote)
        guard !hops.isEmpty else { return nil }
        for hop in hops.reversed() where !isTrusted(hop) { return hop }
        return hops[0]
    }

    /// A bare dotted quad (`203.0.113.9`, what ``IPAddress/parseIPv4(_:)`` accepts) read octet by octet
    /// without a per-byte state machine; `nil` for anything else, which the general parser then reads.
    ///
    /// Each octet's one to three digits are read together and its length is chosen by flags rather
    /// than branches: client addresses vary in octet length from line to line, and a branch per
    /// digit was mispredicted on most of them.
    @inline(__always)
    static func dottedQuad(_ v: ByteView) -> UInt32? {
        let n = v.count
        guard n >= 7 && n <= 15, let p = v.base else { return nil }
        var i = 0
        var value: UInt32 = 0
        for part in 0..<4 {
            guard i < n else { return nil }
            let c0 = UInt32(p[i] &- 0x30)
            guard c0 <= 9 else { return nil }
            // The next two bytes, read inside the view (a clamped index), count only when present.
            let c1 = UInt32(p[min(i &+ 1, n &- 1)] &- 0x30)
            let c2 = UInt32(p[min(i &+ 2, n &- 1)] &- 0x30)
            let has1: UInt32 = (i &+ 1 < n ? 1 : 0) & (c1 <= 9 ? 1 : 0)
            let has2: UInt32 = has1 & (i &+ 2 < n ? 1 : 0) & (c2 <= 9 ? 1 : 0)
            let two = c0 &* 10 &+ c1
            let octet = has2 != 0 ? two &* 10 &+ c2 : (has1 != 0 ? two : c0)
            guard octet <= 255 else { return nil }
            value = value << 8 | octet
            i = i &+ 1 &+ Int(has1 &+ has2)
            if part < 3 {
                guard i < n, p[i] == UInt8(ascii: ".") else { return nil }
                i &+= 1
            }
        }
        return i == n ? value : nil
    }

    func isTrusted(_ address: IPAddress) -> Bool {
        for network in trustedProxies where network.contains(address) { return true }
        return false
    }
}
