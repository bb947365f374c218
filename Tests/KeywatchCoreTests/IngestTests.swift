import Foundation
import Testing

@testable import KeywatchCore

@Suite struct IngestTests {
    static func line(_ n: Int, path: String = "/v1/orders") -> String {
        let second = String(format: "%02d", n % 60)
        let minute = String(format: "%02d", (n / 60) % 60)
        return
            "198.51.100.\(n % 250) - - [26/Oct/2026:13:\(minute):\(second) +0000] \"GET \(path)/\(n) HTTP/1.1\" 200 \(n) \"-\" \"ua\""
    }

    static func lines(_ range: Range<Int>) -> String {
        range.map { line($0) }.joined(separator: "\n") + "\n"
    }

    @Test func concatenatedGzipMembersAreAllRead() throws {
        let data = try gzip(Data(Self.lines(0..<100).utf8)) + gzip(Data(Self.lines(100..<250).utf8))
        let (records, report) = parse(data: data, name: "rotated.gz.notanextension")
        #expect(report.diagnostics.events == 250)
        #expect(report.diagnostics.errors.isEmpty)
        #expect(records.last?.bytes == 249)
        #expect(records[100].source.hasSuffix(":101"))
    }

    @Test func truncatedGzipKeepsEveryCompleteLineAndReportsTheOffset() throws {
        let full = try gzip(Data(Self.lines(0..<3000).utf8))
        let cut = full.prefix(full.count * 2 / 3)
        let (records, report) = parse(data: cut, name: "cut.log.gz")
        #expect(records.count > 1000)
        #expect(records.count < 3000)
        // Every event read is intact and in order.
        for (i, r) in records.enumerated() { #expect(r.bytes == Int64(i)) }
        let error = try #require(report.diagnostics.errors.first)
        guard case .truncatedGzip(let file, let offset) = error else {
            Issue.record("expected truncatedGzip, got \(error)")
            return
        }
        #expect(file.hasSuffix("cut.log.gz"))
        #expect(offset == Int64(cut.count))
        #expect(report.hadInputErrors)
        // The cut line is counted, not silently lost.
        #expect(report.diagnostics.rejects[.truncated] == 1)
    }

    @Test func corruptMemberIsReportedAndTheNextMemberIsStillRead() throws {
        var first = try gzip(Data(Self.lines(0..<2000).utf8))
        let second = try gzip(Data(Self.lines(2000..<2100).utf8))
        // Damage the middle of the first member's deflate data.
        for i in (first.count / 2)..<(first.count / 2 + 64) { first[i] ^= 0x5A }
        let (records, report) = parse(data: first + second, name: "damaged.gz")
        #expect(report.hadInputErrors)
        #expect(
            report.diagnostics.errors.contains {
                if case .corruptGzip = $0 { return true }
                return false
            }
        )
        // All 100 lines of the intact second member are there.
        #expect(records.filter { ($0.bytes ?? -1) >= 2000 }.count == 100)
    }

    /// The vector check of a whole chunk agrees with a byte-by-byte look for NUL and non-ASCII bytes.
    @Test func cleanChunkCheckFindsEveryBadByte() {
        var generator = SystemRandomNumberGenerator()
        for length in 0..<300 {
            for bad: UInt8? in [nil, 0x00, 0x7F, 0x80, 0x81, 0xFF] {
                var bytes = (0..<length).map { _ in UInt8.random(in: 1...0x7F, using: &generator) }
                if let bad, length > 0 { bytes[Int.random(in: 0..<length, using: &generator)] = bad }
                let expected = !bytes.contains { $0 == 0 || $0 >= 0x80 }
                bytes.withUnsafeBytes { #expect(LineCheck.isCleanASCII($0) == expected, "length \(length)") }
            }
        }
    }

    /// A hash's last partial word is the same whether it is read byte by byte or shifted out of a word.
    @Test func hashTailWordMatchesTheByteLoop() {
        let bytes: [UInt8] = (0..<40).map { UInt8($0 * 37 & 0xFF) }
        bytes.withUnsafeBytes { raw in
            for count in 1...40 {
                for from in max(0, count - 7)..<count {
                    var expected: UInt64 = 0
                    for k in from..<count { expected |= UInt64(raw[k]) << UInt64(8 * (k - from)) }
                    #expect(FastHash.tailWord(raw.baseAddress!, from: from, count: count) == expected)
                }
            }
        }
    }

    @Test func timesBefore1970OrAfter2199AreBadTimestamps() throws {
        // A broken clock must not reach the baseline (its rings index by minute and day since
        // 1970: a time before that once trapped analysis); the lines around it are kept.
        let text =
            [
                Self.line(1),
                Self.line(2).replacingOccurrences(of: "/2026:", with: "/1960:"),
                Self.line(3).replacingOccurrences(of: "/2026:", with: "/2200:"),
                Self.line(4).replacingOccurrences(of: "/2026:", with: "/1970:"),
                Self.line(5).replacingOccurrences(of: "/2026:", with: "/2199:"),
            ].joined(separator: "\n") + "\n"
        let (records, report) = parse(data: Data(text.utf8))
        #expect(records.map(\.bytes) == [1, 4, 5])
        #expect(report.diagnostics.rejects[.badTimestamp] == 2)
    }

    @Test func binaryJunkLongLinesAndInvalidUTF8() throws {
        var data = Data(Self.line(1).utf8) + Data("\n".utf8)
        data += Data([0x00, 0x01, 0xFF, 0x00, 0x41, 0x0A])  // binary junk with NULs
        data += Data(String(repeating: "x", count: 70_000).utf8) + Data("\n".utf8)  // over 64 KiB
        data += Data(Self.line(2).replacingOccurrences(of: "\"ua\"", with: "\"caf\u{00E9}\"").utf8) + Data("\n".utf8)
        var invalid = Data(Self.line(3).utf8)
        invalid[invalid.count - 2] = 0xC3  // a lone lead byte inside the user agent
        data += invalid + Data("\n".utf8)
        data += Data(Self.line(4).utf8)  // no final newline
        let (records, report) = parse(data: data)
        #expect(records.map(\.bytes) == [1, 2, 3, 4])
        #expect(report.diagnostics.rejects[.binary] == 1)
        #expect(report.diagnostics.rejects[.lineTooLong] == 1)
        #expect(report.diagnostics.invalidUTF8 == 1)
        #expect(records[1].userAgent == "caf\u{00E9}")
        #expect(records[2].userAgent == "u\u{FFFD}")
        #expect(report.diagnostics.lines == 6)
    }

    @Test func enormousLineSpanningChunksIsSkippedWithoutBuffering() throws {
        var text = Self.line(1) + "\n"
        text += String(repeating: "y", count: 3 << 20) + "\n"  // 3 MiB line across several 1 MiB chunks
        text += Self.lines(2..<5000)
        let (records, report) = parse(text)
        #expect(records.count == 4999)
        #expect(report.diagnostics.rejects[.lineTooLong] == 1)
        #expect(records[1].source.hasSuffix(":3"))
    }

    @Test func linesCrossingChunkBoundariesAreIntact() {
        // ~14 MB of lines: many chunk boundaries fall inside lines.
        let count = 120_000
        let (records, report) = parse(Self.lines(0..<count))
        #expect(report.diagnostics.events == Int64(count))
        #expect(report.diagnostics.rejectedLines == 0)
        #expect(records.indices.allSatisfy { records[$0].bytes == Int64($0) })
    }

    @Test func missingFilesAndUnknownFormatsAreErrorsButOtherInputsAreRead() {
        let dir = TemporaryDirectory()
        let good = dir.write("good.log", Self.lines(0..<10))
        let weird = dir.write("weird.log", "hello world\nthis is prose\n")
        let (records, report) = parseFiles([dir.path + "/nope.log", weird, good])
        #expect(records.count == 10)
        #expect(report.diagnostics.errors.count == 2)
        #expect(report.hadInputErrors)
        #expect(report.summary.contains("nope.log: cannot open"))
        #expect(report.summary.contains("weird.log: skipped"))
    }

    @Test func emptyAndBlankInputs() {
        let (records, report) = parse("\n\n\r\n")
        #expect(records.isEmpty)
        #expect(report.diagnostics.rejectedLines == 0)
        let (none, emptyReport) = parse("")
        #expect(none.isEmpty)
        #expect(!emptyReport.hadInputErrors)
    }

    @Test func rotatedSetsSortOldestFirst() {
        let sorted = InputExpansion.sortRotated([
            "gw/access.log", "gw/access.log.1", "gw/access.log.2.gz", "gw/access.log.10.gz",
        ])
        #expect(sorted == ["gw/access.log.10.gz", "gw/access.log.2.gz", "gw/access.log.1", "gw/access.log"])
        let dated = InputExpansion.sortRotated(["a/access.log", "a/access.log-20261027.gz", "a/access.log-20261026.gz"])
        #expect(dated == ["a/access.log-20261026.gz", "a/access.log-20261027.gz", "a/access.log"])
    }
}

@Suite struct ParallelPathTests {
    /// The two-thread path (used for `--output none` and analysis) must see exactly what the
    /// sequential path sees: same events in the same order, same line numbers, same rejects.
    @Test(arguments: [
        "realworld/elastic-examples_apache_logs.log.gz", "realworld/secrepo_access.log.2021-10-22.log",
        "realworld/zanbil-shop_access_log_1000.log",
    ])
    func matchesSequentialOnRealLogs(fixture: String) {
        compare([Fixtures.path(fixture)])
    }

    @Test func matchesSequentialAcrossManyChunksWithBadLinesAndMultipleInputs() throws {
        let dir = TemporaryDirectory()
        var text = ""
        for i in 0..<40_000 {
            text += IngestTests.line(
                i,
                path: i % 7 == 0 ? "/v1/items?api_key=ak_live_PARALLEL\(i % 13)xxxxxxxxxxxxx" : "/v2/x"
            )
            text += "\n"
            if i % 5000 == 17 { text += "garbage line \(i)\n" }
            if i == 20_000 { text += String(repeating: "z", count: 2_100_000) + "\n" }  // longer than a chunk
            if i == 30_000 { text += String(repeating: "q", count: 100_000) + "\n" }  // over the line limit
        }
        let plain = dir.write("a.log", text)
        let gz = dir.write("b.log.gz", try gzip(Data(text.utf8)))
        var cut = try gzip(Data(IngestTests.lines(0..<5000).utf8))
        cut = cut.prefix(cut.count / 2)
        let truncated = dir.write("c.log.gz", cut)
        compare([plain, gz, truncated])
    }

    func compare(_ paths: [String]) {
        let job = ParseJob(
            inputs: paths.map { InputSource(path: $0) },
            configuration: IngestConfiguration(),
            fingerprinter: Fixtures.fingerprinter
        )
        let (sequential, seqReport) = job.collect()
        let (parallel, parReport) = job.collectParallel()
        #expect(parallel.count == sequential.count)
        #expect(parReport.diagnostics.lines == seqReport.diagnostics.lines)
        #expect(parReport.diagnostics.rejects == seqReport.diagnostics.rejects)
        #expect(parReport.diagnostics.errors == seqReport.diagnostics.errors)
        #expect(parReport.keys == seqReport.keys)
        #expect(parReport.endpoints == seqReport.endpoints)
        #expect(parReport.diagnostics.samples.map(\.line) == seqReport.diagnostics.samples.map(\.line))
        var mismatches = 0
        for (a, b) in zip(sequential, parallel) where mismatches < 5 {
            let same =
                a.time == b.time && a.ip == b.ip && a.keyID == b.keyID && a.keyHint == b.keyHint
                && a.endpoint == b.endpoint && a.status == b.status && a.bytes == b.bytes
                && a.latencyMillis == b.latencyMillis && a.source == b.source
            if !same {
                mismatches += 1
                Issue.record("sequential \(a.jsonLine) != parallel \(b.jsonLine)")
            }
        }
    }
}

@Suite struct InflateBackendTests {
    func configuration(_ backend: InflateBackend) -> IngestConfiguration {
        var config = IngestConfiguration()
        config.inflateBackend = backend
        return config
    }

    @Test(arguments: InflateBackend.allCases)
    func concatenatedMembers(backend: InflateBackend) throws {
        let data = try gzip(Data(IngestTests.lines(0..<3000).utf8)) + gzip(Data(IngestTests.lines(3000..<3100).utf8))
        let (records, report) = parse(data: data, configuration: configuration(backend), name: "two.gz")
        #expect(records.count == 3100)
        #expect(report.diagnostics.errors.isEmpty)
        #expect(records.last?.bytes == 3099)
    }

    @Test(arguments: InflateBackend.allCases)
    func truncationKeepsLinesAndReportsTheSameOffset(backend: InflateBackend) throws {
        let full = try gzip(Data(IngestTests.lines(0..<3000).utf8))
        let cut = full.prefix(full.count / 2)
        let (records, report) = parse(data: cut, configuration: configuration(backend), name: "cut.gz")
        #expect(records.count > 1000)
        for (i, r) in records.enumerated() { #expect(r.bytes == Int64(i)) }
        #expect(
            report.diagnostics.errors == [
                .truncatedGzip(
                    file: report.diagnostics.errors.first.map {
                        if case .truncatedGzip(let file, _) = $0 { return file }
                        return ""
                    } ?? "",
                    byteOffset: Int64(cut.count)
                )
            ]
        )
    }

    @Test(arguments: InflateBackend.allCases)
    func corruptionIsReportedAndTheNextMemberRead(backend: InflateBackend) throws {
        var first = try gzip(Data(IngestTests.lines(0..<2000).utf8))
        for i in (first.count / 2)..<(first.count / 2 + 64) { first[i] ^= 0x5A }
        let second = try gzip(Data(IngestTests.lines(2000..<2100).utf8))
        let (records, report) = parse(data: first + second, configuration: configuration(backend), name: "bad.gz")
        #expect(report.hadInputErrors)
        #expect(records.filter { ($0.bytes ?? -1) >= 2000 }.count == 100)
    }

    @Test func bothBackendsAgreeOnARealArchive() {
        let path = Fixtures.path("realworld/elastic-examples_apache_logs.log.gz")
        let zlib = parseFiles([path], configuration: configuration(.zlib)).records
        let isal = parseFiles([path], configuration: configuration(.isal)).records
        #expect(zlib.count == 10_000)
        #expect(zlib == isal)
    }
}
