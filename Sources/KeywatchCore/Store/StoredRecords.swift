/// One key's row in the state store: its id, masked hint, activity span and learned baseline.
///
/// Never a raw key: ``id`` is `k_` and 24 hex digits (``KeyFingerprinter``), ``hint`` is masked
/// (``KeyHint``). ``StateStore/checkpoint(_:)`` refuses anything else.
public struct StoredKey: Sendable, Hashable {
    /// The key id: `k_` and 24 lowercase hex digits.
    public var id: String
    /// The masked hint, such as `ak_live_Q7…nD`.
    public var hint: String
    /// Time of the first request seen, in milliseconds since 1970.
    public var firstSeenMs: Int64
    /// Time of the last request seen, in milliseconds since 1970.
    public var lastSeenMs: Int64
    /// Requests seen in all.
    public var requests: Int64
    /// The baseline, encoded by the baseline module; opaque to the store.
    public var baseline: [UInt8]

    /// Creates a key row.
    public init(id: String, hint: String, firstSeenMs: Int64, lastSeenMs: Int64, requests: Int64, baseline: [UInt8]) {
        self.id = id
        self.hint = hint
        self.firstSeenMs = firstSeenMs
        self.lastSeenMs = lastSeenMs
        self.requests = requests
        self.baseline = baseline
    }
}

/// Population-level statistics for one endpoint template.
public struct StoredEndpoint: Sendable, Hashable {
    /// A stable 64-bit hash of ``methodTemplate``; the row's primary key.
    public var hash: Int64
    /// Method and template, such as `GET /v1/users/{id}`.
    public var methodTemplate: String
    /// Time the endpoint was first seen, in milliseconds since 1970.
    public var firstSeenMs: Int64
    /// How many keys have called it.
    public var keys: Int64

    /// Creates an endpoint row.
    public init(hash: Int64, methodTemplate: String, firstSeenMs: Int64, keys: Int64) {
        self.hash = hash
        self.methodTemplate = methodTemplate
        self.firstSeenMs = firstSeenMs
        self.keys = keys
    }
}

/// An alert as stored: its deterministic id, a few columns to query by, and its redacted JSON.
public struct StoredAlert: Sendable, Hashable {
    /// The deterministic alert id; storing the same id twice keeps the first.
    public var id: String
    /// Event time of the alert, in milliseconds since 1970.
    public var timeMs: Int64
    /// The key id the alert is about (`k_` and 24 hex digits).
    public var keyID: String
    /// The alert kind's stable name, such as `rate_spike`.
    public var kind: String
    /// The severity's name, such as `high`.
    public var severity: String
    /// The alert as JSON, already redacted.
    public var json: String

    /// Creates an alert row.
    public init(id: String, timeMs: Int64, keyID: String, kind: String, severity: String, json: String) {
        self.id = id
        self.timeMs = timeMs
        self.keyID = keyID
        self.kind = kind
        self.severity = severity
        self.json = json
    }
}

/// What changed since the last checkpoint; ``StateStore/checkpoint(_:)`` writes it in one transaction.
///
/// ```swift
/// var batch = Checkpoint()
/// batch.keys = changedKeys                       // upserted
/// batch.alerts = newAlerts                       // inserted unless the id is already there
/// batch.meta[StateStore.Meta.watermarkMs] = String(lastEventMs)
/// batch.positions = tailer.positions()           // replaces all stored positions; nil keeps them
/// try store.checkpoint(batch)
/// ```
public struct Checkpoint: Sendable {
    /// Keys to insert or replace, by id.
    public var keys: [StoredKey]
    /// Endpoints to insert or replace, by hash.
    public var endpoints: [StoredEndpoint]
    /// Alerts to insert; an alert whose id is already stored is skipped, so replays are idempotent.
    public var alerts: [StoredAlert]
    /// Metadata values to set, by name (see ``StateStore/Meta``).
    public var meta: [String: String]
    /// The read positions of the followed files, or nil to leave the stored ones as they are.
    ///
    /// A list replaces the stored positions whole: a path not in it is forgotten, so a file that is no
    /// longer followed does not linger. Give every position the tailer has (``FileTailer/positions()``),
    /// taken after the last line whose effects are in this checkpoint.
    public var positions: [TailPosition]?
    /// Alerts to queue for delivery, one item per alert and sink; an `(alert id, sink)` already queued
    /// is skipped, so a replay never queues an alert twice (see ``OutboxItem``).
    public var outbox: [OutboxItem]

    /// Creates a checkpoint.
    public init(
        keys: [StoredKey] = [],
        endpoints: [StoredEndpoint] = [],
        alerts: [StoredAlert] = [],
        meta: [String: String] = [:],
        positions: [TailPosition]? = nil,
        outbox: [OutboxItem] = []
    ) {
        self.keys = keys
        self.endpoints = endpoints
        self.alerts = alerts
        self.meta = meta
        self.positions = positions
        self.outbox = outbox
    }
}
