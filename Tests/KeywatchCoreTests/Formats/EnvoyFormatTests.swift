import Testing

@testable import KeywatchCore

enum EnvoySamples {
    /// "Example of the default Envoy access log format",
    /// https://www.envoyproxy.io/docs/envoy/latest/configuration/observability/access_log/usage
    static let envoyDefault =
        #"[2016-04-15T20:17:00.310Z] "POST /api/v1/locations HTTP/2" 204 - 154 0 226 100 "10.0.35.28" "nsq2http" "cc21d9b0-cf5c-432b-8c7e-98aeb7988cd2" "locations" "tcp://10.0.2.1:80""#
    /// The `sleep` and `httpbin` sidecar lines in Istio's default (longer) format,
    /// https://istio.io/latest/docs/tasks/observability/logs/access-log/
    static let istioSleep =
        #"[2020-11-25T21:26:18.409Z] "GET /status/418 HTTP/1.1" 418 - via_upstream - "-" 0 135 4 4 "-" "curl/7.73.0-DEV" "84961386-6d84-929d-98bd-c5aee93b5c88" "httpbin:8000" "10.44.1.27:80" outbound|8000||httpbin.foo.svc.cluster.local 10.44.1.23:37652 10.0.45.184:8000 10.44.1.23:46520 - default"#
    static let istioHttpbin =
        #"[2020-11-25T21:26:18.409Z] "GET /status/418 HTTP/1.1" 418 - via_upstream - "-" 0 135 3 1 "-" "curl/7.73.0-DEV" "84961386-6d84-929d-98bd-c5aee93b5c88" "httpbin:8000" "127.0.0.1:80" inbound|8000|| 127.0.0.1:41854 10.44.1.27:80 10.44.1.23:37652 outbound_.8000_._.httpbin.foo.svc.cluster.local default"#
}

@Suite("Envoy text access logs")
struct EnvoyFormatTests {
    typealias H = GatewayFormatHarness

    @Test func envoyDocumentedDefault() throws {
        var format = EnvoyTextFormat(options: FormatOptions())
        let (outcome, records) = H.parse(&format, EnvoySamples.envoyDefault)
        #expect(outcome == .records(1))
        let r = try #require(records.first)
        #expect(r.timeMillis == 1_460_751_420_310)
        #expect(r.method == "POST")
        #expect(r.target == "/api/v1/locations")
        #expect(r.status == 204)
        #expect(r.bytes == 0)
        #expect(r.latencyMillis == 226)
        #expect(r.forwardedFor == "10.0.35.28")
        #expect(r.remoteAddress == "10.0.35.28")  // no DOWNSTREAM_REMOTE_ADDRESS: the X-Forwarded-For hop
        #expect(r.userAgent == "nsq2http")
        #expect(format.name == "envoy")
    }

    @Test func istioDefaultUsesDownstreamRemoteAddress() throws {
        var format = EnvoyTextFormat()
        let (outcome, records) = H.parse(&format, EnvoySamples.istioSleep)
        #expect(outcome == .records(1))
        let r = try #require(records.first)
        #expect(r.timeMillis == 1_606_339_578_409)
        #expect(r.method == "GET")
        #expect(r.target == "/status/418")
        #expect(r.status == 418)
        #expect(r.bytes == 135)
        #expect(r.latencyMillis == 4)
        #expect(r.userAgent == "curl/7.73.0-DEV")
        #expect(r.forwardedFor == "")
        #expect(r.remoteAddress == "10.44.1.23")

        let (_, inbound) = H.parse(&format, EnvoySamples.istioHttpbin)
        #expect(inbound.first?.latencyMillis == 3)
        #expect(inbound.first?.remoteAddress == "10.44.1.23")
    }

    @Test func forwardedListAndIPv6DownstreamAddress() throws {
        var format = EnvoyTextFormat()
        let line =
            #"[2024-02-01T08:00:00.000Z] "GET /v1/search?q=x&api_key=ak_test_FAKE0000000000000001 HTTP/2" 200 - via_upstream - "-" 0 5120 37 35 "198.51.100.23,10.0.0.9" "Mozilla/5.0 (X11; Linux x86_64)" "5c0e6f3a-8d1c-4b4e-9d8c-0a7a1e2b3c4d" "api.example.com" "10.1.2.3:8080" outbound|8080||search.prod.svc.cluster.local 10.1.0.5:51000 10.1.0.5:8443 [2001:db8::7]:53311 api.example.com default"#
        let (_, records) = H.parse(&format, line)
        let r = try #require(records.first)
        #expect(r.target == "/v1/search?q=x&api_key=ak_test_FAKE0000000000000001")
        #expect(r.forwardedFor == "198.51.100.23,10.0.0.9")
        #expect(r.remoteAddress == "2001:db8::7")
        #expect(r.userAgent == "Mozilla/5.0 (X11; Linux x86_64)")
        #expect(r.latencyMillis == 37)
        #expect(r.bytes == 5120)
    }

    @Test func oldFormatTakesTheLastForwardedHop() throws {
        var format = EnvoyTextFormat()
        let line =
            #"[2016-04-15T20:17:00.310Z] "GET /a HTTP/1.1" 503 UF 0 91 1 - "198.51.100.23, 10.0.35.28" "curl/8.0" "id" "svc" "-""#
        let (_, records) = H.parse(&format, line)
        let r = try #require(records.first)
        #expect(r.remoteAddress == "10.0.35.28")
        #expect(r.status == 503)
        #expect(r.bytes == 91)
    }

    @Test func tcpProxyEntriesAreIgnored() {
        var format = EnvoyTextFormat()
        let line = #"[2020-11-25T21:26:18.409Z] "- - -" 0 - - - "-" 1520 2380 12 - "-" "-" "-" "-" "10.44.1.27:3306""#
        #expect(H.parse(&format, line).0 == .ignored)
    }

    @Test(arguments: [
        "",
        "garbage",
        #"[2016-04-15T20:17:00.310Z]"#,
        #"[2016-04-15T20:17:00.310Z] "POST /x HTTP/2" 2x4 - 154 0 226 100 "-" "-" "-" "-" "-""#,
        #"[2016-04-15T20:17:00.310Z] "POST /x HTTP/2 204 - 154 0 226 100"#,
        #"[2016-04-15T20:17:00.310Z] "POST /x HTTP/2" 204 - 154 0 abc 100 "-" "-" "-" "-" "-""#,
        #"{"start_time":"2016-04-15T20:17:00.310Z"}"#,
        "[{\"a\":1}]",
    ])
    func rejectsOtherLines(_ line: String) {
        var format = EnvoyTextFormat()
        let (outcome, records) = H.parse(&format, line)
        #expect(outcome == (line.isEmpty ? .ignored : .rejected(.malformed)))
        #expect(records.isEmpty)
    }

    @Test func badTimeIsABadTimestamp() {
        var format = EnvoyTextFormat()
        let line = #"[15/Apr/2016 20:17] "POST /api/v1/locations HTTP/2" 204 - 154 0 226 100 "-" "-" "-" "-" "-""#
        #expect(H.parse(&format, line).0 == .rejected(.badTimestamp))
    }

    @Test func truncationsNeverCrash() {
        var format = EnvoyTextFormat()
        let bytes = Array(EnvoySamples.istioSleep.utf8)
        for cut in 0...bytes.count {
            let (outcome, records) = H.parse(&format, bytes: Array(bytes[0..<cut]))
            if case .records(let n) = outcome { #expect(records.count == n) }
        }
    }

    @Test func detection() {
        #expect(H.withView(EnvoySamples.envoyDefault) { EnvoyTextFormat.detect($0) })
        #expect(H.withView(EnvoySamples.istioSleep) { EnvoyTextFormat.detect($0) })
        #expect(!H.withView(ALBSamples.http) { EnvoyTextFormat.detect($0) })
        #expect(!H.withView(JSONSamples.awsREST) { EnvoyTextFormat.detect($0) })
        #expect(!H.withView("[" + JSONSamples.kong22 + "]") { EnvoyTextFormat.detect($0) })
    }
}
