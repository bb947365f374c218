/// Renders `labels.json`: the ground truth for evaluating detectors.
struct LabelWriter {
    private let config: SimulationConfig
    private let scenario: Scenario
    private let tallies: [EpisodeTally]
    private let lastRegular: [EpochMillis]
    /// Legitimate entries found while writing (first uses).
    let extraLegitimate: [JSONValue]

    /// Creates a writer from the planned scenario and what was actually written.
    /// - Parameters:
    ///   - config: Run configuration.
    ///   - scenario: The scenario.
    ///   - tallies: Per-episode counts observed while writing.
    ///   - lastRegular: Per key, the last regular request written (for dormancy).
    ///   - extraLegitimate: Further legitimate entries, appended after the planned ones.
    init(
        config: SimulationConfig,
        scenario: Scenario,
        tallies: [EpisodeTally],
        lastRegular: [EpochMillis],
        extraLegitimate: [JSONValue]
    ) {
        self.config = config
        self.scenario = scenario
        self.tallies = tallies
        self.lastRegular = lastRegular
        self.extraLegitimate = extraLegitimate
    }

    /// The document as pretty-printed JSON with a trailing newline.
    func render() -> String {
        var incidents: [JSONValue] = []
        var legitimate: [JSONValue] = []
        for (index, episode) in scenario.episodes.enumerated() {
            if episode.isIncident {
                incidents.append(incident(episode, tally: tallies[index]))
            } else {
                legitimate.append(legit(episode, tally: tallies[index]))
            }
        }
        let document = JSONValue.object([
            ("seed", .int(Int(truncatingIfNeeded: config.seed))),
            ("start", .string(TimeFormat.rfc3339(config.startMillis))),
            ("end", .string(TimeFormat.rfc3339(config.endMillis))),
            ("keys", .int(scenario.keys.count)),
            ("learning_end", .string(TimeFormat.rfc3339(config.learningEndMillis))),
            ("incidents", .array(incidents)),
            ("legitimate", .array(legitimate + extraLegitimate)),
        ])
        return document.rendered() + "\n"
    }

    private func incident(_ episode: Episode, tally: EpisodeTally) -> JSONValue {
        let key = scenario.keys[episode.keys![0]]
        var detail = episode.detail
        detail.append(("requests", .int(tally.requests)))
        if tally.requests > 0 {
            detail.append(("first_request", .string(TimeFormat.rfc3339(tally.first))))
            detail.append(("last_request", .string(TimeFormat.rfc3339(tally.last))))
        }
        switch episode.kind {
        case IncidentKind.errorSpike.rawValue:
            let status = tally.statuses.keys.filter { $0 == 401 || $0 == 403 }.reduce(0) { $0 + tally.statuses[$1]! }
            detail.append(("error_responses", .int(status)))
        case IncidentKind.dormantKey.rawValue:
            let last = lastRegular[key.index]
            if last != .min, tally.requests > 0 {
                detail.append(("last_seen_before", .string(TimeFormat.rfc3339(last))))
                detail.append(("silent_days", .rounded(Double(tally.first - last) / Double(Span.day), places: 2)))
            }
        default:
            break
        }
        return .object([
            ("id", .string(episode.id)), ("kind", .string(episode.kind)), ("key", .string(key.key)),
            ("key_hint", .string(key.hint)), ("start", .string(TimeFormat.rfc3339(episode.start))),
            ("end", .string(TimeFormat.rfc3339(episode.end))), ("gateway", .string(key.gateway.rawValue)),
            ("consumer", .string(key.consumerName)), ("key_kind", .string(key.kind.rawValue)),
            ("detail", .object(detail)),
        ])
    }

    private func legit(_ episode: Episode, tally: EpisodeTally) -> JSONValue {
        var detail = episode.detail
        if episode.reportsRequests {
            detail.append(("requests", .int(tally.requests)))
        }
        var members: [(String, JSONValue)] = [
            ("id", .string(episode.id)), ("kind", .string(episode.kind)),
            ("start", .string(TimeFormat.rfc3339(episode.start))), ("end", .string(TimeFormat.rfc3339(episode.end))),
        ]
        if let hints = episode.hintsOverride {
            members.append(("keys", .strings(hints)))
            members.append(("raw_keys", .strings(episode.rawKeysOverride ?? [])))
        } else if let keys = episode.keys {
            members.append(("keys", .strings(keys.map { scenario.keys[$0].hint })))
            members.append(("raw_keys", .strings(keys.map { scenario.keys[$0].key })))
        } else {
            members.append(("keys", .string("all")))
        }
        members.append(("detail", .object(detail)))
        return .object(members)
    }
}
