import Testing

@testable import KeywatchCore

/// Entries from "Access log entries" → "Examples" in
/// https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-access-logs.html
/// (shown there wrapped over several lines "to make them easier to read"; logged as one).
enum ALBSamples {
    static let http =
        #"http 2018-07-02T22:23:00.186641Z app/my-loadbalancer/50dc6c495c0c9188 192.168.131.39:2817 10.0.0.1:80 0.000 0.001 0.000 200 200 34 366 "GET http://www.example.com:80/ HTTP/1.1" "curl/7.46.0" - - arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067 "Root=1-58337262-36d228ad5d99923122bbe354" "-" "-" 0 2018-07-02T22:22:48.364000Z "forward" "-" "-""#
    static let https =
        #"https 2018-07-02T22:23:00.186641Z app/my-loadbalancer/50dc6c495c0c9188 192.168.131.39:2817 10.0.0.1:80 0.086 0.048 0.037 200 200 0 57 "GET https://www.example.com:443/ HTTP/1.1" "curl/7.46.0" ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067 "Root=1-58337281-1d84f3d73c47ec4e58577259" "www.example.com" "arn:aws:acm:us-east-2:123456789012:certificate/12345678-1234-1234-1234-123456789012" 1 2018-07-02T22:22:48.364000Z "authenticate,forward" "-" "-""#
    static let h2 =
        #"h2 2018-07-02T22:23:00.186641Z app/my-loadbalancer/50dc6c495c0c9188 10.0.1.252:48160 10.0.0.66:9000 0.000 0.002 0.000 200 200 5 257 "GET https://10.0.2.105:773/ HTTP/2.0" "curl/7.46.0" ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067 "Root=1-58337327-72bd00b0343d75b906739c42" "-" "-" 1 2018-07-02T22:22:48.364000Z "redirect" "https://example.com:80/" "-""#
    static let websocket =
        #"ws 2018-07-02T22:23:00.186641Z app/my-loadbalancer/50dc6c495c0c9188 10.0.0.140:40914 10.0.1.192:8010 0.001 0.003 0.000 101 101 218 587 "GET http://10.0.0.30:80/ HTTP/1.1" "-" - - arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067 "Root=1-58337364-23a8c76965a2ef7629b185e3" "-" "-" 1 2018-07-02T22:22:48.364000Z "forward" "-" "-""#
    static let lambdaFailed =
        #"http 2018-11-30T22:23:00.186641Z app/my-loadbalancer/50dc6c495c0c9188 192.168.131.39:2817 - 0.000 0.001 0.000 502 - 34 366 "GET http://www.example.com:80/ HTTP/1.1" "curl/7.46.0" - - arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067 "Root=1-58337364-23a8c76965a2ef7629b185e3" "-" "-" 0 2018-11-30T22:22:48.364000Z "forward" "-" "LambdaInvalidResponse""#
    /// Classic Load Balancer example, https://docs.aws.amazon.com/elasticloadbalancing/latest/classic/access-log-collection.html
    static let classic =
        #"2015-05-13T23:39:43.945958Z my-loadbalancer 192.168.131.39:2817 10.0.0.1:80 0.000073 0.001048 0.000057 200 200 0 29 "GET http://www.example.com:80/ HTTP/1.1" "curl/7.38.0" - -"#
    /// An IPv6 client, written without brackets, from a user's ALB log in
    /// https://github.com/allinurl/goaccess/issues/2557 (with the extra fields newer ALBs append).
    static let ipv6 =
        #"h2 2023-09-10T23:55:00.361692Z app/I8YR24BIAN4K/6378464905b0814a 2a02:a33c:4538:1:bcf4:5264:e01c:f215:50718 10.0.0.0:80 0.000 0.003 0.000 401 401 29 805 "GET https://api.foo.bar.nl:443/api/v1/alerts/me/outstanding?apikey=ak_test_FAKE0000000000000001 HTTP/2.0" "3.20.0 (Build/1900005469; Android 33; samsung; SM-G781B) okhttp/4.11.0" ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 arn:aws:elasticloadbalancing:eu-west-1:xxx:targetgroup/ApiTa/4adf8897d8a3b7af "Root=1-64fe5754-33ecd7461b3736944677bb97" "api.foo.bar.nl" "session-reused" 11 2023-09-10T23:55:00.358000Z "forward" "-" "-" "10.0.100.2:80" "401" "-" "-""#
}

@Suite("ALB access logs")
struct ALBFormatTests {
    typealias H = GatewayFormatHarness

    @Test func httpEntry() throws {
        var format = ALBFormat(options: FormatOptions())
        let (outcome, records) = H.parse(&format, ALBSamples.http)
        #expect(outcome == .records(1))
        let r = try #require(records.first)
        #expect(r.timeMillis == 1_530_570_180_186)
        #expect(r.remoteAddress == "192.168.131.39")
        #expect(r.method == "GET")
        #expect(r.target == "http://www.example.com:80/")
        #expect(r.status == 200)
        #expect(r.bytes == 366)
        #expect(r.latencyMillis == 1)
        #expect(r.userAgent == "curl/7.46.0")
        #expect(r.keySource == .none)
        #expect(format.name == "alb")
    }

    @Test func latencyIsTheSumOfTheThreeProcessingTimes() throws {
        var format = ALBFormat()
        let (_, records) = H.parse(&format, ALBSamples.https)
        let latency = try #require(records.first?.latencyMillis)
        #expect(abs(latency - 171) < 1e-9)
        #expect(records.first?.target == "https://www.example.com:443/")
        #expect(records.first?.bytes == 57)
    }

    @Test func otherDocumentedEntries() throws {
        var format = ALBFormat()
        let (_, h2) = H.parse(&format, ALBSamples.h2)
        #expect(h2.first?.remoteAddress == "10.0.1.252")
        #expect(h2.first?.target == "https://10.0.2.105:773/")
        let (_, ws) = H.parse(&format, ALBSamples.websocket)
        #expect(ws.first?.status == 101)
        #expect(ws.first?.userAgent == "")
        let (_, lambda) = H.parse(&format, ALBSamples.lambdaFailed)
        #expect(lambda.first?.status == 502)
        #expect(lambda.first?.timeMillis == 1_543_616_580_186)
    }

    @Test func classicLoadBalancerEntry() throws {
        var format = ALBFormat()
        let (outcome, records) = H.parse(&format, ALBSamples.classic)
        #expect(outcome == .records(1))
        let r = try #require(records.first)
        #expect(r.timeMillis == 1_431_560_383_945)
        #expect(r.remoteAddress == "192.168.131.39")
        #expect(r.status == 200)
        #expect(r.bytes == 29)
        #expect(r.userAgent == "curl/7.38.0")
        let latency = try #require(r.latencyMillis)
        #expect(abs(latency - 1.178) < 1e-9)
    }

    @Test func ipv6ClientWithoutBrackets() throws {
        var format = ALBFormat()
        let (_, records) = H.parse(&format, ALBSamples.ipv6)
        let r = try #require(records.first)
        #expect(r.remoteAddress == "2a02:a33c:4538:1:bcf4:5264:e01c:f215")
        #expect(r.timeMillis == 1_694_390_100_361)
        #expect(r.status == 401)
        #expect(
            r.target == "https://api.foo.bar.nl:443/api/v1/alerts/me/outstanding?apikey=ak_test_FAKE0000000000000001"
        )
        #expect(r.userAgent == "3.20.0 (Build/1900005469; Android 33; samsung; SM-G781B) okhttp/4.11.0")
    }

    @Test func minusOneProcessingTimeMeansNoLatency() throws {
        // "This value is set to -1 if the load balancer can't dispatch the request to a target."
        var format = ALBFormat()
        let line =
            #"http 2018-07-02T22:23:00.186641Z app/my-loadbalancer/50dc6c495c0c9188 192.168.131.39:2817 - -1 -1 -1 460 - 34 0 "GET http://www.example.com:80/slow HTTP/1.1" "curl/7.46.0" - -"#
        let (_, records) = H.parse(&format, line)
        let r = try #require(records.first)
        #expect(r.latencyMillis == nil)
        #expect(r.status == 460)
        #expect(r.target == "http://www.example.com:80/slow")
    }

    @Test func fewerTrailingFieldsStillParse() throws {
        var format = ALBFormat()
        let line =
            #"https 2018-07-02T22:23:00.186641Z app/my-loadbalancer/50dc6c495c0c9188 192.168.131.39:2817 10.0.0.1:80 0.086 0.048 0.037 200 200 0 57 "GET https://www.example.com:443/ HTTP/1.1""#
        let (outcome, records) = H.parse(&format, line)
        #expect(outcome == .records(1))
        #expect(records.first?.userAgent == "")
    }

    @Test(arguments: [
        "",
        "not an alb line",
        #"127.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326"#,
        #"http 2018-07-02T22:23:00.186641Z app/x 1.2.3.4:1 - abc 0 0 200 200 1 2 "GET / HTTP/1.1" "-""#,
        #"http 2018-07-02T22:23:00.186641Z app/x 1.2.3.4:1 - 0 0 0 200 200 1 2 "GET / HTTP/1.1"#,
        #"http 2018-07-02T22:23:00.186641Z app/x 1.2.3.4:1"#,
        #"{"time":"2018-07-02T22:23:00Z"}"#,
    ])
    func rejectsOtherLines(_ line: String) {
        var format = ALBFormat()
        let (outcome, records) = H.parse(&format, line)
        #expect(outcome == (line.isEmpty ? .ignored : .rejected(.malformed)))
        #expect(records.isEmpty)
    }

    @Test func badTimeIsABadTimestamp() {
        var format = ALBFormat()
        let line =
            #"http 2018-13-02T22:23:00.186641Z app/my-loadbalancer/50dc6c495c0c9188 192.168.131.39:2817 10.0.0.1:80 0.000 0.001 0.000 200 200 34 366 "GET http://www.example.com:80/ HTTP/1.1" "curl/7.46.0" - -"#
        #expect(H.parse(&format, line).0 == .rejected(.badTimestamp))
    }

    @Test func truncationsNeverCrash() {
        var format = ALBFormat()
        let bytes = Array(ALBSamples.https.utf8)
        for cut in 0...bytes.count {
            let (outcome, records) = H.parse(&format, bytes: Array(bytes[0..<cut]))
            if case .records(let n) = outcome { #expect(records.count == n) }
        }
    }

    @Test func detection() {
        #expect(H.withView(ALBSamples.http) { ALBFormat.detect($0) })
        #expect(H.withView(ALBSamples.classic) { ALBFormat.detect($0) })
        #expect(
            !H.withView(#"127.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.0" 200 2326"#) {
                ALBFormat.detect($0)
            }
        )
        #expect(!H.withView(EnvoySamples.envoyDefault) { ALBFormat.detect($0) })
    }
}
