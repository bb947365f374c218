import Foundation

/// Errors reading the inputs of an evaluation.
public enum EvaluationError: Error, Hashable, CustomStringConvertible {
    /// A file could not be read.
    case unreadableFile(path: String, reason: String)
    /// The labels file is not the JSON `keywatch-sim` writes.
    case badLabels(path: String, reason: String)

    public var description: String {
        switch self {
        case .unreadableFile(let path, let reason):
            "cannot read \(path): \(reason)"
        case .badLabels(let path, let reason):
            "\(path) is not a keywatch-sim labels.json: \(reason)"
        }
    }
}

/// One labelled incident: abuse that `keywatch-sim` injected into one key's traffic.
///
/// Holds the key's id and hint, never the raw key: ``EvaluationLabels`` maps raw keys to ids while decoding.
public struct LabelledIncident: Sendable, Hashable {
    /// The label id, `inc-001`.
    public var id: String
    /// The incident kind, named like the alert kind that should catch it (`new_country`).
    public var kind: String
    /// The key id (`k_…`) under the analysed run's fingerprint secret.
    public var keyID: String
    /// The masked hint of the key.
    public var keyHint: String
    /// Window start, milliseconds since the epoch.
    public var start: Int64
    /// Window end (exclusive), milliseconds since the epoch.
    public var end: Int64
    /// The first injected request's log time (`detail.first_request`), if the label has one.
    public var firstRequest: Int64?
    /// The key's kind in the simulator (`partner`, `mobile`, `service`, …).
    public var keyKind: String
    /// The gateway family (`nginx` or `kong`).
    public var gateway: String

    /// Creates an incident.
    public init(
        id: String,
        kind: String,
        keyID: String,
        keyHint: String,
        start: Int64,
        end: Int64,
        firstRequest: Int64? = nil,
        keyKind: String = "",
        gateway: String = ""
    ) {
        self.id = id
        self.kind = kind
        self.keyID = keyID
        self.keyHint = keyHint
        self.start = start
        self.end = end
        self.firstRequest = firstRequest
        self.keyKind = keyKind
        self.gateway = gateway
    }

    /// When detection delay is counted from: the first injected request, else the window start.
    public var onset: Int64 { firstRequest ?? start }
}

/// A labelled legitimate-but-unusual episode (`cloud_ip_move`, `outage_5xx`, …) that should not raise alerts.
public struct LegitimateEpisode: Sendable, Hashable {
    /// Which keys an episode concerns.
    public enum Scope: Sendable, Hashable {
        /// Every key (`"keys": "all"`).
        case all
        /// The keys with these ids; `hints` are used when a label lists hints without raw keys.
        case keys(ids: Set<String>, hints: Set<String>)
    }

    /// The label id, `leg-001`.
    public var id: String
    /// The episode kind.
    public var kind: String
    /// Window start, milliseconds since the epoch.
    public var start: Int64
    /// Window end, milliseconds since the epoch.
    public var end: Int64
    /// The keys it concerns.
    public var scope: Scope
    /// It lasts the whole labelled period: a trait of its keys (`office_hours`, `growth`) rather than an event.
    public var spansPeriod: Bool

    /// Creates an episode.
    public init(id: String, kind: String, start: Int64, end: Int64, scope: Scope, spansPeriod: Bool = false) {
        self.id = id
        self.kind = kind
        self.start = start
        self.end = end
        self.scope = scope
        self.spansPeriod = spansPeriod
    }

    /// Whether the episode names the key (or all keys).
    /// - Parameters:
    ///   - keyID: The key id, if known.
    ///   - hint: The key's hint, used only for episodes listed without raw keys.
    /// - Returns: `true` if the episode concerns the key.
    public func concerns(keyID: String?, hint: String?) -> Bool {
        switch scope {
        case .all:
            return true
        case .keys(let ids, let hints):
            if let keyID, ids.contains(keyID) { return true }
            return ids.isEmpty && hint.map { hints.contains($0) } == true
        }
    }

    /// Whether the episode is global (`"keys": "all"`).
    public var isGlobal: Bool { scope == .all }
}

/// The ground truth of one simulated data set (`labels.json` from `keywatch-sim`), with key ids instead of raw keys.
///
/// ```swift
/// let fingerprinter = try KeyFingerprinter(stateDirectory: stateDir)
/// let labels = try EvaluationLabels(contentsOf: "labels.json") { fingerprinter.keyID(for: $0) }
/// ```
public struct EvaluationLabels: Sendable {
    /// The simulator seed, if recorded.
    public var seed: UInt64?
    /// Start of the simulated period, milliseconds since the epoch.
    public var start: Int64
    /// End of the simulated period.
    public var end: Int64
    /// End of the learning period: alerts before it are not scored.
    public var learningEnd: Int64
    /// Number of keys in the population.
    public var keyCount: Int
    /// The incidents.
    public var incidents: [LabelledIncident]
    /// The legitimate episodes.
    public var legitimate: [LegitimateEpisode]

    /// Creates labels from parts (tests).
    public init(
        seed: UInt64? = nil,
        start: Int64,
        end: Int64,
        learningEnd: Int64,
        keyCount: Int,
        incidents: [LabelledIncident],
        legitimate: [LegitimateEpisode] = []
    ) {
        self.seed = seed
        self.start = start
        self.end = end
        self.learningEnd = learningEnd
        self.keyCount = keyCount
        self.incidents = incidents
        self.legitimate = legitimate
    }

    /// Key-days of the scored period: keys × days from `learningEnd` to `end`.
    public var scoredKeyDays: Double {
        Double(keyCount) * Double(max(0, end - learningEnd)) / 86_400_000
    }

    /// Reads a labels file.
    /// - Parameters:
    ///   - path: The `labels.json` path.
    ///   - keyID: Maps a raw key to its key id; raw keys go nowhere else.
    /// - Throws: ``EvaluationError``.
    public init(contentsOf path: String, keyID: (String) -> String) throws(EvaluationError) {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw .unreadableFile(path: path, reason: "\(error.localizedDescription)")
        }
        try self.init(json: data, path: path, keyID: keyID)
    }

    /// Decodes labels JSON.
    /// - Parameters:
    ///   - json: The file's bytes.
    ///   - path: Named in errors.
    ///   - keyID: Maps a raw key to its key id; raw keys go nowhere else.
    /// - Throws: ``EvaluationError/badLabels(path:reason:)``.
    public init(json: Data, path: String = "labels.json", keyID: (String) -> String) throws(EvaluationError) {
        let file: LabelsFile
        do {
            file = try JSONDecoder().decode(LabelsFile.self, from: json)
        } catch let DecodingError.keyNotFound(key, context) {
            throw .badLabels(path: path, reason: "missing \(Self.describe(context.codingPath + [key]))")
        } catch let DecodingError.typeMismatch(_, context) {
            throw .badLabels(path: path, reason: "wrong type at \(Self.describe(context.codingPath))")
        } catch {
            throw .badLabels(path: path, reason: "invalid JSON")
        }
        func time(_ text: String, _ field: String) throws(EvaluationError) -> Int64 {
            guard let t = EvaluationTime.parse(text) else {
                throw .badLabels(path: path, reason: "\(field): not an ISO 8601 time")
            }
            return t
        }
        seed = file.seed
        start = try time(file.start, "start")
        end = try time(file.end, "end")
        learningEnd = try time(file.learning_end, "learning_end")
        keyCount = file.keys
        var incidents: [LabelledIncident] = []
        for raw in file.incidents {
            incidents.append(
                LabelledIncident(
                    id: raw.id,
                    kind: raw.kind,
                    keyID: keyID(raw.key),
                    keyHint: raw.key_hint,
                    start: try time(raw.start, "\(raw.id).start"),
                    end: try time(raw.end, "\(raw.id).end"),
                    firstRequest: raw.detail?.first_request.flatMap { EvaluationTime.parse($0) },
                    keyKind: raw.key_kind ?? "",
                    gateway: raw.gateway ?? ""
                )
            )
        }
        var legitimate: [LegitimateEpisode] = []
        for raw in file.legitimate ?? [] {
            let scope: LegitimateEpisode.Scope
            switch raw.keys {
            case .all:
                scope = .all
            case .hints(let hints):
                scope = .keys(ids: Set((raw.raw_keys ?? []).map(keyID)), hints: Set(hints))
            }
            let episodeStart = try time(raw.start, "\(raw.id).start")
            let episodeEnd = try time(raw.end, "\(raw.id).end")
            legitimate.append(
                LegitimateEpisode(
                    id: raw.id,
                    kind: raw.kind,
                    start: episodeStart,
                    end: episodeEnd,
                    scope: scope,
                    spansPeriod: episodeStart <= start && episodeEnd >= end
                )
            )
        }
        self.incidents = incidents
        self.legitimate = legitimate
    }

    private static func describe(_ path: [any CodingKey]) -> String {
        path.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
    }
}

/// Times in labels and alerts: ISO 8601 text to milliseconds since the epoch and back.
public enum EvaluationTime {
    /// Parses `2026-11-02T08:48:01Z`, `2026-11-02T08:48:01.123Z` or a time with an offset.
    /// - Parameter text: The time.
    /// - Returns: Milliseconds since the epoch, or `nil`.
    public static func parse(_ text: String) -> Int64? {
        var bytes = Array(text.utf8)
        return bytes.withUnsafeMutableBufferPointer { buffer in
            Timestamps.parseISO8601(ByteView(base: UnsafePointer(buffer.baseAddress), count: buffer.count))
        }
    }

    /// Formats a time as `2026-11-02T08:48:01Z` (milliseconds only when not zero).
    public static func format(_ millis: Int64) -> String {
        let text = Timestamps.rfc3339(millis)
        return millis % 1000 == 0 ? text.replacingOccurrences(of: ".000Z", with: "Z") : text
    }
}

// The labels.json shape; field names as keywatch-sim writes them.
// swift-format-ignore: AlwaysUseLowerCamelCase
private struct LabelsFile: Decodable {
    var seed: UInt64?
    var start: String
    var end: String
    var keys: Int
    var learning_end: String
    var incidents: [Incident]
    var legitimate: [Episode]?

    struct Detail: Decodable {
        var first_request: String?
    }

    struct Incident: Decodable {
        var id: String
        var kind: String
        var key: String
        var key_hint: String
        var start: String
        var end: String
        var gateway: String?
        var key_kind: String?
        var detail: Detail?
    }

    enum Keys: Decodable {
        case all
        case hints([String])

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let text = try? container.decode(String.self), text == "all" {
                self = .all
            } else {
                self = .hints(try container.decode([String].self))
            }
        }
    }

    struct Episode: Decodable {
        var id: String
        var kind: String
        var start: String
        var end: String
        var keys: Keys
        var raw_keys: [String]?
    }
}
