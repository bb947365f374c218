import Foundation
import GRDB

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The state directory's database: baselines, endpoints, alerts, metadata and the fingerprint secret,
/// in one SQLite file, `<dir>/keywatch.sqlite` (mode 0600, directory 0700).
///
/// ```swift
/// let store = try StateStore(directory: "baselines")
/// let fingerprinter = try KeyFingerprinter(store: store)
/// var keys = try store.loadKeys()                   // resume from the last checkpoint
/// let since = try store.meta(StateStore.Meta.watermarkMs)
/// // … analyse events after `since` …
/// try store.checkpoint(Checkpoint(keys: changed, alerts: raised,
///                                 meta: [StateStore.Meta.watermarkMs: String(lastEventMs)]))
/// ```
///
/// ## Crashes and atomicity
/// A ``checkpoint(_:)`` is one SQLite transaction in WAL mode: it appends pages to `keywatch.sqlite-wal`
/// and ends with a commit frame. A process killed at any moment (even `kill -9` while pages are being
/// appended) leaves frames without a commit frame, or with a bad checksum, at the end of the WAL; the
/// next open ignores them, so the store holds exactly the last committed checkpoint, old or new, never
/// part of one. `synchronous = FULL` syncs the WAL at each commit, so a checkpoint that returned
/// survives a power cut too; that is one `fsync` per checkpoint, cheap against its size, and it lets a
/// caller rely on "returned means kept" (for example before acknowledging alerts). The default NORMAL
/// would only risk losing the last checkpoints on power loss, never consistency.
///
/// ## Threads and processes
/// `StateStore` is `Sendable`: call it from any thread. GRDB's `DatabasePool` runs writes one at a
/// time on a single writer connection and reads on reader connections, each read in a WAL snapshot,
/// so a read during a checkpoint sees the state from before it or after it. Other processes (such as
/// `keywatch baseline show` while `keywatch analyze` runs) may open the same directory, read-only or
/// not: SQLite's file locks serialise writers, and a writer that waits more than 10 s gets
/// ``StoreError/busy(path:)``.
///
/// ## Never a raw key
/// Keys are stored by id (`k_` and 24 hex digits) with a masked hint; ``checkpoint(_:)`` and the
/// schema's `CHECK` constraints refuse anything else.
public final class StateStore: Sendable {
    /// The database's file name inside the state directory.
    public static let fileName = "keywatch.sqlite"
    /// How long a write waits for another process's lock before ``StoreError/busy(path:)``.
    static let busyTimeout: TimeInterval = 10

    /// Names of the metadata values the store and the analysis keep (see ``meta(_:)``).
    public enum Meta {
        /// When the store was created, in milliseconds since 1970 (set by the store).
        public static let createdAtMs = "created_at_ms"
        /// The keywatch version that created the store (set by the store).
        public static let createdBy = "created_by"
        /// Time of the last event included in the stored state, in milliseconds since 1970.
        public static let watermarkMs = "watermark_ms"
        /// Events included in the stored state, in all.
        public static let eventsTotal = "events_total"
        /// Spikes that began across keys in the last 15 minutes before the watermark, one per line:
        /// `kind time_ms key_id` (see ``DetectionEngine/crowdState``).
        public static let crowd = "crowd"
    }

    /// Whether a store may be written.
    public enum Access: Sendable, Hashable {
        /// Create the directory, the database and the secret as needed, and upgrade an older schema.
        case readWrite
        /// Open an existing, current store for reading only; change nothing on disk.
        case readOnly
    }

    /// The state directory.
    public let directory: String
    /// The database file, `<directory>/keywatch.sqlite`.
    public let path: String
    /// How the store was opened.
    public let access: Access
    let pool: DatabasePool

    /// Opens the store in `directory`, creating the directory (mode 0700), the database (mode 0600),
    /// the schema and the fingerprint secret if needed.
    ///
    /// A read-write open also upgrades an older schema and imports a legacy `fingerprint.secret` file
    /// (see ``secret()``).
    /// - Parameters:
    ///   - directory: The state directory.
    ///   - access: ``Access/readWrite`` (the default) or ``Access/readOnly``.
    /// - Throws: ``StoreError``: among others ``StoreError/newerSchema(path:found:highestSupported:)``
    ///   for a store from a newer keywatch, ``StoreError/missing(path:)`` for a read-only open of
    ///   nothing.
    public init(directory: String, access: Access = .readWrite) throws(StoreError) {
        self.directory = directory
        self.path = directory + "/" + StateStore.fileName
        self.access = access
        var configuration = Configuration()
        configuration.busyMode = .timeout(StateStore.busyTimeout)
        configuration.maximumReaderCount = 2
        switch access {
        case .readWrite:
            try StateStore.prepareFiles(directory: directory, path: path)
        case .readOnly:
            var info = stat()
            guard stat(path, &info) == 0 else { throw .missing(path: path) }
            configuration.readonly = true
        }
        do {
            pool = try DatabasePool(path: path, configuration: configuration)
        } catch {
            throw StoreError(error, path: path, operation: "open")
        }
        try openSchema()
        if access == .readWrite { try ensureSecret() }
    }

    /// Creates the directory and an empty database file with owner-only permissions, and narrows the
    /// mode of an existing database file that is readable by others. SQLite gives the `-wal` and `-shm`
    /// files the database file's mode.
    private static func prepareFiles(directory: String, path: String) throws(StoreError) {
        if mkdir(directory, 0o700) != 0 && errno != EEXIST {
            throw .cannotCreateDirectory(path: directory, reason: String(cString: strerror(errno)))
        }
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw .cannotOpen(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var info = stat()
        if fstat(fd, &info) == 0 && info.st_mode & 0o077 != 0 {
            guard fchmod(fd, 0o600) == 0 else {
                throw .cannotOpen(path: path, reason: "cannot make it private: " + String(cString: strerror(errno)))
            }
        }
    }

    /// Sets the writer's durability, checks the schema version and runs migrations.
    private func openSchema() throws(StoreError) {
        let path = path
        let version = try run("read schema version") {
            try pool.read { db in try Int.fetchOne(db, sql: "PRAGMA user_version") ?? 0 }
        }
        switch access {
        case .readOnly:
            try run("check schema") { try pool.read { db in try StoreSchema.check(db, version: version, path: path) } }
            if version == 0 { throw .missing(path: path) }
            if version < StoreSchema.current {
                throw .needsUpgrade(path: path, found: version, current: StoreSchema.current)
            }
        case .readWrite:
            try run("configure") {
                try pool.writeWithoutTransaction { db in
                    try db.execute(sql: "PRAGMA synchronous = FULL")
                    // Give back the disk a large checkpoint's WAL took, once it is copied into the database.
                    try db.execute(sql: "PRAGMA journal_size_limit = \(64 << 20)")
                }
            }
            guard version != StoreSchema.current else {
                try run("check schema") {
                    try pool.read { db in try StoreSchema.check(db, version: version, path: path) }
                }
                return
            }
            try run("upgrade schema") {
                try pool.writeWithoutTransaction { db in
                    try db.inTransaction(.immediate) {
                        try StoreSchema.migrate(db, path: path)
                        return .commit
                    }
                }
            }
        }
    }

    /// The schema version this build reads and writes.
    public static var schemaVersion: Int { StoreSchema.current }

    // MARK: Reading

    /// All stored keys, ordered by id.
    /// - Returns: The keys with their baselines.
    /// - Throws: ``StoreError``.
    public func loadKeys() throws(StoreError) -> [StoredKey] {
        try run("load keys") {
            try pool.read { db in
                var keys: [StoredKey] = []
                keys.reserveCapacity(try Int.fetchOne(db, sql: "SELECT count(*) FROM keys") ?? 0)
                let rows = try Row.fetchCursor(db, sql: "SELECT \(StateStore.keyColumns) FROM keys ORDER BY key_id")
                while let row = try rows.next() { keys.append(try StateStore.key(from: row)) }
                return keys
            }
        }
    }

    /// One key by id.
    /// - Parameter id: The key id (`k_` and 24 hex digits).
    /// - Returns: The key, or nil if it is not stored.
    /// - Throws: ``StoreError``.
    public func key(id: String) throws(StoreError) -> StoredKey? {
        try run("read key") {
            try pool.read { db in
                try Row.fetchOne(db, sql: "SELECT \(StateStore.keyColumns) FROM keys WHERE key_id = ?", arguments: [id])
                    .map { try StateStore.key(from: $0) }
            }
        }
    }

    /// Keys whose masked hint is `text`, or whose id starts with `text`: what `baseline show KEY` looks up.
    ///
    /// A hint may match several keys. `...` in `text` is read as `…`, as hints are typed. To look a key
    /// up by the key itself, fingerprint it (``KeyFingerprinter/keyID(for:source:)-(String,_)``) and use
    /// ``key(id:)``; the store never sees raw keys.
    /// - Parameters:
    ///   - text: A hint such as `ak_live_Q7…nD`, or a key id or its prefix such as `k_3f9a`.
    ///   - limit: The most keys to return.
    /// - Returns: The matching keys, ordered by id.
    /// - Throws: ``StoreError``.
    public func findKeys(hintOrIDPrefix text: String, limit: Int = 100) throws(StoreError) -> [StoredKey] {
        let hint = text.replacingOccurrences(of: "...", with: "…")
        let lowered = text.lowercased()
        let isIDPrefix =
            lowered.utf8.count >= 3 && lowered.utf8.count <= 26 && lowered.hasPrefix("k_")
            && lowered.utf8.dropFirst(2).allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }
        return try run("find keys") {
            try pool.read { db in
                // GLOB is case-sensitive, so SQLite answers the prefix from the primary-key index.
                let rows = try Row.fetchAll(
                    db,
                    sql: """
                        SELECT \(StateStore.keyColumns) FROM keys WHERE hint = ?
                        UNION SELECT \(StateStore.keyColumns) FROM keys WHERE key_id GLOB ?
                        ORDER BY key_id LIMIT ?
                        """,
                    arguments: [hint, isIDPrefix ? lowered + "*" : "", limit]
                )
                return try rows.map { try StateStore.key(from: $0) }
            }
        }
    }

    /// All stored endpoints, ordered by hash.
    /// - Returns: The endpoints.
    /// - Throws: ``StoreError``.
    public func loadEndpoints() throws(StoreError) -> [StoredEndpoint] {
        try run("load endpoints") {
            try pool.read { db in
                let rows = try Row.fetchCursor(
                    db,
                    sql: "SELECT hash, method_template, first_seen_ms, keys FROM endpoints ORDER BY hash"
                )
                var endpoints: [StoredEndpoint] = []
                while let row = try rows.next() {
                    endpoints.append(
                        StoredEndpoint(hash: row[0], methodTemplate: row[1], firstSeenMs: row[2], keys: row[3])
                    )
                }
                return endpoints
            }
        }
    }

    /// Stored alerts from a time on, oldest first.
    /// - Parameters:
    ///   - since: The earliest alert time, in milliseconds since 1970.
    ///   - limit: The most alerts to return.
    /// - Returns: The alerts, ordered by time then id.
    /// - Throws: ``StoreError``.
    public func alerts(since: Int64 = .min, limit: Int = 1000) throws(StoreError) -> [StoredAlert] {
        try run("read alerts") {
            try pool.read { db in
                try Row.fetchAll(
                    db,
                    sql: """
                        SELECT id, time_ms, key_id, kind, severity, json FROM alerts
                        WHERE time_ms >= ? ORDER BY time_ms, id LIMIT ?
                        """,
                    arguments: [since, limit]
                ).map {
                    StoredAlert(id: $0[0], timeMs: $0[1], keyID: $0[2], kind: $0[3], severity: $0[4], json: $0[5])
                }
            }
        }
    }

    /// One metadata value.
    /// - Parameter name: Its name, such as ``Meta/watermarkMs``.
    /// - Returns: The value, or nil if it was never set.
    /// - Throws: ``StoreError``.
    public func meta(_ name: String) throws(StoreError) -> String? {
        try run("read metadata") {
            try pool.read { db in
                try String.fetchOne(db, sql: "SELECT value FROM meta WHERE name = ?", arguments: [name])
            }
        }
    }

    /// All metadata values, by name.
    /// - Returns: The values.
    /// - Throws: ``StoreError``.
    public func allMeta() throws(StoreError) -> [String: String] {
        try run("read metadata") {
            try pool.read { db in
                var values: [String: String] = [:]
                for row in try Row.fetchAll(db, sql: "SELECT name, value FROM meta") { values[row[0]] = row[1] }
                return values
            }
        }
    }

    /// The stored read positions of followed files (see ``Checkpoint/positions``), ordered by path.
    /// - Returns: The positions as of the last checkpoint that set them.
    /// - Throws: ``StoreError``.
    public func loadPositions() throws(StoreError) -> [TailPosition] {
        try run("load positions") {
            try pool.read { db in
                try Row.fetchAll(
                    db,
                    sql: """
                        SELECT path, device, inode, "offset", line, head_hash, updated_ms FROM positions ORDER BY path
                        """
                ).map { row in
                    TailPosition(
                        path: row[0],
                        device: UInt64(bitPattern: row[1] as Int64),
                        inode: UInt64(bitPattern: row[2] as Int64),
                        offset: row[3],
                        line: row[4],
                        headHash: row[5],
                        updatedMs: row[6]
                    )
                }
            }
        }
    }

    static let keyColumns = "key_id, hint, first_seen_ms, last_seen_ms, requests, baseline"

    static func key(from row: Row) throws -> StoredKey {
        let baseline = try row.withUnsafeData(atIndex: 5) { data in data.map { [UInt8]($0) } ?? [] }
        return StoredKey(
            id: row[0],
            hint: row[1],
            firstSeenMs: row[2],
            lastSeenMs: row[3],
            requests: row[4],
            baseline: baseline
        )
    }

    // MARK: Writing

    /// Writes what changed since the last checkpoint in one transaction: all of it, or on any error
    /// nothing.
    ///
    /// Keys and endpoints are inserted or replaced; alerts are inserted unless their id is already
    /// stored, so replaying logs does not duplicate them; metadata values are set; positions, when
    /// given, replace the stored ones. Statements are prepared once per checkpoint; see the store
    /// tests for the time 100,000 keys take.
    /// - Parameter batch: The changes.
    /// - Throws: ``StoreError``; ``StoreError/rejectedRecord(path:table:index:reason:)`` for a key id that
    ///   is not `k_` and 24 hex digits, or a hint without `…`.
    public func checkpoint(_ batch: Checkpoint) throws(StoreError) {
        try checkpoint(batch, afterKey: nil)
    }

    /// ``checkpoint(_:)`` with a hook called inside the transaction after each key (tests use it to
    /// copy the files mid-transaction, as a crash would leave them, or to fail partway).
    func checkpoint(_ batch: Checkpoint, afterKey: ((Int) throws -> Void)?) throws(StoreError) {
        let path = path
        func rejected(_ table: String, _ index: Int, _ field: String) -> StoreError {
            let reason = field == "the hint" ? "the hint is not masked" : "\(field) is not k_ and 24 hex digits"
            return .rejectedRecord(path: path, table: table, index: index, reason: reason)
        }
        try run("checkpoint") {
            try pool.writeWithoutTransaction { db in
                try db.inTransaction(.immediate) {
                    let upsertKey = try db.makeStatement(
                        sql: """
                            INSERT INTO keys(\(StateStore.keyColumns)) VALUES (?, ?, ?, ?, ?, ?)
                            ON CONFLICT(key_id) DO UPDATE SET hint = excluded.hint,
                                first_seen_ms = excluded.first_seen_ms, last_seen_ms = excluded.last_seen_ms,
                                requests = excluded.requests, baseline = excluded.baseline
                            """
                    )
                    for (index, key) in batch.keys.enumerated() {
                        guard StateStore.isKeyID(key.id) else { throw rejected("keys", index, "the id") }
                        guard StateStore.isHint(key.hint) else { throw rejected("keys", index, "the hint") }
                        upsertKey.setUncheckedArguments([
                            key.id, key.hint, key.firstSeenMs, key.lastSeenMs, key.requests, Data(key.baseline),
                        ])
                        try upsertKey.execute()
                        try afterKey?(index)
                    }
                    let upsertEndpoint = try db.makeStatement(
                        sql: """
                            INSERT INTO endpoints(hash, method_template, first_seen_ms, keys) VALUES (?, ?, ?, ?)
                            ON CONFLICT(hash) DO UPDATE SET method_template = excluded.method_template,
                                first_seen_ms = excluded.first_seen_ms, keys = excluded.keys
                            """
                    )
                    for endpoint in batch.endpoints {
                        upsertEndpoint.setUncheckedArguments([
                            endpoint.hash, endpoint.methodTemplate, endpoint.firstSeenMs, endpoint.keys,
                        ])
                        try upsertEndpoint.execute()
                    }
                    let insertAlert = try db.makeStatement(
                        sql: """
                            INSERT OR IGNORE INTO alerts(id, time_ms, key_id, kind, severity, json)
                            VALUES (?, ?, ?, ?, ?, ?)
                            """
                    )
                    for (index, alert) in batch.alerts.enumerated() {
                        guard StateStore.isKeyID(alert.keyID) else { throw rejected("alerts", index, "the key id") }
                        insertAlert.setUncheckedArguments([
                            alert.id, alert.timeMs, alert.keyID, alert.kind, alert.severity, alert.json,
                        ])
                        try insertAlert.execute()
                    }
                    let setMeta = try db.makeStatement(
                        sql:
                            "INSERT INTO meta(name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value"
                    )
                    for (name, value) in batch.meta.sorted(by: { $0.key < $1.key }) {
                        setMeta.setUncheckedArguments([name, value])
                        try setMeta.execute()
                    }
                    if let positions = batch.positions {
                        try db.execute(sql: "DELETE FROM positions")
                        let insertPosition = try db.makeStatement(
                            sql: """
                                INSERT OR REPLACE INTO positions(path, device, inode, "offset", line, head_hash, updated_ms)
                                VALUES (?, ?, ?, ?, ?, ?, ?)
                                """
                        )
                        for position in positions {
                            insertPosition.setUncheckedArguments([
                                position.path, Int64(bitPattern: position.device), Int64(bitPattern: position.inode),
                                position.offset, position.line, position.headHash, position.updatedMs,
                            ])
                            try insertPosition.execute()
                        }
                    }
                    try StateStore.insertOutbox(batch.outbox, db: db)
                    return .commit
                }
            }
        }
    }

    /// Whether `text` is a key id: `k_` and 24 lowercase hex digits.
    static func isKeyID(_ text: String) -> Bool {
        var utf8 = text.utf8.makeIterator()
        guard utf8.next() == UInt8(ascii: "k"), utf8.next() == UInt8(ascii: "_") else { return false }
        var digits = 0
        while let c = utf8.next() {
            guard (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66) else { return false }
            digits += 1
        }
        return digits == 24
    }

    /// Whether `text` looks like a ``KeyHint`` (it has the `…` mask and is short).
    static func isHint(_ text: String) -> Bool {
        text.unicodeScalars.count <= 40 && text.unicodeScalars.contains("…")
    }

    /// Runs a database access, turning its errors into ``StoreError``s.
    func run<T>(_ operation: String, _ body: () throws -> T) throws(StoreError) -> T {
        do {
            return try body()
        } catch {
            throw StoreError(error, path: path, operation: operation)
        }
    }
}

extension StoreError {
    /// Maps an error thrown by GRDB (or a ``StoreError`` thrown inside a database closure).
    init(_ error: any Error, path: String, operation: String) {
        if let error = error as? StoreError {
            self = error
            return
        }
        guard let error = error as? DatabaseError else {
            self = .database(path: path, operation: operation, code: -1, message: String(describing: error))
            return
        }
        let message = error.message ?? "unknown error"
        switch error.resultCode {
        case .SQLITE_BUSY, .SQLITE_LOCKED: self = .busy(path: path)
        case .SQLITE_NOTADB: self = .notAStateStore(path: path, reason: "not an SQLite database")
        case .SQLITE_CORRUPT: self = .notAStateStore(path: path, reason: "damaged: \(message)")
        case .SQLITE_CANTOPEN, .SQLITE_PERM, .SQLITE_AUTH: self = .cannotOpen(path: path, reason: message)
        default:
            self = .database(
                path: path,
                operation: operation,
                code: error.extendedResultCode.rawValue,
                message: message
            )
        }
    }
}
