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
        public var id: String
        public var hint: String
        public var state: KeyState
        /// Changed since the last checkpoint.
        public var dirty: Bool
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
    /// Tracked keys.
    public private(set) var keys: [TrackedKey] = []
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
    private var endpointInfo: [[EndpointInfo?]] = []
    private var namedEndpointInfo: [NamedEndpoint: EndpointInfo] = [:]

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
        keyIndex[keyID] = keys.count
        keys.append(TrackedKey(id: keyID, hint: hint, state: state, dirty: false))
    }

    /// Adds an endpoint's population statistics from the state store.
    public mutating func loadEndpoint(hash: UInt64, text: String, firstSeen: Int64, keys count: UInt32) {
        population[hash] = PopulationEndpoint(text: text, firstSeen: firstSeen, keys: count, dirty: false)
    }

    /// Restores the watermark from the state store.
    public mutating func restoreWatermark(_ time: Int64) { watermark = max(watermark, time) }

    /// Clears the dirty marks after a checkpoint was written.
    public mutating func markClean() {
        for i in keys.indices where keys[i].dirty { keys[i].dirty = false }
        for (hash, value) in population where value.dirty { population[hash]?.dirty = false }
    }

    /// Keys changed since the last checkpoint.
    public var dirtyKeys: [TrackedKey] { keys.filter(\.dirty) }
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
        let info = endpointInfo(template: endpoint, method: event.method, id: nil)
        observe(
            event, slot: slot, endpointHash: info.hash, sensitive: info.sensitive,
            endpointText: "\(event.method) \(endpoint)", fixedSource: source(), into: &alerts)
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
        let info = endpointInfo(template: tables.endpoints[Int(event.endpoint)], method: event.method, id: event.endpoint)
        observe(
            event, slot: slot, endpointHash: info.hash, sensitive: info.sensitive,
            endpointText: "\(event.method) \(tables.endpoints[Int(event.endpoint)])", fixedSource: nil, into: &alerts)
    }

    private mutating func newKey(_ identity: KeyIdentity) -> Int {
        keyIndex[identity.id] = keys.count
        keys.append(TrackedKey(id: identity.id, hint: identity.hint, state: KeyState(), dirty: true))
        return keys.count - 1
    }

    /// The endpoint's hash and sensitivity, computed once per endpoint and method: by run-table id on
    /// the hot path, by template text for callers that pass strings.
    private mutating func endpointInfo(template: String, method: HTTPMethod, id: EndpointID?) -> EndpointInfo {
        func make() -> EndpointInfo {
            EndpointInfo(hash: Self.endpointHash(method: method, template: template), sensitive: Self.isSensitive(template))
        }
        guard let id else {
            let key = NamedEndpoint(template: template, method: method)
            if let info = namedEndpointInfo[key] { return info }
            let info = make()
            namedEndpointInfo[key] = info
            return info
        }
        let e = Int(id)
        let m = Int(method.rawValue)
        if e < endpointInfo.count, let info = endpointInfo[e][m] { return info }
        if e >= endpointInfo.count {
            endpointInfo.append(
                contentsOf: repeatElement(
                    [EndpointInfo?](repeating: nil, count: HTTPMethod.allCases.count), count: e + 1 - endpointInfo.count)
            )
        }
        let info = make()
        endpointInfo[e][m] = info
        return info
    }

    private mutating func observe(
        _ event: AccessEvent, slot: Int, endpointHash: UInt64, sensitive: Bool, endpointText: @autoclosure () -> String,
        fixedSource: String?, into alerts: inout [Alert]
    ) {
        eventsObserved += 1
        let t = event.time
        watermark = max(watermark, t)
        let geoInfo = event.client.map { geo.lookup($0) }
        let values = GeoValues(
            country: geoInfo?.country.map { UInt64($0.rawValue) },
            asn: geoInfo?.asn.map { UInt64($0) },
            network: geoInfo?.network.map { Self.networkHash($0) }
        )
        let address = event.client.map { Self.mix($0.high ^ Self.mix($0.low)) } ?? 0

        keys[slot].dirty = true
        // Move the state out, leaving the shared empty one in its place: nothing is allocated, and
        // `state` is the only reference to its tables, so they are changed in place, not copied.
        var state = Self.vacant
        swap(&state, &keys[slot].state)
        let wasEmpty = state.baseline.isEmpty
        let firstSeen = state.baseline.firstSeen
        let previousDay = state.baseline.dayHead
        let knewEndpoint = state.baseline.endpoints.contains(endpointHash)
        let detect = !settings.learnOnly && !wasEmpty
        // Dormancy is judged on the baseline before this request; a copy is kept only in that rare case.
        let before = detect && t - state.baseline.lastSeen >= settings.dormancyMillis ? state.baseline : nil
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
            novelty(&state, values: values, geo: geoInfo, endpointHash: endpointHash, sensitive: sensitive,
                    endpointText: endpointText, context: context, into: &alerts)
        }

        state.baseline.record(
            time: t, status: event.status, method: event.method, geo: values, endpoint: endpointHash,
            userAgent: event.userAgentHash, address: address, limits: settings.limits
        )
        if !knewEndpoint { countAdopter(endpointHash, time: t, text: endpointText()) }

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
        swap(&state, &keys[slot].state)
    }

    /// The placeholder a key's slot holds while its state is being updated. Its tables are the
    /// shared empty array, so putting it in and taking it out costs no reference counting on heap
    /// storage (a default `KeyState` owns seven small arrays). Nothing reads it.
    private static let vacant: KeyState = {
        var state = KeyState()
        state.baseline.hourMean = []
        state.baseline.peak10 = []
        state.baseline.peak30 = []
        state.baseline.daily = []
        state.baseline.recentHours = []
        state.baseline.minutes = []
        state.baseline.authMinutes = []
        return state
    }()

    private mutating func countAdopter(_ hash: UInt64, time: Int64, text: @autoclosure () -> String) {
        if population[hash] != nil {
            population[hash]!.keys += 1
            population[hash]!.dirty = true
        } else {
            population[hash] = PopulationEndpoint(text: text(), firstSeen: time, keys: 1, dirty: true)
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
