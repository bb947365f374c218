import Dispatch
import Foundation
import GRDB
import Testing

@testable import KeywatchCore

/// The state store against real files in temporary directories.
@Suite struct StoreTests {
    /// A key row for `index`; `generation` marks every byte of its baseline, so a test can tell which
    /// checkpoint a row came from.
    static func key(_ index: Int, generation: UInt8, blobBytes: Int = 64) -> StoredKey {
        StoredKey(
            id: "k_" + String(format: "%024x", index),
            hint: "ak_live_\(index % 10)…x",
            firstSeenMs: 1_700_000_000_000 + Int64(index),
            lastSeenMs: 1_700_000_000_000 + Int64(index) + Int64(generation),
            requests: Int64(index) * 10 + Int64(generation),
            baseline: [UInt8](repeating: generation, count: blobBytes)
        )
    }

    static func keys(_ count: Int, generation: UInt8, blobBytes: Int = 64) -> [StoredKey] {
        (0..<count).map { key($0, generation: generation, blobBytes: blobBytes) }
    }

    static func alert(_ id: String, timeMs: Int64, json: String = "{}") -> StoredAlert {
        StoredAlert(
            id: id,
            timeMs: timeMs,
            keyID: key(1, generation: 0).id,
            kind: "rate_spike",
            severity: "high",
            json: json
        )
    }

    /// The generations found in the stored keys' baselines (one element when the state is consistent).
    static func generations(_ keys: [StoredKey]) -> Set<UInt8> {
        Set(keys.flatMap { Set($0.baseline) })
    }

    static func mode(_ path: String) throws -> Int {
        try #require(FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
    }

    @Test func checkpointRoundTripsThroughReopen() throws {
        let dir = TemporaryDirectory()
        let state = dir.path + "/state"
        let endpoint = StoredEndpoint(hash: -42, methodTemplate: "GET /v1/users/{id}", firstSeenMs: 5, keys: 3)
        do {
            let store = try StateStore(directory: state)
            #expect(try store.meta(StateStore.Meta.createdBy) == KeywatchVersion.string)
            #expect(try store.meta(StateStore.Meta.watermarkMs) == nil)
            try store.checkpoint(
                Checkpoint(
                    keys: Self.keys(3, generation: 1),
                    endpoints: [endpoint],
                    alerts: [Self.alert("a_1", timeMs: 100, json: #"{"first":true}"#), Self.alert("a_2", timeMs: 200)],
                    meta: [StateStore.Meta.watermarkMs: "1700000000123", StateStore.Meta.eventsTotal: "9"]
                )
            )
            // A second checkpoint replaces a key, adds one, and replays an alert: the first copy stays.
            var changed = Self.key(2, generation: 2)
            changed.hint = "sk-proj-AA…DD"
            try store.checkpoint(
                Checkpoint(
                    keys: [changed, Self.key(3, generation: 2)],
                    alerts: [Self.alert("a_1", timeMs: 100, json: #"{"replayed":true}"#)],
                    meta: [StateStore.Meta.eventsTotal: "12"]
                )
            )
        }
        let store = try StateStore(directory: state)
        let keys = try store.loadKeys()
        #expect(keys.map(\.id) == (0..<4).map { Self.key($0, generation: 0).id })
        #expect(keys[0] == Self.key(0, generation: 1))
        #expect(keys[2].hint == "sk-proj-AA…DD")
        #expect(keys[2].baseline == [UInt8](repeating: 2, count: 64))
        #expect(try store.key(id: keys[1].id) == Self.key(1, generation: 1))
        #expect(try store.key(id: "k_" + String(repeating: "f", count: 24)) == nil)
        #expect(try store.loadEndpoints() == [endpoint])
        #expect(try store.alerts().map(\.id) == ["a_1", "a_2"])
        #expect(try store.alerts().first?.json == #"{"first":true}"#)
        #expect(try store.alerts(since: 150).map(\.id) == ["a_2"])
        #expect(try store.alerts(limit: 1).map(\.id) == ["a_1"])
        #expect(try store.meta(StateStore.Meta.watermarkMs) == "1700000000123")
        #expect(try store.allMeta()[StateStore.Meta.eventsTotal] == "12")
        #expect(try store.allMeta()[StateStore.Meta.createdAtMs] != nil)
    }

    @Test func findsKeysByHintOrIDPrefix() throws {
        let dir = TemporaryDirectory()
        let store = try StateStore(directory: dir.path)
        // Keys 1, 11 and 21 share the hint ak_live_1…x.
        try store.checkpoint(Checkpoint(keys: Self.keys(30, generation: 1)))
        let shared = Self.key(1, generation: 0).hint
        #expect(try store.findKeys(hintOrIDPrefix: shared).map(\.requests) == [11, 111, 211])
        #expect(try store.findKeys(hintOrIDPrefix: shared.replacingOccurrences(of: "…", with: "...")).count == 3)
        #expect(try store.findKeys(hintOrIDPrefix: "k_" + String(repeating: "0", count: 22) + "1").count == 14)
        #expect(try store.findKeys(hintOrIDPrefix: Self.key(29, generation: 0).id).map(\.requests) == [291])
        #expect(try store.findKeys(hintOrIDPrefix: Self.key(29, generation: 0).id.uppercased()).count == 1)
        #expect(try store.findKeys(hintOrIDPrefix: "k_", limit: 100).isEmpty)
        #expect(try store.findKeys(hintOrIDPrefix: "k_0", limit: 5).count == 5)
        #expect(try store.findKeys(hintOrIDPrefix: "nothing…here").isEmpty)
    }

    @Test func filesAreOwnerOnly() throws {
        let dir = TemporaryDirectory()
        let state = dir.path + "/state"
        let store = try StateStore(directory: state)
        try store.checkpoint(Checkpoint(keys: Self.keys(10, generation: 1)))
        #expect(try Self.mode(state) == 0o700)
        #expect(try Self.mode(store.path) == 0o600)
        for suffix in ["-wal", "-shm"] where FileManager.default.fileExists(atPath: store.path + suffix) {
            #expect(try Self.mode(store.path + suffix) == 0o600, "\(suffix)")
        }
        // A database file made readable by others is narrowed again on open.
        chmod(store.path, 0o644)
        _ = try StateStore(directory: state)
        #expect(try Self.mode(store.path) == 0o600)
    }

    @Test func legacySecretFileIsImportedWithTheSameKeyIDs() throws {
        let dir = TemporaryDirectory()
        let state = dir.path + "/state"
        try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: false)
        let secret = (0..<32).map { UInt8($0 * 7 + 3) }
        let file = dir.write("state/" + KeyFingerprinter.secretFileName, Data(secret))
        let before = KeyFingerprinter(secret: secret)

        let after = try KeyFingerprinter(stateDirectory: state)
        for raw in ["ak_live_Q7xYzW3kLmN8pR2sT5uVnD", "short-key-1"] {
            #expect(after.keyID(for: raw) == before.keyID(for: raw))
            #expect(after.keyID(for: raw, source: .consumer) == before.keyID(for: raw, source: .consumer))
        }
        #expect(!FileManager.default.fileExists(atPath: file))
        #expect(try StateStore(directory: state).secret() == secret)
        #expect(try KeyFingerprinter(stateDirectory: state).keyID(for: "k1") == before.keyID(for: "k1"))

        // A file that disagrees with the store, or is damaged, is reported and left in place.
        dir.write("state/" + KeyFingerprinter.secretFileName, Data(secret.reversed()))
        #expect(throws: StoreError.conflictingSecret(path: state + "/" + StateStore.fileName, file: file)) {
            try StateStore(directory: state)
        }
        dir.write("state/" + KeyFingerprinter.secretFileName, "short")
        #expect(throws: StateError.self) { try KeyFingerprinter(stateDirectory: state) }
        #expect(FileManager.default.fileExists(atPath: file))
        // A read-only open changes nothing, so it does not look at the file.
        #expect(try StateStore(directory: state, access: .readOnly).secret() == secret)
    }

    @Test func concurrentFirstOpensAgreeOnOneSecret() throws {
        let dir = TemporaryDirectory()
        let state = dir.path + "/state"
        let results = StoreTestLock<[Result<[UInt8], StoreError>]>([])
        DispatchQueue.concurrentPerform(iterations: 4) { _ in
            let result = Result { () throws(StoreError) in try StateStore(directory: state).secret() }
            results.withLock { $0.append(result) }
        }
        let secrets = try results.withLock { try $0.map { try $0.get() } }
        #expect(secrets.count == 4)
        #expect(Set(secrets).count == 1)
        #expect(secrets[0].count == 32)
        #expect(try StateStore(directory: dir.path + "/other").secret() != secrets[0])
    }

    @Test func refusesANewerSchemaAndForeignFiles() throws {
        let dir = TemporaryDirectory()
        let state = dir.path + "/state"
        let path = state + "/" + StateStore.fileName
        _ = try StateStore(directory: state)
        try DatabaseQueue(path: path).write { try $0.execute(sql: "PRAGMA user_version = 99") }
        let newer = StoreError.newerSchema(path: path, found: 99, highestSupported: StateStore.schemaVersion)
        #expect(throws: newer) { try StateStore(directory: state) }
        #expect(throws: newer) { try StateStore(directory: state, access: .readOnly) }
        #expect(newer.description.contains("upgrade keywatch"))

        let foreign = dir.path + "/foreign"
        try FileManager.default.createDirectory(atPath: foreign, withIntermediateDirectories: false)
        try DatabaseQueue(path: foreign + "/" + StateStore.fileName).write {
            try $0.execute(sql: "CREATE TABLE notes(text TEXT)")
        }
        #expect(throws: StoreError.self) { try StateStore(directory: foreign) }

        let text = dir.path + "/text"
        try FileManager.default.createDirectory(atPath: text, withIntermediateDirectories: false)
        dir.write("text/" + StateStore.fileName, String(repeating: "not a database\n", count: 400))
        #expect(
            throws: StoreError.notAStateStore(path: text + "/" + StateStore.fileName, reason: "not an SQLite database")
        ) {
            try StateStore(directory: text)
        }

        #expect(throws: StoreError.missing(path: dir.path + "/none/" + StateStore.fileName)) {
            try StateStore(directory: dir.path + "/none", access: .readOnly)
        }
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/none"))
    }

    @Test func aCheckpointFailingPartwayWritesNothing() throws {
        let dir = TemporaryDirectory()
        let store = try StateStore(directory: dir.path)
        try store.checkpoint(Checkpoint(keys: Self.keys(1000, generation: 1), meta: [StateStore.Meta.watermarkMs: "1"]))

        // Record 600 is not a key id: the 600 upserts before it are rolled back with it.
        var batch = Checkpoint(keys: Self.keys(1200, generation: 2), meta: [StateStore.Meta.watermarkMs: "2"])
        batch.keys[600].id = "ak_live_not_an_id"
        #expect(
            throws: StoreError.rejectedRecord(
                path: store.path,
                table: "keys",
                index: 600,
                reason: "the id is not k_ and 24 hex digits"
            )
        ) { try store.checkpoint(batch) }
        // A hint that is not masked is refused the same way.
        batch = Checkpoint(keys: Self.keys(1200, generation: 2))
        batch.keys[700].hint = "ak_live_Q7xYzW3kLmN8pR2sT5uVnD"
        #expect(throws: StoreError.self) { try store.checkpoint(batch) }
        // So is any error thrown inside the transaction after some keys were written.
        struct Abort: Error {}
        #expect(throws: StoreError.self) {
            try store.checkpoint(Checkpoint(keys: Self.keys(1200, generation: 2))) { index in
                if index == 900 { throw Abort() }
            }
        }
        let keys = try store.loadKeys()
        #expect(keys.count == 1000)
        #expect(Self.generations(keys) == [1])
        #expect(try store.meta(StateStore.Meta.watermarkMs) == "1")
    }

    /// A crash image: the files as a `kill -9` would leave them mid-checkpoint (uncommitted pages
    /// already appended to the WAL) load as the previous checkpoint; copied after the commit, as the new.
    @Test func filesCopiedMidCheckpointLoadAsThePreviousCheckpoint() throws {
        let dir = TemporaryDirectory()
        let state = dir.path + "/state"
        let store = try StateStore(directory: state)
        try store.checkpoint(Checkpoint(keys: Self.keys(8000, generation: 1, blobBytes: 500)))

        func copyFiles(to name: String) throws {
            let target = dir.path + "/" + name
            try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: false)
            for suffix in ["", "-wal", "-shm"] where FileManager.default.fileExists(atPath: store.path + suffix) {
                try FileManager.default.copyItem(
                    atPath: store.path + suffix,
                    toPath: target + "/" + StateStore.fileName + suffix
                )
            }
        }
        // 6000 keys of 500 bytes overflow SQLite's 2 MiB page cache, so the transaction has spilled
        // uncommitted pages into the WAL by the time of the copy.
        let next = Self.keys(10_000, generation: 2, blobBytes: 500)
        try store.checkpoint(Checkpoint(keys: next, meta: [StateStore.Meta.watermarkMs: "2"])) { index in
            if index == 6000 { try copyFiles(to: "mid") }
        }
        try copyFiles(to: "after")

        let wal = try Data(contentsOf: URL(fileURLWithPath: dir.path + "/mid/" + StateStore.fileName + "-wal"))
        #expect(wal.range(of: Data(repeating: 2, count: 400)) != nil, "uncommitted pages reached the WAL")
        let mid = try StateStore(directory: dir.path + "/mid")
        let midKeys = try mid.loadKeys()
        #expect(midKeys.count == 8000)
        #expect(Self.generations(midKeys) == [1])
        #expect(try mid.meta(StateStore.Meta.watermarkMs) == nil)
        #expect(try mid.secret() == store.secret())

        let after = try StateStore(directory: dir.path + "/after", access: .readOnly)
        let afterKeys = try after.loadKeys()
        #expect(afterKeys.count == 10_000)
        #expect(Self.generations(afterKeys) == [2])
        #expect(try after.meta(StateStore.Meta.watermarkMs) == "2")
    }

    /// Another connection reading during a long checkpoint sees the previous state whole, never part
    /// of the new one, and does not block the writer.
    @Test func readersDuringACheckpointSeeOneWholeState() throws {
        let dir = TemporaryDirectory()
        let state = dir.path + "/state"
        let store = try StateStore(directory: state)
        try store.checkpoint(Checkpoint(keys: Self.keys(3000, generation: 1, blobBytes: 200)))
        let reader = try StateStore(directory: state, access: .readOnly)

        // Inside the writer's transaction, at a known point.
        var seenMidway: [StoredKey] = []
        try store.checkpoint(Checkpoint(keys: Self.keys(5000, generation: 2, blobBytes: 200))) { index in
            if index == 2500 { seenMidway = try reader.loadKeys() }
        }
        #expect(seenMidway.count == 3000)
        #expect(Self.generations(seenMidway) == [1])

        // And from another thread while checkpoints run back to back.
        let done = StoreTestLock(false)
        let writer = Thread {
            for generation in UInt8(3)...6 {
                try? store.checkpoint(Checkpoint(keys: Self.keys(5000, generation: generation, blobBytes: 200)))
            }
            done.withLock { $0 = true }
        }
        writer.start()
        var observations = 0
        while !done.withLock({ $0 }) || observations == 0 {
            let keys = try reader.loadKeys()
            #expect(keys.count == 5000)
            #expect(Self.generations(keys).count == 1)
            observations += 1
        }
        #expect(Self.generations(try reader.loadKeys()) == [6])
    }

    /// A version-1 store, as keywatch 0.x wrote it before positions existed, with a key, an alert,
    /// metadata and a secret in it.
    static func makeVersion1Store(_ state: String) throws {
        try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
        let queue = try DatabaseQueue(path: state + "/" + StateStore.fileName)
        try queue.write { db in
            try StoreSchema.version1(db)
            try db.execute(sql: "PRAGMA application_id = \(StoreSchema.applicationID)")
            try db.execute(sql: "PRAGMA user_version = 1")
            let key = Self.key(4, generation: 9)
            try db.execute(
                sql: "INSERT INTO keys(\(StateStore.keyColumns)) VALUES (?, ?, ?, ?, ?, ?)",
                arguments: [key.id, key.hint, key.firstSeenMs, key.lastSeenMs, key.requests, Data(key.baseline)]
            )
            try db.execute(
                sql: """
                    INSERT INTO alerts(id, time_ms, key_id, kind, severity, json)
                    VALUES ('a_v1', 7, ?, 'dormant', 'low', '{}')
                    """,
                arguments: [key.id]
            )
            try db.execute(sql: "INSERT INTO meta(name, value) VALUES ('watermark_ms', '1234')")
            try db.execute(
                sql: "INSERT INTO secret(id, bytes) VALUES (1, ?)",
                arguments: [Data(repeating: 3, count: 32)]
            )
        }
    }

    static func position(_ path: String, offset: Int64, inode: UInt64 = 77) -> TailPosition {
        TailPosition(
            path: path,
            device: UInt64.max - 1,  // st_dev values above Int64.max must survive SQLite's signed integers
            inode: inode,
            offset: offset,
            line: offset / 10,
            headHash: "h\(offset)",
            updatedMs: 1_700_000_000_000 + offset
        )
    }

    @Test func aVersion1StoreUpgradesKeepingItsState() throws {
        let dir = TemporaryDirectory()
        let state = dir.path + "/state"
        try Self.makeVersion1Store(state)
        let upgrade = StoreError.needsUpgrade(
            path: state + "/" + StateStore.fileName,
            found: 1,
            current: StateStore.schemaVersion
        )
        #expect(throws: upgrade) { try StateStore(directory: state, access: .readOnly) }

        let store = try StateStore(directory: state)
        #expect(StateStore.schemaVersion >= 2)
        #expect(try store.pool.read { try Int.fetchOne($0, sql: "PRAGMA user_version") } == StateStore.schemaVersion)
        #expect(try store.loadKeys() == [Self.key(4, generation: 9)])
        #expect(try store.alerts().map(\.id) == ["a_v1"])
        #expect(try store.meta(StateStore.Meta.watermarkMs) == "1234")
        #expect(try store.secret() == [UInt8](repeating: 3, count: 32))
        #expect(try store.loadPositions() == [])

        try store.checkpoint(Checkpoint(positions: [Self.position("/var/log/a.log", offset: 10)]))
        let reopened = try StateStore(directory: state, access: .readOnly)
        #expect(try reopened.loadPositions() == [Self.position("/var/log/a.log", offset: 10)])
        #expect(try reopened.loadKeys() == [Self.key(4, generation: 9)])
    }

    @Test func positionsAreReplacedWholeOrKept() throws {
        let dir = TemporaryDirectory()
        let store = try StateStore(directory: dir.path)
        let a = Self.position("/logs/a.log", offset: 100)
        let b = Self.position("/logs/b.log", offset: 50, inode: 78)
        try store.checkpoint(Checkpoint(positions: [b, a]))
        #expect(try store.loadPositions() == [a, b])

        // No positions in a checkpoint (as `analyze` writes them): the stored ones stay.
        try store.checkpoint(Checkpoint(meta: [StateStore.Meta.eventsTotal: "3"]))
        #expect(try store.loadPositions() == [a, b])

        // A list replaces them: b is forgotten, a moves on, in the same transaction as the keys.
        let a2 = Self.position("/logs/a.log", offset: 250)
        try store.checkpoint(Checkpoint(keys: Self.keys(2, generation: 1), positions: [a2]))
        #expect(try store.loadPositions() == [a2])

        // A failed checkpoint leaves the positions of the previous one.
        var bad = Self.key(9, generation: 1)
        bad.hint = "ak_live_unmasked"
        #expect(throws: StoreError.self) {
            try store.checkpoint(Checkpoint(keys: [bad], positions: [Self.position("/logs/a.log", offset: 999)]))
        }
        #expect(try store.loadPositions() == [a2])
    }

    /// 100,000 changed keys with 500-byte baselines in one checkpoint. Run with KEYWATCH_STORE_BENCH=1;
    /// it prints the time and is not part of the normal run.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["KEYWATCH_STORE_BENCH"] != nil))
    func checkpointOf100kKeysTiming() throws {
        let dir = TemporaryDirectory()
        let store = try StateStore(directory: dir.path)
        let clock = ContinuousClock()
        for generation in UInt8(1)...3 {
            let batch = Checkpoint(keys: Self.keys(100_000, generation: generation, blobBytes: 500))
            let elapsed = try clock.measure { try store.checkpoint(batch) }
            print("store bench: checkpoint of 100000 keys x 500 B (generation \(generation)): \(elapsed)")
        }
        var loaded: [StoredKey] = []
        let load = try clock.measure { loaded = try store.loadKeys() }
        print("store bench: loadKeys of \(loaded.count) keys: \(load)")
        let reopen = try clock.measure { _ = try StateStore(directory: dir.path) }
        print("store bench: reopen: \(reopen)")
        #expect(loaded.count == 100_000)
    }
}

/// A lock around a value, for tests that collect results from several threads.
final class StoreTestLock<Value>: @unchecked Sendable {
    // Safe: every access to `value` holds `lock`.
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) { self.value = value }

    func withLock<T>(_ body: (inout Value) throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
