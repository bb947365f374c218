import Foundation
import Testing

@testable import KeywatchCore

/// The JSON-lines alerts file and fan-out to several sinks.
@Suite struct AlertSinkTests {
    static func lines(_ path: String) throws -> [String] {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init)
    }

    @Test func appendsOneAlertPerLineAndFollowsRotation() throws {
        let dir = TemporaryDirectory()
        let path = dir.path + "/alerts.jsonl"
        let alerts = (1...4).map { SinkSamples.alert($0) }
        let sink = try JSONLinesFileSink(path: path)
        try sink.emit(alerts[0])
        try sink.emit(alerts[1])
        try sink.checkpoint()
        #expect(try Self.lines(path) == [alerts[0].json, alerts[1].json])
        #expect(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int == 0o600)

        // logrotate's rename-and-create: the next alert starts the new file.
        try FileManager.default.moveItem(atPath: path, toPath: path + ".1")
        try sink.emit(alerts[2])
        #expect(try Self.lines(path + ".1").count == 2)
        #expect(try Self.lines(path) == [alerts[2].json])

        // Removed outright: created again.
        try FileManager.default.removeItem(atPath: path)
        try sink.emit(alerts[3])
        try sink.checkpoint()
        #expect(try Self.lines(path) == [alerts[3].json])
        for line in try Self.lines(path + ".1") { _ = try JSONSerialization.jsonObject(with: Data(line.utf8)) }
    }

    @Test func reopeningAppends() throws {
        let dir = TemporaryDirectory()
        let path = dir.path + "/alerts.jsonl"
        try JSONLinesFileSink(path: path).emit(SinkSamples.alert(1))
        try JSONLinesFileSink(path: path).emit(SinkSamples.alert(2))
        #expect(try Self.lines(path).count == 2)
    }

    @Test func unwritablePathIsATypedError() {
        #expect(
            throws: SinkError.cannotOpen(path: "/nonexistent-dir/alerts.jsonl", reason: "No such file or directory")
        ) {
            try JSONLinesFileSink(path: "/nonexistent-dir/alerts.jsonl")
        }
    }

    @Test func multiplexFeedsEverySinkEvenAfterOneFails() throws {
        struct Failing: AlertSink {
            func emit(_ alert: Alert) throws(SinkError) { throw .writeFailed(path: "x", reason: "full") }
            func checkpoint() throws(SinkError) {}
        }
        let dir = TemporaryDirectory()
        let file = try JSONLinesFileSink(path: dir.path + "/a.jsonl")
        let sink = MultiplexAlertSink([Failing(), file])
        #expect(throws: SinkError.writeFailed(path: "x", reason: "full")) { try sink.emit(SinkSamples.alert(1)) }
        try sink.checkpoint()
        #expect(try Self.lines(file.path).count == 1)
    }
}
