import Foundation

/// Alert severities in increasing order.
public enum AlertSeverity: String, Sendable, Hashable, Comparable, CaseIterable, Codable {
    case low, medium, high, critical

    public static func < (a: AlertSeverity, b: AlertSeverity) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}

/// One alert as `keywatch analyze --output jsonl` writes it, reduced to what scoring needs.
public struct ObservedAlert: Sendable, Hashable {
    /// The alert id (`a_…`), or empty.
    public var id: String
    /// When the alert fired, milliseconds since the epoch.
    public var time: Int64
    /// The alert kind (`new_country`, `ip_fanout`, …).
    public var kind: String
    /// The severity.
    public var severity: AlertSeverity
    /// The key id, `nil` for alerts about no single key.
    public var keyID: String?
    /// The key's masked hint.
    public var keyHint: String
    /// The one-line summary.
    public var summary: String
    /// The input line it was read from (1-based), 0 when built in code.
    public var line: Int

    /// Creates an alert.
    public init(
        id: String = "",
        time: Int64,
        kind: String,
        severity: AlertSeverity,
        keyID: String?,
        keyHint: String = "",
        summary: String = "",
        line: Int = 0
    ) {
        self.id = id
        self.time = time
        self.kind = kind
        self.severity = severity
        self.keyID = keyID
        self.keyHint = keyHint
        self.summary = summary
        self.line = line
    }
}

/// The alerts of one JSON-lines file and what could not be read.
///
/// A line is an alert when its object has a `severity` or `key_id` field or an `a_…` id; other JSON
/// objects (a run summary, say) are counted in ``ignoredLines`` and skipped. An alert-shaped object without
/// a valid `time`, `kind` or `severity`, and a line that is not a JSON object, count as malformed; blank
/// lines are skipped. Nothing here stops the read.
public struct AlertFile: Sendable {
    /// The alerts, in file order.
    public var alerts: [ObservedAlert]
    /// JSON objects that are not alerts.
    public var ignoredLines: Int
    /// Lines that are neither alerts nor JSON objects, or alerts with missing or invalid fields.
    public var malformedLines: Int
    /// The first few malformed lines: line number and what was wrong (never the line's text).
    public var malformedSamples: [(line: Int, reason: String)]

    /// How many malformed lines are kept as samples.
    public static let sampleLimit = 5

    /// Creates an alert file from parts (tests).
    public init(alerts: [ObservedAlert], ignoredLines: Int = 0, malformedLines: Int = 0) {
        self.alerts = alerts
        self.ignoredLines = ignoredLines
        self.malformedLines = malformedLines
        self.malformedSamples = []
    }

    /// Reads a JSON-lines alert file.
    /// - Parameter path: The file.
    /// - Throws: ``EvaluationError/unreadableFile(path:reason:)`` if it cannot be read.
    public init(contentsOf path: String) throws(EvaluationError) {
        do {
            self.init(jsonLines: try Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            throw .unreadableFile(path: path, reason: error.localizedDescription)
        }
    }

    /// Parses JSON lines.
    /// - Parameter jsonLines: The file's bytes.
    public init(jsonLines: Data) {
        self.init(alerts: [])
        var lineNumber = 0
        for line in jsonLines.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            lineNumber += 1
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { continue }
            switch Self.read(Data(line), line: lineNumber) {
            case .alert(let alert):
                alerts.append(alert)
            case .ignored:
                ignoredLines += 1
            case .malformed(let reason):
                malformedLines += 1
                if malformedSamples.count < Self.sampleLimit { malformedSamples.append((lineNumber, reason)) }
            }
        }
    }

    private enum LineResult {
        case alert(ObservedAlert)
        case ignored
        case malformed(String)
    }

    private static func read(_ line: Data, line number: Int) -> LineResult {
        guard let object = (try? JSONSerialization.jsonObject(with: line)) as? [String: Any] else {
            return .malformed("not a JSON object")
        }
        let id = object["id"] as? String ?? ""
        guard object["severity"] != nil || object["key_id"] != nil || id.hasPrefix("a_") else { return .ignored }
        guard let timeText = object["time"] as? String else { return .malformed("no time") }
        guard let time = EvaluationTime.parse(timeText) else { return .malformed("time is not ISO 8601") }
        guard let kind = object["kind"] as? String, !kind.isEmpty else { return .malformed("no kind") }
        guard let severityText = object["severity"] as? String else { return .malformed("no severity") }
        guard let severity = AlertSeverity(rawValue: severityText) else { return .malformed("unknown severity") }
        let keyID: String?
        switch object["key_id"] {
        case nil, is NSNull: keyID = nil
        case let text as String: keyID = text
        default: return .malformed("key_id is not a string")
        }
        return .alert(
            ObservedAlert(
                id: id,
                time: time,
                kind: kind,
                severity: severity,
                keyID: keyID,
                keyHint: object["key_hint"] as? String ?? "",
                summary: object["summary"] as? String ?? "",
                line: number
            )
        )
    }
}
