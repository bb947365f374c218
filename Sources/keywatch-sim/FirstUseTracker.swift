/// Finds benign first uses after the learning period that no planned episode explains.
///
/// A key with a long tail of rarely used endpoints may call one of them for the first time after the
/// learning period. A first-seen detector flags that, so the labels list it as legitimate
/// `endpoint_first_use` (and, should it ever happen, `network_first_use` for an ASN or country).
struct FirstUseTracker {
    private let scenario: Scenario
    private let learningEnd: EpochMillis
    private let releaseLabels: Set<String>
    private var endpoints: [Set<String>]
    private var networks: [Set<Int>]
    private var countries: [Set<String>]
    private var rangeCache: [ClientAddress: Int] = [:]
    /// Unexplained first endpoint uses per key: label and time.
    private(set) var endpointFirstUses: [[(String, EpochMillis)]]
    /// Unexplained first ASN or country uses per key: description and time.
    private(set) var networkFirstUses: [[(String, EpochMillis)]]

    /// Creates a tracker for `scenario`.
    init(scenario: Scenario, learningEnd: EpochMillis) {
        self.scenario = scenario
        self.learningEnd = learningEnd
        releaseLabels = Set(APICatalogue.releaseEndpoints.map(\.label))
        let count = scenario.keys.count
        endpoints = Array(repeating: [], count: count)
        networks = Array(repeating: [], count: count)
        countries = Array(repeating: [], count: count)
        endpointFirstUses = Array(repeating: [], count: count)
        networkFirstUses = Array(repeating: [], count: count)
    }

    /// Observes one written event (in time order).
    mutating func observe(_ event: SimEvent) {
        guard event.keyIndex >= 0, !event.endpoint.isEmpty else {
            return
        }
        let key = Int(event.keyIndex)
        let profile = scenario.keys[key]
        let judged = event.time >= learningEnd && profile.createdAt == nil
        let episodeKind = event.tag >= 0 && !event.regular ? scenario.episodes[Int(event.tag)].kind : ""
        if endpoints[key].insert(event.endpoint).inserted, judged {
            let explained =
                episodeKind == IncidentKind.newEndpoint.rawValue
                || (releaseLabels.contains(event.endpoint) && profile.releaseAdoption != nil)
            if !explained {
                endpointFirstUses[key].append((event.endpoint, event.time))
            }
        }
        let rangeIndex = self.rangeIndex(of: event.client)
        guard rangeIndex >= 0 else {
            return
        }
        let range = AddressPlan.ranges[rangeIndex]
        let newASN = networks[key].insert(range.asn).inserted
        let newCountry = countries[key].insert(range.country).inserted
        if newASN || newCountry, judged {
            let explained = [
                IncidentKind.newCountry.rawValue, IncidentKind.newNetwork.rawValue, LegitKind.roaming.rawValue,
            ]
            .contains(episodeKind)
            if !explained {
                networkFirstUses[key].append(("AS\(range.asn) \(range.country)", event.time))
            }
        }
    }

    private mutating func rangeIndex(of address: ClientAddress) -> Int {
        if let cached = rangeCache[address] {
            return cached
        }
        let index =
            AddressPlan.ranges.firstIndex { range in
                AddressPlan.contains(range.cidr, address)
            } ?? -1
        rangeCache[address] = index
        return index
    }

    /// Legitimate label entries for the unexplained first uses, one per key and kind.
    func labelEntries(firstID: Int) -> [JSONValue] {
        var entries: [JSONValue] = []
        for (kind, uses, field) in [
            ("endpoint_first_use", endpointFirstUses, "endpoints"), ("network_first_use", networkFirstUses, "networks"),
        ] {
            for key in uses.indices where !uses[key].isEmpty {
                let profile = scenario.keys[key]
                let first = uses[key].map(\.1).min()!
                let last = uses[key].map(\.1).max()!
                entries.append(
                    .object([
                        ("id", .string(Episode.id("leg", firstID + entries.count))),
                        ("kind", .string(kind)),
                        ("start", .string(TimeFormat.rfc3339(first))),
                        ("end", .string(TimeFormat.rfc3339(last - last % Span.second + Span.second))),
                        ("keys", .strings([profile.hint])), ("raw_keys", .strings([profile.key])),
                        (
                            "detail",
                            .object([
                                (field, .strings(uses[key].map(\.0))),
                                ("first_seen", .strings(uses[key].map { TimeFormat.rfc3339($0.1) })),
                                (
                                    "note",
                                    .string("rarely used but normal for this key; first call after the learning period")
                                ),
                            ])
                        ),
                    ])
                )
            }
        }
        return entries
    }
}
