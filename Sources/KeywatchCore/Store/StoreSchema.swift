import Foundation
import GRDB

/// The state store's schema: versioned by SQLite's `user_version`, upgraded by ordered migrations.
///
/// GRDB's `DatabaseMigrator` is not used: it reads which migrations ran before taking the write
/// lock, so two processes opening a new state directory at once could both run the first
/// migration. Here the check and the migrations run in one `BEGIN IMMEDIATE` transaction, so the
/// second process waits, then finds the schema current. A failed migration rolls back whole.
///
/// To change the schema, append a migration (never edit a shipped one) and the new version follows.
enum StoreSchema {
    /// Marks the file as keywatch's (`PRAGMA application_id`, "kwst").
    static let applicationID: Int32 = 0x6B77_7374

    /// Migrations in order; migration `i` takes the schema from version `i` to `i + 1`.
    static let migrations: [@Sendable (Database) throws -> Void] = [version1, version2, version3]

    /// The schema version this build writes and reads.
    static var current: Int { migrations.count }

    /// Version 1: metadata, the fingerprint secret, keys, endpoints, alerts.
    ///
    /// The `CHECK`s repeat what ``StateStore/checkpoint(_:)`` validates, so that no writer, even a
    /// buggy one, stores a raw key where an id or a hint belongs.
    static func version1(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE TABLE meta (
                    name TEXT PRIMARY KEY NOT NULL,
                    value TEXT NOT NULL
                ) WITHOUT ROWID;
                CREATE TABLE secret (
                    id INTEGER PRIMARY KEY CHECK (id = 1),
                    bytes BLOB NOT NULL CHECK (typeof(bytes) = 'blob' AND length(bytes) = 32)
                );
                CREATE TABLE keys (
                    key_id TEXT PRIMARY KEY NOT NULL
                        CHECK (length(key_id) = 26 AND key_id GLOB 'k_\(String(repeating: "[0-9a-f]", count: 24))'),
                    hint TEXT NOT NULL CHECK (instr(hint, '…') > 0 AND length(hint) <= 40),
                    first_seen_ms INTEGER NOT NULL,
                    last_seen_ms INTEGER NOT NULL,
                    requests INTEGER NOT NULL,
                    baseline BLOB NOT NULL
                );
                CREATE INDEX keys_by_hint ON keys(hint);
                CREATE TABLE endpoints (
                    hash INTEGER PRIMARY KEY,
                    method_template TEXT NOT NULL,
                    first_seen_ms INTEGER NOT NULL,
                    keys INTEGER NOT NULL
                );
                CREATE TABLE alerts (
                    id TEXT PRIMARY KEY NOT NULL,
                    time_ms INTEGER NOT NULL,
                    key_id TEXT NOT NULL,
                    kind TEXT NOT NULL,
                    severity TEXT NOT NULL,
                    json TEXT NOT NULL
                );
                CREATE INDEX alerts_by_time ON alerts(time_ms);
                """
        )
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        try db.execute(
            sql: "INSERT INTO meta(name, value) VALUES (?, ?), (?, ?)",
            arguments: [StateStore.Meta.createdAtMs, String(now), StateStore.Meta.createdBy, KeywatchVersion.string]
        )
    }

    /// Version 2: the read position of each followed file (``TailPosition``), committed with the
    /// baselines so that `watch` resumes exactly where the stored state ends.
    ///
    /// `device` and `inode` hold the unsigned `st_dev`/`st_ino` bit for bit (SQLite integers are signed).
    static func version2(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE TABLE positions (
                    path TEXT PRIMARY KEY NOT NULL,
                    device INTEGER NOT NULL,
                    inode INTEGER NOT NULL,
                    "offset" INTEGER NOT NULL CHECK ("offset" >= 0),
                    line INTEGER NOT NULL CHECK (line >= 0),
                    head_hash TEXT NOT NULL,
                    updated_ms INTEGER NOT NULL
                ) WITHOUT ROWID;
                """
        )
    }

    /// Brings the schema to ``current`` inside the caller's `BEGIN IMMEDIATE` transaction.
    /// - Throws: ``StoreError/newerSchema(path:found:highestSupported:)`` or
    ///   ``StoreError/notAStateStore(path:reason:)``; SQLite errors as they come.
    static func migrate(_ db: Database, path: String) throws {
        let version = try Int.fetchOne(db, sql: "PRAGMA user_version") ?? 0
        try check(db, version: version, path: path)
        guard version < current else { return }
        for migration in migrations[version...] { try migration(db) }
        try db.execute(sql: "PRAGMA application_id = \(applicationID)")
        try db.execute(sql: "PRAGMA user_version = \(current)")
    }

    /// Refuses a newer schema, another application's database, or a non-empty unversioned one.
    static func check(_ db: Database, version: Int, path: String) throws {
        let application = try Int32.fetchOne(db, sql: "PRAGMA application_id") ?? 0
        if application != applicationID && application != 0 {
            throw StoreError.notAStateStore(path: path, reason: "it belongs to another application")
        }
        if version > current {
            throw StoreError.newerSchema(path: path, found: version, highestSupported: current)
        }
        if version == 0 {
            // GRDB's WAL set-up creates and drops a table, leaving nothing; anything else is not ours.
            let tables =
                try Int.fetchOne(db, sql: "SELECT count(*) FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'") ?? 0
            if tables > 0 {
                throw StoreError.notAStateStore(path: path, reason: "it has tables but no keywatch schema version")
            }
        }
    }
}
