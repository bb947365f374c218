import Foundation
import Testing

@testable import KeywatchCore

@Suite struct CombinedFormatTests {
    @Test func readsApacheCombinedFromElasticSample() throws {
        // Real Apache combined log, gzip-compressed, not in time order.
        let (records, report) = parseFiles([Fixtures.path("realworld/elastic-examples_apache_logs.log.gz")])
        #expect(report.diagnostics.lines == 10_000)
        #expect(report.diagnostics.events == 10_000)
        #expect(report.diagnostics.rejectedLines == 0)
        #expect(report.diagnostics.formats.first?.format == "combined")
        let first = try #require(records.first)
        #expect(first.time == "2015-05-17T10:05:03.000Z")
        #expect(first.ip == "83.149.9.216")
        #expect(first.method == "GET")
        #expect(first.path == "/presentations/logstash-monitorama-2013/images/kibana-search.png")
        #expect(first.status == 200)
        #expect(first.bytes == 203023)
        #expect(first.userAgent?.hasPrefix("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_9_1)") == true)
        #expect(first.keyID == nil)
        #expect(first.source.hasSuffix("elastic-examples_apache_logs.log.gz:1"))
        // 669 lines log bytes as "-".
        #expect(records.filter { $0.bytes == nil }.count == 669)
        #expect(Set(records.map(\.method)) == ["GET", "HEAD", "POST", "OPTIONS"])
    }

    @Test func readsSecrepoWithTrailingSpacesAndEscapedQuotes() throws {
        let (records, report) = parseFiles([Fixtures.path("realworld/secrepo_access.log.2021-10-22.log")])
        #expect(report.diagnostics.lines == 644)
        #expect(report.diagnostics.events == 644)
        let first = try #require(records.first)
        #expect(first.time == "2021-10-22T09:28:56.000Z")  // -0700
        #expect(first.ip == "51.222.253.14")
        #expect(first.path == "/Datasets%20Description/Network/ftp.html")
        #expect(first.userAgent == "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)")
        // Line 327 has \" inside its referer; the user agent after it is still read.
        let escaped = try #require(records.first { $0.source.hasSuffix(":327") })
        #expect(escaped.ip == "125.78.229.99")
        #expect(escaped.status == 404)
        #expect(escaped.path == "/user.php?act=…")
        #expect(escaped.userAgent != nil)
        #expect(records.filter { $0.status == 418 }.count == 12)
    }

    @Test func readsSecrepo2022Rates() {
        let (records, report) = parseFiles([Fixtures.path("realworld/secrepo_access.log.2022-12-22.log")])
        #expect(report.diagnostics.events == 1262)
        #expect(records.first?.time == "2022-12-22T10:26:58.000Z")  // -0800
        #expect(records.filter { $0.status == 429 }.count == 11)
        #expect(records.filter { $0.status == 404 }.count == 389)
    }

    @Test func readsZanbilWithHalfHourOffsetAndExtraField() throws {
        let (records, report) = parseFiles([Fixtures.path("realworld/zanbil-shop_access_log_1000.log")])
        #expect(report.diagnostics.events == 1000)
        let first = try #require(records.first)
        #expect(first.time == "2019-01-22T00:26:14.000Z")  // +0330
        #expect(first.ip == "54.36.149.41")
        #expect(first.bytes == 30577)
        #expect(first.endpoint.hasPrefix("/filter/"))
        let second = records[1]
        #expect(second.endpoint == "/image/{id}/productModel/200x200")
    }

    @Test func forwardedListInFirstFieldPicksTheClient() throws {
        let line = """
            203.0.113.9, 10.0.0.1 - - [26/Oct/2026:13:55:36 +0000] "GET /v1/orders/48213377?expand=items HTTP/1.1" 200 512 "-" "curl/8.0"
            """
        let (records, _) = parse(line + "\n")
        let record = try #require(records.first)
        #expect(record.ip == "203.0.113.9")
        #expect(record.endpoint == "/v1/orders/{id}")
        #expect(record.path == "/v1/orders/48213377?expand=…")
    }

    @Test func commonFormatAndMissingBytesAndCRLF() throws {
        let text =
            "127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] \"GET /apache_pb.gif HTTP/1.0\" 200 -\r\n"
            + "192.0.2.5 - - [10/Oct/2000:13:55:37 -0700] \"POST /v2/items HTTP/1.1\" 201 17   \r\n"
        let (records, report) = parse(text)
        #expect(report.diagnostics.events == 2)
        #expect(records[0].bytes == nil)
        #expect(records[0].userAgent == nil)
        #expect(records[0].time == "2000-10-10T20:55:36.000Z")
        #expect(records[1].method == "POST")
        #expect(records[1].bytes == 17)
        #expect(records[1].status == 201)
    }

    @Test func queryKeyIsFingerprintedAndNeverPrinted() throws {
        let key = "ak_live_Q7xYzW3kLmN8pR2sT5uVnD"
        let line =
            "198.51.100.4 - - [26/Oct/2026:13:55:36 +0000] \"GET /v1/items?api_key=\(key)&page=2 HTTP/1.1\" 200 10 \"-\" \"sdk\"\n"
        let (records, _) = parse(line)
        let record = try #require(records.first)
        #expect(record.keyID == Fixtures.fingerprinter.keyID(for: key))
        #expect(record.keyHint == "ak_live_Q7…nD")
        #expect(record.keySource == "query")
        #expect(!record.jsonLine.contains(key))
        #expect(record.path == "/v1/items?api_key=…&page=…")
    }

    @Test func malformedLinesAreCountedAndSampledWithoutKeys() throws {
        let good = "198.51.100.4 - - [26/Oct/2026:13:55:36 +0000] \"GET / HTTP/1.1\" 200 10 \"-\" \"x\"\n"
        let secret = "sk_live_abcdef0123456789ABCDEF"
        let text =
            good + "this is not a log line with key \(secret)\n" + good
            + "198.51.100.4 - - [99/Oct/2026:13:55:36 +0000] \"GET / HTTP/1.1\" 200 10\n" + good
        let (records, report) = parse(text)
        #expect(records.count == 3)
        #expect(report.diagnostics.rejects[.malformed] == 1)
        #expect(report.diagnostics.rejects[.badTimestamp] == 1)
        let sample = try #require(report.diagnostics.samples.first { $0.reason == .malformed })
        #expect(sample.line == 2)
        #expect(!sample.excerpt.contains(secret))
        #expect(!report.summary.contains(secret))
    }
}

@Suite struct RequestLineTests {
    /// Method and target as the general rule reads them: the method up to the first space, the
    /// target up to the last space when what follows it starts with "HTTP/" in either case.
    static func reference(_ line: [UInt8]) -> (method: [UInt8], target: [UInt8]) {
        guard let first = line.firstIndex(of: UInt8(ascii: " ")) else { return ([], line) }
        var end = line.count
        if let last = line.lastIndex(of: UInt8(ascii: " ")), last > first, last + 5 < line.count,
            String(decoding: line[(last + 1)...(last + 5)], as: UTF8.self).lowercased() == "http/"
        {
            end = last
        }
        return (Array(line[..<first]), Array(line[(first + 1)..<end]))
    }

    @Test func theHTTPVersionShortcutReadsWhatTheGeneralRuleReads() {
        var generator = SystemRandomNumberGenerator()
        let methods = ["GET", "POST", "", "-", "OPTIONS"]
        let targets = ["/v1/orders/5?x=1", "/a b", "/", "", "*", "/p HTTP/1.1", "/x y z"]
        let protocols = ["HTTP/1.1", "http/1.0", "HTTP/2", "HTTPS/1.1", "HTTP/1 1", "HTTP/1.", "HTTP", "HtTp/3.0", "x"]
        for _ in 0..<5_000 {
            var parts = [methods.randomElement(using: &generator)!, targets.randomElement(using: &generator)!]
            if Bool.random(using: &generator) { parts.append(protocols.randomElement(using: &generator)!) }
            let separator = Bool.random(using: &generator) ? " " : "  "
            let line = Array(parts.joined(separator: separator).utf8)
            var fields = RawFields()
            line.withUnsafeBufferPointer { TextScan.splitRequest(ByteView(base: $0.baseAddress, count: $0.count), into: &fields) }
            let expected = Self.reference(line)
            let text = String(decoding: line, as: UTF8.self)
            #expect(Array(fields.method.bytes) == expected.method, "\(text)")
            #expect(Array(fields.target.bytes) == expected.target, "\(text)")
        }
    }

    @Test func theInlineByteSearchFindsWhatALinearScanFinds() {
        // Lines of every length from empty to past three blocks, the byte sought placed anywhere
        // (or nowhere), searched from every offset: the first-two-bytes look, the 16-byte blocks
        // and the overlapping last block must all agree with a plain scan, and never read past
        // the line (the line is copied into a buffer that ends where it does).
        var generator = SystemRandomNumberGenerator()
        for length in 0...52 {
            for _ in 0..<12 {
                var bytes = (0..<length).map { _ in UInt8.random(in: 0x20...0x7E, using: &generator) }
                bytes = bytes.map { $0 == 0x22 ? 0x41 : $0 }
                for _ in 0..<Int.random(in: 0...3, using: &generator) where length > 0 {
                    bytes[Int.random(in: 0..<length, using: &generator)] = 0x22
                }
                let line = UnsafeMutablePointer<UInt8>.allocate(capacity: max(length, 1))
                defer { line.deallocate() }
                line.initialize(from: bytes, count: length)
                let view = ByteView(base: UnsafePointer(line), count: length)
                for from in 0...length {
                    let expected = bytes[from...].firstIndex(of: 0x22)
                    #expect(TextScan.index(of: 0x22, in: view, from: from) == expected, "length \(length) from \(from)")
                }
            }
        }
    }
}
