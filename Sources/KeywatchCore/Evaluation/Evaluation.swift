/// Scores detector alerts against simulator labels: recall per incident kind, precision, false alerts per
/// 1,000 key-days and detection delay.
///
/// Rules (also in `keywatch-eval --help` and the README's "Evaluation" section):
/// - An alert *matches* an incident when it names the incident's key and fires within
///   [incident start − 60 s, incident end + 2 h], both ends included.
/// - An incident is *detected* when a matching alert of the same kind has severity medium or higher;
///   *detected at any severity* when a matching alert of the same kind exists.
/// - Only alerts at or after the labels' learning end are scored; earlier ones are counted apart.
/// - Precision: medium+ alerts that match any incident (of any kind) over all medium+ alerts.
/// - False alerts per 1,000 key-days: unmatched alerts × 1000 / (keys × days from learning end to end).
/// - Delay: the first same-kind medium+ matching alert's time − the incident's first injected request
///   (its window start when the label has none).
///
/// ```swift
/// let score = Evaluation.score(EvaluationRun(name: "seed 7", labels: labels, alerts: alertFile))
/// let all = EvaluationScore.combining([score7, score1001])
/// ```
public enum Evaluation {
    /// Slack before an incident's start within which an alert still matches.
    public static let slackBefore: Int64 = 60_000
    /// Slack after an incident's end within which an alert still matches.
    public static let slackAfter: Int64 = 2 * 3_600_000
    /// The incident kinds the simulator labels, in report order.
    public static let incidentKinds = [
        "new_country", "new_network", "rate_spike", "quota_spike", "new_endpoint", "error_spike", "dormant_key",
    ]

    /// The matching window of a labelled interval: [start − 60 s, end + 2 h].
    public static func window(start: Int64, end: Int64) -> ClosedRange<Int64> {
        (start - slackBefore)...max(start - slackBefore, end + slackAfter)
    }

    /// Whether `alert` matches `incident`: same key, time inside the incident's window.
    public static func matches(_ alert: ObservedAlert, _ incident: LabelledIncident) -> Bool {
        alert.keyID == incident.keyID && window(start: incident.start, end: incident.end).contains(alert.time)
    }

    /// Checks that labels and alerts were fingerprinted under the same secret.
    ///
    /// Hints are not unique, but when alerts carry a labelled incident key's hint and not one carries that
    /// key's id, the labels were mapped with another state directory's secret.
    /// - Parameters:
    ///   - labels: The labels, with key ids.
    ///   - alerts: The alerts.
    /// - Returns: The number of alerts with a labelled hint but a foreign id, if no alert with such a hint
    ///   has a labelled id; otherwise `nil`.
    public static func keyIDMismatch(labels: EvaluationLabels, alerts: [ObservedAlert]) -> Int? {
        var idsByHint: [String: Set<String>] = [:]
        for incident in labels.incidents { idsByHint[incident.keyHint, default: []].insert(incident.keyID) }
        var foreign = 0
        for alert in alerts {
            guard let ids = idsByHint[alert.keyHint], let keyID = alert.keyID else { continue }
            if ids.contains(keyID) { return nil }
            foreign += 1
        }
        return foreign > 0 ? foreign : nil
    }

    /// Scores one run.
    /// - Parameter run: Labels and alerts of one simulated data set.
    /// - Returns: The per-incident outcomes, unmatched alerts and alert counts.
    public static func score(_ run: EvaluationRun) -> EvaluationScore {
        let labels = run.labels
        let scored = run.alerts.alerts.filter { $0.time >= labels.learningEnd }
        var byKey: [String: [Int]] = [:]  // indices into `scored`
        for (i, alert) in scored.enumerated() {
            if let key = alert.keyID { byKey[key, default: []].append(i) }
        }
        var matched = Set<Int>()

        var outcomes: [IncidentOutcome] = []
        for incident in labels.incidents {
            let indices = (byKey[incident.keyID] ?? []).filter { matches(scored[$0], incident) }
            matched.formUnion(indices)
            let matching = indices.map { scored[$0] }.sorted { $0.time < $1.time }
            let sameKind = matching.filter { $0.kind == incident.kind }
            let firstDetection = sameKind.first { $0.severity >= .medium }
            let legitimate = labels.legitimate.filter {
                $0.concerns(keyID: incident.keyID, hint: incident.keyHint)
                    && window(start: $0.start, end: $0.end).overlaps(incident.start...max(incident.start, incident.end))
            }
            outcomes.append(
                IncidentOutcome(
                    incident: incident,
                    detected: firstDetection != nil,
                    detectedAnySeverity: !sameKind.isEmpty,
                    delay: firstDetection.map { $0.time - incident.onset },
                    matchingAlerts: matching,
                    legitimate: legitimate
                )
            )
        }

        var unmatched: [UnmatchedAlert] = []
        var counts: [String: [AlertSeverity: Int]] = [:]
        for (i, alert) in scored.enumerated() {
            counts[alert.kind, default: [:]][alert.severity, default: 0] += 1
            if matched.contains(i) { continue }
            let legitimate = labels.legitimate.filter {
                $0.concerns(keyID: alert.keyID, hint: alert.keyHint)
                    && window(start: $0.start, end: $0.end).contains(alert.time)
            }
            unmatched.append(UnmatchedAlert(alert: alert, legitimate: legitimate))
        }
        unmatched.sort { $0.alert.time < $1.alert.time }
        let learning = run.alerts.alerts.filter { $0.time < labels.learningEnd }
        return EvaluationScore(
            name: run.name,
            outcomes: outcomes,
            unmatched: unmatched,
            scoredAlerts: scored.count,
            scoredMediumPlus: scored.filter { $0.severity >= .medium }.count,
            countsByKind: counts,
            learningAlerts: learning.count,
            learningMediumPlus: learning.filter { $0.severity >= .medium }.count,
            keyDays: labels.scoredKeyDays,
            ignoredLines: run.alerts.ignoredLines,
            malformedLines: run.alerts.malformedLines
        )
    }
}

/// The inputs of one scored run: one seed's labels and the alerts analysed from its logs.
public struct EvaluationRun: Sendable {
    /// A name for reports (`seed 7`).
    public var name: String
    /// The labels, with key ids under the run's state directory.
    public var labels: EvaluationLabels
    /// The alerts.
    public var alerts: AlertFile

    /// Creates a run.
    public init(name: String, labels: EvaluationLabels, alerts: AlertFile) {
        self.name = name
        self.labels = labels
        self.alerts = alerts
    }
}

/// What happened to one incident.
public struct IncidentOutcome: Sendable {
    /// The incident.
    public var incident: LabelledIncident
    /// A same-kind medium+ alert matched it.
    public var detected: Bool
    /// A same-kind alert of any severity matched it.
    public var detectedAnySeverity: Bool
    /// First same-kind medium+ matching alert − the incident's onset, in milliseconds (`nil` if not detected).
    public var delay: Int64?
    /// Every alert that matched it (any kind, any severity), by time.
    public var matchingAlerts: [ObservedAlert]
    /// Legitimate episodes naming the key (or all keys) that overlap the incident's window.
    public var legitimate: [LegitimateEpisode]
}

/// A scored alert that matched no incident, with the legitimate episodes that may explain it.
public struct UnmatchedAlert: Sendable {
    /// The alert.
    public var alert: ObservedAlert
    /// Legitimate episodes naming its key (or all keys) whose window (with the matching slack) holds its time.
    public var legitimate: [LegitimateEpisode]
}

/// One row of the recall table.
public struct KindScore: Sendable, Hashable {
    /// The incident kind, or `all`.
    public var kind: String
    /// Incidents of the kind.
    public var incidents: Int
    /// Incidents detected by a same-kind medium+ alert.
    public var detected: Int
    /// Incidents detected by a same-kind alert of any severity.
    public var detectedAnySeverity: Int
    /// Median delay of the detected incidents, in minutes.
    public var medianDelayMinutes: Double?
    /// Maximum delay of the detected incidents, in minutes.
    public var maxDelayMinutes: Double?

    /// `detected / incidents`, `nil` without incidents.
    public var recall: Double? { incidents == 0 ? nil : Double(detected) / Double(incidents) }
    /// `detectedAnySeverity / incidents`, `nil` without incidents.
    public var recallAnySeverity: Double? {
        incidents == 0 ? nil : Double(detectedAnySeverity) / Double(incidents)
    }
}

/// The result of scoring one run, or several runs combined (``combining(_:)``).
public struct EvaluationScore: Sendable {
    /// The run's name, or `combined`.
    public var name: String
    /// One outcome per incident.
    public var outcomes: [IncidentOutcome]
    /// Scored alerts (any severity) that matched no incident, by time within a run.
    public var unmatched: [UnmatchedAlert]
    /// Alerts at or after the learning end.
    public var scoredAlerts: Int
    /// Of those, medium or higher.
    public var scoredMediumPlus: Int
    /// Scored alerts by kind and severity.
    public var countsByKind: [String: [AlertSeverity: Int]]
    /// Alerts before the learning end (not scored).
    public var learningAlerts: Int
    /// Of those, medium or higher.
    public var learningMediumPlus: Int
    /// Keys × days of the scored period.
    public var keyDays: Double
    /// Non-alert JSON lines in the alert file.
    public var ignoredLines: Int
    /// Malformed lines in the alert file.
    public var malformedLines: Int

    /// Pools several runs: outcomes and unmatched alerts are concatenated, counts and key-days summed.
    /// - Parameter scores: Per-run scores.
    /// - Returns: The combined score, named `combined`.
    public static func combining(_ scores: [EvaluationScore]) -> EvaluationScore {
        var counts: [String: [AlertSeverity: Int]] = [:]
        for score in scores {
            for (kind, bySeverity) in score.countsByKind {
                for (severity, n) in bySeverity { counts[kind, default: [:]][severity, default: 0] += n }
            }
        }
        return EvaluationScore(
            name: "combined",
            outcomes: scores.flatMap(\.outcomes),
            unmatched: scores.flatMap(\.unmatched),
            scoredAlerts: scores.reduce(0) { $0 + $1.scoredAlerts },
            scoredMediumPlus: scores.reduce(0) { $0 + $1.scoredMediumPlus },
            countsByKind: counts,
            learningAlerts: scores.reduce(0) { $0 + $1.learningAlerts },
            learningMediumPlus: scores.reduce(0) { $0 + $1.learningMediumPlus },
            keyDays: scores.reduce(0) { $0 + $1.keyDays },
            ignoredLines: scores.reduce(0) { $0 + $1.ignoredLines },
            malformedLines: scores.reduce(0) { $0 + $1.malformedLines }
        )
    }

    /// Unmatched medium+ alerts.
    public var unmatchedMediumPlus: [UnmatchedAlert] { unmatched.filter { $0.alert.severity >= .medium } }

    /// Medium+ alerts that match some incident over all medium+ alerts; `nil` without medium+ alerts.
    public var precision: Double? {
        scoredMediumPlus == 0
            ? nil : Double(scoredMediumPlus - unmatchedMediumPlus.count) / Double(scoredMediumPlus)
    }

    /// Unmatched medium+ alerts per 1,000 key-days.
    public var falseMediumPlusPer1kKeyDays: Double? { perKeyDays(unmatchedMediumPlus.count) }

    /// Unmatched alerts of any severity per 1,000 key-days.
    public var falseAlertsPer1kKeyDays: Double? { perKeyDays(unmatched.count) }

    private func perKeyDays(_ n: Int) -> Double? { keyDays > 0 ? Double(n) * 1000 / keyDays : nil }

    /// The incidents not detected at medium+.
    public var missed: [IncidentOutcome] { outcomes.filter { !$0.detected } }

    /// One row per incident kind: the simulator's kinds in their order, then any others by name.
    public var kinds: [KindScore] {
        let present = Set(outcomes.map(\.incident.kind))
        let order = Evaluation.incidentKinds + present.subtracting(Evaluation.incidentKinds).sorted()
        return order.map { kind in row(kind, outcomes.filter { $0.incident.kind == kind }) }
    }

    /// All incidents together.
    public var total: KindScore { row("all", outcomes) }

    /// Recall over all incidents; `nil` without incidents.
    public var recall: Double? { total.recall }

    private func row(_ kind: String, _ outcomes: [IncidentOutcome]) -> KindScore {
        let delays = outcomes.compactMap(\.delay).sorted().map { Double($0) / 60_000 }
        var median: Double?
        if !delays.isEmpty {
            let mid = delays.count / 2
            median = delays.count % 2 == 1 ? delays[mid] : (delays[mid - 1] + delays[mid]) / 2
        }
        return KindScore(
            kind: kind,
            incidents: outcomes.count,
            detected: outcomes.filter(\.detected).count,
            detectedAnySeverity: outcomes.filter(\.detectedAnySeverity).count,
            medianDelayMinutes: median,
            maxDelayMinutes: delays.last
        )
    }
}
