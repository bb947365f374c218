import Foundation
import GRDB
import Testing

@testable import KeywatchCore

/// Sample alerts for the sink tests: ids and keys are made up, the hint is masked.
enum SinkSamples {
    static func alert(_ index: Int, kind: AlertKind = .newCountry, severity: Severity = .medium) -> Alert {
        let keyID = "k_" + String(format: "%024x", index)
        return Alert(
            id: Alert.makeID(keyID: keyID, kind: kind, value: "DE", severity: severity, episodeStart: Int64(index)),
            time: 1_700_000_000_000 + Int64(index),
            kind: kind,
            severity: severity,
            score: 60,
            keyID: keyID,
            keyHint: "ak_live_\(index % 10)…x",
            value: "DE",
            summary: "first request from DE",
            evidence: [("country", .text("DE")), ("requests", .int(3))],
            source: "access.log:\(index)"
        )
    }
}

/// The outbox in the state store: idempotent enqueue with checkpoints, due items, outcomes, depth.
@Suite struct OutboxTests {
    static let sink = "https://hooks.example.com/keywatch"

    static func item(_ index: Int, createdMs: Int64 = 1000, sink: String = sink) -> OutboxItem {
        let alert = SinkSamples.alert(index)
        return OutboxItem(alertID: alert.id, sink: sink, body: alert.json, createdMs: createdMs)
    }

    @Test func sameAlertTwiceIsQueuedOnce() throws {
        let dir = TemporaryDirectory()
        let store = try StateStore(directory: dir.path)
        let first = Self.item(1)
        try store.checkpoint(Checkpoint(outbox: [first]))
        // A replay after a crash raises the same alert (same id) again, possibly with another body.
        var replayed = first
        replayed.body = #"{"replayed":true}"#
        replayed.createdMs = 5000
        try store.checkpoint(Checkpoint(outbox: [replayed, replayed]))
        #expect(try store.dueOutboxItems(sink: Self.sink, nowMs: 10_000) == [first])
        #expect(try store.outboxDepth()[Self.sink] == OutboxDepth(pending: 1, permanent: 0, oldestPendingMs: 1000))

        // Delivered, then replayed again: still one row, still delivered.
        try store.markDelivered(alertID: first.alertID, sink: Self.sink, atMs: 2000)
        try store.checkpoint(Checkpoint(outbox: [replayed]))
        let stored = try #require(try store.outboxItem(alertID: first.alertID, sink: Self.sink))
        #expect(stored.deliveredMs == 2000 && stored.attempts == 1 && stored.body == first.body)
        #expect(try store.dueOutboxItems(sink: Self.sink, nowMs: 10_000).isEmpty)
        #expect(try store.outboxDepth()[Self.sink] == OutboxDepth(pending: 0, permanent: 0, oldestPendingMs: nil))
    }

    @Test func outboxRowsCommitWithTheCheckpointOrNotAtAll() throws {
        let dir = TemporaryDirectory()
        let store = try StateStore(directory: dir.path)
        let badKey = StoredKey(
            id: "not-a-key-id",
            hint: "x…y",
            firstSeenMs: 0,
            lastSeenMs: 0,
            requests: 1,
            baseline: []
        )
        #expect(throws: StoreError.self) { try store.checkpoint(Checkpoint(keys: [badKey], outbox: [Self.item(1)])) }
        #expect(try store.outboxDepth().isEmpty)
    }

    @Test func failuresScheduleRetriesAndPermanentOnesStop() throws {
        let dir = TemporaryDirectory()
        let store = try StateStore(directory: dir.path)
        let other = "http://127.0.0.1:9/other"
        try store.checkpoint(
            Checkpoint(outbox: [Self.item(1, createdMs: 100), Self.item(2, createdMs: 200), Self.item(3, sink: other)])
        )
        let (a, b) = (Self.item(1).alertID, Self.item(2).alertID)
        #expect(try store.dueOutboxItems(sink: Self.sink, nowMs: 150).map(\.alertID) == [a])
        #expect(try store.dueOutboxItems(sink: Self.sink, nowMs: 300).map(\.alertID) == [a, b])

        try store.recordFailure(alertID: a, sink: Self.sink, error: "HTTP 503", nextAttemptMs: 5000)
        #expect(try store.dueOutboxItems(sink: Self.sink, nowMs: 300).map(\.alertID) == [b])
        #expect(try store.nextOutboxAttemptMs(sink: Self.sink) == 200)
        let retried = try #require(try store.outboxItem(alertID: a, sink: Self.sink))
        #expect(retried.attempts == 1 && retried.lastError == "HTTP 503" && retried.nextAttemptMs == 5000)

        try store.recordFailure(alertID: b, sink: Self.sink, error: "HTTP 404", nextAttemptMs: 300, permanent: true)
        #expect(try store.dueOutboxItems(sink: Self.sink, nowMs: 1_000_000).map(\.alertID) == [a])
        #expect(try store.nextOutboxAttemptMs(sink: Self.sink) == 5000)
        let depth = try store.outboxDepth()
        #expect(depth[Self.sink] == OutboxDepth(pending: 1, permanent: 1, oldestPendingMs: 100))
        #expect(depth[other]?.pending == 1)
        #expect(depth[Self.sink]?.oldestAgeMs(nowMs: 1100) == 1000)

        try store.markDelivered(alertID: a, sink: Self.sink, atMs: 6000)
        #expect(try store.pruneOutbox(deliveredBeforeMs: 6000) == 0)
        #expect(try store.pruneOutbox(deliveredBeforeMs: 6001) == 1)
        #expect(try store.outboxItem(alertID: a, sink: Self.sink) == nil)
        #expect(try store.outboxItem(alertID: b, sink: Self.sink)?.permanent == true)
    }

    @Test func pendingItemsSurviveReopen() throws {
        let dir = TemporaryDirectory()
        do {
            let store = try StateStore(directory: dir.path)
            try store.checkpoint(Checkpoint(outbox: [Self.item(1), Self.item(2)]))
            try store.recordFailure(
                alertID: Self.item(2).alertID,
                sink: Self.sink,
                error: "HTTP 500",
                nextAttemptMs: 3000
            )
        }
        let store = try StateStore(directory: dir.path)
        #expect(
            try store.dueOutboxItems(sink: Self.sink, nowMs: 5000).map(\.alertID)
                == [1, 2].map { Self.item($0).alertID }
        )
        #expect(try store.outboxItem(alertID: Self.item(2).alertID, sink: Self.sink)?.attempts == 1)
    }

    @Test func aVersionTwoStoreGainsTheOutbox() throws {
        let dir = TemporaryDirectory()
        let path = dir.path + "/" + StateStore.fileName
        // A store as the previous build left it: schema version 2, one alert.
        try DatabaseQueue(path: path).write { db in
            try StoreSchema.version1(db)
            try StoreSchema.version2(db)
            try db.execute(sql: "PRAGMA application_id = \(StoreSchema.applicationID)")
            try db.execute(sql: "PRAGMA user_version = 2")
        }
        #expect(StateStore.schemaVersion == 3)
        let store = try StateStore(directory: dir.path)
        try store.checkpoint(Checkpoint(outbox: [Self.item(1)]))
        #expect(try store.outboxDepth()[Self.sink]?.pending == 1)
    }
}
