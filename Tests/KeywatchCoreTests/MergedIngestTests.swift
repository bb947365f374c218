import Foundation
import Testing

@testable import KeywatchCore

@Suite struct MergedIngestTests {
    static let samples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("samples").path

    @Test func groupsRotatedSetsIntoOneStreamPerNode() {
        let paths = [
            "s/gw2/access.log", "s/gw1/access.log-20261027.gz", "s/gw1/access.log", "s/gw1/access.log-20261026.gz",
            "s/gw2/access.log-20261026.gz", "s/kong1/file-log.json", "s/kong1/file-log-20261026.gz",
            "x/app.log.2.gz", "x/app.log.1", "x/app.log",
        ]
        let streams = StreamGrouping.streams(paths.map { InputSource(path: $0) }).map { $0.map { paths[$0] } }
        #expect(
            streams == [
                ["s/gw2/access.log-20261026.gz", "s/gw2/access.log"],
                ["s/gw1/access.log-20261026.gz", "s/gw1/access.log-20261027.gz", "s/gw1/access.log"],
                ["s/kong1/file-log-20261026.gz", "s/kong1/file-log.json"],
                ["x/app.log.2.gz", "x/app.log.1", "x/app.log"],
            ]
        )
    }

    static func line(_ second: Int, node: Int) -> String {
        let m = String(format: "%02d", (second / 60) % 60)
        let s = String(format: "%02d", second % 60)
        return
            "198.51.100.\(node) - - [26/Oct/2026:10:\(m):\(s) +0000] \"GET /n\(node)/\(second) HTTP/1.1\" 200 \(second) \"-\" \"ua\""
    }

    @Test func mergesNodesInEventTimeOrderAndSortsSmallDisorder() throws {
        let dir = TemporaryDirectory()
        try FileManager.default.createDirectory(atPath: dir.path + "/gw1", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: dir.path + "/gw2", withIntermediateDirectories: true)
        // gw1 logs even seconds, gw2 odd seconds; gw2's first file has two lines 3 s out of order.
        let gw1Old = (0..<600).filter { $0 % 2 == 0 }.map { Self.line($0, node: 1) }
        let gw1New = (600..<1200).filter { $0 % 2 == 0 }.map { Self.line($0, node: 1) }
        var gw2Old = (0..<600).filter { $0 % 2 == 1 }.map { Self.line($0, node: 2) }
        gw2Old.swapAt(100, 102)  // seconds 201 and 205
        let gw2Live = (600..<1200).filter { $0 % 2 == 1 }.map { Self.line($0, node: 2) }
        dir.write("gw1/access.log-20261026.gz", try gzip(Data((gw1Old.joined(separator: "\n") + "\n").utf8)))
        dir.write("gw1/access.log", gw1New.joined(separator: "\n") + "\n")
        dir.write("gw2/access.log-20261026.gz", try gzip(Data((gw2Old.joined(separator: "\n") + "\n").utf8)))
        dir.write("gw2/access.log", gw2Live.joined(separator: "\n"))  // live file: no final newline
        let inputs = InputExpansion.expand([dir.path + "/gw2", dir.path + "/gw1"]).inputs
        let job = ParseJob(inputs: inputs, configuration: IngestConfiguration(), fingerprinter: Fixtures.fingerprinter)
        let (records, report) = job.collectMerged()
        #expect(records.count == 1200)
        #expect(report.diagnostics.events == 1200)
        #expect(records.map { $0.bytes ?? -1 } == (0..<1200).map { Int64($0) })
        let second205 = try #require(records.first { $0.bytes == 205 })
        #expect(second205.source == dir.path + "/gw2/access.log-20261026.gz:101")
        #expect(records.last?.source == dir.path + "/gw2/access.log:300")
    }

    @Test func oneLargeNodeParsedOnTwoThreadsKeepsOrderLinesAndKeys() throws {
        // One node's rotated set of several MiB: its chunks are parsed by two threads in whatever
        // order they finish, and must still arrive in input order, with each input's own line
        // numbers and each worker's key handles mapped to the right key. The oldest file is a
        // damaged archive: what it holds before the damage is kept, and the others follow it.
        let dir = TemporaryDirectory()
        let padding = String(repeating: "x", count: 260)
        func line(_ n: Int) -> String {
            let second = n / 20
            let m = String(format: "%02d", (second / 60) % 60)
            let s = String(format: "%02d", second % 60)
            return "203.0.113.\(n % 200) - - [26/Oct/2026:\(10 + second / 3600):\(m):\(s) +0000] "
                + "\"GET /v1/items/\(n)?api_key=ak_live_MERGE\(1000 + n % 97)xxxxxxxx HTTP/1.1\" 200 \(n) \"-\" \"ua-\(padding)\""
        }
        let damaged = (0..<2_000).map(line)
        let older = (2_000..<11_000).map(line)
        let newer = (11_000..<20_000).map(line)
        var archive = try gzip(Data((damaged.joined(separator: "\n") + "\n").utf8))
        archive.removeLast(archive.count / 2)
        dir.write("big.log.2.gz", archive)
        dir.write("big.log.1", older.joined(separator: "\n") + "\n")
        dir.write("big.log", newer.joined(separator: "\n") + "\n")
        let inputs = InputExpansion.expand([dir.path]).inputs
        #expect(StreamGrouping.streams(inputs).count == 1)
        let job = ParseJob(inputs: inputs, configuration: IngestConfiguration(), fingerprinter: Fixtures.fingerprinter)
        let (records, report) = job.collectMerged()

        #expect(report.diagnostics.errors.contains { "\($0)".contains("big.log.2.gz") })
        let kept = records.prefix { ($0.bytes ?? 0) < 2_000 }.count
        #expect(kept > 0 && kept < damaged.count)
        #expect(records.map { $0.bytes ?? -1 } == (0..<kept).map { Int64($0) } + (2_000..<20_000).map { Int64($0) })
        for (k, record) in records.enumerated() {
            let n = Int(record.bytes ?? -1)
            let expectedSource =
                n < 2_000
                ? "\(dir.path)/big.log.2.gz:\(n + 1)"
                : n < 11_000 ? "\(dir.path)/big.log.1:\(n - 1_999)" : "\(dir.path)/big.log:\(n - 10_999)"
            let expectedKey = Fixtures.fingerprinter.keyID(for: "ak_live_MERGE\(1000 + n % 97)xxxxxxxx")
            if record.source != expectedSource || record.keyID != expectedKey {
                Issue.record("record \(k) (line \(n)): source \(record.source), key \(record.keyID ?? "none")")
                break
            }
        }
        #expect(report.keys == 97)
    }

    @Test func eventsLaterThanTheWindowAreKeptNotDropped() throws {
        let dir = TemporaryDirectory()
        var lines = (0..<100).map { Self.line($0 * 10, node: 1) }
        lines.append(Self.line(5, node: 1))  // 985 s late
        let file = dir.write("late.log", lines.joined(separator: "\n") + "\n")
        let job = ParseJob(
            inputs: [InputSource(path: file)],
            configuration: IngestConfiguration(),
            fingerprinter: Fixtures.fingerprinter
        )
        let (records, _) = job.collectMerged(reorderWindowMillis: 5_000)
        #expect(records.count == 101)
        // Delivered as soon as it arrives: after the events already out, before those still in the window.
        #expect(records[99].bytes == 5)
        #expect(records[100].bytes == 990)
    }

    static func event(time: Int64, line: Int64) -> AccessEvent {
        AccessEvent(
            time: time, client: nil, key: nil, method: .get, endpoint: 0, status: 200, bytes: line,
            latencyMillis: .nan, userAgentHash: 0, source: SourceRef(input: 0, line: line)
        )
    }

    /// Drains what the window may release once `newest` is known, as the merge does.
    static func release(_ window: inout ReorderWindow, lag: Int64, into out: inout [AccessEvent]) {
        while let ready = window.popReady(before: window.newest - lag) { out.append(ready) }
    }

    @Test func reorderWindowSortsDisorderWithinItsSpanAndKeepsArrivalOrderForEqualTimes() {
        // 20k events, one per 10 ms with many equal times, each displaced by up to 2 s (less than the
        // 5 s window): what comes out is the stable sort by time.
        var g = SystemRandomNumberGenerator()
        var arrivals: [AccessEvent] = []
        for i in 0..<20_000 {
            let jitter = Int64.random(in: 0..<2_000, using: &g)
            arrivals.append(Self.event(time: Int64(i / 3) * 10 + jitter, line: Int64(i)))
        }
        var window = ReorderWindow()
        var out: [AccessEvent] = []
        for (n, event) in arrivals.enumerated() {
            window.push(event, sequence: UInt64(n))
            Self.release(&window, lag: 5_000, into: &out)
        }
        while let rest = window.popReady(before: .max) { out.append(rest) }
        let expected = arrivals.enumerated().sorted { a, b in
            a.element.time != b.element.time ? a.element.time < b.element.time : a.offset < b.offset
        }.map(\.element.source.line)
        #expect(out.map(\.source.line) == expected)
        #expect(window.count == 0)
    }

    @Test func reorderWindowKeepsOrderWhenItsRingWrapsAndThenGrows() {
        // In-order events wait in a ring that starts with room for 1,024: release most of the first
        // 1,000 so the next ones wrap around its end, then hold 3,000 so it must grow while wrapped.
        var window = ReorderWindow()
        var out: [AccessEvent] = []
        var n: Int64 = 0
        func push(_ count: Int) {
            for _ in 0..<count {
                window.push(Self.event(time: n * 10, line: n), sequence: UInt64(n))
                n += 1
            }
        }
        push(1_000)
        while out.count < 900, let ready = window.popReady(before: .max) { out.append(ready) }
        push(3_000)
        #expect(window.count == 3_100)
        while let rest = window.popReady(before: .max) { out.append(rest) }
        #expect(out.map(\.source.line) == Array(0..<4_000))
    }

    @Test func reorderWindowReleasesATooLateEventAsSoonAsItArrives() {
        var window = ReorderWindow()
        var out: [AccessEvent] = []
        for (n, time) in [0, 1_000, 9_000, 12_000, 500, 12_000, 16_000].enumerated() {
            window.push(Self.event(time: Int64(time), line: Int64(n)), sequence: UInt64(n))
            Self.release(&window, lag: 5_000, into: &out)
        }
        // 0 and 1000 left when 9000 arrived; 500 is older than what was released, so it goes next;
        // 9000 left when 16000 arrived; the two 12000s wait, in arrival order.
        #expect(out.map(\.time) == [0, 1_000, 500, 9_000])
        #expect(window.released == 9_000)
        while let rest = window.popReady(before: .max) { out.append(rest) }
        #expect(out.map(\.source.line) == [0, 1, 4, 2, 3, 5, 6])
    }

    @Test func bundledSamplesMergeInOrder() throws {
        let expansion = InputExpansion.expand([
            Self.samples + "/nginx/gw1", Self.samples + "/nginx/gw2", Self.samples + "/kong/kong1",
        ])
        var config = IngestConfiguration()
        config.logFormat = try String(contentsOfFile: Self.samples + "/nginx.log_format", encoding: .utf8)
        let job = ParseJob(inputs: expansion.inputs, configuration: config, fingerprinter: Fixtures.fingerprinter)
        let (records, report) = job.collectMerged()
        #expect(report.diagnostics.rejectedLines == 0)
        #expect(records.count == Int(report.diagnostics.events))
        #expect(records.count > 100_000)
        // Kong lines are written at completion, so starts may step back by one request's latency:
        // the reorder window puts them in place.
        // Only events later than the window may be out of order: Kong stamps the request's start,
        // so a request that took longer than the window (a 60 s timeout) lands late. They are kept.
        var previous = ""
        var late = 0
        for record in records {
            if record.time < previous {
                late += 1
                #expect(record.source.contains("/kong/"))
                #expect((record.latencyMillis ?? 0) > 5_000)
            }
            previous = max(previous, record.time)
        }
        #expect(late <= 3)
        #expect(report.diagnostics.lateEvents == Int64(late))
    }
}
