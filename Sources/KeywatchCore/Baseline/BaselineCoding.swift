extension KeyBaseline {
    /// The baseline as compact versioned bytes for the state store (little-endian, no key material).
    public func encoded() -> [UInt8] {
        var w = ByteWriter(capacity: 512)
        encode(into: &w)
        return w.bytes
    }

    func encode(into w: inout ByteWriter) {
        w.append(Self.encodingVersion)
        w.append(firstSeen)
        w.append(lastSeen)
        w.append(requests)
        w.append(longestGap)
        countries.encode(into: &w)
        asns.encode(into: &w)
        networks.encode(into: &w)
        endpoints.encode(into: &w)
        userAgents.encode(into: &w)
        w.append(methods)
        for v in [status2xx, status3xx, authFailures, status429, status4xx, status5xx] { w.append(v) }
        for i in 0..<4 { w.append(addressSketch[i]) }
        for v in hourMean { w.append(v) }
        for v in peak10 { w.append(v) }
        for v in peak30 { w.append(v) }
        for v in daily { w.append(v) }
        w.append(daysLearned)
        w.append(dayHead)
        w.append(hourHead)
        w.append(hourCount)
        w.append(hourPeak10)
        w.append(hourPeak30)
        for v in recentHours { w.append(v) }
        w.append(previous23)
        w.append(minuteHead)
        for v in minutes { w.append(v) }
        w.append(window10)
        w.append(window30)
        for v in authMinutes { w.append(v) }
        w.append(authWindow10)
    }

    /// Reads bytes written by ``encoded()``.
    /// - Throws: ``BaselineDecodingError`` when the bytes are truncated or from a newer version.
    public init(decoding bytes: [UInt8]) throws(BaselineDecodingError) {
        var r = ByteReader(bytes)
        try self.init(decoding: &r)
    }

    init(decoding r: inout ByteReader) throws(BaselineDecodingError) {
        let version = try r.read(UInt8.self)
        guard version == Self.encodingVersion else { throw .unsupportedVersion(version) }
        self.init()
        firstSeen = try r.read(Int64.self)
        lastSeen = try r.read(Int64.self)
        requests = try r.read(Int64.self)
        longestGap = try r.read(Int64.self)
        countries = try ValueStats(decoding: &r)
        asns = try ValueStats(decoding: &r)
        networks = try ValueStats(decoding: &r)
        endpoints = try ValueStats(decoding: &r)
        userAgents = try ValueStats(decoding: &r)
        methods = try r.read(UInt16.self)
        status2xx = try r.read(UInt32.self)
        status3xx = try r.read(UInt32.self)
        authFailures = try r.read(UInt32.self)
        status429 = try r.read(UInt32.self)
        status4xx = try r.read(UInt32.self)
        status5xx = try r.read(UInt32.self)
        for i in 0..<4 { addressSketch[i] = try r.read(UInt64.self) }
        for i in 0..<24 { hourMean[i] = try r.read(Float.self) }
        for i in 0..<24 { peak10[i] = try r.read(Float.self) }
        for i in 0..<24 { peak30[i] = try r.read(Float.self) }
        var ring = FixedArray<28, UInt32>(repeating: 0)
        for i in ring.indices { ring[i] = try r.read(UInt32.self) }
        daysLearned = try r.read(UInt16.self)
        dayHead = try r.read(Int32.self)
        setDaily(ring)
        hourHead = try r.read(Int32.self)
        hourCount = try r.read(UInt32.self)
        hourPeak10 = try r.read(UInt16.self)
        hourPeak30 = try r.read(UInt16.self)
        for i in recentHours.indices { recentHours[i] = try r.read(UInt32.self) }
        previous23 = try r.read(UInt32.self)
        minuteHead = try r.read(Int32.self)
        for i in minutes.indices { minutes[i] = try r.read(UInt16.self) }
        window10 = try r.read(UInt32.self)
        window30 = try r.read(UInt32.self)
        for i in authMinutes.indices { authMinutes[i] = try r.read(UInt16.self) }
        authWindow10 = try r.read(UInt32.self)
    }
}
