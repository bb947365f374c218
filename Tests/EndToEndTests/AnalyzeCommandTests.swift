import Foundation
import GRDB
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The bundled samples (`samples/`, 14 days of synthetic traffic for 300 keys with labelled incidents)
/// through `keywatch analyze`, `keys` and `baseline show`, and `analyze` killed at random moments.
@Suite(.serialized) struct AnalyzeCommandTests {
    static let samples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("samples").path

    static func analyze(state: String, output: String, inputs: [String]? = nil, extra: [String] = []) -> [String] {
        ["analyze"] + (inputs ?? [samples + "/nginx", samples + "/kong"]) + [
            "--networks", samples + "/networks.csv", "--log-format", "@" + samples + "/nginx.log_format",
            "--state", state, "--output", output, "--no-progress",
        ] + extra
    }

    /// `samples/labels.json`: incidents and the raw keys, which tests only search for, never print.
    struct Labels {
        var incidents: [String: [String: Any]] = [:]
        var rawKeys: [String] = []

        init() throws {
            let data = try Data(contentsOf: URL(fileURLWithPath: AnalyzeCommandTests.samples + "/labels.json"))
            let root = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
            for incident in try #require(root["incidents"] as? [[String: Any]]) {
                incidents[try #require(incident["id"] as? String)] = incident
                if let key = incident["key"] as? String { rawKeys.append(key) }
            }
            for entry in try #require(root["legitimate"] as? [[String: Any]]) {
                rawKeys += entry["raw_keys"] as? [String] ?? []
            }
        }

        /// Indices of the raw keys found in `bytes` (indices only, so a failure prints no key).
        func leaked(in bytes: Data) -> [Int] {
            rawKeys.indices.filter { bytes.range(of: Data(rawKeys[$0].utf8)) != nil }
        }
    }

    /// One uninterrupted run over all samples on a fresh state, shared by the tests below: a debug
    /// build takes a few seconds for it.
    struct CleanRun {
        var state: String
        /// A copy of the state taken before the run: the same fingerprint secret, so the same key
        /// and alert ids, and nothing learned yet.
        var template: String
        var result: Binary.Result

        /// The alerts printed, in order.
        func alerts() throws -> [[String: Any]] {
            try result.stdout.split(separator: "\n").map { line in
                try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            }
        }
    }

    static let clean: Result<CleanRun, any Error> = Result {
        let directory = Binary.temporaryDirectory()
        let state = directory + "/state"
        let template = directory + "/template"
        // `key-id` with no input only creates the state and its secret.
        _ = try Binary.run(["key-id", "--state", state], stdin: "")
        try FileManager.default.copyItem(atPath: state, toPath: template)
        return CleanRun(
            state: state, template: template, result: try Binary.run(analyze(state: state, output: "jsonl")))
    }

    static func date(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.date(from: text)
    }

    static func matches(_ text: String, _ pattern: String) -> Bool {
        text.range(of: pattern, options: .regularExpression) != nil
    }

    /// Events with a key, from the summary line `keywatch: N lines, M events with a key, …`.
    static func events(in summary: String) -> Int? {
        guard let range = summary.range(of: #"[0-9]+ events with a key"#, options: .regularExpression) else { return nil }
        return Int(summary[range].split(separator: " ")[0])
    }

    @Test func alertsAreWellFormedJSONLines() throws {
        let run = try Self.clean.get()
        let alerts = try run.alerts()
        #expect(run.result.status == 0)
        #expect(run.result.stderr.hasPrefix("keywatch: 122245 lines, 69405 events with a key, 295 keys (295 new), "))
        #expect(alerts.count > 20)
        let kinds: Set<String> = [
            "new_country", "new_network", "rate_spike", "quota_spike", "new_endpoint", "error_spike", "dormant_key",
        ]
        var ids = Set<String>()
        for (index, alert) in alerts.enumerated() {
            let id = alert["id"] as? String ?? ""
            #expect(Self.matches(id, "^a_[0-9a-f]{20}$"), "alert \(index) id")
            ids.insert(id)
            let time = alert["time"] as? String ?? ""
            #expect(Self.matches(time, #"^20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z$"#))
            #expect(Self.date(time) != nil, "alert \(index) time \(time)")
            #expect(kinds.contains(alert["kind"] as? String ?? ""), "alert \(index) kind")
            #expect(["low", "medium", "high", "critical"].contains(alert["severity"] as? String ?? ""))
            let score = alert["score"] as? Int ?? -1
            #expect((0...100).contains(score), "alert \(index) score \(score)")
            #expect(Self.matches(alert["key_id"] as? String ?? "", "^k_[0-9a-f]{24}$"), "alert \(index) key_id")
            let hint = alert["key_hint"] as? String ?? ""
            #expect(hint.contains("…"), "alert \(index) hint")
            #expect((alert["summary"] as? String ?? "").hasPrefix("key \(hint) "), "alert \(index) summary")
            #expect(alert["evidence"] is [String: Any], "alert \(index) evidence")
            let source = alert["source"] as? String ?? ""
            #expect(Self.matches(source, #":[1-9][0-9]*$"#), "alert \(index) source \(source)")
            let file = String(source[..<(source.lastIndex(of: ":") ?? source.endIndex)])
            #expect(FileManager.default.fileExists(atPath: file), "alert \(index) source file \(file)")
        }
        #expect(ids.count == alerts.count)
        // Event-time order: the merge feeds the detectors in order, so alerts come out in order.
        let times = alerts.compactMap { ($0["time"] as? String).flatMap(Self.date) }
        #expect(times == times.sorted())
    }

    /// The alert for `incident` of its kind on its key, raised between its first request and its end.
    static func alert(for incident: [String: Any], in alerts: [[String: Any]]) -> [String: Any]? {
        let detail = incident["detail"] as? [String: Any] ?? [:]
        guard let hint = incident["key_hint"] as? String, let kind = incident["kind"] as? String,
            let start = (detail["first_request"] as? String ?? incident["start"] as? String).flatMap(date),
            let end = (incident["end"] as? String).flatMap(date)
        else { return nil }
        return alerts.first { alert in
            guard alert["key_hint"] as? String == hint, alert["kind"] as? String == kind,
                let time = (alert["time"] as? String).flatMap(date)
            else { return false }
            return time >= start && time <= end && alert["severity"] as? String != "low"
        }
    }

    @Test func labelledIncidentsAreFound() throws {
        let run = try Self.clean.get()
        let alerts = try run.alerts()
        let labels = try Labels()
        // inc-003: partner-32's key, used only from a British broadband network, from a hosting range in China.
        let incident = try #require(labels.incidents["inc-003"])
        let detail = try #require(incident["detail"] as? [String: Any])
        let alert = try #require(Self.alert(for: incident, in: alerts))
        #expect(alert["key_hint"] as? String == "ak_live_K1…FI")
        #expect(alert["severity"] as? String == "medium")
        // At its very first request from there.
        #expect(Self.date(alert["time"] as? String ?? "") == Self.date(detail["first_request"] as? String ?? "-"))
        let evidence = try #require(alert["evidence"] as? [String: Any])
        #expect(evidence["country"] as? String == detail["country"] as? String)
        #expect(evidence["asn"] as? Int == detail["asn"] as? Int)
        #expect(evidence["org"] as? String == detail["org"] as? String)
        #expect(evidence["network"] as? String == detail["cidr"] as? String)
        #expect((evidence["seen_countries"] as? [String: Int]).map { Array($0.keys) } == detail["usual_countries"] as? [String])
        // And confirmed by the burst that followed: a second, higher alert for the same country.
        let escalation = alerts.first {
            $0["key_hint"] as? String == "ak_live_K1…FI" && $0["kind"] as? String == "new_country"
                && $0["severity"] as? String == "high"
        }
        #expect((escalation?["evidence"] as? [String: Any])?["value"] as? String == "CN")

        // One incident of every kind, at medium or above, inside its window.
        for id in ["inc-002", "inc-004", "inc-009", "inc-011", "inc-019", "inc-025"] {
            let incident = try #require(labels.incidents[id])
            #expect(Self.alert(for: incident, in: alerts) != nil, "\(id) (\(incident["kind"] ?? "?")) not found")
        }
    }

    @Test func noRawKeyInOutputOrState() throws {
        let run = try Self.clean.get()
        let labels = try Labels()
        #expect(labels.rawKeys.count > 290)
        #expect(labels.leaked(in: Data(run.result.stdout.utf8)) == [])
        #expect(labels.leaked(in: Data(run.result.stderr.utf8)) == [])
        let files = try FileManager.default.contentsOfDirectory(atPath: run.state)
        #expect(files.contains("keywatch.sqlite"))
        for file in files {
            let bytes = try Data(contentsOf: URL(fileURLWithPath: run.state + "/" + file))
            #expect(labels.leaked(in: bytes) == [], "raw keys in \(file)")
        }
        let keys = try Binary.run(["keys", "--state", run.state, "--output", "json"])
        #expect(labels.leaked(in: Data(keys.stdout.utf8)) == [])
    }

    @Test func secondRunOnTheSameInputsSkipsEverything() throws {
        let run = try Self.clean.get()
        let events = try #require(Self.events(in: run.result.stderr))
        let again = try Binary.run(Self.analyze(state: run.state, output: "jsonl"))
        #expect(again.status == 0)
        #expect(again.stdout.isEmpty)
        #expect(again.stderr.contains(" 0 events with a key, 295 keys (0 new), 0 alerts "))
        #expect(
            again.stderr.contains(
                "skipped \(events) events at or before the state's watermark 2026-11-09T05:59:51.000Z: already learned"))
    }

    @Test func tablePrintsAHeaderAndOneRowPerAlert() throws {
        // Kong only, to keep it quick: inc-006 is partner-72's key used from Vietnam.
        let state = Binary.temporaryDirectory()
        let result = try Binary.run(Self.analyze(state: state, output: "table", inputs: [Self.samples + "/kong"]))
        #expect(result.status == 0)
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first == "TIME (UTC)          SEVERITY KIND         KEY             SUMMARY")
        let rows = lines.dropFirst()
        #expect(rows.count > 10)
        #expect(rows.allSatisfy { Self.matches($0, #"^2026-1[01]-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2} +(low|medium|high|critical) +[a-z_]+ +\S+…\S+ +\S"#) })
        let vietnam = rows.first { $0.contains("ak_live_08…O6") && $0.contains("new_country") }
        #expect(vietnam?.hasPrefix("2026-11-03 11:44:39 medium   new_country  ak_live_08…O6   used from VN (AS64663 Saigon Cloud VPS, VN) for the first time; seen before: US") == true)
        let alertsLine = result.stderr.split(separator: "\n").first.map(String.init) ?? ""
        #expect(alertsLine.contains(" \(rows.count) alerts in "))
    }

    @Test func keysAndBaselineShowExplainTheState() throws {
        let run = try Self.clean.get()
        let events = try #require(Self.events(in: run.result.stderr))
        let table = try Binary.run(["keys", "--state", run.state])
        #expect(table.status == 0)
        let lines = table.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first?.hasPrefix("KEY             ID                          STATUS  FIRST SEEN") == true)
        #expect(lines.last == "295 keys; state as of 2026-11-09T05:59:51.000Z")
        #expect(lines.count == 297)
        let k1 = lines.first { $0.hasPrefix("ak_live_K1…FI ") }
        #expect(k1?.contains(" active ") == true)
        #expect(k1?.contains(" 2026-10-26 09:11 ") == true)

        let json = try Binary.run(["keys", "--state", run.state, "--output", "json"])
        #expect(json.status == 0)
        let keys = try json.stdout.split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
        #expect(keys.count == 295)
        #expect(Set(keys.compactMap { $0["key_id"] as? String }).count == 295)
        #expect(keys.reduce(0) { $0 + ($1["requests"] as? Int ?? 0) } == events)
        let statuses = Set(keys.compactMap { $0["status"] as? String })
        #expect(statuses == ["new", "active", "dormant"])

        let show = try Binary.run(["baseline", "show", "ak_live_K1…FI", "--state", run.state])
        #expect(show.status == 0)
        let labels = try Labels()
        let detail = try #require(labels.incidents["inc-003"]?["detail"] as? [String: Any])
        let chinaRequests = try #require(detail["requests"] as? Int)
        #expect(show.stdout.hasPrefix("key ak_live_K1…FI  k_"))
        let countries = show.stdout.split(separator: "\n").first { $0.hasPrefix("  countries   ") }
        // Every request of the incident came from China; the rest of its life from Britain.
        #expect(countries.map { Self.matches(String($0), #"^  countries   CN \(\#(chinaRequests)\), GB \([0-9]+\)$"#) } == true)
        #expect(show.stdout.contains("AS64664 (\(chinaRequests))"))
        let missing = try Binary.run(["baseline", "show", "zz_nothing…00", "--state", run.state])
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("no key matches 'zz_nothing…00'"))
    }

    // MARK: - Crash recovery

    /// The stored alert ids and per-key request counts of a state.
    static func stored(_ state: String) throws -> (alerts: Set<String>, requests: [String: Int]) {
        let keys = try Binary.run(["keys", "--state", state, "--output", "json"])
        #expect(keys.status == 0, "keys: \(keys.stderr)")
        var requests: [String: Int] = [:]
        for line in keys.stdout.split(separator: "\n") {
            let key = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            requests[try #require(key["key_id"] as? String)] = try #require(key["requests"] as? Int)
        }
        var configuration = Configuration()
        configuration.readonly = true
        let queue = try DatabaseQueue(path: state + "/keywatch.sqlite", configuration: configuration)
        let alerts = try queue.read { db in try String.fetchAll(db, sql: "SELECT id FROM alerts") }
        return (Set(alerts), requests)
    }

    @Test func analyzeKilledAtRandomMomentsEndsWhereAnUninterruptedRunEnds() throws {
        let run = try Self.clean.get()
        let expected = try Self.stored(run.state)
        #expect(expected.requests.count == 295)

        let state = Binary.temporaryDirectory() + "/state"
        try FileManager.default.copyItem(atPath: run.template, toPath: state)
        let scratch = Binary.temporaryDirectory()
        var seed = UInt64.random(in: 1...UInt64.max)
        let firstSeed = seed
        var kills = 0
        var completed = false
        var watermarks: [String] = []
        for attempt in 0..<5 {
            let process = Process()
            process.executableURL = Binary.productsDirectory.appendingPathComponent("keywatch")
            process.arguments = Self.analyze(state: state, output: "jsonl", extra: ["--checkpoint-seconds", "0.05"])
            process.standardOutput = FileHandle.nullDevice
            _ = FileManager.default.createFile(atPath: scratch + "/err\(attempt)", contents: nil)
            process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: scratch + "/err\(attempt)"))
            try process.run()
            if attempt < 4 {
                // SplitMix64 step for a delay of 0.3–2.5 s: a debug build on two busy cores needs about
                // a second to open 45 inputs and reach its first checkpoint.
                seed &+= 0x9E37_79B9_7F4A_7C15
                var z = seed
                z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
                z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
                z ^= z >> 31
                usleep(UInt32(300_000 + z % 2_200_001))
                kill(process.processIdentifier, SIGKILL)
            }
            process.waitUntilExit()
            if process.terminationReason == .uncaughtSignal {
                #expect(process.terminationStatus == SIGKILL)
                kills += 1
                // Each killed run leaves a state that loads (once the store was created at all).
                guard FileManager.default.fileExists(atPath: state + "/keywatch.sqlite") else { continue }
                let keys = try Binary.run(["keys", "--state", state])
                #expect(keys.status == 0, "after kill \(kills) (seed \(firstSeed)): \(keys.stderr)")
                watermarks.append(String(keys.stdout.split(separator: "\n").last ?? ""))
            } else {
                #expect(process.terminationStatus == 0, "seed \(firstSeed)")
                completed = true
                break
            }
        }
        #expect(completed)
        #expect(kills >= 1, "no run was killed (seed \(firstSeed))")
        // At least one killed run got past a checkpoint, so a restart continued from a watermark.
        #expect(watermarks.contains { !$0.hasPrefix("0 keys") }, "seed \(firstSeed), watermarks \(watermarks)")
        let got = try Self.stored(state)
        // No event counted twice or lost: every key has exactly the requests of the clean run.
        #expect(got.requests.count == expected.requests.count)
        let differing = expected.requests.filter { got.requests[$0.key] != $0.value }.count
        #expect(differing == 0, "seed \(firstSeed), watermarks \(watermarks): \(differing) keys differ")
        // Alerts replayed after a restart have the ids they had the first time, and none is lost.
        let unknown = got.alerts.subtracting(expected.alerts)
        #expect(unknown.isEmpty, "seed \(firstSeed): \(unknown.count) alerts not in the clean run")
        let lost = expected.alerts.subtracting(got.alerts)
        #expect(lost.isEmpty, "seed \(firstSeed): \(lost.count) alerts of the clean run missing")
    }
}
