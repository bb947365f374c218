import CPrefetch

/// Learns every key's baseline and raises alerts, one event at a time, in event-time order.
///
/// The engine owns all per-key state (``KeyState``) and the population-wide endpoint table used to
/// tell a key's first call of a common endpoint from a call nobody has ever made. It is a plain
/// value with one owner: the analysis loop (batch) or the detect task (live).
///
/// ```swift
/// var engine = DetectionEngine(settings: DetectionSettings(), geo: resolver)
/// for (id, hint, state) in stored { engine.load(keyID: id, hint: hint, state: state) }
/// engine.observe(event, identity: identity, endpoint: "/v1/orders/{id}", source: "access.log:12", into: &alerts)
/// ```
public struct DetectionEngine {
    /// One tracked key.
    public struct TrackedKey: Sendable {
        /// Changed since the last checkpoint. (Declared first, with the state after it: the first few
        /// hundred bytes of a tracked key are what a request reads; the id and hint lie beyond.)
        public var dirty: Bool
        public var state: KeyState
        public var id: String
        public var hint: String
    }

    /// One endpoint as the whole population uses it.
    public struct PopulationEndpoint: Sendable, Hashable {
        /// `METHOD /template`.
        public var text: String
        public var firstSeen: Int64
        /// Keys that have called it.
        public var keys: UInt32
        public var dirty: Bool
    }

    private struct EndpointInfo {
        var hash: UInt64
        var sensitive: Bool
    }

    public var settings: DetectionSettings
    /// Display names of the run's inputs, by ``SourceRef/input``, for alert sources.
    public var inputNames: [String] = []
    /// The geography source (databases, networks file, or the /24 fallback).
    public var geo: GeoResolver
    /// Tracked keys, in the order they were first seen (a copy: use ``keyCount`` and ``key(at:)``
    /// to look at a few).
    public var keys: [TrackedKey] { (0..<tracked.count).map { tracked[$0] } }
    /// How many keys are tracked.
    public var keyCount: Int { tracked.count }
    /// The key at `slot` (`0..<keyCount`).
    public func key(at slot: Int) -> TrackedKey { tracked[slot] }
    private var tracked = TrackedKeys()
    /// Key id to position in ``keys``.
    public private(set) var keyIndex: [String: Int] = [:]
    /// Endpoint hash to population statistics.
    public private(set) var population: [UInt64: PopulationEndpoint] = [:]
    /// Alerts raised, by kind and severity.
    public internal(set) var alertCounts: [AlertKind: [Severity: Int]] = [:]
    /// Events with a key that were observed.
    public private(set) var eventsObserved = 0
    /// The latest event time observed.
    public private(set) var watermark: Int64 = .min

    private var handleSlots: [Int32] = []
    var quotaCache: [QuotaReference] = []
    /// When recent rate and auth-failure episodes began, across all keys, to tell a gateway-wide event
    /// from one key's anomaly.
    var crowd = CrowdTracker()
    /// By run-table endpoint id and method (`id * methods + method`).
    private var endpointInfo: [EndpointInfo?] = []
    private var namedEndpointInfo: [NamedEndpoint: EndpointInfo] = [:]
    /// `METHOD template` by endpoint hash, for every endpoint seen in this run, so the per-event
    /// path carries a hash, never a string.
    private var endpointNames: [UInt64: String] = [:]

    private struct NamedEndpoint: Hashable {
        var template: String
        var method: HTTPMethod
    }

    /// Creates an engine with no keys.
    public init(settings: DetectionSettings = DetectionSettings(), geo: GeoResolver) {
        self.settings = settings
        self.geo = geo
    }

    /// Adds a key from the state store.
    public mutating func load(keyID: String, hint: String, state: KeyState) {
        keyIndex[keyID] = tracked.count
        uniqueKeys().append(TrackedKey(dirty: false, state: state, id: keyID, hint: hint))
    }

    /// Adds an endpoint's population statistics from the state store.
    public mutating func loadEndpoint(hash: UInt64, text: String, firstSeen: Int64, keys count: UInt32) {
        population[hash] = PopulationEndpoint(text: text, firstSeen: firstSeen, keys: count, dirty: false)
    }

    /// Restores the watermark from the state store.
    public mutating func restoreWatermark(_ time: Int64) { watermark = max(watermark, time) }

    /// Spikes that began across keys within the crowd window before the watermark, by key id, as
    /// the store keeps them (``StateStore/Meta/crowd``).
    public var crowdState: String { crowd.encoded(now: watermark) { identity(at: $0).id } }

    /// Restores ``crowdState`` from the state store; call after the keys are loaded.
    public mutating func restoreCrowd(_ text: String) {
        let index = keyIndex
        crowd = CrowdTracker(decoding: text) { index[$0] }
    }

    /// Clears the dirty marks after a checkpoint was written.
    public mutating func markClean() {
        let keys = uniqueKeys()
        for slot in 0..<keys.count { keys.pointer(slot).pointee.dirty = false }
        for (hash, value) in population where value.dirty { population[hash]?.dirty = false }
    }

    /// Keys changed since the last checkpoint.
    public var dirtyKeys: [TrackedKey] {
        (0..<tracked.count).filter { tracked.pointer($0).pointee.dirty }.map { tracked[$0] }
    }
    /// Endpoints changed since the last checkpoint.
    public var dirtyEndpoints: [(hash: UInt64, endpoint: PopulationEndpoint)] {
        population.filter(\.value.dirty).map { ($0.key, $0.value) }
    }

    // MARK: - Observation

    /// Learns from one event and appends any alerts it raises.
    ///
    /// Events must come in event-time order (the merge guarantees it within its window). Events
    /// without a key are ignored.
    /// - Parameters:
    ///   - event: The event.
    ///   - identity: The event's key (id and hint), `nil` for an unauthenticated request.
    ///   - endpoint: The endpoint template (without the method).
    ///   - source: `file:line`, for the alert.
    ///   - alerts: Where raised alerts go.
    public mutating func observe(
        _ event: AccessEvent, identity: KeyIdentity?, endpoint: String, source: @autoclosure () -> String,
        into alerts: inout [Alert]
    ) {
        guard let identity else { return }
        let slot = keyIndex[identity.id] ?? newKey(identity)
        let info = endpointInfo(template: endpoint, method: event.method)
        observe(event, slot: slot, endpointHash: info.hash, sensitive: info.sensitive, fixedSource: source(), into: &alerts)
    }

    /// The hot-path form used by the analysis loop: run-wide handles instead of strings.
    mutating func observe(_ event: AccessEvent, tables: borrowing RunTables, into alerts: inout [Alert]) {
        guard let handle = event.key else { return }
        let h = Int(handle)
        if h >= handleSlots.count { handleSlots.append(contentsOf: repeatElement(-1, count: h + 1 - handleSlots.count)) }
        var slot = Int(handleSlots[h])
        if slot < 0 {
            let identity = tables.keys[h]
            slot = keyIndex[identity.id] ?? newKey(identity)
            handleSlots[h] = Int32(slot)
        }
        let e = Int(event.endpoint) &* Self.methodCount &+ Int(event.method.rawValue)
        let info: EndpointInfo
        if e < endpointInfo.count, let known = endpointInfo[e] {
            info = known
        } else {
            info = endpointInfo(template: tables.endpoints[Int(event.endpoint)], method: event.method)
            if e >= endpointInfo.count { endpointInfo.append(contentsOf: repeatElement(nil, count: e + 1 - endpointInfo.count)) }
            endpointInfo[e] = info
        }
        observe(event, slot: slot, endpointHash: info.hash, sensitive: info.sensitive, fixedSource: nil, into: &alerts)
    }

    /// Asks the CPU to bring keys (by run handle) into cache before ``observe(_:tables:into:)``
    /// needs them: the state of the `far` key, and the value tables of the `near` one, whose state
    /// was asked for earlier (the tables are found through it). Has no effect on results.
    func prefetch(far: KeyHandle?, near: KeyHandle?) {
        if let far { prefetch(key: far, tables: false) }
        if let near { prefetch(key: near, tables: true) }
    }

    private func prefetch(key handle: KeyHandle, tables: Bool) {
        guard Int(handle) < handleSlots.count else { return }
        let slot = Int(handleSlots[Int(handle)])
        guard slot >= 0 && slot < tracked.count else { return }
        let key = UnsafeRawPointer(tracked.base + slot)
        if tables {
            // An array is one reference to its storage object: a 32-byte header, then the elements.
            // The reference is read as a plain word, so nothing is retained (a wrong guess would only
            // make a useless hint: prefetching never faults).
            @inline(__always) func table(at offset: Int, lines: Int) {
                let storage = key.load(fromByteOffset: offset, as: UInt.self)
                guard let object = UnsafeRawPointer(bitPattern: storage) else { return }
                for line in 0..<lines { keywatch_prefetch(object + line * 64) }
            }
            let offsets = layout.tables
            table(at: offsets.countries, lines: 1)
            table(at: offsets.asns, lines: 1)
            table(at: offsets.networks, lines: 2)
            table(at: offsets.endpoints, lines: 2)
            table(at: offsets.userAgents, lines: 2)
        } else {
            for offset in stride(from: 0, to: layout.hotBytes, by: 64) { keywatch_prefetch(key + offset) }
        }
    }

    /// Where the prefetched parts of a tracked key lie, kept in the engine: a `static let` is
    /// initialised lazily, so reading one would cost a call (`swift_once`) on every request.
    private let layout = PrefetchLayout()

    private struct PrefetchLayout {
        /// The leading bytes of a tracked key that a request reads: up to the per-day ring
        /// (``KeyBaseline`` declares its hot fields first).
        let hotBytes =
            MemoryLayout<TrackedKey>.offset(of: \TrackedKey.state.baseline.pastDaily) ?? MemoryLayout<TrackedKey>.stride

        /// Where a tracked key holds its value tables. ``prefetch(key:tables:)`` asks for one or two
        /// cache lines of each: a large table is searched through the tags at its start, and a
        /// small one fits in two lines (the buffer's header, then its first entries).
        let tables = (
            countries: MemoryLayout<TrackedKey>.offset(of: \TrackedKey.state.baseline.countries)!,
            asns: MemoryLayout<TrackedKey>.offset(of: \TrackedKey.state.baseline.asns)!,
            networks: MemoryLayout<TrackedKey>.offset(of: \TrackedKey.state.baseline.networks)!,
            endpoints: MemoryLayout<TrackedKey>.offset(of: \TrackedKey.state.baseline.endpoints)!,
            userAgents: MemoryLayout<TrackedKey>.offset(of: \TrackedKey.state.baseline.userAgents)!
        )
    }

    private mutating func newKey(_ identity: KeyIdentity) -> Int {
        keyIndex[identity.id] = tracked.count
        uniqueKeys().append(TrackedKey(dirty: true, state: KeyState(), id: identity.id, hint: identity.hint))
        return tracked.count - 1
    }

    /// The key buffer, copied first if another engine value shares it.
    private mutating func uniqueKeys() -> TrackedKeys {
        if !isKnownUniquelyReferenced(&tracked) { tracked = tracked.copy() }
        return tracked
    }

    /// The id and hint of the key at `slot`, read without touching its state (which a detector may
    /// be changing).
    func identity(at slot: Int) -> (id: String, hint: String) {
        let key = tracked.pointer(slot)
        return (key.pointee.id, key.pointee.hint)
    }

    private static let methodCount = HTTPMethod.allCases.count

    /// The endpoint's hash and sensitivity, computed once per template and method (callers on the
    /// hot path also cache it by run-table id); its name is kept for alerts and the population table.
    private mutating func endpointInfo(template: String, method: HTTPMethod) -> EndpointInfo {
        let key = NamedEndpoint(template: template, method: method)
        if let info = namedEndpointInfo[key] { return info }
        let info = EndpointInfo(
            hash: Self.endpointHash(method: method, template: template), sensitive: Self.isSensitive(template))
        namedEndpointInfo[key] = info
        endpointNames[info.hash] = "\(method) \(template)"
        return info
    }

    /// `METHOD template` of an endpoint seen in this run or stored.
    func endpointName(_ hash: UInt64) -> String {
        population[hash]?.text ?? endpointNames[hash] ?? "endpoint"
    }

    private mutating func observe(
        _ event: AccessEvent, slot: Int, endpointHash: UInt64, sensitive: Bool, fixedSource: String?,
        into alerts: inout [Alert]
    ) {
        // Ingest rejects such times; a library caller's event outside them is ignored, since the
        // baseline's rings index by minute and day numbers since 1970.
        guard EventNormalizer.plausibleTimes.contains(event.time) else { return }
        eventsObserved += 1
        let t = event.time
        watermark = max(watermark, t)
        let geoInfo: GeoInfo?
        let values: GeoValues
        if let client = event.client, geo.hasData {
            let info = geo.lookup(client)
            geoInfo = info
            values = GeoValues(
                country: info.country.map { UInt64($0.rawValue) },
                asn: info.asn.map { UInt64($0) },
                network: info.network.map { Self.networkHash($0) }
            )
        } else {
            // Without geographic data the network is the client's /24 or /48 (what the resolver would
            // answer): hashed straight from the address, and described only if an alert needs it.
            geoInfo = nil
            values = GeoValues(
                country: nil, asn: nil,
                network: event.client.map { Self.networkHash(GeoResolver.fallbackNetwork($0)) }
            )
        }
        let address = event.client.map { Self.mix($0.high ^ Self.mix($0.low)) } ?? 0

        let key = uniqueKeys().pointer(slot)
        key.pointee.dirty = true
        // The state is changed where it lies: no copy of its tables, no reference counting.
        update(
            &key.pointee.state, event: event, slot: slot, values: values, geoInfo: geoInfo, address: address,
            endpointHash: endpointHash, sensitive: sensitive, fixedSource: fixedSource, into: &alerts)
    }

    private mutating func update(
        _ state: inout KeyState, event: AccessEvent, slot: Int, values: GeoValues, geoInfo: GeoInfo?, address: UInt64,
        endpointHash: UInt64, sensitive: Bool, fixedSource: String?, into alerts: inout [Alert]
    ) {
        let t = event.time
        let wasEmpty = state.baseline.isEmpty
        let firstSeen = state.baseline.firstSeen
        let previousDay = state.baseline.dayHead
        let detect = !settings.learnOnly && !wasEmpty
        // Dormancy is judged on the baseline before this request.
        let before = detect && t - state.baseline.lastSeen >= settings.dormancyMillis
            ? DormancyFacts(state.baseline) : nil
        // History counts in whole UTC days from the day of the first request, so a key first seen at
        // 09:00 on the first day of the logs has the same seven days of history as one seen at 00:01.
        let mature = detect && t - (firstSeen - firstSeen % 86_400_000) >= settings.learningPeriodMillis
            && state.baseline.requests >= settings.minimumRequests
        state.baseline.advance(to: t)
        let context = AlertContext(
            slot: slot, time: t, sourceRef: event.source, fixedSource: fixedSource, status: event.status
        )

        if !state.episodes.isEmpty { state.expire(now: t, cooldown: settings.cooldownMillis) }

        // Dormancy is judged on the gap before this request; a key needs no maturity for it.
        if let before { dormant(&state, before: before, context: context, into: &alerts) }
        if mature {
            novelty(&state, values: values, geo: geoInfo, client: event.client, endpointHash: endpointHash,
                    sensitive: sensitive, context: context, into: &alerts)
        }

        let newEndpoint = state.baseline.record(
            time: t, status: event.status, method: event.method, geo: values, endpoint: endpointHash,
            userAgent: event.userAgentHash, address: address, limits: settings.limits
        )
        if newEndpoint { countAdopter(endpointHash, time: t) }

        if !state.episodes.isEmpty {
            continueEpisodes(&state, values: values, endpointHash: endpointHash, context: context, into: &alerts)
        }
        if mature {
            rate(&state, context: context, into: &alerts)
            quota(&state, context: context, into: &alerts)
            authFailures(&state, context: context, into: &alerts)
        }
        if state.baseline.dayHead != previousDay && !wasEmpty {
            state.baseline.forget(olderThan: settings.forgetAfterMillis, now: t)
        }
    }

    private mutating func countAdopter(_ hash: UInt64, time: Int64) {
        if population[hash] != nil {
            population[hash]!.keys += 1
            population[hash]!.dirty = true
        } else {
            population[hash] = PopulationEndpoint(text: endpointName(hash), firstSeen: time, keys: 1, dirty: true)
        }
    }
}

// MARK: - Hashes and classification

extension DetectionEngine {
    /// A stable 64-bit hash (FNV-1a) of `METHOD template`: the endpoint's identity in baselines.
    public static func endpointHash(method: HTTPMethod, template: String) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in method.description.utf8 {
            h = (h ^ UInt64(byte)) &* 0x100_0000_01b3
        }
        h = (h ^ 0x20) &* 0x100_0000_01b3
        for byte in template.utf8 {
            h = (h ^ UInt64(byte)) &* 0x100_0000_01b3
        }
        return h
    }

    /// Path words that mark an endpoint as sensitive: administration, internals, credentials, bulk export.
    public static let sensitiveWords: [String] = [
        "admin", "internal", "debug", "export", "keys", "api-keys", "apikeys", "credentials", "secrets", "secret",
        "impersonate", "audit", "sudo", "config", "actuator", "backup", "dump", ".env", "users/export", "billing",
    ]

    /// Whether an endpoint template looks sensitive (see ``sensitiveWords``), matching whole path segments
    /// or segment prefixes such as `admin-panel`.
    public static func isSensitive(_ template: String) -> Bool {
        for segment in template.lowercased().split(separator: "/") {
            for word in sensitiveWords where !word.contains("/") {
                if segment == word || segment.hasPrefix(word + "-") || segment.hasPrefix(word + "_")
                    || segment.hasPrefix(word + ".")
                {
                    return true
                }
            }
        }
        return false
    }

    static func networkHash(_ cidr: CIDR) -> UInt64 {
        mix(cidr.network.high ^ mix(cidr.network.low ^ UInt64(cidr.prefixLength)))
    }

    static func mix(_ x: UInt64) -> UInt64 {
        var z = x &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
