import GRDB

/// One alert waiting for (or done with) delivery to one sink, as a row of the state store's outbox.
///
/// The outbox is filled in the same transaction as a ``Checkpoint`` (``Checkpoint/outbox``), so an
/// alert is either stored and queued, or neither. `(alertID, sink)` is the primary key and rows are
/// inserted with `INSERT OR IGNORE`: the deterministic alert id is the idempotency key, so logs
/// replayed after a crash never queue an alert twice for the same sink.
public struct OutboxItem: Sendable, Hashable {
    /// The alert's deterministic id (``Alert/id``).
    public var alertID: String
    /// The sink's name, such as a webhook URL without credentials or query (``WebhookEndpoint/name``).
    public var sink: String
    /// The exact request body to deliver (the alert JSON, or a Slack message).
    public var body: String
    /// When the item was queued, in milliseconds since 1970 (wall clock).
    public var createdMs: Int64
    /// Delivery attempts so far.
    public var attempts: Int
    /// The earliest time of the next attempt, in milliseconds since 1970.
    public var nextAttemptMs: Int64
    /// When a receiver answered 2xx, in milliseconds since 1970; nil while pending.
    public var deliveredMs: Int64?
    /// What went wrong last time (a status or a network error, never a URL), if anything.
    public var lastError: String?
    /// Whether the receiver refused the item for good (a 4xx other than 408 and 429); it is kept, not retried.
    public var permanent: Bool

    /// Creates a pending item, due at once.
    /// - Parameters:
    ///   - alertID: The alert's id.
    ///   - sink: The sink's name.
    ///   - body: The request body.
    ///   - createdMs: When it is queued, in milliseconds since 1970.
    public init(alertID: String, sink: String, body: String, createdMs: Int64) {
        self.alertID = alertID
        self.sink = sink
        self.body = body
        self.createdMs = createdMs
        self.attempts = 0
        self.nextAttemptMs = createdMs
        self.deliveredMs = nil
        self.lastError = nil
        self.permanent = false
    }
}

/// How far behind a sink's delivery is, for metrics and status lines.
public struct OutboxDepth: Sendable, Hashable {
    /// Items neither delivered nor refused for good.
    public var pending: Int
    /// Items a receiver refused for good (kept for inspection).
    public var permanent: Int
    /// When the oldest pending item was queued, in milliseconds since 1970; nil when none is pending.
    public var oldestPendingMs: Int64?

    /// Creates a depth.
    public init(pending: Int = 0, permanent: Int = 0, oldestPendingMs: Int64? = nil) {
        self.pending = pending
        self.permanent = permanent
        self.oldestPendingMs = oldestPendingMs
    }

    /// The age of the oldest pending item at `nowMs`, in milliseconds (0 when none is pending).
    /// - Parameter nowMs: The current time in milliseconds since 1970.
    /// - Returns: The age, never negative.
    public func oldestAgeMs(nowMs: Int64) -> Int64 {
        oldestPendingMs.map { max(0, nowMs - $0) } ?? 0
    }
}

extension StoreSchema {
    /// Version 3: the alert outbox, one row per alert and sink, delivered or not (see ``OutboxItem``).
    static func version3(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE TABLE outbox (
                    alert_id TEXT NOT NULL,
                    sink TEXT NOT NULL CHECK (length(sink) > 0),
                    body TEXT NOT NULL,
                    created_ms INTEGER NOT NULL,
                    attempts INTEGER NOT NULL DEFAULT 0,
                    next_attempt_ms INTEGER NOT NULL,
                    delivered_ms INTEGER NULL,
                    last_error TEXT,
                    permanent INTEGER NOT NULL DEFAULT 0,
                    PRIMARY KEY (alert_id, sink)
                ) WITHOUT ROWID;
                CREATE INDEX outbox_due ON outbox(sink, next_attempt_ms)
                    WHERE delivered_ms IS NULL AND permanent = 0;
                """
        )
    }
}

extension StateStore {
    static let outboxColumns =
        "alert_id, sink, body, created_ms, attempts, next_attempt_ms, delivered_ms, last_error, permanent"

    /// Queues `items` inside a checkpoint's transaction; an `(alert id, sink)` already stored is skipped.
    static func insertOutbox(_ items: [OutboxItem], db: Database) throws {
        guard !items.isEmpty else { return }
        let insert = try db.makeStatement(
            sql: "INSERT OR IGNORE INTO outbox(\(outboxColumns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
        )
        for item in items {
            insert.setUncheckedArguments([
                item.alertID, item.sink, item.body, item.createdMs, item.attempts, item.nextAttemptMs,
                item.deliveredMs, item.lastError, item.permanent,
            ])
            try insert.execute()
        }
    }

    static func outboxItem(from row: Row) -> OutboxItem {
        var item = OutboxItem(alertID: row[0], sink: row[1], body: row[2], createdMs: row[3])
        item.attempts = row[4]
        item.nextAttemptMs = row[5]
        item.deliveredMs = row[6]
        item.lastError = row[7]
        item.permanent = row[8]
        return item
    }

    /// Items of `sink` that are pending and due at `nowMs`, the earliest due first.
    /// - Parameters:
    ///   - sink: The sink's name.
    ///   - nowMs: The current time in milliseconds since 1970.
    ///   - limit: The most items to return.
    /// - Returns: The items, by next attempt time, then queue time, then alert id.
    /// - Throws: ``StoreError``.
    public func dueOutboxItems(sink: String, nowMs: Int64, limit: Int = 100) throws(StoreError) -> [OutboxItem] {
        try run("read outbox") {
            try pool.read { db in
                try Row.fetchAll(
                    db,
                    sql: """
                        SELECT \(StateStore.outboxColumns) FROM outbox
                        WHERE sink = ? AND delivered_ms IS NULL AND permanent = 0 AND next_attempt_ms <= ?
                        ORDER BY next_attempt_ms, created_ms, alert_id LIMIT ?
                        """,
                    arguments: [sink, nowMs, limit]
                ).map(StateStore.outboxItem(from:))
            }
        }
    }

    /// When the next pending item of `sink` is due, so a deliverer can sleep until then.
    /// - Parameter sink: The sink's name.
    /// - Returns: The earliest next attempt time in milliseconds since 1970, or nil when nothing is pending.
    /// - Throws: ``StoreError``.
    public func nextOutboxAttemptMs(sink: String) throws(StoreError) -> Int64? {
        try run("read outbox") {
            try pool.read { db in
                try Int64.fetchOne(
                    db,
                    sql: """
                        SELECT min(next_attempt_ms) FROM outbox
                        WHERE sink = ? AND delivered_ms IS NULL AND permanent = 0
                        """,
                    arguments: [sink]
                )
            }
        }
    }

    /// One outbox row, delivered or not.
    /// - Parameters:
    ///   - alertID: The alert's id.
    ///   - sink: The sink's name.
    /// - Returns: The item, or nil if it was never queued.
    /// - Throws: ``StoreError``.
    public func outboxItem(alertID: String, sink: String) throws(StoreError) -> OutboxItem? {
        try run("read outbox") {
            try pool.read { db in
                try Row.fetchOne(
                    db,
                    sql: "SELECT \(StateStore.outboxColumns) FROM outbox WHERE alert_id = ? AND sink = ?",
                    arguments: [alertID, sink]
                ).map(StateStore.outboxItem(from:))
            }
        }
    }

    /// Records that a receiver accepted an item (a 2xx answer); it is never sent again.
    /// - Parameters:
    ///   - alertID: The alert's id.
    ///   - sink: The sink's name.
    ///   - atMs: When, in milliseconds since 1970.
    /// - Throws: ``StoreError``.
    public func markDelivered(alertID: String, sink: String, atMs: Int64) throws(StoreError) {
        try run("mark outbox item delivered") {
            try pool.write { db in
                try db.execute(
                    sql: """
                        UPDATE outbox SET delivered_ms = ?, attempts = attempts + 1, last_error = NULL
                        WHERE alert_id = ? AND sink = ? AND delivered_ms IS NULL
                        """,
                    arguments: [atMs, alertID, sink]
                )
            }
        }
    }

    /// Records a failed attempt: when to try again, or that the receiver refused the item for good.
    /// - Parameters:
    ///   - alertID: The alert's id.
    ///   - sink: The sink's name.
    ///   - error: What went wrong, such as `HTTP 503` (never a URL: it may hold credentials).
    ///   - nextAttemptMs: The earliest time of the next attempt, in milliseconds since 1970.
    ///   - permanent: Whether to stop retrying and keep the item as refused.
    /// - Throws: ``StoreError``.
    public func recordFailure(
        alertID: String,
        sink: String,
        error: String,
        nextAttemptMs: Int64,
        permanent: Bool = false
    ) throws(StoreError) {
        try run("record outbox failure") {
            try pool.write { db in
                try db.execute(
                    sql: """
                        UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_attempt_ms = ?, permanent = ?
                        WHERE alert_id = ? AND sink = ? AND delivered_ms IS NULL
                        """,
                    arguments: [error, nextAttemptMs, permanent, alertID, sink]
                )
            }
        }
    }

    /// How many items wait per sink, how many were refused for good, and how old the oldest pending is.
    /// - Returns: The depth by sink name; a sink with no rows is absent.
    /// - Throws: ``StoreError``.
    public func outboxDepth() throws(StoreError) -> [String: OutboxDepth] {
        try run("read outbox depth") {
            try pool.read { db in
                var depths: [String: OutboxDepth] = [:]
                let rows = try Row.fetchAll(
                    db,
                    sql: """
                        SELECT sink,
                            sum(delivered_ms IS NULL AND permanent = 0),
                            sum(delivered_ms IS NULL AND permanent != 0),
                            min(CASE WHEN delivered_ms IS NULL AND permanent = 0 THEN created_ms END)
                        FROM outbox GROUP BY sink
                        """
                )
                for row in rows {
                    depths[row[0]] = OutboxDepth(pending: row[1], permanent: row[2], oldestPendingMs: row[3])
                }
                return depths
            }
        }
    }

    /// How long `watch` keeps delivered outbox rows: far longer than a replay after a restart can
    /// reach back (to the last checkpoint), so a pruned alert is never queued again.
    public static let deliveredRetentionMs: Int64 = 7 * 86_400_000

    /// Forgets delivered items older than `beforeMs`, keeping the table small.
    ///
    /// Keep them longer than a replay can reach back (the time between checkpoints, and a restart):
    /// an alert replayed after its row is gone would be queued and delivered again.
    /// - Parameter beforeMs: Items delivered before this time, in milliseconds since 1970, are removed.
    /// - Returns: How many were removed.
    /// - Throws: ``StoreError``.
    @discardableResult
    public func pruneOutbox(deliveredBeforeMs beforeMs: Int64) throws(StoreError) -> Int {
        try run("prune outbox") {
            try pool.write { db in
                try db.execute(sql: "DELETE FROM outbox WHERE delivered_ms < ?", arguments: [beforeMs])
                return db.changesCount
            }
        }
    }
}
