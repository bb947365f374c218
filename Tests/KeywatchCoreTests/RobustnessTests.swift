import Foundation
import Testing

@testable import KeywatchCore

/// Mutated and truncated real lines must never trap or read out of bounds (debug builds assert on
/// every byte access), and good lines around them must still be read.
@Suite struct RobustnessTests {
    static let seeds: [(format: String?, line: String)] = [
        (
            nil,
            #"83.149.9.216 - - [17/May/2015:10:05:03 +0000] "GET /presentations/logstash-monitorama-2013/images/kibana-search.png HTTP/1.1" 200 203023 "http://semicomplete.com/" "Mozilla/5.0 (Macintosh)""#
        ),
        (
            nil,
            #"125.78.229.99 - - [22/Oct/2021:12:27:07 -0700] "GET /user.php?act=login HTTP/1.1" 404 305 "554fcae|a:2:{s:3:\"num\";s:288:\"*/ union\"}" "Mozilla" "#
        ),
        (
            NginxFormatTests.issueFormat,
            #"203.0.113.7 - - [26/Oct/2026:13:55:36 +0100] "GET /v1/orders/48213377?expand=items HTTP/1.1" 200 512 "-" "acme-sdk/2.3 (python)" "ak_test_FAKE0000000000000001" 0.043"#
        ),
        (
            #"$remote_addr [$time_iso8601] "$request_method $uri" $args $status $bytes_sent $upstream_response_time "$http_x_forwarded_for""#,
            #"10.0.0.2 [2026-10-26T13:55:36+02:00] "GET /v2/search" q=shoes&apikey=KEY0123456789abcdef 200 900 0.010, 0.020 "198.51.100.23, 10.0.0.9""#
        ),
        (
            nil,
            #"[2016-04-15T20:17:00.310Z] "POST /api/v1/locations HTTP/2" 204 - 154 0 226 100 "10.0.35.28" "nsq2http" "cc21d9b0-cf5c-432b-8c7e-98aeb7988cd2" "locations" "tcp://10.0.2.1:80""#
        ),
        (
            nil,
            #"https 2018-07-02T22:23:00.186641Z app/my-loadbalancer/50dc6c495c0c9188 192.168.131.39:2817 10.0.0.1:80 0.086 0.048 0.037 200 200 0 57 "GET https://www.example.com:443/ HTTP/1.1" "curl/7.46.0" ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067 "Root=1-58337281-1d84f3d73c47ec4e58577259" "www.example.com" "arn:aws:acm:us-east-2:123456789012:certificate/12345678-1234-1234-1234-123456789012" 1 2018-07-02T22:22:48.364000Z "authenticate,forward" "-" "-" "10.0.0.1:80" "200" "-" "-""#
        ),
        (
            nil,
            #"{"request":{"method":"GET","uri":"/v1/x?y=1","headers":{"apikey":"ak_test_FAKE0000000000000002","user-agent":"ua"}},"response":{"status":200,"size":512},"latencies":{"request":43},"client_ip":"203.0.113.7","started_at":1761486936123}"#
        ),
    ]

    /// A small deterministic generator (SplitMix64) so failures reproduce.
    struct Generator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    }

    static func mutations(of line: String, count: Int, seed: UInt64) -> [[UInt8]] {
        var g = Generator(state: seed)
        let base = Array(line.utf8)
        let interesting: [UInt8] = Array(#"" []\{}:,-/?&=."#.utf8) + [0x00, 0x0D, 0xFF, 0xC3, 0x80]
        var out: [[UInt8]] = []
        // Every prefix (truncation at each byte).
        for end in 0..<base.count { out.append(Array(base[0..<end])) }
        for _ in 0..<count {
            var bytes = base
            for _ in 0..<(1 + g.below(4)) {
                guard !bytes.isEmpty else { break }
                let at = g.below(bytes.count)
                switch g.below(4) {
                case 0: bytes[at] = interesting[g.below(interesting.count)]
                case 1: bytes.remove(at: at)
                case 2: bytes.insert(interesting[g.below(interesting.count)], at: at)
                default: bytes[at] = UInt8(truncatingIfNeeded: g.next())
                }
            }
            out.append(bytes.filter { $0 != 0x0A })
        }
        return out
    }

    @Test(arguments: 0..<seeds.count)
    func mutatedLinesNeverTrapAndGoodLinesSurvive(index: Int) throws {
        let (format, seed) = Self.seeds[index]
        var config = IngestConfiguration()
        config.logFormat = format
        var data = Data(seed.utf8) + Data("\n".utf8)  // the first line fixes the detected format
        let mutated = Self.mutations(of: seed, count: 1500, seed: UInt64(index + 1))
        for line in mutated { data += Data(line) + Data("\n".utf8) }
        data += Data(seed.utf8) + Data("\n".utf8)
        let (records, report) = parse(data: data, configuration: config)
        #expect(report.diagnostics.lines >= Int64(mutated.count + 2) - Int64(mutated.filter(\.isEmpty).count))
        #expect(records.first?.source.hasSuffix(":1") == true)
        let lastLine = Int64(mutated.count + 2)
        #expect(records.last?.source.hasSuffix(":\(lastLine)") == true)
        // The summary holds no raw key, whatever the mutation did.
        #expect(!report.summary.contains("FAKE000000000000000"))
    }
}
