extension DetectionEngine {
    /// Loads every stored key, the population's endpoints and the watermark.
    /// - Parameter store: The state store.
    /// - Returns: The number of events the state has learned from so far.
    /// - Throws: ``StoreError`` when the store cannot be read; ``BaselineDecodingError`` when a
    ///   stored baseline is damaged or too new.
    @discardableResult
    public mutating func load(from store: StateStore) throws -> Int64 {
        for key in try store.loadKeys() {
            load(keyID: key.id, hint: key.hint, state: try KeyState(decoding: key.baseline))
        }
        for endpoint in try store.loadEndpoints() {
            loadEndpoint(
                hash: UInt64(bitPattern: endpoint.hash), text: endpoint.methodTemplate, firstSeen: endpoint.firstSeenMs,
                keys: UInt32(clamping: endpoint.keys)
            )
        }
        if let text = try store.meta(StateStore.Meta.watermarkMs), let watermark = Int64(text) {
            restoreWatermark(watermark)
        }
        if let text = try store.meta(StateStore.Meta.crowd) { restoreCrowd(text) }
        return Int64(try store.meta(StateStore.Meta.eventsTotal) ?? "0") ?? 0
    }
}

extension Checkpoint {
    /// The store's form of a detection snapshot.
    /// - Parameters:
    ///   - snapshot: What changed.
    ///   - eventsTotal: Events learned from in all runs, this snapshot included.
    public init(_ snapshot: StateSnapshot, eventsTotal: Int64) {
        self.init(
            keys: snapshot.keys.map {
                StoredKey(
                    id: $0.id, hint: $0.hint, firstSeenMs: $0.state.baseline.firstSeen,
                    lastSeenMs: $0.state.baseline.lastSeen, requests: $0.state.baseline.requests,
                    baseline: $0.state.encoded()
                )
            },
            endpoints: snapshot.endpoints.map {
                StoredEndpoint(
                    hash: Int64(bitPattern: $0.hash), methodTemplate: $0.endpoint.text,
                    firstSeenMs: $0.endpoint.firstSeen, keys: Int64($0.endpoint.keys)
                )
            },
            alerts: snapshot.alerts.map {
                StoredAlert(
                    id: $0.id, timeMs: $0.time, keyID: $0.keyID, kind: $0.kind.rawValue, severity: $0.severity.rawValue,
                    json: $0.json
                )
            },
            meta: snapshot.watermark == .min
                ? [StateStore.Meta.eventsTotal: String(eventsTotal), StateStore.Meta.crowd: snapshot.crowd]
                : [
                    StateStore.Meta.watermarkMs: String(snapshot.watermark),
                    StateStore.Meta.eventsTotal: String(eventsTotal), StateStore.Meta.crowd: snapshot.crowd,
                ]
        )
    }
}
