// keywatch-bench: throughput and memory figures for `keywatch parse`, side by side with the
// public tools users compare against (pigz for inflate, mawk for a per-key count).
//
//   bash scripts/bench.sh [--lines N] [--runs R] [--dir DIR] [--keep]
//                         [--memory-keys N] [--analysis-only]
//
// It writes synthetic logs (an nginx log with a key field, and Kong JSON) into DIR, compresses them,
// runs each tool R times and reports the best wall time, throughput, peak memory and ratios.
// Then, in this process, it times the full analysis next to parse only on the same plain files, and
// learns --memory-keys keys (default 100k) to report memory per tracked key (Analysis.swift).
// Defaults: 2M nginx lines (about 330 MB), 500k Kong lines, 5 runs.
// --analysis-only skips the command and tool rows.

import Foundation
import KeywatchCore

#if canImport(Glibc)
import Glibc
#endif

struct Options {
    var lines = 2_000_000
    var kongLines = 500_000
    var runs = 5
    var directory = NSTemporaryDirectory() + "keywatch-bench"
    var keep = false
    var keys = 5_000
    var memoryKeys = 100_000
    var analysisOnly = false

    init(_ arguments: [String]) {
        var i = 1
        while i < arguments.count {
            let a = arguments[i]
            let next = i + 1 < arguments.count ? arguments[i + 1] : ""
            switch a {
            case "--lines":
                lines = Int(next) ?? lines
                i += 1
            case "--kong-lines":
                kongLines = Int(next) ?? kongLines
                i += 1
            case "--runs":
                runs = Int(next) ?? runs
                i += 1
            case "--dir":
                directory = next
                i += 1
            case "--keys":
                keys = Int(next) ?? keys
                i += 1
            case "--memory-keys":
                memoryKeys = Int(next) ?? memoryKeys
                i += 1
            case "--keep": keep = true
            case "--analysis-only": analysisOnly = true
            case "-h", "--help":
                print(
                    "usage: keywatch-bench [--lines N] [--kong-lines N] [--keys N] [--runs R] [--dir DIR] [--keep] "
                        + "[--memory-keys N] [--analysis-only]"
                )
                exit(0)
            default:
                FileHandle.standardError.write(Data("keywatch-bench: unknown option \(a)\n".utf8))
                exit(2)
            }
            i += 1
        }
    }
}

/// A small deterministic generator (SplitMix64).
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

let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789".utf8)
let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
let agents = [
    "acme-sdk/2.3 (python 3.11)", "okhttp/4.12.0", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X)",
    "curl/8.4.0", "Go-http-client/1.1", "partner-sync/1.0",
]
let endpoints = ["/v1/orders/", "/v1/customers/", "/v1/products/SKU-", "/v1/invoices/", "/v2/search?q=shoes&page="]

func makeKeys(_ count: Int, _ g: inout Generator) -> [String] {
    (0..<count).map { _ in
        "ak_live_" + String(decoding: (0..<24).map { _ in alphabet[g.below(alphabet.count)] }, as: UTF8.self)
    }
}

final class BufferedWriter {
    let handle: UnsafeMutablePointer<FILE>
    init(_ path: String) { handle = fopen(path, "w")! }
    func write(_ s: String) { fputs(s, handle) }
    func close() { fclose(handle) }
}

func pad2(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }

/// nginx log with the issue's format: `... "$http_user_agent" "$http_x_api_key" $request_time`.
func writeNginx(_ path: String, lines: Int, keys: [String]) {
    var g = Generator(state: 42)
    let out = BufferedWriter(path)
    var second = 0
    for n in 0..<lines {
        if n % 40 == 0 { second += 1 }
        let day = 1 + (second / 86400) % 28
        let h = (second / 3600) % 24
        let m = (second / 60) % 60
        let s = second % 60
        let key = keys[g.below(keys.count)]
        let ip = "\(g.below(200) + 20).\(g.below(256)).\(g.below(256)).\(g.below(254) + 1)"
        let path = endpoints[g.below(endpoints.count)] + String(g.below(90_000_000) + 10_000)
        let status = g.below(50) == 0 ? 404 : 200
        let line =
            "\(ip) - - [\(pad2(day))/\(months[9])/2026:\(pad2(h)):\(pad2(m)):\(pad2(s)) +0000] \"GET \(path) HTTP/1.1\" \(status) \(g.below(9000) + 100) \"-\" \"\(agents[g.below(agents.count)])\" \"\(key)\" 0.\(g.below(900) + 100)\n"
        out.write(line)
    }
    out.close()
}

/// Kong file-log JSON lines.
func writeKong(_ path: String, lines: Int, keys: [String]) {
    var g = Generator(state: 7)
    let out = BufferedWriter(path)
    var millis: Int64 = 1_761_480_000_000
    for _ in 0..<lines {
        millis += Int64(g.below(40))
        let key = keys[g.below(keys.count)]
        let ip = "\(g.below(200) + 20).\(g.below(256)).\(g.below(256)).\(g.below(254) + 1)"
        let path = endpoints[g.below(endpoints.count)] + String(g.below(90_000_000) + 10_000)
        let line =
            #"{"request":{"method":"GET","uri":"\#(path)","url":"https://api.example.com:8443\#(path)","size":312,"querystring":{},"headers":{"apikey":"\#(key)","user-agent":"\#(agents[g.below(agents.count)])","host":"api.example.com","accept":"application/json"}},"upstream_uri":"\#(path)","response":{"status":200,"size":\#(g.below(9000) + 100),"headers":{"content-type":"application/json","connection":"close"}},"route":{"id":"3b2c1a00-0000-4000-8000-000000000001","paths":["/v1"],"name":"v1"},"service":{"id":"3b2c1a00-0000-4000-8000-000000000002","name":"orders"},"latencies":{"request":\#(g.below(90) + 3),"kong":1,"proxy":\#(g.below(80) + 2)},"client_ip":"\#(ip)","started_at":\#(millis),"tries":[{"ip":"10.0.0.5","port":8080,"balancer_latency":0}]}"#
            + "\n"
        out.write(line)
    }
    out.close()
}

struct Measurement {
    var seconds: Double
    var maxRSSKiB: Int
}

/// Runs `argv` with stdout to /dev/null (or a file), returning wall time and peak RSS of the child.
func run(_ argv: [String], stdoutPath: String = "/dev/null") -> Measurement? {
    var actions: posix_spawn_file_actions_t = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    posix_spawn_file_actions_addopen(&actions, 1, stdoutPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
    var cArgs = argv.map { strdup($0) } + [nil]
    defer { for p in cArgs { free(p) } }
    var pid: pid_t = 0
    let start = DispatchTime.now()
    guard posix_spawnp(&pid, argv[0], &actions, nil, &cArgs, environ) == 0 else { return nil }
    var status: Int32 = 0
    var usage = rusage()
    wait4(pid, &status, 0, &usage)
    let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
    posix_spawn_file_actions_destroy(&actions)
    return Measurement(seconds: elapsed, maxRSSKiB: Int(usage.ru_maxrss))
}

func best(_ argv: [String], runs: Int) -> Measurement? {
    var result: Measurement?
    for _ in 0..<runs {
        guard let m = run(argv) else { return nil }
        if result == nil || m.seconds < result!.seconds { result = m }
    }
    return result
}

func which(_ tool: String) -> String? {
    for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
        let path = "\(dir)/\(tool)"
        if access(path, X_OK) == 0 { return path }
    }
    return nil
}

func fileSize(_ path: String) -> Int64 {
    var info = stat()
    return stat(path, &info) == 0 ? Int64(info.st_size) : 0
}

func format(_ value: Double, _ digits: Int = 2) -> String { String(format: "%.\(digits)f", value) }

// MARK: main

let options = Options(CommandLine.arguments)
let binDir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().path
let keywatch = binDir + "/keywatch"
guard options.analysisOnly || access(keywatch, X_OK) == 0 else {
    print("keywatch-bench: \(keywatch) not found; build it first: swift build -c release --static-swift-stdlib")
    exit(1)
}
try? FileManager.default.createDirectory(atPath: options.directory, withIntermediateDirectories: true)
let state = options.directory + "/state"
let nginxPath = options.directory + "/nginx-key.log"
let kongPath = options.directory + "/kong.json"
var generator = Generator(state: 1)
let keys = makeKeys(options.keys, &generator)

print("writing \(options.lines) nginx lines to \(nginxPath) …")
writeNginx(nginxPath, lines: options.lines, keys: keys)
print("writing \(options.kongLines) Kong JSON lines to \(kongPath) …")
writeKong(kongPath, lines: options.kongLines, keys: keys)
let compressor = which("pigz") ?? which("gzip")!
if !options.analysisOnly {
    for path in [nginxPath, kongPath] {
        _ = run([compressor, "-6", "-c", path], stdoutPath: path + ".gz")
    }
}

let nginxFormat =
    #"$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" "$http_x_api_key" $request_time"#

struct Row {
    var name: String
    var lines: Int
    var bytes: Int64
    var measurement: Measurement
}

@MainActor func measure(_ name: String, _ argv: [String], lines: Int, bytes: Int64) -> Measurement? {
    guard let m = best(argv, runs: options.runs) else {
        print("  \(name): could not run \(argv[0])")
        return nil
    }
    print(
        "  \(name.padding(toLength: 44, withPad: " ", startingAt: 0)) \(format(m.seconds, 3)) s  "
            + "\(format(Double(lines) / m.seconds / 1e6)) M lines/s  \(format(Double(bytes) / m.seconds / 1e6, 0)) MB/s  "
            + "peak RSS \(m.maxRSSKiB / 1024) MiB"
    )
    return m
}

let nginxBytes = fileSize(nginxPath)
let kongBytes = fileSize(kongPath)

/// How the `keywatch` binary links the Swift runtime, from `ldd`: a dynamic build loads the Swift
/// runtime and Foundation as shared libraries at every start, a few ms more than a static one.
func linkage(of binary: String) -> String {
    guard let ldd = which("ldd") else { return "unknown (no ldd)" }
    let listing = options.directory + "/ldd.txt"
    defer { unlink(listing) }
    guard run([ldd, binary], stdoutPath: listing) != nil,
        let text = try? String(contentsOfFile: listing, encoding: .utf8)
    else { return "unknown (ldd failed)" }
    return text.contains("libswiftCore.so")
        ? "Swift runtime linked dynamically: start-up costs a few ms more than a build with --static-swift-stdlib"
        : "Swift runtime linked statically (--static-swift-stdlib)"
}

/// The command and tool rows: `keywatch parse` as a process, pigz and mawk.
@MainActor func measureCommands() {
    print("")
    print("keywatch binary: \(linkage(of: keywatch))")
    print(
        "nginx log with key field: \(options.lines) lines, \(nginxBytes / 1_000_000) MB plain, "
            + "\(fileSize(nginxPath + ".gz") / 1_000_000) MB gzip; best of \(options.runs) runs; \(ProcessInfo.processInfo.activeProcessorCount) cores"
    )
    let kwPlain = measure(
        "keywatch parse --output none (plain)",
        [keywatch, "parse", "--output", "none", "--state", state, "--log-format", nginxFormat, nginxPath],
        lines: options.lines,
        bytes: nginxBytes
    )
    let kwGzip = measure(
        "keywatch parse --output none (gzip)",
        [keywatch, "parse", "--output", "none", "--state", state, "--log-format", nginxFormat, nginxPath + ".gz"],
        lines: options.lines,
        bytes: nginxBytes
    )
    let kwIsal = measure(
        "keywatch parse --output none (gzip, isal)",
        [
            keywatch, "parse", "--output", "none", "--inflate", "isal", "--state", state, "--log-format", nginxFormat,
            nginxPath + ".gz",
        ],
        lines: options.lines,
        bytes: nginxBytes
    )
    var pigz: Measurement?
    if let tool = which("pigz") {
        pigz = measure(
            "pigz -dc > /dev/null",
            [tool, "-dc", nginxPath + ".gz"],
            lines: options.lines,
            bytes: nginxBytes
        )
    }
    var mawk: Measurement?
    if let tool = which("mawk") {
        mawk = measure(
            "mawk per-key count (plain)",
            [tool, "-F\"", "{c[$8]++} END {for (k in c) n++; print n}", nginxPath],
            lines: options.lines,
            bytes: nginxBytes
        )
    }
    print("")
    print("Kong JSON: \(options.kongLines) lines, \(kongBytes / 1_000_000) MB plain")
    _ = measure(
        "keywatch parse --output none (Kong, plain)",
        [keywatch, "parse", "--output", "none", "--state", state, kongPath],
        lines: options.kongLines,
        bytes: kongBytes
    )
    _ = measure(
        "keywatch parse --output none (Kong, gzip)",
        [keywatch, "parse", "--output", "none", "--state", state, kongPath + ".gz"],
        lines: options.kongLines,
        bytes: kongBytes
    )

    print("")
    print("ratios (same run, lower is faster):")
    if let kwGzip, let pigz {
        let ratio = kwGzip.seconds / pigz.seconds
        print("  keywatch gzip / pigz -dc      = \(format(ratio))  (goal <= 1.10) \(ratio <= 1.10 ? "ok" : "MISSED")")
    }
    if let kwIsal, let pigz {
        print("  keywatch gzip (isal) / pigz   = \(format(kwIsal.seconds / pigz.seconds))")
    }
    if let kwPlain, let mawk {
        let ratio = kwPlain.seconds / mawk.seconds
        print("  keywatch plain / mawk per-key = \(format(ratio))  (goal <= 0.50) \(ratio <= 0.50 ? "ok" : "MISSED")")
    }
}

if !options.analysisOnly { measureCommands() }

var nginxConfiguration = IngestConfiguration()
nginxConfiguration.logFormat = nginxFormat
print("")
print(
    "analysis in this process (AnalyzeJob: merge, geography without data (/24 networks), learning, detection; "
        + "no checkpoint) against parse only (ParseJob, output none); best of \(options.runs) runs:"
)
compareAnalysis(
    "nginx plain",
    path: nginxPath,
    configuration: nginxConfiguration,
    geo: GeoResolver(networks: nil, databases: []),
    runs: options.runs
)
compareAnalysis(
    "Kong plain",
    path: kongPath,
    configuration: IngestConfiguration(),
    geo: GeoResolver(networks: nil, databases: []),
    runs: options.runs
)
measureKeyMemory(
    directory: options.directory,
    keys: options.memoryKeys,
    perKey: 10,
    configuration: nginxConfiguration,
    keep: options.keep
)

if !options.keep {
    for path in [nginxPath, kongPath, nginxPath + ".gz", kongPath + ".gz"] { unlink(path) }
}
