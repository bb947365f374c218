import Foundation
import Testing

@testable import KeywatchCore

/// Scoring of `keywatch-eval`: small hand-written labels and alerts with exact expected numbers.
///
/// Keys are built from an index at run time, so no key (even a fake one) appears in the source or the test log.
@Suite struct EvaluationTests {
    static let fingerprinter = Fixtures.fingerprinter

    static func key(_ index: Int) -> String {
        "ak_test_" + String(repeating: String(UnicodeScalar(UInt8(65 + index))), count: 18) + "z\(index)"
    }

    static func keyID(_ index: Int) -> String { fingerprinter.keyID(for: key(index)) }

    static func hint(_ index: Int) -> String {
        var bytes = Array(key(index).utf8)
        return bytes.withUnsafeMutableBufferPointer {
            KeyHint.make(for: ByteView(base: UnsafePointer($0.baseAddress), count: $0.count))
        }
    }

    static func t(_ text: String) -> Int64 { EvaluationTime.parse(text)! }

    /// 10 keys, learning until 2026-11-02, scored for 7 days: 70 key-days.
    static func labelsJSON(learningEnd: String = "2026-11-02T00:00:00Z") -> String {
        func incident(_ id: String, _ kind: String, _ k: Int, _ start: String, _ end: String, first: String?) -> String
        {
            let detail = first.map { #"{"first_request":"\#($0)","requests":10}"# } ?? "{}"
            return #"""
                {"id":"\#(id)","kind":"\#(kind)","key":"\#(key(k))","key_hint":"\#(hint(k))","start":"\#(start)",
                 "end":"\#(end)","gateway":"nginx","consumer":"c","key_kind":"partner","detail":\#(detail)}
                """#
        }
        let incidents = [
            incident(
                "inc-1",
                "new_country",
                0,
                "2026-11-02T10:00:00Z",
                "2026-11-02T10:30:00Z",
                first: "2026-11-02T10:00:30Z"
            ),
            incident("inc-2", "new_country", 1, "2026-11-03T10:00:00Z", "2026-11-03T11:00:00Z", first: nil),
            incident(
                "inc-3",
                "rate_spike",
                2,
                "2026-11-04T12:00:00Z",
                "2026-11-04T12:20:00Z",
                first: "2026-11-04T12:01:00Z"
            ),
            incident("inc-4", "dormant_key", 3, "2026-11-05T00:00:00Z", "2026-11-05T01:00:00Z", first: nil),
        ]
        let legitimate = [
            #"""
            {"id":"leg-1","kind":"outage_5xx","start":"2026-11-06T14:00:00Z","end":"2026-11-06T14:22:00Z","keys":"all",
             "detail":{}}
            """#,
            #"""
            {"id":"leg-2","kind":"cloud_ip_move","start":"2026-11-04T00:00:00Z","end":"2026-11-09T00:00:00Z",
             "keys":["\#(hint(4))"],"raw_keys":["\#(key(4))"],"detail":{}}
            """#,
            #"""
            {"id":"leg-3","kind":"office_hours","start":"2026-10-26T00:00:00Z","end":"2026-11-09T00:00:00Z",
             "keys":["\#(hint(4))","\#(hint(5))"],"raw_keys":["\#(key(4))","\#(key(5))"],"detail":{}}
            """#,
        ]
        return """
            {"seed":9,"start":"2026-10-26T00:00:00Z","end":"2026-11-09T00:00:00Z","keys":10,
             "learning_end":"\(learningEnd)","incidents":[\(incidents.joined(separator: ","))],
             "legitimate":[\(legitimate.joined(separator: ","))]}
            """
    }

    static func labels(secret fingerprinter: KeyFingerprinter = fingerprinter) throws -> EvaluationLabels {
        try EvaluationLabels(json: Data(labelsJSON().utf8)) { fingerprinter.keyID(for: $0) }
    }

    static func alertLine(_ time: String, _ kind: String, _ severity: String, key k: Int?) -> String {
        let keyField = k.map { #""\#(keyID($0))""# } ?? "null"
        let hintField = k.map { hint($0) } ?? ""
        return #"""
            {"id":"a_\#(time.filter(\.isNumber))","time":"\#(time)","kind":"\#(kind)","severity":"\#(severity)",\#
            "score":50,"key_id":\#(keyField),"key_hint":"\#(hintField)","summary":"\#(kind) on key \#(k ?? -1)",\#
            "evidence":{"n":1},"source":"gw/access.log:12"}
            """#
    }

    /// Alerts numbered as in the comments; see each line for its role.
    static let alertLines: [String] = [
        alertLine("2026-11-02T10:05:30Z", "new_country", "medium", key: 0),  // 1 detects inc-1, 5 min
        alertLine("2026-11-02T10:01:00Z", "new_network", "high", key: 0),  // 2 matches inc-1, other kind
        alertLine("2026-11-03T09:59:00Z", "new_country", "low", key: 1),  // 3 start − 60 s: matches inc-2, low
        alertLine("2026-11-03T13:00:00.001Z", "new_country", "medium", key: 1),  // 4 end + 2 h + 1 ms: unmatched
        alertLine("2026-11-04T14:20:00Z", "rate_spike", "critical", key: 2),  // 5 end + 2 h: matches inc-3
        alertLine("2026-11-04T12:05:00Z", "rate_spike", "medium", key: 2),  // 6 first detection of inc-3, 4 min
        alertLine("2026-11-05T08:00:00Z", "new_endpoint", "medium", key: 4),  // 7 unmatched, leg-2
        alertLine("2026-11-06T14:10:00Z", "error_spike", "high", key: 5),  // 8 unmatched, leg-1 (all keys)
        alertLine("2026-11-07T00:00:00Z", "ip_fanout", "medium", key: 6),  // 9 unmatched, extra kind
        alertLine("2026-11-01T12:00:00Z", "rate_spike", "medium", key: 7),  // 10 during learning
        alertLine("2026-11-08T00:00:00Z", "new_country", "low", key: 8),  // 11 unmatched, low
        alertLine("2026-11-08T01:00:00Z", "ip_fanout", "low", key: nil),  // 12 no key, unmatched, low
        #"{"summary":{"alerts":12,"keys":10}}"#,  // ignored
        "",  // blank: skipped
        "not json at all",  // malformed
        #"{"id":"a_1","time":"2026-11-05T00:00:00Z","kind":"rate_spike","severity":"urgent","key_id":"k_1"}"#,
        #"{"severity":"low","kind":"rate_spike","key_id":"k_1"}"#,  // malformed: no time
        "[1,2]",  // malformed: not an object
        #"{"id":"a_2","time":"#,  // malformed: truncated
    ]

    static func score() throws -> EvaluationScore {
        let alerts = AlertFile(jsonLines: Data(alertLines.joined(separator: "\n").utf8))
        return Evaluation.score(EvaluationRun(name: "seed 9", labels: try labels(), alerts: alerts))
    }

    @Test func labelsMapRawKeysToKeyIDs() throws {
        let labels = try Self.labels()
        #expect(labels.seed == 9)
        #expect(labels.keyCount == 10)
        #expect(labels.learningEnd == Self.t("2026-11-02T00:00:00Z"))
        #expect(labels.scoredKeyDays == 70)
        #expect(labels.incidents.map(\.keyID) == (0..<4).map(Self.keyID))
        #expect(labels.incidents.map(\.keyHint) == (0..<4).map(Self.hint))
        #expect(labels.incidents[0].onset == Self.t("2026-11-02T10:00:30Z"))
        #expect(labels.incidents[1].onset == Self.t("2026-11-03T10:00:00Z"))
        #expect(labels.legitimate[0].isGlobal && !labels.legitimate[0].spansPeriod)
        #expect(labels.legitimate[2].spansPeriod)
        #expect(labels.legitimate[1].concerns(keyID: Self.keyID(4), hint: nil))
        #expect(!labels.legitimate[1].concerns(keyID: Self.keyID(5), hint: Self.hint(4)))
    }

    @Test func badLabelsNameTheMissingField() {
        let json = Self.labelsJSON().replacingOccurrences(of: #""learning_end""#, with: #""learning""#)
        #expect(throws: EvaluationError.badLabels(path: "labels.json", reason: "missing learning_end")) {
            try EvaluationLabels(json: Data(json.utf8)) { $0 }
        }
        #expect(throws: EvaluationError.badLabels(path: "labels.json", reason: "learning_end: not an ISO 8601 time")) {
            try EvaluationLabels(json: Data(Self.labelsJSON(learningEnd: "yesterday").utf8)) { $0 }
        }
    }

    @Test func alertFileSkipsNonAlertsAndCountsMalformedLines() {
        let file = AlertFile(jsonLines: Data(Self.alertLines.joined(separator: "\n").utf8))
        #expect(file.alerts.count == 12)
        #expect(file.ignoredLines == 1)
        #expect(file.malformedLines == 5)
        #expect(file.malformedSamples.map(\.line) == [15, 16, 17, 18, 19])
        #expect(
            file.malformedSamples.map(\.reason) == [
                "not a JSON object", "unknown severity", "no time", "not a JSON object", "not a JSON object",
            ]
        )
        #expect(file.alerts[3].time == Self.t("2026-11-03T13:00:00Z") + 1)
        #expect(file.alerts[11].keyID == nil)
        #expect(file.alerts[0].line == 1)
        // Empty and CRLF files.
        #expect(AlertFile(jsonLines: Data()).alerts.isEmpty)
        let crlf = AlertFile(jsonLines: Data((Self.alertLines[0] + "\r\n" + Self.alertLines[1] + "\r\n").utf8))
        #expect(crlf.alerts.count == 2 && crlf.malformedLines == 0)
    }

    @Test func windowEdgesAreInclusive() throws {
        let incident = try Self.labels().incidents[2]  // 12:00:00 to 12:20:00
        func alert(_ time: Int64, key: Int = 2) -> ObservedAlert {
            ObservedAlert(time: time, kind: "rate_spike", severity: .medium, keyID: Self.keyID(key))
        }
        #expect(Evaluation.matches(alert(incident.start - 60_000), incident))
        #expect(!Evaluation.matches(alert(incident.start - 60_001), incident))
        #expect(Evaluation.matches(alert(incident.end + 7_200_000), incident))
        #expect(!Evaluation.matches(alert(incident.end + 7_200_001), incident))
        #expect(!Evaluation.matches(alert(incident.start, key: 3), incident))
    }

    @Test func recallAndDelayPerKind() throws {
        let score = try Self.score()
        let rows = Dictionary(uniqueKeysWithValues: score.kinds.map { ($0.kind, $0) })
        #expect(score.kinds.map(\.kind) == Evaluation.incidentKinds)

        let country = try #require(rows["new_country"])
        #expect(country.incidents == 2 && country.detected == 1 && country.detectedAnySeverity == 2)
        #expect(country.recall == 0.5 && country.recallAnySeverity == 1)
        #expect(country.medianDelayMinutes == 5 && country.maxDelayMinutes == 5)

        let rate = try #require(rows["rate_spike"])
        #expect(rate.incidents == 1 && rate.detected == 1 && rate.recall == 1)
        #expect(rate.medianDelayMinutes == 4 && rate.maxDelayMinutes == 4)  // the earlier of two, not file order

        let dormant = try #require(rows["dormant_key"])
        #expect(dormant.incidents == 1 && dormant.detected == 0 && dormant.recall == 0)
        #expect(dormant.medianDelayMinutes == nil)
        let network = try #require(rows["new_network"])
        #expect(network.incidents == 0 && network.recall == nil)  // no recall without incidents, even with alerts

        #expect(score.total.incidents == 4 && score.total.detected == 2 && score.total.detectedAnySeverity == 3)
        #expect(score.total.medianDelayMinutes == 4.5 && score.total.maxDelayMinutes == 5)
        #expect(score.recall == 0.5)
        #expect(score.missed.map(\.incident.id) == ["inc-2", "inc-4"])
        #expect(score.missed[0].matchingAlerts.map(\.severity) == [.low])
    }

    @Test func precisionAndFalseAlertRates() throws {
        let score = try Self.score()
        #expect(score.scoredAlerts == 11)
        #expect(score.scoredMediumPlus == 8)
        #expect(score.learningAlerts == 1 && score.learningMediumPlus == 1)
        #expect(score.precision == 0.5)  // alerts 1, 2, 5, 6 match; 4, 7, 8, 9 do not
        #expect(score.unmatchedMediumPlus.map(\.alert.line) == [4, 7, 8, 9])
        #expect(score.unmatched.map(\.alert.line) == [4, 7, 8, 9, 11, 12])
        #expect(score.keyDays == 70)
        #expect(score.falseMediumPlusPer1kKeyDays == 4.0 * 1000 / 70)
        #expect(score.falseAlertsPer1kKeyDays == 6.0 * 1000 / 70)
        #expect(score.countsByKind["new_country"] == [.low: 2, .medium: 2])
        #expect(score.countsByKind["ip_fanout"] == [.low: 1, .medium: 1])
        #expect(score.countsByKind["rate_spike"] == [.medium: 1, .critical: 1])  // not the learning one
        #expect(score.ignoredLines == 1 && score.malformedLines == 5)
    }

    @Test func unmatchedAlertsNameLegitimateEpisodes() throws {
        let byLine = Dictionary(uniqueKeysWithValues: try Self.score().unmatched.map { ($0.alert.line, $0) })
        #expect(byLine[4]?.legitimate.isEmpty == true)
        #expect(byLine[7]?.legitimate.map(\.id) == ["leg-2", "leg-3"])
        #expect(byLine[8]?.legitimate.map(\.id) == ["leg-1", "leg-3"])
        #expect(byLine[12]?.legitimate.isEmpty == true)
    }

    @Test func combiningPoolsRuns() throws {
        let one = try Self.score()
        let empty = Evaluation.score(
            EvaluationRun(name: "quiet", labels: try Self.labels(), alerts: AlertFile(alerts: []))
        )
        #expect(empty.precision == nil && empty.recall == 0)
        let both = EvaluationScore.combining([one, empty])
        #expect(both.total.incidents == 8 && both.total.detected == 2)
        #expect(both.recall == 0.25)
        #expect(both.precision == 0.5)
        #expect(both.keyDays == 140)
        #expect(both.falseMediumPlusPer1kKeyDays == 4.0 * 1000 / 140)
        #expect(both.countsByKind == one.countsByKind)
    }

    @Test func foreignStateIsDetected() throws {
        let alerts = AlertFile(jsonLines: Data(Self.alertLines.joined(separator: "\n").utf8)).alerts
        #expect(Evaluation.keyIDMismatch(labels: try Self.labels(), alerts: alerts) == nil)
        let other = KeyFingerprinter(secret: [UInt8](repeating: 9, count: 32))
        #expect(Evaluation.keyIDMismatch(labels: try Self.labels(secret: other), alerts: alerts) == 6)
    }

    @Test func reportsShowHintsNeverKeys() throws {
        let score = try Self.score()
        let text = EvaluationReport.markdown([score, score], verbose: true)
        #expect(text.contains("| new_country | 2 | 1 | 50.0% | 100.0% | 5.0 min | 5.0 min |"))
        #expect(text.contains("| **all** | 8 | 4 | 50.0% | 75.0% | 4.5 min | 5.0 min |"))
        #expect(text.contains("- precision (medium+): 50.0% (4 of 8 medium+ alerts match an incident)"))
        #expect(text.contains("legitimate: leg-1 outage_5xx (all keys); traits: office_hours"))
        #expect(text.contains("legitimate: leg-2 cloud_ip_move; traits: office_hours"))
        #expect(
            text.contains("by legitimate episode (whole-period traits aside): none 2, cloud_ip_move 1, outage_5xx 1")
        )
        #expect(text.contains("- inc-4 dormant_key  \(Self.hint(3))  2026-11-05T00:00:00Z"))
        let json = EvaluationReport.json([score], gates: ["min_recall": false])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        let combined = try #require(object["combined"] as? [String: Any])
        #expect(combined["precision"] as? Double == 0.5)
        #expect((object["gates"] as? [String: Bool]) == ["min_recall": false])
        for index in 0..<10 {
            #expect(!text.contains(Self.key(index)), "key \(index) in the markdown report")
            #expect(!json.contains(Self.key(index)), "key \(index) in the JSON report")
        }
    }
}
