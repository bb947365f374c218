/// The planned world: keys plus every labelled episode, ready for traffic generation.
struct Scenario: Sendable {
    /// All keys, in index order.
    let keys: [KeyProfile]
    /// Incidents first (sorted by start), then legitimate episodes.
    let episodes: [Episode]
    /// Keys that are not in the key set and get 401 (typos, deleted keys).
    let invalidKeys: [String]
    /// Episodes that touch each key, by key index.
    let episodesByKey: [[Int]]
    /// Episodes that touch every key (the outage).
    let globalEpisodes: [Int]
    /// Incidents that could not be placed, for the summary.
    let shortfall: [IncidentKind: Int]
}

/// Chooses incidents and legitimate episodes, and adjusts keys to carry them.
///
/// Each key gets at most one incident. Incidents start after the learning period, keep an hour away
/// from the gateway outage, and lie completely inside the simulated period.
struct ScenarioPlanner {
    private let config: SimulationConfig
    private var rng: SimRandom
    private var keys: [KeyProfile]
    private var incidents: [Episode] = []
    private var legit: [Episode] = []
    private var used: Set<Int> = []
    private var outageWindow: Range<EpochMillis> = 0..<0
    private var shortfall: [IncidentKind: Int] = [:]
    private var preferred: GatewayFamily?

    /// Creates a planner over the keys built by ``KeyFactory``.
    init(config: SimulationConfig, keys: [KeyProfile]) {
        self.config = config
        self.keys = keys
        self.rng = SimRandom(seed: config.seed, streams: [Stream.scenario])
    }

    /// Plans everything.
    /// - Returns: The scenario with ids assigned.
    mutating func plan() -> Scenario {
        planOutage()
        let perKind = config.effectiveIncidentsPerKind
        for kind in [
            IncidentKind.dormantKey, .rateSpike, .errorSpike, .quotaSpike, .newEndpoint, .newNetwork, .newCountry,
        ] {
            var placed = 0
            for ordinal in 0..<perKind {
                // The first incident of each kind goes to a Kong key when there is one.
                preferred = ordinal == 0 ? .kong : nil
                if planIncident(kind) {
                    placed += 1
                }
            }
            if placed < perKind {
                shortfall[kind] = perKind - placed
            }
        }
        planRoaming()
        planCloudMoves()
        planRelease()
        describeStructuralBehaviour()
        let invalid = planInvalidKeys()

        incidents.sort { ($0.start, $0.kind) < ($1.start, $1.kind) }
        for index in incidents.indices {
            incidents[index].id = Episode.id("inc", index + 1)
        }
        for index in legit.indices {
            legit[index].id = Episode.id("leg", index + 1)
        }
        let episodes = incidents + legit
        var byKey = Array(repeating: [Int](), count: keys.count)
        var global: [Int] = []
        for (index, episode) in episodes.enumerated() {
            guard episode.burst != nil || episode.volumeFactor != nil || episode.statusOverride != nil else {
                continue
            }
            if let affected = episode.keys {
                for key in affected {
                    byKey[key].append(index)
                }
            } else {
                global.append(index)
            }
        }
        return Scenario(
            keys: keys,
            episodes: episodes,
            invalidKeys: invalid,
            episodesByKey: byKey,
            globalEpisodes: global,
            shortfall: shortfall
        )
    }

    // MARK: - Incidents

    private mutating func planIncident(_ kind: IncidentKind) -> Bool {
        switch kind {
        case .dormantKey: return planDormant()
        case .rateSpike: return planRateSpike()
        case .errorSpike: return planErrorSpike()
        case .quotaSpike: return planQuotaSpike()
        case .newEndpoint: return planNewEndpoint()
        case .newNetwork: return planNewSource(kind: .newNetwork)
        case .newCountry: return planNewSource(kind: .newCountry)
        }
    }

    private mutating func planDormant() -> Bool {
        guard let key = pickKey(kinds: [.dormant]) else {
            return false
        }
        let duration = EpochMillis(rng.int(in: 10...120)) * Span.minute
        let earliest = max(config.learningEndMillis, config.startMillis + 11 * Span.day) + 30 * Span.minute
        let latest = config.endMillis - duration - 30 * Span.minute
        guard earliest < latest else {
            return false
        }
        keys[key].activity = .days([0])
        keys[key].dailyVolume = max(keys[key].dailyVolume, 6)
        let start = avoidingOutage(duration: duration) { rng in rng.int64(in: earliest..<latest) }
        let count = scaled(rng.int(in: 20...150))
        var episode = incident(.dormantKey, key: key, start: start, duration: duration)
        episode.burst = Burst(key: key, count: count)
        episode.detail = [("note", .string("key active on the first day only, then silent until this burst"))]
        incidents.append(episode)
        return true
    }

    private mutating func planRateSpike() -> Bool {
        guard let key = pickBusyKey(kinds: [.service, .mobile, .partner]) else {
            return false
        }
        let duration = EpochMillis(rng.int(in: 10...40)) * Span.minute
        let start = busyStart(key: key, duration: duration)
        let baseline = Rhythm.expectedPerHour(keys[key], at: start, config: config) / 60
        let minutes = Double(duration / Span.minute)
        let multiplier = rng.double(in: 8...12)
        let extra = max(scaled(12), rng.poisson((multiplier - 1) * baseline * minutes))
        var episode = incident(.rateSpike, key: key, start: start, duration: duration)
        episode.burst = Burst(key: key, count: extra)
        episode.tagsRegularTraffic = true
        episode.detail = [
            ("baseline_per_min", .rounded(baseline)),
            ("spike_per_min", .rounded(baseline + Double(extra) / minutes)),
            ("multiplier", .rounded((baseline + Double(extra) / minutes) / max(baseline, 0.001), places: 1)),
            ("duration_min", .int(Int(minutes))),
            ("extra_requests", .int(extra)),
        ]
        incidents.append(episode)
        return true
    }

    private mutating func planErrorSpike() -> Bool {
        guard let key = pickBusyKey(kinds: [.service, .mobile, .partner]) else {
            return false
        }
        let duration = EpochMillis(rng.int(in: 15...45)) * Span.minute
        let start = busyStart(key: key, duration: duration)
        let baseline = Rhythm.expectedPerHour(keys[key], at: start, config: config) / 60
        // Alternate the two scenarios so both always occur.
        let revoked = incidents.filter { $0.kind == IncidentKind.errorSpike.rawValue }.count % 2 == 0
        let status = revoked ? 401 : 403
        let retries = max(scaled(40), rng.poisson(2 * baseline * Double(duration / Span.minute)))
        var episode = incident(.errorSpike, key: key, start: start, duration: duration)
        episode.burst = Burst(key: key, count: retries, statuses: [status], statusWeights: [1])
        episode.statusOverride = StatusOverride(
            statuses: [status],
            weights: [1],
            rejectedByGateway: true,
            authenticated: !revoked
        )
        episode.tagsRegularTraffic = true
        episode.detail = [
            ("scenario", .string(revoked ? "revoked_key_still_in_use" : "scope_removed_probing")),
            ("status", .int(status)),
            ("baseline_error_rate", .rounded(keys[key].clientErrorRate)),
            ("duration_min", .int(Int(duration / Span.minute))),
        ]
        incidents.append(episode)
        return true
    }

    private mutating func planQuotaSpike() -> Bool {
        guard let key = pickBusyKey(kinds: [.service, .mobile, .partner]) else {
            return false
        }
        let firstDay = config.learningDays
        let lastDay = config.days - 1
        guard firstDay <= lastDay else {
            return false
        }
        var days = Array(firstDay...lastDay).filter { day in
            let start = config.startMillis + EpochMillis(day) * Span.day
            return !(start..<(start + Span.day)).overlaps(outageWindow)
        }
        if keys[key].kind == .partner {
            days = days.filter { day in
                let date = CivilDate(dayNumber: config.startDate.dayNumber + day)
                return (1...5).contains(date.weekday) && !Geography.isHoliday(date, in: keys[key].country)
            }
        }
        guard !days.isEmpty else {
            used.remove(key)
            return false
        }
        let day = rng.pick(days)
        let start = config.startMillis + EpochMillis(day) * Span.day
        let factor = rng.double(in: 5...8)
        var expected = 0.0
        for hour in 0..<24 {
            expected += Rhythm.expectedPerHour(keys[key], at: start + EpochMillis(hour) * Span.hour, config: config)
        }
        var episode = incident(.quotaSpike, key: key, start: start, duration: Span.day)
        episode.volumeFactor = factor
        episode.tagsRegularTraffic = true
        episode.detail = [
            ("factor", .rounded(factor, places: 2)), ("expected_requests", .int(Int(expected.rounded()))),
        ]
        incidents.append(episode)
        return true
    }

    private mutating func planNewEndpoint() -> Bool {
        guard let key = pickKey(kinds: [.service, .partner, .mobile]) else {
            return false
        }
        let duration = EpochMillis(rng.int(in: 3...25)) * Span.minute
        let start = anyStart(duration: duration)
        let endpoints = rng.sample(APICatalogue.sensitiveEndpoints, count: rng.int(in: 1...3))
        var episode = incident(.newEndpoint, key: key, start: start, duration: duration)
        episode.burst = Burst(
            key: key,
            count: scaled(rng.int(in: 6...40)),
            endpoints: endpoints,
            statuses: [200, 403, 404],
            statusWeights: [0.5, 0.35, 0.15]
        )
        episode.detail = [("endpoints", .strings(endpoints.map(APICatalogue.labelPattern)))]
        incidents.append(episode)
        return true
    }

    private mutating func planNewSource(kind: IncidentKind) -> Bool {
        let kinds: [KeyKind] =
            kind == .newCountry ? [.service, .partner, .mobile, .batch] : [.service, .partner, .batch]
        guard let key = pickKey(kinds: kinds) else {
            return false
        }
        let profile = keys[key]
        let candidates: [Int]
        if kind == .newCountry {
            candidates = AddressPlan.indices {
                $0.kind == .hosting && !AddressPlan.clientCountries.contains($0.country)
                    && !profile.countries.contains($0.country)
            }
        } else {
            candidates = AddressPlan.indices {
                [.hosting, .isp, .cloud].contains($0.kind) && $0.country == profile.country
                    && !profile.asns.contains($0.asn) && !$0.cidr.isIPv6
            }
        }
        guard !candidates.isEmpty else {
            used.remove(key)
            return false
        }
        let rangeIndex = rng.pick(candidates)
        let range = AddressPlan.ranges[rangeIndex]
        let addresses = (0..<rng.int(in: 1...3)).map { _ in range.cidr.randomAddress(using: &rng) }
        let duration = EpochMillis(kind == .newCountry ? rng.int(in: 10...45) : rng.int(in: 15...90)) * Span.minute
        let start = anyStart(duration: duration)
        let count = kind == .newCountry ? rng.int(in: 80...400) : rng.int(in: 30...300)
        var episode = incident(kind, key: key, start: start, duration: duration)
        episode.burst = Burst(
            key: key,
            count: scaled(count),
            addresses: addresses,
            userAgents: rng.chance(0.5) ? [] : [rng.pick(UserAgents.attacker)]
        )
        episode.detail = [
            ("country", .string(range.country)), ("asn", .int(range.asn)), ("org", .string(range.org)),
            ("cidr", .string(range.cidr.description)), ("ips", .strings(addresses.map(\.description))),
            ("usual_countries", .strings(profile.countries.sorted())),
            ("usual_asns", .array(profile.asns.sorted().map { .int($0) })),
        ]
        incidents.append(episode)
        return true
    }

    private func incident(_ kind: IncidentKind, key: Int, start: EpochMillis, duration: EpochMillis) -> Episode {
        var episode = Episode(
            kind: kind.rawValue,
            isIncident: true,
            keys: [key],
            start: start,
            end: start + duration,
            gateway: keys[key].gateway
        )
        episode.reportsRequests = true
        return episode
    }

    // MARK: - Picking keys and times

    /// A random unused key of the given kinds that exists from the start.
    private mutating func pickKey(kinds: [KeyKind]) -> Int? {
        let candidates = preferring(
            keys.indices.filter { index in
                kinds.contains(keys[index].kind) && keys[index].createdAt == nil && !used.contains(index)
                    && (keys[index].kind == .dormant || keys[index].activity == .always)
            }
        )
        guard !candidates.isEmpty else {
            return nil
        }
        let key = rng.pick(candidates)
        used.insert(key)
        return key
    }

    /// Like ``pickKey(kinds:)`` but among the busiest keys (by peak-hour rate), so that a spike stands out
    /// against a real baseline.
    private mutating func pickBusyKey(kinds: [KeyKind]) -> Int? {
        var candidates = keys.indices.filter { index in
            kinds.contains(keys[index].kind) && keys[index].createdAt == nil && !used.contains(index)
                && keys[index].activity == .always
        }
        let peaks = candidates.map { peakPerHour(keys[$0]) }
        let order = candidates.indices.sorted { (peaks[$0], candidates[$0]) > (peaks[$1], candidates[$1]) }
        candidates = order.map { candidates[$0] }
        let preferredOnly = preferring(candidates)
        if preferredOnly.count < candidates.count {
            candidates = Array(preferredOnly.prefix(max(3, preferredOnly.count / 4)))
        } else {
            candidates = Array(candidates.prefix(max(2 * config.effectiveIncidentsPerKind, candidates.count / 10)))
        }
        guard !candidates.isEmpty else {
            return nil
        }
        let key = rng.pick(candidates)
        used.insert(key)
        return key
    }

    /// The key's highest expected hourly rate over the first working week.
    private func peakPerHour(_ key: KeyProfile) -> Double {
        var peak = 0.0
        for hour in stride(from: 0, to: 7 * 24, by: 1) {
            let time = config.startMillis + EpochMillis(hour) * Span.hour
            peak = max(peak, Rhythm.expectedPerHour(key, at: time, config: config))
        }
        return peak
    }

    /// The candidates on the preferred gateway, or all of them when none is.
    private func preferring(_ candidates: [Int]) -> [Int] {
        guard let preferred else {
            return candidates
        }
        let matching = candidates.filter { keys[$0].gateway == preferred }
        return matching.isEmpty ? candidates : matching
    }

    /// A start time in the detection period, away from the outage.
    private mutating func anyStart(duration: EpochMillis) -> EpochMillis {
        let lower = config.learningEndMillis + 30 * Span.minute
        let upper = max(lower + 1, config.endMillis - duration - 30 * Span.minute)
        return avoidingOutage(duration: duration) { rng in rng.int64(in: lower..<upper) }
    }

    /// A start time in the detection period when the key is near its busiest.
    private mutating func busyStart(key: Int, duration: EpochMillis) -> EpochMillis {
        var best = anyStart(duration: duration)
        var bestRate = Rhythm.expectedPerHour(keys[key], at: best, config: config)
        for _ in 0..<24 {
            let candidate = anyStart(duration: duration)
            let rate = Rhythm.expectedPerHour(keys[key], at: candidate, config: config)
            if rate > bestRate {
                best = candidate
                bestRate = rate
            }
        }
        return best
    }

    private mutating func avoidingOutage(
        duration: EpochMillis,
        _ draw: (inout SimRandom) -> EpochMillis
    ) -> EpochMillis {
        let margin = Span.hour
        var start = draw(&rng)
        for _ in 0..<50 {
            let padded = (start - margin)..<(start + duration + margin)
            if !padded.overlaps(outageWindow) {
                break
            }
            start = draw(&rng)
        }
        return start - start % Span.second
    }

    private func scaled(_ count: Int) -> Int {
        max(5, Int((Double(count) * config.scale).rounded()))
    }

    // MARK: - Legitimate behaviour

    private mutating func planOutage() {
        let day = min(config.days - 1, max(config.learningDays + 2, Int(Double(config.days) * 0.7)))
        let start = config.startMillis + EpochMillis(day) * Span.day + 14 * Span.hour + 5 * Span.minute
        let end = start + 22 * Span.minute
        outageWindow = start..<end
        var episode = Episode(kind: LegitKind.outage.rawValue, isIncident: false, keys: nil, start: start, end: end)
        episode.statusOverride = StatusOverride(
            statuses: [502, 503],
            weights: [0.65, 0.35],
            rejectedByGateway: false,
            authenticated: true
        )
        episode.tagsRegularTraffic = true
        episode.reportsRequests = true
        episode.detail = [
            ("statuses", .array([.int(502), .int(503)])), ("gateways", .strings(["nginx", "kong"])),
            ("cause", .string("upstream deploy failed; every proxied request answered 502/503")),
        ]
        legit.append(episode)
    }

    private mutating func planRoaming() {
        let candidates = keys.indices.filter {
            keys[$0].kind == .mobile && keys[$0].createdAt == nil && !used.contains($0)
        }
        let count = min(candidates.count, max(3, config.keyCount / 100))
        for (ordinal, key) in rng.sample(candidates, count: count).enumerated() {
            let profile = keys[key]
            let abroad = AddressPlan.indices {
                $0.kind == .mobile && ["ES", "IT", "FR", "GB", "DE"].contains($0.country)
                    && $0.country != profile.country && !$0.cidr.isIPv6
            }
            let range = AddressPlan.ranges[rng.pick(abroad)]
            let firstDay = ordinal == 0 ? 2 : config.learningDays
            let lastDay = ordinal == 0 ? min(config.learningDays - 1, config.days - 1) : config.days - 1
            guard firstDay <= lastDay else {
                continue
            }
            let day = rng.int(in: firstDay...lastDay)
            let localTen = EpochMillis(10 * 60 - profile.zone.offset(at: config.startMillis)) * Span.minute
            let start =
                config.startMillis + EpochMillis(day) * Span.day + localTen
                + rng.int64(in: 0..<(8 * Span.hour))
            let duration = EpochMillis(rng.int(in: 1...4)) * Span.hour
            let addresses = (0..<rng.int(in: 1...3)).map { _ in range.cidr.randomAddress(using: &rng) }
            var episode = Episode(
                kind: LegitKind.roaming.rawValue,
                isIncident: false,
                keys: [key],
                start: start,
                end: min(start + duration, config.endMillis)
            )
            episode.burst = Burst(key: key, count: scaled(rng.int(in: 6...40)), addresses: addresses)
            episode.reportsRequests = true
            episode.detail = [
                ("country", .string(range.country)), ("asn", .int(range.asn)), ("org", .string(range.org)),
                ("home_country", .string(profile.country)), ("ips", .strings(addresses.map(\.description))),
            ]
            legit.append(episode)
            used.insert(key)
        }
    }

    private mutating func planCloudMoves() {
        let candidates = keys.indices.filter {
            [.service, .batch].contains(keys[$0].kind) && !used.contains($0) && keys[$0].createdAt == nil
        }
        for key in candidates where rng.chance(0.3) {
            let moveAt = rng.int64(in: (config.startMillis + Span.day)..<(config.endMillis - 6 * Span.hour))
            let old = keys[key].sources[0]
            var new = old
            new.addresses = old.addresses.map { address in
                if case .v6 = address, let v6 = old.ranges.first(where: { AddressPlan.ranges[$0].cidr.isIPv6 }) {
                    return AddressPlan.ranges[v6].cidr.randomAddress(using: &rng)
                }
                return AddressPlan.ranges[old.ranges[0]].cidr.randomAddress(using: &rng)
            }
            new.from = moveAt
            keys[key].sources[0].until = moveAt
            keys[key].sources.append(new)
            var episode = Episode(
                kind: LegitKind.cloudIPMove.rawValue,
                isIncident: false,
                keys: [key],
                start: moveAt,
                end: config.endMillis
            )
            episode.detail = [
                ("asn", .int(old.asn)), ("org", .string(old.org)), ("country", .string(old.country)),
                ("old_ips", .strings(old.addresses.map(\.description))),
                ("new_ips", .strings(new.addresses.map(\.description))),
            ]
            legit.append(episode)
        }
    }

    private mutating func planRelease() {
        let day = min(config.days - 1, max(config.learningDays + 1, Int(Double(config.days) * 0.6)))
        let release = config.startMillis + EpochMillis(day) * Span.day + 10 * Span.hour
        var adopters: [Int] = []
        for key in keys.indices
        where [.service, .partner, .mobile].contains(keys[key].kind) && keys[key].activity == .always
            && rng.chance(0.35)
        {
            let adoption =
                max(release, keys[key].createdAt ?? release)
                + EpochMillis(rng.exponential(mean: 18) * Double(Span.hour))
            if adoption < config.endMillis - Span.hour {
                keys[key].releaseAdoption = adoption
                adopters.append(key)
            }
        }
        var episode = Episode(
            kind: LegitKind.apiRelease.rawValue,
            isIncident: false,
            keys: adopters,
            start: release,
            end: config.endMillis
        )
        episode.detail = [
            ("endpoints", .strings(APICatalogue.releaseEndpoints.map(APICatalogue.labelPattern))),
            ("adopters", .int(adopters.count)),
            ("note", .string("keys start calling the new endpoints at staggered times after the release")),
        ]
        legit.append(episode)
    }

    private mutating func describeStructuralBehaviour() {
        let period = config.startMillis..<config.endMillis
        func members(where predicate: (KeyProfile) -> Bool) -> [Int] {
            self.keys.indices.filter { predicate(self.keys[$0]) }
        }
        func add(_ kind: LegitKind, _ list: [Int], detail: [(String, JSONValue)]) {
            guard !list.isEmpty else {
                return
            }
            legit.append(
                Episode(
                    kind: kind.rawValue,
                    isIncident: false,
                    keys: list,
                    start: period.lowerBound,
                    end: period.upperBound,
                    detail: detail
                )
            )
        }
        add(
            .mobileIPHopping,
            members { $0.kind == .mobile },
            detail: [
                ("note", .string("per-request carrier addresses (CGNAT, some IPv6) inside 1-3 ASNs of one country"))
            ]
        )
        for key in members(where: { $0.isMultiRegion }) {
            legit.append(
                Episode(
                    kind: LegitKind.multiRegion.rawValue,
                    isIncident: false,
                    keys: [key],
                    start: period.lowerBound,
                    end: period.upperBound,
                    detail: [
                        ("asn", .int(self.keys[key].sources[0].asn)),
                        ("countries", .strings(self.keys[key].countries.sorted())),
                    ]
                )
            )
        }
        add(
            .growth,
            members { $0.growth > 0 },
            detail: [("factor_at_start", .double(1)), ("factor_at_end", .double(1.5)), ("shape", .string("linear"))]
        )
        add(
            .officeHours,
            members { $0.kind == .partner },
            detail: [
                ("local_hours", .string("09:00-18:00")), ("weekdays", .string("Mon-Fri")),
                ("note", .string("quiet nights, weekends and public holidays in the partner's own zone")),
            ]
        )
        add(.nightlyBatch, members { $0.kind == .batch }, detail: [("local_time", .string("02:00"))])
        add(
            .poissonLowVolume,
            members { $0.kind == .rare },
            detail: [("mean_per_day_min", .double(0.5)), ("mean_per_day_max", .double(6))]
        )
        let sparse = members { profile in
            guard profile.kind == .dormant, case .days(let days) = profile.activity, days.count >= 2 else {
                return false
            }
            let sorted = days.sorted()
            return zip(sorted, sorted.dropFirst()).allSatisfy { $1 - $0 > 1 }
        }
        add(.sparseUsage, sparse, detail: [("gap_days_min", .int(5)), ("gap_days_max", .int(8))])
        for key in members(where: { $0.createdAt != nil }) {
            legit.append(
                Episode(
                    kind: LegitKind.newKey.rawValue,
                    isIncident: false,
                    keys: [key],
                    start: self.keys[key].createdAt!,
                    end: period.upperBound,
                    detail: [("key_kind", .string(self.keys[key].kind.rawValue))]
                )
            )
        }
        describeHolidays(period: period)
        describeDaylightSaving(period: period)
    }

    private mutating func describeHolidays(period: Range<EpochMillis>) {
        let firstDay = TimeFormat.dayNumber(of: period.lowerBound)
        let lastDay = TimeFormat.dayNumber(of: period.upperBound - 1)
        for dayNumber in firstDay...lastDay {
            let date = CivilDate(dayNumber: dayNumber)
            guard (1...5).contains(date.weekday) else {
                continue
            }
            for holiday in Geography.holidays where holiday.month == date.month && holiday.day == date.day {
                let members = keys.indices.filter {
                    keys[$0].kind == .partner && keys[$0].country == holiday.country
                }
                guard let first = members.first else {
                    continue
                }
                let zone = keys[first].zone
                let start = date.startMillis - EpochMillis(zone.offset(at: date.startMillis)) * Span.minute
                legit.append(
                    Episode(
                        kind: LegitKind.publicHoliday.rawValue,
                        isIncident: false,
                        keys: members,
                        start: start,
                        end: start + Span.day,
                        detail: [
                            ("country", .string(holiday.country)), ("date", .string(date.iso)),
                            ("name", .string(holiday.name)),
                        ]
                    )
                )
            }
        }
    }

    private mutating func describeDaylightSaving(period: Range<EpochMillis>) {
        var zones: [String: ZoneRule] = [:]
        for key in keys {
            zones[key.zone.name] = key.zone
        }
        for name in zones.keys.sorted() {
            let zone = zones[name]!
            for change in zone.transitions(in: period) {
                let members = keys.indices.filter {
                    keys[$0].zone.name == name && [.partner, .mobile, .batch].contains(keys[$0].kind)
                }
                guard !members.isEmpty else {
                    continue
                }
                legit.append(
                    Episode(
                        kind: LegitKind.dstChange.rawValue,
                        isIncident: false,
                        keys: members,
                        start: change,
                        end: period.upperBound,
                        detail: [
                            ("zone", .string(name)),
                            ("offset_before", .string(TimeFormat.offsetText(minutes: zone.offset(at: change - 1)))),
                            ("offset_after", .string(TimeFormat.offsetText(minutes: zone.offset(at: change)))),
                        ]
                    )
                )
            }
        }
    }

    private mutating func planInvalidKeys() -> [String] {
        let invalid = (0..<3).map { _ in "ak_live_" + rng.base62(count: 24) }
        var episode = Episode(
            kind: LegitKind.invalidKey.rawValue,
            isIncident: false,
            keys: [],
            start: config.startMillis,
            end: config.endMillis
        )
        episode.hintsOverride = invalid.map { String($0.prefix(10)) + "…" + String($0.suffix(2)) }
        episode.rawKeysOverride = invalid
        episode.detail = [
            ("status", .int(401)),
            (
                "note",
                .string("unknown keys (typos, deleted keys) rejected with 401 a few times a day; not in the key set")
            ),
        ]
        legit.append(episode)
        return invalid
    }
}
