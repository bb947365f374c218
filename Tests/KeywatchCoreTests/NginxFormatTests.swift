import Foundation
import Testing

@testable import KeywatchCore

@Suite struct NginxFormatTests {
    static let issueFormat =
        #"$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" "$http_x_api_key" $request_time"#

    func configuration(_ template: String, keyField: String? = nil) -> IngestConfiguration {
        var config = IngestConfiguration()
        config.logFormat = template
        config.formatOptions.keyField = keyField
        return config
    }

    @Test func readsCustomFormatWithKeyHeader() throws {
        let key = "ak_live_Q7xYzW3kLmN8pR2sT5uVnD"
        let line =
            #"203.0.113.7 - - [26/Oct/2026:13:55:36 +0100] "GET /v1/orders/48213377?expand=items HTTP/1.1" 200 512 "-" "acme-sdk/2.3 (python)" "\#(key)" 0.043"#
        let (records, report) = parse(line + "\n", configuration: configuration(Self.issueFormat))
        #expect(report.diagnostics.formats.first?.format == "nginx")
        let r = try #require(records.first)
        #expect(r.time == "2026-10-26T12:55:36.000Z")
        #expect(r.ip == "203.0.113.7")
        #expect(r.keyID == Fixtures.fingerprinter.keyID(for: key))
        #expect(r.keyHint == "ak_live_Q7…nD")
        #expect(r.keySource == "header")
        #expect(r.method == "GET")
        #expect(r.endpoint == "/v1/orders/{id}")
        #expect(r.status == 200)
        #expect(r.bytes == 512)
        #expect(r.latencyMillis == 43)
        #expect(r.userAgent == "acme-sdk/2.3 (python)")
        #expect(!r.jsonLine.contains(key))
    }

    @Test func keySourceIsWhereThisLineCarriedTheKey() throws {
        // The same key in a header, then in the query string: one key id, and each line says where
        // it found the key, not where the key was first seen.
        let key = "ak_live_Q7xYzW3kLmN8pR2sT5uVnD"
        let lines = [
            #"203.0.113.7 - - [26/Oct/2026:13:55:36 +0000] "GET /v1/orders/1 HTTP/1.1" 200 512 "-" "ua" "\#(key)" 0.043"#,
            #"203.0.113.7 - - [26/Oct/2026:13:55:37 +0000] "GET /v1/orders/2?api_key=\#(key) HTTP/1.1" 200 512 "-" "ua" "-" 0.043"#,
        ]
        let (records, _) = parse(lines.joined(separator: "\n") + "\n", configuration: configuration(Self.issueFormat))
        #expect(records.count == 2)
        #expect(Set(records.map(\.keyID)) == [Fixtures.fingerprinter.keyID(for: key)])
        #expect(records.map(\.keySource) == ["header", "query"])
    }

    @Test func escapedQuoteAndMissingValues() throws {
        let line = #"2001:db8::7 - - [26/Oct/2026:13:55:36 +0000] "POST /v1/x HTTP/2.0" 502 - "-" "bad\x22agent" "-" -"#
        let (records, _) = parse(line + "\n", configuration: configuration(Self.issueFormat))
        let r = try #require(records.first)
        #expect(r.ip == "2001:db8::7")
        #expect(r.bytes == nil)
        #expect(r.latencyMillis == nil)
        #expect(r.keyID == nil)
        #expect(r.userAgent == #"bad\x22agent"#)
    }

    @Test func isoTimeUpstreamTimeAndArgKey() throws {
        let format =
            #"$remote_addr [$time_iso8601] "$request_method $uri" $args $status $bytes_sent $upstream_response_time "$http_x_forwarded_for""#
        let line =
            #"10.0.0.2 [2026-10-26T13:55:36+02:00] "GET /v2/search" q=shoes&apikey=KEY0123456789abcdef 200 900 0.010, 0.020 "198.51.100.23, 10.0.0.9""#
        let (records, _) = parse(line + "\n", configuration: configuration(format))
        let r = try #require(records.first)
        #expect(r.time == "2026-10-26T11:55:36.000Z")
        #expect(r.ip == "198.51.100.23")  // behind trusted private proxies
        #expect(r.path == "/v2/search?q=…&apikey=…")
        #expect(r.keySource == "query")
        #expect(r.bytes == 900)
        #expect(r.latencyMillis == 10)
    }

    @Test func jsonEscapeFormat() throws {
        let format =
            #"log_format api escape=json '{"time":"$time_iso8601","ip":"$remote_addr","req":"$request","status":$status,"bytes":$body_bytes_sent,"rt":$request_time,"ua":"$http_user_agent","key":"$http_x_api_key"}';"#
        let line =
            #"{"time":"2026-10-26T13:55:36+00:00","ip":"203.0.113.8","req":"DELETE /v1/orders/77 HTTP/1.1","status":204,"bytes":0,"rt":0.002,"ua":"x \"quoted\" ua","key":"ak_test_FAKE0000000000000001"}"#
        let (records, report) = parse(line + "\n", configuration: configuration(format))
        #expect(report.diagnostics.formats.first?.format == "nginx-json")
        let r = try #require(records.first)
        #expect(r.method == "DELETE")
        #expect(r.endpoint == "/v1/orders/{id}")
        #expect(r.status == 204)
        #expect(r.latencyMillis == 2)
        #expect(r.userAgent == #"x "quoted" ua"#)
        #expect(r.keyID == Fixtures.fingerprinter.keyID(for: "ak_test_FAKE0000000000000001"))
    }

    @Test func badFormatsAreExplained() {
        #expect(throws: FormatError.self) { try NginxFormat(template: "$remote_addr$remote_user [$time_local]") }
        #expect(throws: FormatError.self) { try NginxFormat(template: "$remote_addr \"$request\"") }
        #expect(throws: FormatError.self) { try NginxFormat(template: "no variables") }
        do {
            _ = try NginxFormat(template: "$remote_addr \"$request\"")
        } catch {
            #expect(error.description.contains("logs no time"))
        }
    }

    @Test func linesOfAnotherFormatAreRejected() {
        let text =
            "not matching at all\n"
            + #"203.0.113.7 - - [26/Oct/2026:13:55:36 +0000] "GET / HTTP/1.1" 200 1 "-" "ua" "-" 0.001"# + "\n"
            + #"203.0.113.7 - - [26/Oct/2026:13:55:37 +0000] "GET / HTTP/1.1" 200 1 "-" "ua" "-" 0.001"# + "\n"
        let (records, report) = parse(text, configuration: configuration(Self.issueFormat))
        #expect(records.count == 2)
        #expect(report.diagnostics.rejects[.malformed] == 1)
    }
}

@Suite struct ApacheLogFormatTests {
    func configuration(_ template: String) -> IngestConfiguration {
        var config = IngestConfiguration()
        config.logFormat = template
        return config
    }

    /// Apache's documented "combined" plus %D (microseconds), the common way to log latency.
    @Test func combinedWithMicroseconds() throws {
        let format = #"%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-agent}i" %D"#
        let line =
            #"127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326 "http://www.example.com/start.html" "Mozilla/4.08 [en] (Win98; I ;Nav)" 52340"#
        let (records, report) = parse(line + "\n", configuration: configuration(format))
        #expect(report.diagnostics.rejectedLines == 0)
        let r = try #require(records.first)
        #expect(r.time == "2000-10-10T20:55:36.000Z")
        #expect(r.ip == "127.0.0.1")
        #expect(r.path == "/apache_pb.gif")
        #expect(r.status == 200)
        #expect(r.bytes == 2326)
        #expect(r.userAgent == "Mozilla/4.08 [en] (Win98; I ;Nav)")
        #expect(r.latencyMillis == 52.34)
    }

    @Test func keyHeaderMillisecondsAndSplitTarget() throws {
        let format = #"%a %t "%m %U%q" %>s %B %{ms}T "%{X-Api-Key}i""#
        let line =
            #"198.51.100.9 [26/Oct/2026:13:55:36 +0000] "POST /v1/orders?expand=items" 201 88 17 "ak_test_FAKE0000000000000003""#
        let (records, _) = parse(line + "\n", configuration: configuration(format))
        let r = try #require(records.first)
        #expect(r.method == "POST")
        #expect(r.path == "/v1/orders?expand=…")
        #expect(r.latencyMillis == 17)
        #expect(r.keyID == Fixtures.fingerprinter.keyID(for: "ak_test_FAKE0000000000000003"))
    }

    @Test func unsupportedDirectivesAreExplained() {
        #expect(throws: FormatError.self) { try ApacheLogFormat.translate("%h %{%Y-%m-%d}t %r") }
        #expect(throws: FormatError.self) { try ApacheLogFormat.translate("%h %Z") }
        #expect(throws: FormatError.self) { try ApacheLogFormat.translate("%h %{User-Agent") }
    }
}
