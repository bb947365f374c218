import Foundation

/// Renders ``EvaluationScore`` values as markdown for people and as JSON for scripts.
///
/// Only key hints are printed, never key ids' raw keys (which the scores do not hold).
public enum EvaluationReport {
    /// The markdown report of one run, or of several runs (a combined section, then one per run).
    /// - Parameters:
    ///   - runs: Per-run scores.
    ///   - verbose: List every unmatched medium+ alert and every missed incident, per run.
    /// - Returns: The report text.
    public static func markdown(_ runs: [EvaluationScore], verbose: Bool) -> String {
        var out = ""
        if runs.count > 1 {
            out += section(EvaluationScore.combining(runs), title: "combined (\(runs.count) runs)")
        }
        for run in runs {
            if !out.isEmpty { out += "\n" }
            out += section(run, title: run.name)
            if verbose { out += details(run) }
        }
        return out
    }

    /// The summary of one score: the recall table, precision, false-alert rates and alert counts.
    public static func section(_ score: EvaluationScore, title: String) -> String {
        var out = "## \(title)\n\n"
        out += "| kind | incidents | detected | recall | recall (any sev) | median delay | max delay |\n"
        out += "|---|---:|---:|---:|---:|---:|---:|\n"
        for row in score.kinds + [score.total] {
            let name = row.kind == "all" ? "**all**" : row.kind
            out +=
                "| \(name) | \(row.incidents) | \(row.detected) | \(percent(row.recall)) "
                + "| \(percent(row.recallAnySeverity)) | \(minutes(row.medianDelayMinutes)) "
                + "| \(minutes(row.maxDelayMinutes)) |\n"
        }
        out += "\n"
        let unmatched = score.unmatchedMediumPlus.count
        out +=
            "- precision (medium+): \(percent(score.precision)) "
            + "(\(score.scoredMediumPlus - unmatched) of \(score.scoredMediumPlus) medium+ alerts match an incident)\n"
        out +=
            "- false alerts per 1,000 key-days: \(number(score.falseMediumPlusPer1kKeyDays)) medium+ (\(unmatched)), "
            + "\(number(score.falseAlertsPer1kKeyDays)) any severity (\(score.unmatched.count)); "
            + "\(number(score.keyDays)) key-days scored\n"
        out +=
            "- alerts scored: \(score.scoredAlerts); alerts during learning (not scored): "
            + "\(score.learningAlerts) (\(score.learningMediumPlus) medium+)\n"
        if score.ignoredLines > 0 || score.malformedLines > 0 {
            out +=
                "- alert file: non-alert lines ignored: \(score.ignoredLines), "
                + "malformed lines skipped: \(score.malformedLines)\n"
        }
        out += "\n" + countsTable(score)
        return out
    }

    private static func countsTable(_ score: EvaluationScore) -> String {
        guard !score.countsByKind.isEmpty else { return "no alerts scored\n" }
        let severities = AlertSeverity.allCases
        var out = "| alert kind | " + severities.map(\.rawValue).joined(separator: " | ") + " | total |\n"
        out += "|---|" + String(repeating: "---:|", count: severities.count + 1) + "\n"
        let known = Evaluation.incidentKinds.filter { score.countsByKind[$0] != nil }
        let others = Set(score.countsByKind.keys).subtracting(Evaluation.incidentKinds).sorted()
        for kind in known + others {
            let counts = score.countsByKind[kind] ?? [:]
            let cells = severities.map { String(counts[$0] ?? 0) }
            out += "| \(kind) | " + cells.joined(separator: " | ") + " | \(counts.values.reduce(0, +)) |\n"
        }
        return out
    }

    /// The tuning lists of one run: unmatched medium+ alerts and missed incidents, with legitimate episodes.
    public static func details(_ score: EvaluationScore) -> String {
        let unmatched = score.unmatchedMediumPlus
        var out = "\n### \(score.name): unmatched medium+ alerts (\(unmatched.count))\n\n"
        if !unmatched.isEmpty {
            var causes: [String: Int] = [:]
            for item in unmatched {
                let kinds = Set(item.legitimate.filter { !$0.spansPeriod }.map(\.kind)).sorted()
                causes[kinds.isEmpty ? "none" : kinds.joined(separator: "+"), default: 0] += 1
            }
            let ranked = causes.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
            out +=
                "by legitimate episode (whole-period traits aside): "
                + ranked.map { "\($0.key) \($0.value)" }.joined(separator: ", ") + "\n\n"
        }
        for item in unmatched {
            let a = item.alert
            out +=
                "- \(EvaluationTime.format(a.time))  \(a.kind)/\(a.severity.rawValue)  \(hint(a.keyHint))  \(a.summary)\n"
            out += "    legitimate: \(episodes(item.legitimate))\n"
        }
        let missed = score.missed
        out += "\n### \(score.name): missed incidents (\(missed.count))\n\n"
        for outcome in missed {
            let i = outcome.incident
            out +=
                "- \(i.id) \(i.kind)  \(hint(i.keyHint))  \(EvaluationTime.format(i.start)) to "
                + "\(EvaluationTime.format(i.end))  \(i.keyKind.isEmpty ? "" : i.keyKind + " key")"
                + "\(i.gateway.isEmpty ? "" : " via " + i.gateway)\n"
            out += "    alerts on the key in its window: \(alertSummary(outcome))\n"
            out += "    legitimate: \(episodes(outcome.legitimate))\n"
        }
        return out
    }

    private static func alertSummary(_ outcome: IncidentOutcome) -> String {
        guard !outcome.matchingAlerts.isEmpty else { return "none" }
        var groups: [(label: String, count: Int, first: Int64)] = []
        for alert in outcome.matchingAlerts {
            let label = "\(alert.kind)/\(alert.severity.rawValue)"
            if let i = groups.firstIndex(where: { $0.label == label }) {
                groups[i].count += 1
            } else {
                groups.append((label, 1, alert.time))
            }
        }
        return groups.map { group in
            let delay = Double(group.first - outcome.incident.onset) / 60_000
            return "\(group.label) ×\(group.count) (first at \(String(format: "%+.1f", delay)) min)"
        }.joined(separator: ", ")
    }

    /// `leg-007 cloud_ip_move, leg-001 outage_5xx (all keys); traits: growth, office_hours`.
    private static func episodes(_ list: [LegitimateEpisode]) -> String {
        let events = list.filter { !$0.spansPeriod }.map { "\($0.id) \($0.kind)\($0.isGlobal ? " (all keys)" : "")" }
        let traits = list.filter(\.spansPeriod).map(\.kind)
        var text = events.isEmpty ? "none" : events.joined(separator: ", ")
        if !traits.isEmpty { text += "; traits: " + traits.joined(separator: ", ") }
        return text
    }

    private static func hint(_ text: String) -> String { text.isEmpty ? "(no key)" : text }

    private static func percent(_ value: Double?) -> String {
        value.map { String(format: "%.1f%%", $0 * 100) } ?? "n/a"
    }

    private static func minutes(_ value: Double?) -> String {
        value.map { String(format: "%.1f min", $0) } ?? "–"
    }

    private static func number(_ value: Double?) -> String {
        value.map { String(format: "%.2f", $0) } ?? "n/a"
    }

    /// The machine-readable report: `runs` (one object per run), `combined`, and `gates` when given.
    /// - Parameters:
    ///   - runs: Per-run scores.
    ///   - gates: Gate results to include (name to whether it was met).
    /// - Returns: Pretty-printed JSON with sorted keys.
    public static func json(_ runs: [EvaluationScore], gates: [String: Bool] = [:]) -> String {
        let document = JSONDocument(
            runs: runs.map(JSONScore.init),
            combined: JSONScore(EvaluationScore.combining(runs)),
            gates: gates.isEmpty ? nil : gates
        )
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        // Every field is a plain value, so encoding cannot fail.
        return String(decoding: try! encoder.encode(document), as: UTF8.self)
    }
}

private struct JSONDocument: Encodable {
    var runs: [JSONScore]
    var combined: JSONScore
    var gates: [String: Bool]?
}

private struct JSONKind: Encodable {
    var kind: String
    var incidents: Int
    var detected: Int
    var detectedAnySeverity: Int
    var recall: Double?
    var recallAnySeverity: Double?
    var medianDelayMin: Double?
    var maxDelayMin: Double?

    init(_ row: KindScore) {
        kind = row.kind
        incidents = row.incidents
        detected = row.detected
        detectedAnySeverity = row.detectedAnySeverity
        recall = row.recall
        recallAnySeverity = row.recallAnySeverity
        medianDelayMin = row.medianDelayMinutes
        maxDelayMin = row.maxDelayMinutes
    }
}

private struct JSONAlert: Encodable {
    var id: String
    var time: String
    var kind: String
    var severity: String
    var keyHint: String
    var summary: String
    var line: Int
    var legitimate: [String]?

    init(_ alert: ObservedAlert, legitimate: [LegitimateEpisode]? = nil) {
        id = alert.id
        time = EvaluationTime.format(alert.time)
        kind = alert.kind
        severity = alert.severity.rawValue
        keyHint = alert.keyHint
        summary = alert.summary
        line = alert.line
        self.legitimate = legitimate.map { $0.map { "\($0.id) \($0.kind)" } }
    }
}

private struct JSONIncident: Encodable {
    var id: String
    var kind: String
    var keyHint: String
    var keyKind: String
    var start: String
    var end: String
    var detected: Bool
    var detectedAnySeverity: Bool
    var delayMin: Double?
    var matchingAlerts: [JSONAlert]
    var legitimate: [String]

    init(_ outcome: IncidentOutcome) {
        let i = outcome.incident
        id = i.id
        kind = i.kind
        keyHint = i.keyHint
        keyKind = i.keyKind
        start = EvaluationTime.format(i.start)
        end = EvaluationTime.format(i.end)
        detected = outcome.detected
        detectedAnySeverity = outcome.detectedAnySeverity
        delayMin = outcome.delay.map { Double($0) / 60_000 }
        matchingAlerts = outcome.matchingAlerts.map { JSONAlert($0) }
        legitimate = outcome.legitimate.map { "\($0.id) \($0.kind)" }
    }
}

private struct JSONScore: Encodable {
    var name: String
    var kinds: [JSONKind]
    var total: JSONKind
    var precision: Double?
    var scoredAlerts: Int
    var scoredMediumPlus: Int
    var unmatchedMediumPlus: Int
    var unmatchedAnySeverity: Int
    var falseMediumPlusPerThousandKeyDays: Double?
    var falseAlertsPerThousandKeyDays: Double?
    var keyDays: Double
    var learningAlerts: Int
    var learningMediumPlus: Int
    var ignoredLines: Int
    var malformedLines: Int
    var alertsByKind: [String: [String: Int]]
    var incidents: [JSONIncident]
    var unmatchedMediumPlusAlerts: [JSONAlert]

    init(_ score: EvaluationScore) {
        name = score.name
        kinds = score.kinds.map(JSONKind.init)
        total = JSONKind(score.total)
        precision = score.precision
        scoredAlerts = score.scoredAlerts
        scoredMediumPlus = score.scoredMediumPlus
        unmatchedMediumPlus = score.unmatchedMediumPlus.count
        unmatchedAnySeverity = score.unmatched.count
        falseMediumPlusPerThousandKeyDays = score.falseMediumPlusPer1kKeyDays
        falseAlertsPerThousandKeyDays = score.falseAlertsPer1kKeyDays
        keyDays = score.keyDays
        learningAlerts = score.learningAlerts
        learningMediumPlus = score.learningMediumPlus
        ignoredLines = score.ignoredLines
        malformedLines = score.malformedLines
        alertsByKind = score.countsByKind.mapValues { counts in
            Dictionary(uniqueKeysWithValues: counts.map { ($0.key.rawValue, $0.value) })
        }
        incidents = score.outcomes.map(JSONIncident.init)
        unmatchedMediumPlusAlerts = score.unmatchedMediumPlus.map { JSONAlert($0.alert, legitimate: $0.legitimate) }
    }
}
