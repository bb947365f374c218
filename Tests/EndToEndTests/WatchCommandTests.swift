import Crypto
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `keywatch watch` against a real HTTP receiver on 127.0.0.1: latency, rotation, webhook outages,
/// `kill -9` in the middle of writing, signatures, `/healthz` and `/metrics` (issue 4, "Done when").
///
/// Every test copies one state learned from `samples/` (see ``WatchFixture``) and appends lines
/// made from real sample lines of keys that have a baseline, moved to a hosting range in another
/// country (`samples/networks.csv`) and to a time after the state's watermark.
@Suite(.serialized) struct WatchCommandTests {
    static let cnAddress = "45.125.65.9"  // 45.125.64.0/22, CN
    static let vnAddress = "103.157.100.9"  // 103.157.100.0/22, VN
    static let trAddress = "185.255.88.9"  // 185.255.88.0/22, TR

    @Test func anomalyArrivesWithinTwoSeconds() throws {
        let learned = try WatchFixture.learned.get()
        let key = learned.keys[0]
        let run = try WatchRun(learned: learned)
        defer { run.cleanUp() }
        let daemon = try run.start()
        run.appendAnomaly(key)
        let appended = ContinuousClock.now

        let arrived = waitUntil(timeout: 10) { run.receiver.delivered(keyID: key.id, kind: "new_country") }
        #expect(arrived, "no new_country alert for \(key) reached the receiver")
        // The first POST may be the rate spike the same lines raise; it counts as the anomaly arriving.
        let first = try #require(run.receiver.posts.first)
        let latency = first.arrival - appended
        #expect(latency < .seconds(2), "first POST \(latency) after the append")
        #expect(first.keyID == key.id)
        let newCountry = try #require(run.receiver.posts.first { $0.kind == "new_country" })
        #expect(
            newCountry.arrival - appended < .seconds(2),
            "new_country POST \(newCountry.arrival - appended) after the append"
        )
        #expect(try daemon.terminate() == 0)
        #expect(!run.leaksRawKey(daemon), "a raw key appeared in keywatch's output")
    }

    enum Rotation: String, CaseIterable, Sendable {
        case renameAndCreate, copyTruncate
    }

    @Test(arguments: Rotation.allCases) func anomalyArrivesAfterRotation(_ rotation: Rotation) throws {
        let learned = try WatchFixture.learned.get()
        let (before, after) = (learned.keys[0], learned.keys[1])
        let run = try WatchRun(learned: learned)
        defer { run.cleanUp() }
        let daemon = try run.start()
        run.appendAnomaly(before)
        #expect(waitUntil(timeout: 10) { run.receiver.delivered(keyID: before.id, kind: "new_country") })
        // Everything before the rotation has been read (copytruncate loses what was not).
        #expect(waitUntil(timeout: 5) { run.metric("keywatch_lines_read_total", of: daemon) == 25 })

        switch rotation {
        case .renameAndCreate:
            try FileManager.default.moveItem(atPath: run.log, toPath: run.log + ".1")
            _ = FileManager.default.createFile(atPath: run.log, contents: nil)
        case .copyTruncate:
            try FileManager.default.copyItem(atPath: run.log, toPath: run.log + ".1")
            #expect(truncate(run.log, 0) == 0)
        }
        // More bytes than were read before, so the size alone cannot reveal a copytruncate.
        run.appendAnomaly(after, ip: Self.vnAddress, count: 40, from: 100)
        let appended = ContinuousClock.now
        #expect(
            waitUntil(timeout: 10) { run.receiver.posts.contains { $0.keyID == after.id } },
            "no alert for \(after) after \(rotation)"
        )
        let first = try #require(run.receiver.posts.first { $0.keyID == after.id })
        #expect(first.arrival - appended < .seconds(2), "first POST \(first.arrival - appended) after the append")
        #expect(waitUntil(timeout: 5) { run.receiver.delivered(keyID: after.id, kind: "new_country") })
        #expect(waitUntil(timeout: 5) { run.metric("keywatch_lines_read_total", of: daemon) == 65 })
        #expect(try daemon.terminate() == 0)

        // No line was lost or read twice across the rotation.
        let requests = try run.requests()
        #expect(requests[before.id] == before.requestsBefore + 25)
        #expect(requests[after.id] == after.requestsBefore + 40)
        #expect(!run.leaksRawKey(daemon), "a raw key appeared in keywatch's output")
    }

    @Test func outageIsRetriedAndEachAlertArrivesOnce() throws {
        let learned = try WatchFixture.learned.get()
        let key = learned.keys[0]
        let run = try WatchRun(learned: learned, status: { $0 < 2 ? 500 : 200 })
        defer { run.cleanUp() }
        let daemon = try run.start()
        run.appendAnomaly(key)

        #expect(
            waitUntil(timeout: 15) {
                let posts = run.receiver.posts
                let ids = Set(posts.compactMap(\.id))
                return posts.count > 2 && posts.contains { $0.kind == "new_country" && $0.severity == "high" }
                    && ids.allSatisfy { id in posts.contains { $0.id == id && $0.isSuccess } }
            },
            "not every alert was delivered after the outage"
        )
        #expect(try daemon.terminate() == 0)

        let posts = run.receiver.posts
        #expect(posts.filter { $0.status == 500 }.count == 2)
        // Each alert answered 500 was retried under the same id until a 200, and nothing got two 2xx.
        let refused = Set(posts.filter { $0.status == 500 }.compactMap(\.id))
        #expect(!refused.isEmpty)
        for id in Set(posts.compactMap(\.id)) {
            let statuses = posts.filter { $0.id == id }.map(\.status)
            #expect(statuses.filter { (200..<300).contains($0) }.count == 1, "alert \(id) answered \(statuses)")
            #expect(statuses.last == 200, "alert \(id) answered \(statuses)")
            if refused.contains(id) {
                #expect(daemon.stderr.contains("delivered alert=\(id) attempts=\(statuses.count)"))
            }
        }
        #expect(daemon.stderr.contains("delivery failed; will retry"))
    }

    @Test func killedWhileWritingResumesWithoutLossOrDuplicates() throws {
        let learned = try WatchFixture.learned.get()
        let anomalies = [
            (learned.keys[0], Self.cnAddress), (learned.keys[1], Self.vnAddress), (learned.keys[2], Self.trAddress),
        ]
        let run = try WatchRun(learned: learned)
        defer { run.cleanUp() }
        // Each round appends a normal line and an anomalous one for every key, in one write.
        let rounds = 80
        let batches = (0..<rounds).map { round in
            anomalies.flatMap { key, address in
                [key.line(second: 2 * round), key.line(ip: address, second: 2 * round + 1)]
            }
        }
        let first = try run.start()
        let writer = Writer(path: run.log, batches: batches, pause: 0.02)
        // Kill once an alert was delivered (so alerts, positions and baselines are checkpointed and more
        // lines are on the way), or half-way through the writing.
        _ = waitUntil(timeout: 10) { first.stderr.contains("delivered alert=") || writer.written >= rounds / 2 }
        first.kill9()
        let killedAt = ContinuousClock.now
        let writtenAtKill = writer.written
        #expect(writtenAtKill < rounds, "the writer had already finished when keywatch was killed")
        // Lines are written while it is down.
        _ = waitUntil(timeout: 5) { writer.written >= writtenAtKill + 3 }
        let second = try run.start()
        #expect(writer.wait(timeout: 20))

        // Every line is read, every alert either run printed is delivered, and each key's escalation too.
        let done = waitUntil(timeout: 20) {
            guard run.metric("keywatch_input_lag_bytes", of: second) == 0 else { return false }
            let posts = run.receiver.posts
            let printed = WatchRun.alertIDs(first.stdout) + WatchRun.alertIDs(second.stdout)
            return printed.allSatisfy { id in posts.contains { $0.id == id && $0.isSuccess } }
                && anomalies.allSatisfy { key, _ in
                    posts.contains { $0.keyID == key.id && $0.kind == "new_country" && $0.severity == "high" }
                }
        }
        #expect(done, "not every alert was delivered after the restart")
        #expect(try second.terminate() == 0)

        let posts = run.receiver.posts
        let printed = WatchRun.alertIDs(first.stdout) + WatchRun.alertIDs(second.stdout)
        #expect(!printed.isEmpty)
        let firstLog = first.stderr
        for id in Set(posts.compactMap(\.id)).union(printed) {
            let successes = posts.filter { $0.id == id && $0.isSuccess }
            // Delivery is at least once: a 2xx that came back just as the process died, before the outbox
            // recorded it, is sent again after the restart (same X-Keywatch-Id, for the receiver to drop).
            let inFlightAtKill =
                successes.first.map { $0.arrival < killedAt } == true && !firstLog.contains("delivered alert=\(id) ")
            if inFlightAtKill && successes.count == 2 {
                print(
                    "note: alert \(id) was answered 2xx \(killedAt - successes[0].arrival) before the kill, "
                        + "and sent again after the restart"
                )
            } else {
                #expect(successes.count == 1, "alert \(id): \(successes.count) 2xx answers")
            }
        }
        for (key, _) in anomalies {
            // One new_country episode per key: a replay after the crash raised the same ids, not new ones.
            for severity in ["medium", "high"] {
                let ids = Set(
                    posts.filter { $0.keyID == key.id && $0.kind == "new_country" && $0.severity == severity }.map(\.id)
                )
                #expect(ids.count == 1, "\(key): \(ids.count) distinct \(severity) new_country alerts")
            }
        }
        // The baselines counted every line once: 2 lines per key per round.
        let requests = try run.requests()
        for (key, _) in anomalies {
            #expect(
                requests[key.id] == key.requestsBefore + 2 * rounds,
                "\(key) (killed after \(writtenAtKill) rounds)"
            )
        }
        #expect(!run.leaksRawKey(first) && !run.leaksRawKey(second), "a raw key appeared in keywatch's output")
    }

    @Test func signatureVerifies() throws {
        let learned = try WatchFixture.learned.get()
        let key = learned.keys[0]
        let run = try WatchRun(learned: learned)
        defer { run.cleanUp() }
        let daemon = try run.start()
        run.appendAnomaly(key)
        #expect(waitUntil(timeout: 10) { run.receiver.posts.count >= 2 })
        let sentBy = Int64(Date().timeIntervalSince1970)
        #expect(try daemon.terminate() == 0)

        let posts = run.receiver.posts
        #expect(!posts.isEmpty)
        for post in posts {
            #expect(post.method == "POST" && post.target == "/hook")
            #expect(post.headers["content-type"] == "application/json")
            #expect(post.headers["user-agent"]?.hasPrefix("keywatch/") == true)
            let json = try #require(try JSONSerialization.jsonObject(with: post.body) as? [String: Any])
            #expect(post.headers["x-keywatch-id"] == json["id"] as? String)
            #expect(json["key_id"] as? String == key.id)
            let timestamp = try #require(post.headers["x-keywatch-timestamp"])
            let seconds = try #require(Int64(timestamp))
            #expect(abs(sentBy - seconds) <= 30)
            let signature = try #require(post.headers["x-keywatch-signature"])
            #expect(signature == WatchRun.signature(secret: run.secret, timestamp: timestamp, body: post.body))
            // And it depends on the secret and on every byte signed.
            #expect(signature != WatchRun.signature(secret: run.secret + "x", timestamp: timestamp, body: post.body))
            #expect(signature != WatchRun.signature(secret: run.secret, timestamp: "\(seconds + 1)", body: post.body))
        }
    }

    @Test func healthAndMetricsAreServed() throws {
        let learned = try WatchFixture.learned.get()
        let key = learned.keys[0]
        let run = try WatchRun(learned: learned)
        defer { run.cleanUp() }
        let daemon = try run.start()
        let port = try #require(daemon.listenPort())
        let health = try #require(httpGet(port: port, path: "/healthz"))
        #expect(health.status == 200)

        run.appendAnomaly(key)
        #expect(waitUntil(timeout: 10) { run.receiver.delivered(keyID: key.id, kind: "new_country") })
        var metrics = ""
        let counted = waitUntil(timeout: 5) {
            metrics = httpGet(port: port, path: "/metrics")?.body ?? ""
            return metrics.contains("keywatch_lines_read_total{input=\"\(run.log)\"} 25\n")
                && metrics.contains("keywatch_alerts_total{kind=\"new_country\",severity=\"medium\"} 1\n")
        }
        #expect(counted, "metrics after the alert:\n\(metrics)")
        #expect(metrics.contains("# TYPE keywatch_lines_read_total counter"))
        #expect(metrics.contains("# TYPE keywatch_alerts_total counter"))
        #expect(httpGet(port: port, path: "/healthz")?.status == 200)
        #expect(httpGet(port: port, path: "/nothing")?.status == 404)
        #expect(try daemon.terminate() == 0)
    }
}

// MARK: - The learned state and the sample lines

/// A key from `samples/nginx/gw1/access.log` with a baseline in the learned state. Its description
/// is the hint: the raw key is never printed.
struct SampleKey: Sendable, CustomStringConvertible {
    /// The raw key; only ever written to log files and searched for.
    let raw: String
    let id: String
    let hint: String
    /// A 200 line of this key from the sample log.
    let template: String
    /// Requests counted for it by the learned state.
    let requestsBefore: Int

    var description: String { hint }

    /// The sample line with its client address replaced by `ip` (when given) and its time set to
    /// 09/Nov/2026 07:00:00 UTC (after the state's watermark) plus `second`.
    func line(ip: String? = nil, second: Int) -> String {
        var text = template
        if let ip, let space = text.firstIndex(of: " ") { text = ip + text[space...] }
        let total = 7 * 3600 + second
        let time = String(format: "[09/Nov/2026:%02d:%02d:%02d +0000]", total / 3600, total / 60 % 60, total % 60)
        if let open = text.firstIndex(of: "["), let close = text[open...].firstIndex(of: "]") {
            text.replaceSubrange(open...close, with: time)
        }
        return text
    }
}

/// One `keywatch analyze` of the samples, shared by all tests (each copies the state directory).
enum WatchFixture {
    struct Learned: Sendable {
        var state: String
        var keys: [SampleKey]
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    static let samples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("samples").path

    static let learned: Result<Learned, Failure> = {
        do { return .success(try learn()) } catch let failure as Failure { return .failure(failure) } catch {
            return .failure(Failure(description: "\(error)"))
        }
    }()

    private static func learn() throws -> Learned {
        let state = Binary.temporaryDirectory()
        let analyze = try Binary.run([
            "analyze", samples + "/nginx", samples + "/kong", "--networks", samples + "/networks.csv",
            "--log-format", "@" + samples + "/nginx.log_format", "--state", state, "--output", "jsonl", "--no-progress",
        ])
        guard analyze.status == 0 else { throw Failure(description: "analyze exited \(analyze.status)") }

        // Keys with the most 200 lines in gw1's live log, and one such line each.
        let text = try String(contentsOfFile: samples + "/nginx/gw1/access.log", encoding: .utf8)
        var templates: [String: String] = [:]
        var counts: [String: Int] = [:]
        for line in text.split(separator: "\n") {
            let quoted = line.split(separator: "\"", omittingEmptySubsequences: false)
            guard quoted.count == 9, quoted[7].hasPrefix("ak_live_"),
                quoted[2].split(separator: " ").first == "200"
            else { continue }
            let key = String(quoted[7])
            counts[key, default: 0] += 1
            if templates[key] == nil { templates[key] = String(line) }
        }
        let raw = counts.keys.sorted { (counts[$0]!, $0) > (counts[$1]!, $1) }.prefix(12).map { $0 }

        let ids = try Binary.run(["key-id", "--state", state], stdin: raw.joined(separator: "\n") + "\n")
        let idLines = ids.stdout.split(separator: "\n").map(String.init)
        guard ids.status == 0, idLines.count == raw.count else { throw Failure(description: "key-id failed") }
        let listing = try Binary.run(["keys", "--state", state, "--output", "json"])
        guard listing.status == 0 else { throw Failure(description: "keys exited \(listing.status)") }
        var known: [String: [String: Any]] = [:]
        for line in listing.stdout.split(separator: "\n") {
            if let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                let id = object["key_id"] as? String
            {
                known[id] = object
            }
        }
        var keys: [SampleKey] = []
        for (key, id) in zip(raw, idLines) {
            // Keys already seen in the countries the tests move them to would raise no new_country.
            guard let entry = known[id], let requests = entry["requests"] as? Int,
                let hint = entry["key_hint"] as? String,
                let countries = entry["countries"] as? [String: Any],
                countries["CN"] == nil && countries["VN"] == nil && countries["TR"] == nil
            else { continue }
            keys.append(SampleKey(raw: key, id: id, hint: hint, template: templates[key]!, requestsBefore: requests))
        }
        guard keys.count >= 3 else { throw Failure(description: "only \(keys.count) usable sample keys") }
        return Learned(state: state, keys: keys)
    }
}

// MARK: - One watch run: a copied state, a log directory, a receiver

/// A copy of the learned state, an empty log directory, a webhook secret and a receiver.
final class WatchRun: @unchecked Sendable {
    // Safety: every property is a constant; `Receiver` is thread-safe.
    let directory: String
    let state: String
    let logs: String
    let log: String
    let secretFile: String
    let secret = "whsec-" + UUID().uuidString
    let receiver: Receiver
    let rawKeys: [String]

    init(learned: WatchFixture.Learned, status: @escaping @Sendable (Int) -> Int = { _ in 200 }) throws {
        directory = Binary.temporaryDirectory()
        state = directory + "/state"
        logs = directory + "/logs"
        log = logs + "/access.log"
        secretFile = directory + "/webhook.secret"
        rawKeys = learned.keys.map(\.raw)
        try FileManager.default.copyItem(atPath: learned.state, toPath: state)
        try FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        _ = FileManager.default.createFile(atPath: secretFile, contents: Data((secret + "\n").utf8))
        receiver = try Receiver(status: status)
    }

    /// Starts `keywatch watch` on `logs/*.log` and waits until it is watching.
    func start() throws -> Daemon {
        let daemon = try Daemon([
            "watch", logs + "/*.log", "--state", state, "--networks", WatchFixture.samples + "/networks.csv",
            "--log-format", "@" + WatchFixture.samples + "/nginx.log_format",
            "--webhook", "http://127.0.0.1:\(receiver.port)/hook", "--webhook-secret-file", secretFile,
            "--output", "jsonl", "--listen", "127.0.0.1:0",
        ])
        let ready = waitUntil(timeout: 15) { daemon.stderr.contains(" watching ") || !daemon.isRunning }
        guard ready, daemon.isRunning else {
            daemon.kill9()
            throw WatchFixture.Failure(description: "keywatch watch did not start:\n\(daemon.stderr)")
        }
        return daemon
    }

    /// Appends `count` lines of `key` from `ip` (a CN range by default), one second apart from
    /// `from`, to `access.log` in one write: enough for a new_country alert and its escalation.
    func appendAnomaly(_ key: SampleKey, ip: String = WatchCommandTests.cnAddress, count: Int = 25, from: Int = 0) {
        appendLines((0..<count).map { key.line(ip: ip, second: from + $0) }, to: log)
    }

    /// `keywatch keys --output json`: requests per key id.
    func requests() throws -> [String: Int] {
        let result = try Binary.run(["keys", "--state", state, "--output", "json"])
        #expect(result.status == 0)
        var requests: [String: Int] = [:]
        for line in result.stdout.split(separator: "\n") {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            requests[try #require(object["key_id"] as? String)] = object["requests"] as? Int
        }
        return requests
    }

    /// A metric's value summed over its labels, read from the daemon's `/metrics`; nil when the page
    /// cannot be read or lacks it (polled, so it records no issue).
    func metric(_ name: String, of daemon: Daemon) -> Double? {
        guard let port = daemon.listenPort(), let page = httpGet(port: port, path: "/metrics")?.body else { return nil }
        var total: Double?
        for line in page.split(separator: "\n") where line.hasPrefix(name + "{") || line.hasPrefix(name + " ") {
            if let value = line.split(separator: " ").last.flatMap({ Double($0) }) { total = (total ?? 0) + value }
        }
        return total
    }

    /// Whether a raw sample key appears in the daemon's output or in a request body.
    func leaksRawKey(_ daemon: Daemon) -> Bool {
        let texts = [daemon.stdout, daemon.stderr] + receiver.posts.map { String(decoding: $0.body, as: UTF8.self) }
        return rawKeys.contains { key in texts.contains { $0.contains(key) } }
    }

    /// The ids of the alerts printed as JSON lines (a killed process may leave a partial last line).
    static func alertIDs(_ stdout: String) -> [String] {
        stdout.split(separator: "\n").compactMap { line in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["id"] as? String
        }
    }

    /// What a receiver expects in `X-Keywatch-Signature`: `sha256=` and the hex HMAC-SHA256 of
    /// `timestamp.body` under the secret.
    static func signature(secret: String, timestamp: String, body: Data) -> String {
        let mac = HMAC<SHA256>.authenticationCode(
            for: Data((timestamp + ".").utf8) + body,
            using: SymmetricKey(data: Data(secret.utf8))
        )
        return "sha256=" + mac.map { String(format: "%02x", $0) }.joined()
    }

    func cleanUp() {
        receiver.stop()
        try? FileManager.default.removeItem(atPath: directory)
    }
}

/// A running `keywatch`, its output going to files.
final class Daemon: @unchecked Sendable {
    // Safety: `process` is started in `init`, then only signalled and polled; the paths are constants.
    private let process = Process()
    private let outPath: String
    private let errPath: String

    init(_ arguments: [String]) throws {
        let dir = Binary.temporaryDirectory()
        outPath = dir + "/out"
        errPath = dir + "/err"
        _ = FileManager.default.createFile(atPath: outPath, contents: nil)
        _ = FileManager.default.createFile(atPath: errPath, contents: nil)
        process.executableURL = Binary.productsDirectory.appendingPathComponent("keywatch")
        process.arguments = arguments
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }

    var isRunning: Bool { process.isRunning }
    var stdout: String { (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "" }
    var stderr: String { (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "" }

    /// The `--listen` port, from the `serving … address=127.0.0.1:PORT` log line.
    func listenPort() -> UInt16? {
        guard let line = stderr.split(separator: "\n").first(where: { $0.contains("serving /healthz") }),
            let address = line.split(separator: " ").first(where: { $0.hasPrefix("address=") }),
            let colon = address.lastIndex(of: ":")
        else { return nil }
        return UInt16(address[address.index(after: colon)...])
    }

    /// `kill -9`, and waits for the process to be gone.
    func kill9() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// SIGTERM, then waits up to 10 s for the exit.
    /// - Returns: The exit status, or nil if it did not stop in time (it is then killed).
    func terminate() throws -> Int32? {
        kill(process.processIdentifier, SIGTERM)
        guard waitUntil(timeout: 10, { !process.isRunning }) else {
            print("watch daemon: still running 10 s after SIGTERM; its log ends:\n\(stderr.suffix(1_500))")
            kill9()
            return nil
        }
        process.waitUntilExit()
        if process.terminationStatus != 0 {
            // Say why, so a failure on a loaded CI machine can be diagnosed from the log alone.
            let how = process.terminationReason == .uncaughtSignal ? "killed by signal" : "exit status"
            print("watch daemon: \(how) \(process.terminationStatus); its log ends:\n\(stderr.suffix(1_500))")
        }
        return process.terminationStatus
    }
}

/// Appends batches of lines to a file from a background thread, one write per batch.
final class Writer: @unchecked Sendable {
    // Safety: `count` is read and written only under `lock`; `finished` is a semaphore.
    private let lock = NSLock()
    private var count = 0
    private let finished = DispatchSemaphore(value: 0)

    init(path: String, batches: [[String]], pause: Double) {
        let thread = Thread { [self] in
            for batch in batches {
                appendLines(batch, to: path)
                lock.withLock { count += 1 }
                usleep(UInt32(pause * 1_000_000))
            }
            finished.signal()
        }
        thread.start()
    }

    /// Batches written so far.
    var written: Int { lock.withLock { count } }

    /// Waits for the last batch.
    func wait(timeout: Double) -> Bool { finished.wait(timeout: .now() + timeout) == .success }
}

// MARK: - A webhook receiver on 127.0.0.1

/// A small HTTP/1.1 server on 127.0.0.1 on its own thread that records every request (request line,
/// headers, body, arrival time) and answers each with the status `status(n)` gives for the n-th
/// request (from 0), then closes the connection.
final class Receiver: @unchecked Sendable {
    // Safety: `requests` is read and written only under `lock`; the socket and port are set in init;
    // `status` is an immutable `@Sendable` closure.
    struct Request: Sendable {
        var method: String
        var target: String
        /// Header names in lowercase.
        var headers: [String: String]
        var body: Data
        var arrival: ContinuousClock.Instant
        var status: Int
        /// From the body (an alert's JSON): its kind, severity and key id.
        var kind: String?
        var severity: String?
        var keyID: String?

        var id: String? { headers["x-keywatch-id"] }
        var isSuccess: Bool { (200..<300).contains(status) }
    }

    let port: UInt16
    private let listener: Int32
    private let status: @Sendable (Int) -> Int
    private let lock = NSLock()
    private var requests: [Request] = []
    private let finished = DispatchSemaphore(value: 0)

    init(status: @escaping @Sendable (Int) -> Int) throws {
        self.status = status
        #if canImport(Glibc)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        #else
        let fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard fd >= 0, bound == 0, listen(fd, 64) == 0 else {
            close(fd)
            throw WatchFixture.Failure(description: "receiver cannot listen: errno \(errno)")
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        listener = fd
        port = UInt16(bigEndian: address.sin_port)
        let thread = Thread { [self] in
            serve()
            finished.signal()
        }
        thread.start()
    }

    /// Every request so far, in arrival order.
    var posts: [Request] { lock.withLock { requests } }

    /// Whether an alert of `kind` for `keyID` was answered 2xx.
    func delivered(keyID: String, kind: String) -> Bool {
        posts.contains { $0.keyID == keyID && $0.kind == kind && $0.isSuccess }
    }

    /// Stops accepting and waits for the serving thread. The listener is closed only once that
    /// thread is done with it: closing it earlier would let a late `accept` take whatever descriptor
    /// another test opens with the same number.
    func stop() {
        shutdown(listener, Int32(SHUT_RDWR))
        if finished.wait(timeout: .now() + 5) == .success { close(listener) }
    }

    private func serve() {
        while true {
            let client = accept(listener, nil, nil)
            if client < 0 {
                if errno == EINTR { continue }
                return
            }
            var timeout = timeval(tv_sec: 2, tv_usec: 0)
            setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            handle(client)
            close(client)
        }
    }

    private func handle(_ client: Int32) {
        var buffer: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16384)
        func receive() -> Bool {
            let n = chunk.withUnsafeMutableBytes { read(client, $0.baseAddress!, $0.count) }
            if n <= 0 { return false }
            buffer += chunk[..<n]
            return true
        }
        let separator: [UInt8] = Array("\r\n\r\n".utf8)
        var headerEnd: Int?
        while headerEnd == nil {
            guard receive() else { return }
            headerEnd = buffer.indices.dropLast(3).first { buffer[$0..<$0 + 4].elementsEqual(separator) }
        }
        let head = String(decoding: buffer[..<headerEnd!], as: UTF8.self).components(separatedBy: "\r\n")
        let requestLine = head[0].split(separator: " ")
        var headers: [String: String] = [:]
        for line in head.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(
                in: .whitespaces
            )
        }
        let length = headers["content-length"].flatMap { Int($0) } ?? 0
        let bodyStart = headerEnd! + 4
        if buffer.count < bodyStart + length, headers["expect"]?.lowercased() == "100-continue" {
            send(client, "HTTP/1.1 100 Continue\r\n\r\n")
        }
        while buffer.count < bodyStart + length {
            guard receive() else { return }
        }
        let body = Data(buffer[bodyStart..<bodyStart + length])
        let json = try? JSONSerialization.jsonObject(with: body) as? [String: Any]
        let code = lock.withLock {
            let code = status(requests.count)
            requests.append(
                Request(
                    method: requestLine.first.map(String.init) ?? "",
                    target: requestLine.count > 1 ? String(requestLine[1]) : "",
                    headers: headers,
                    body: body,
                    arrival: .now,
                    status: code,
                    kind: json?["kind"] as? String,
                    severity: json?["severity"] as? String,
                    keyID: json?["key_id"] as? String
                )
            )
            return code
        }
        let reason = code == 200 ? "OK" : code == 500 ? "Internal Server Error" : "Status"
        send(
            client,
            "HTTP/1.1 \(code) \(reason)\r\nContent-Type: text/plain\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n"
        )
    }

    private func send(_ client: Int32, _ text: String) {
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { write(client, $0.baseAddress! + offset, $0.count - offset) }
            if n <= 0 { return }
            offset += n
        }
    }
}

// MARK: - Helpers

/// Polls `condition` every 20 ms until it holds or `timeout` seconds pass.
/// - Returns: Whether it held.
@discardableResult
func waitUntil(timeout: Double, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while true {
        if try condition() { return true }
        if Date() > deadline { return false }
        usleep(20_000)
    }
}

/// Appends lines, each with a newline, to `path` in one `write` (creating the file).
func appendLines(_ lines: [String], to path: String) {
    let fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0o644)
    guard fd >= 0 else { return }
    defer { close(fd) }
    let bytes = Array(lines.map { $0 + "\n" }.joined().utf8)
    var offset = 0
    while offset < bytes.count {
        let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
        if n <= 0 { return }
        offset += n
    }
}

/// A plain HTTP GET to 127.0.0.1:`port`.
/// - Returns: The status and body, or nil if the exchange failed.
func httpGet(port: UInt16, path: String) -> (status: Int, body: String)? {
    #if canImport(Glibc)
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    #else
    let fd = socket(AF_INET, SOCK_STREAM, 0)
    #endif
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var timeout = timeval(tv_sec: 2, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = port.bigEndian
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
        }
    }
    guard connected == 0 else { return nil }
    let request = Array("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".utf8)
    guard request.withUnsafeBytes({ write(fd, $0.baseAddress!, $0.count) }) == request.count else { return nil }
    var response: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 16384)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
        if n <= 0 { break }
        response += chunk[..<n]
    }
    let text = String(decoding: response, as: UTF8.self)
    guard let split = text.range(of: "\r\n\r\n") else { return nil }
    let statusLine = text[..<split.lowerBound].prefix { $0 != "\r" }.split(separator: " ")
    guard statusLine.count >= 2, let status = Int(statusLine[1]) else { return nil }
    return (status, String(text[split.upperBound...]))
}
