/// A key as the inventory and `baseline show` present it: plain values, no raw key.
public struct KeySummary: Sendable, Hashable {
    /// Where the key is in its life, relative to the state's watermark.
    public enum Status: String, Sendable, Hashable {
        /// First seen within the learning period: no novelty alerts yet.
        case new
        /// Used within the dormancy period.
        case active
        /// Silent for at least the dormancy period.
        case dormant
    }

    public var id: String
    public var hint: String
    public var firstSeen: Int64
    public var lastSeen: Int64
    public var requests: Int64
    public var status: Status
    /// Countries with request counts, busiest first.
    public var countries: [(String, Int64)]
    /// ASNs (`AS64610`) with request counts, busiest first.
    public var asns: [(String, Int64)]
    /// Networks tracked.
    public var networks: Int
    /// Endpoints (`GET /v1/orders/{id}`) with counts, busiest first.
    public var endpoints: [(String, Int64)]
    /// Methods used.
    public var methods: [String]
    /// Status mix: 2xx, 3xx, auth failures (401/403), 429, other 4xx, 5xx.
    public var statusMix: [(String, Int64)]
    /// Distinct client addresses (estimate).
    public var addresses: Int
    /// Distinct user agents tracked.
    public var userAgents: Int
    /// Mean requests per hour of the day (UTC).
    public var hourMean: [Double]
    /// Requests per day, oldest first, up to four weeks.
    public var daily: [Int64]
    /// Open detector episodes: kind, started, requests, severity alerted.
    public var episodes: [(String, Int64, Int64, String)]

    public static func == (a: KeySummary, b: KeySummary) -> Bool { a.json == b.json }
    public func hash(into hasher: inout Hasher) { hasher.combine(json) }

    /// Builds the summary of a stored key.
    /// - Parameters:
    ///   - id: Key id.
    ///   - hint: Masked hint.
    ///   - state: The decoded state.
    ///   - endpointNames: Endpoint hash to `METHOD /template`.
    ///   - watermark: The state's latest event time.
    ///   - settings: Learning and dormancy periods.
    public init(
        id: String, hint: String, state: KeyState, endpointNames: [UInt64: String], watermark: Int64,
        settings: DetectionSettings = DetectionSettings()
    ) {
        let b = state.baseline
        self.id = id
        self.hint = hint
        firstSeen = b.firstSeen
        lastSeen = b.lastSeen
        requests = b.requests
        if watermark - b.lastSeen >= settings.dormancyMillis {
            status = .dormant
        } else if watermark - b.firstSeen < settings.learningPeriodMillis {
            status = .new
        } else {
            status = .active
        }
        func sorted(_ stats: ValueStats, _ name: (UInt64) -> String) -> [(String, Int64)] {
            stats.entries.sorted { $0.count > $1.count }.map { (name($0.value), Int64($0.count)) }
        }
        countries = sorted(b.countries) { CountryCode(rawValue: UInt16(truncatingIfNeeded: $0))?.description ?? "??" }
        asns = sorted(b.asns) { "AS\($0)" }
        networks = b.networks.count
        endpoints = sorted(b.endpoints) { endpointNames[$0] ?? String($0, radix: 16) }
        methods = HTTPMethod.allCases.filter { b.methods & (1 << UInt16($0.rawValue)) != 0 }.map(\.description)
        statusMix = [
            ("2xx", Int64(b.status2xx)), ("3xx", Int64(b.status3xx)), ("401/403", Int64(b.authFailures)),
            ("429", Int64(b.status429)), ("4xx", Int64(b.status4xx)), ("5xx", Int64(b.status5xx)),
        ]
        addresses = b.distinctAddresses
        userAgents = b.userAgents.count
        hourMean = b.hourMean.map { (Double($0) * 10).rounded() / 10 }
        let ring = KeyBaseline.dailyRing
        let firstDay = Int(b.firstSeen / 86_400_000)
        let days = max(0, min(ring, Int(b.dayHead) - firstDay + 1))
        let volumes = b.daily
        daily = (0..<days).reversed().map { Int64(volumes[(Int(b.dayHead) - $0) % ring]) }
        episodes = state.episodes.map { ($0.kind.rawValue, $0.start, Int64($0.requests), $0.alerted.rawValue) }
    }

    /// One JSON object.
    public var json: String {
        func counts(_ list: [(String, Int64)]) -> String { EvidenceValue.counts(list).json }
        var out = "{\"key_id\":\(JSONText.quoted(id)),\"key_hint\":\(JSONText.quoted(hint))"
        out += ",\"status\":\"\(status.rawValue)\",\"first_seen\":\"\(Timestamps.rfc3339(firstSeen))\""
        out += ",\"last_seen\":\"\(Timestamps.rfc3339(lastSeen))\",\"requests\":\(requests)"
        out += ",\"countries\":\(counts(countries)),\"asns\":\(counts(asns)),\"networks\":\(networks)"
        out += ",\"endpoints\":\(counts(endpoints)),\"methods\":\(EvidenceValue.texts(methods).json)"
        out += ",\"status_mix\":\(counts(statusMix)),\"addresses\":\(addresses),\"user_agents\":\(userAgents)"
        out += ",\"hour_mean\":[" + hourMean.map { JSONText.number($0) }.joined(separator: ",") + "]"
        out += ",\"daily\":[" + daily.map(String.init).joined(separator: ",") + "]"
        out += ",\"episodes\":[" + episodes.map {
            "{\"kind\":\"\($0.0)\",\"start\":\"\(Timestamps.rfc3339($0.1))\",\"requests\":\($0.2),\"severity\":\"\($0.3)\"}"
        }.joined(separator: ",") + "]}"
        return out
    }

    /// A readable explanation, several lines.
    public var explanation: String {
        func list(_ items: [(String, Int64)], limit: Int = 12) -> String {
            if items.isEmpty { return "none" }
            let shown = items.prefix(limit).map { "\($0.0) (\($0.1))" }.joined(separator: ", ")
            return items.count > limit ? shown + ", … \(items.count - limit) more" : shown
        }
        let bars = Array("▁▂▃▄▅▆▇█")
        let peak = max(hourMean.max() ?? 0, 0.0001)
        let rhythm = String(hourMean.map { bars[min(7, Int($0 / peak * 7.999))] })
        let busiestHour = hourMean.firstIndex(of: hourMean.max() ?? 0) ?? 0
        let statuses: String = statusMix.filter { $0.1 > 0 }.map { "\($0.0) \($0.1)" }.joined(separator: ", ")
        let recent: String = daily.suffix(14).map { String($0) }.joined(separator: " ")
        let hourLine: String = "  hour (UTC)  \(rhythm)  00…23, busiest \(busiestHour):00 with \(fmt(peak))/h"
        var lines: [String] = [
            "key \(hint)  \(id)  [\(status.rawValue)]",
            "  seen        \(Timestamps.rfc3339(firstSeen)) … \(Timestamps.rfc3339(lastSeen)), \(requests) requests",
            "  countries   \(list(countries))",
            "  ASNs        \(list(asns))",
            "  networks    \(networks) tracked, about \(addresses) client addresses, \(userAgents) user agents",
            "  methods     \(methods.joined(separator: " "))",
            "  endpoints   \(list(endpoints, limit: 8))",
            "  statuses    \(statuses)",
            hourLine,
            "  daily       \(recent)  (last \(min(14, daily.count)) days)",
        ]
        for e in episodes {
            lines.append("  episode     \(e.0) since \(Timestamps.rfc3339(e.1)), \(e.2) requests, alerted \(e.3)")
        }
        return lines.joined(separator: "\n")
    }
}
