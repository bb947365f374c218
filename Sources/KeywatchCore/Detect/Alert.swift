import Crypto

/// The kinds of alert keywatch raises, by their stable names.
public enum AlertKind: String, Sendable, Hashable, CaseIterable, Codable {
    /// First use from a country the key has not used.
    case newCountry = "new_country"
    /// First use from an ASN (or, without ASN data, a network) the key has not used.
    case newNetwork = "new_network"
    /// Minutes-scale request rate far above the key's rhythm for that hour.
    case rateSpike = "rate_spike"
    /// Volume over a rolling 24 h far above the key's daily history.
    case quotaSpike = "quota_spike"
    /// An endpoint template the key has never called.
    case newEndpoint = "new_endpoint"
    /// Authentication failures (401/403) far above the key's norm.
    case errorSpike = "error_spike"
    /// A key silent for at least the dormancy period is used again.
    case dormantKey = "dormant_key"
}

/// How much an alert deserves attention; derived from its score.
public enum Severity: String, Sendable, Hashable, Comparable, CaseIterable, Codable {
    case low, medium, high, critical

    /// The severity for a 0–100 score: below 45 low, below 70 medium, below 90 high, else critical.
    public init(score: Int) {
        switch score {
        case ..<45: self = .low
        case ..<70: self = .medium
        case ..<90: self = .high
        default: self = .critical
        }
    }

    private var rank: Int {
        switch self {
        case .low: 0
        case .medium: 1
        case .high: 2
        case .critical: 3
        }
    }

    public static func < (a: Severity, b: Severity) -> Bool { a.rank < b.rank }
}

/// One value in an alert's evidence; kept small and ordered so the JSON is deterministic.
public enum EvidenceValue: Sendable, Hashable {
    case int(Int64)
    case number(Double)
    case text(String)
    case texts([String])
    /// Named counts, in the given order, such as `{"US": 1200, "DE": 3}`.
    case counts([(String, Int64)])
    case null

    public static func == (a: EvidenceValue, b: EvidenceValue) -> Bool { a.json == b.json }
    public func hash(into hasher: inout Hasher) { hasher.combine(json) }

    /// The value as JSON text.
    public var json: String {
        switch self {
        case .int(let v): String(v)
        case .number(let v): JSONText.number((v * 1000).rounded() / 1000)
        case .text(let s): JSONText.quoted(s)
        case .texts(let list): "[" + list.map(JSONText.quoted).joined(separator: ",") + "]"
        case .counts(let pairs):
            "{" + pairs.map { JSONText.quoted($0.0) + ":" + String($0.1) }.joined(separator: ",") + "}"
        case .null: "null"
        }
    }
}

/// A finding about one key, with the evidence that supports it.
///
/// Alerts carry only a key id and a masked hint, never a raw key. The ``id`` is derived from the
/// key, kind, value, severity and the time the behaviour started, so replaying the same logs
/// yields the same ids (a webhook receiver can use it as an idempotency key).
public struct Alert: Sendable, Hashable {
    /// Deterministic id: `a_` and 20 hex digits.
    public var id: String
    /// Event time of the triggering request, milliseconds since the epoch (UTC).
    public var time: Int64
    public var kind: AlertKind
    public var severity: Severity
    /// 0–100.
    public var score: Int
    public var keyID: String
    public var keyHint: String
    /// The value the alert is about (a country, an ASN, an endpoint, a window), for dedup.
    public var value: String
    /// One human line.
    public var summary: String
    /// Observed value against the baseline, with numbers, in a fixed order.
    public var evidence: [(String, EvidenceValue)]
    /// `file:line` of the triggering request.
    public var source: String

    public static func == (a: Alert, b: Alert) -> Bool { a.json == b.json }
    public func hash(into hasher: inout Hasher) { hasher.combine(id) }

    /// Makes the deterministic id from what identifies the finding.
    /// - Parameters:
    ///   - keyID: The key's id.
    ///   - kind: The alert kind.
    ///   - value: The value the alert is about.
    ///   - severity: The severity (an escalation is a new alert).
    ///   - episodeStart: When the behaviour began (first request of the episode), in milliseconds.
    /// - Returns: `a_` and 20 lowercase hex digits.
    public static func makeID(
        keyID: String, kind: AlertKind, value: String, severity: Severity, episodeStart: Int64
    ) -> String {
        let text = "\(keyID)|\(kind.rawValue)|\(value)|\(severity.rawValue)|\(episodeStart)"
        let digest = SHA256.hash(data: Array(text.utf8))
        let hex = digest.prefix(10).map { byte in
            let digits = Array("0123456789abcdef".utf8)
            return String(decoding: [digits[Int(byte >> 4)], digits[Int(byte & 15)]], as: UTF8.self)
        }
        return "a_" + hex.joined()
    }

    /// The alert as one JSON object (no newline), with keys in a fixed order.
    public var json: String {
        var out = "{\"id\":\(JSONText.quoted(id)),\"time\":\"\(Timestamps.rfc3339(time))\""
        out += ",\"kind\":\"\(kind.rawValue)\",\"severity\":\"\(severity.rawValue)\",\"score\":\(score)"
        out += ",\"key_id\":\(JSONText.quoted(keyID)),\"key_hint\":\(JSONText.quoted(keyHint))"
        out += ",\"summary\":\(JSONText.quoted(summary)),\"evidence\":{"
        out += evidence.map { JSONText.quoted($0.0) + ":" + $0.1.json }.joined(separator: ",")
        out += "},\"source\":\(JSONText.quoted(source))}"
        return out
    }
}
