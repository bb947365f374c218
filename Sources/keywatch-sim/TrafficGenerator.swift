/// Optional replacements for parts of a key's usual request.
struct RequestOverrides {
    /// Endpoints to use instead of the key's.
    var endpoints: [EndpointTemplate] = []
    /// Addresses to use instead of the key's sources.
    var addresses: [ClientAddress] = []
    /// User agents to use instead of the key's.
    var userAgents: [String] = []
    /// Statuses (with weights) to use instead of the normal outcome model.
    var statuses: [Int] = []
    /// Relative weights of `statuses`.
    var statusWeights: [Double] = []
    /// Page number for sequential paging.
    var page: Int?
    /// A specific endpoint to call.
    var template: EndpointTemplate?
}

/// Generates one UTC day of gateway events at a time.
///
/// Every key-day, episode and background stream draws from its own ``SimRandom`` stream, so a day's
/// events do not depend on which other days were generated.
struct TrafficGenerator {
    private let config: SimulationConfig
    private let scenario: Scenario

    /// Creates a generator for a planned scenario.
    init(config: SimulationConfig, scenario: Scenario) {
        self.config = config
        self.scenario = scenario
    }

    /// All events whose requests are made on day `day` (0-based), unsorted.
    ///
    /// A few events near midnight (batch runs) complete after the day ends; the caller carries them over.
    func events(forDay day: Int) -> [SimEvent] {
        let dayStart = config.startMillis + EpochMillis(day) * Span.day
        let dayRange = dayStart..<min(dayStart + Span.day, config.endMillis)
        var events: [SimEvent] = []
        events.reserveCapacity(Int(Double(config.keyCount) * 40 * config.scale))
        for key in scenario.keys {
            generateRegular(key, day: day, range: dayRange, into: &events)
        }
        for (index, episode) in scenario.episodes.enumerated() where episode.burst != nil {
            generateBurst(episode, index: index, day: day, range: dayRange, into: &events)
        }
        BackgroundTraffic(config: config, invalidKeys: scenario.invalidKeys)
            .generate(day: day, range: dayRange, into: &events)
        applyGlobalEpisodes(to: &events)
        return events
    }

    // MARK: - Regular traffic

    private func generateRegular(_ key: KeyProfile, day: Int, range: Range<EpochMillis>, into events: inout [SimEvent])
    {
        if case .days(let active) = key.activity, !active.contains(day) {
            return
        }
        var rng = SimRandom(seed: config.seed, streams: [Stream.keyTraffic, UInt64(key.index), UInt64(day)])
        var pools = AddressPools(config: config, key: key, day: day)
        let episodes = scenario.episodesByKey[key.index]
        let before = events.count
        if key.kind == .batch {
            generateNightlyRuns(key, day: day, range: range, pools: &pools, episodes: episodes, into: &events)
        }
        var hourStart = range.lowerBound
        while hourStart < range.upperBound {
            var lambda = Rhythm.expectedPerHour(key, at: hourStart, config: config)
            lambda *= volumeFactor(episodes, at: hourStart)
            for _ in 0..<rng.poisson(lambda) {
                let time = hourStart + rng.int64(in: 0..<Span.hour)
                guard time < range.upperBound, time >= key.createdAt ?? .min else {
                    continue
                }
                emitRegular(key, at: time, rng: &rng, pools: &pools, episodes: episodes, into: &events)
            }
            hourStart += Span.hour
        }
        if case .days = key.activity, events.count == before {
            // A dormant key's active day always shows at least one call.
            let time = range.lowerBound + 10 * Span.hour + rng.int64(in: 0..<Span.hour)
            if time < range.upperBound {
                emitRegular(key, at: time, rng: &rng, pools: &pools, episodes: episodes, into: &events)
            }
        }
    }

    private func generateNightlyRuns(
        _ key: KeyProfile,
        day: Int,
        range: Range<EpochMillis>,
        pools: inout AddressPools,
        episodes: [Int],
        into events: inout [SimEvent]
    ) {
        let utcDay = TimeFormat.dayNumber(of: range.lowerBound)
        for localDay in (utcDay - 1)...(utcDay + 1) {
            var rng = SimRandom(
                seed: config.seed,
                streams: [Stream.keyTraffic, UInt64(key.index), 1_000_000 + UInt64(localDay)]
            )
            let start = Rhythm.batchStart(key, localDay: localDay) + rng.int64(in: 0..<(8 * Span.minute))
            guard range.contains(start), start >= key.createdAt ?? .min else {
                continue
            }
            let mean =
                key.dailyVolume * Rhythm.growthFactor(key, at: start, config: config) * config.scale
                * volumeFactor(episodes, at: start)
            var time = start
            var pages: [String: Int] = [:]
            for _ in 0..<rng.poisson(mean) {
                let template = APICatalogue.endpoints[key.endpoints[rng.weightedIndex(key.endpointWeights)]]
                let page = pages[template.pattern, default: 0] + 1
                pages[template.pattern] = page
                var overrides = RequestOverrides()
                overrides.template = template
                overrides.page = page
                var event = makeRequest(key, at: time, overrides: overrides, rng: &rng, pools: &pools)
                time += EpochMillis(event.latency) + rng.int64(in: 30..<400)
                event.time = time
                event.regular = true
                applyKeyEpisodes(episodes, to: &event, rng: &rng)
                guard time < config.endMillis else {
                    break
                }
                events.append(event)
            }
        }
    }

    private func emitRegular(
        _ key: KeyProfile,
        at time: EpochMillis,
        rng: inout SimRandom,
        pools: inout AddressPools,
        episodes: [Int],
        into events: inout [SimEvent]
    ) {
        var event = makeRequest(key, at: time, overrides: RequestOverrides(), rng: &rng, pools: &pools)
        event.regular = true
        applyKeyEpisodes(episodes, to: &event, rng: &rng)
        if key.isWeb, rng.chance(0.1) {
            events.append(preflight(for: event, rng: &rng))
        }
        events.append(event)
    }

    /// A CORS preflight sent by the browser just before `event`: same client, no key.
    private func preflight(for event: SimEvent, rng: inout SimRandom) -> SimEvent {
        var options = event
        options.time = event.time - EpochMillis(event.latency) - rng.int64(in: 5..<120)
        options.latency = Int32(rng.int(in: 0...2))
        options.method = "OPTIONS"
        options.target = String(event.path)
        options.status = 204
        options.bytes = 0
        options.headerKey = nil
        options.keyIndex = -1
        options.authenticated = false
        options.rejectedByGateway = true
        options.regular = false
        options.tag = -1
        return options
    }

    private func volumeFactor(_ episodes: [Int], at time: EpochMillis) -> Double {
        var factor = 1.0
        for index in episodes {
            let episode = scenario.episodes[index]
            if let volume = episode.volumeFactor, episode.contains(time) {
                factor *= volume
            }
        }
        return factor
    }

    private func applyKeyEpisodes(_ episodes: [Int], to event: inout SimEvent, rng: inout SimRandom) {
        for index in episodes {
            let episode = scenario.episodes[index]
            guard episode.contains(event.time) else {
                continue
            }
            if episode.tagsRegularTraffic, event.tag < 0 {
                event.tag = Int32(index)
            }
            if let override = episode.statusOverride {
                apply(override, to: &event, rng: &rng)
            }
        }
    }

    private func applyGlobalEpisodes(to events: inout [SimEvent]) {
        for index in scenario.globalEpisodes {
            let episode = scenario.episodes[index]
            var rng = SimRandom(seed: config.seed, streams: [Stream.episode, UInt64(index), 0xFFFF])
            for position in events.indices where events[position].proxied && episode.contains(events[position].time) {
                if let override = episode.statusOverride {
                    apply(override, to: &events[position], rng: &rng)
                }
                if episode.tagsRegularTraffic, events[position].tag < 0 {
                    events[position].tag = Int32(index)
                }
            }
        }
    }

    private func apply(_ override: StatusOverride, to event: inout SimEvent, rng: inout SimRandom) {
        let status = override.statuses[rng.weightedIndex(override.weights)]
        let outcome = Outcome.forced(
            status,
            template: APICatalogue.endpoints[0],
            family: event.node.family,
            rejected: override.rejectedByGateway,
            using: &rng
        )
        event.status = Int16(status)
        event.bytes = Int32(outcome.bytes)
        event.latency = Int32(outcome.latency)
        event.rejectedByGateway = override.rejectedByGateway
        event.authenticated = event.authenticated && override.authenticated
    }

    // MARK: - Episodes

    private func generateBurst(
        _ episode: Episode,
        index: Int,
        day: Int,
        range: Range<EpochMillis>,
        into events: inout [SimEvent]
    ) {
        guard let burst = episode.burst, episode.start < range.upperBound, episode.end > range.lowerBound else {
            return
        }
        var timing = SimRandom(seed: config.seed, streams: [Stream.episode, UInt64(index), 0])
        let times = (0..<burst.count).map { _ in timing.int64(in: episode.start..<episode.end) }
        var rng = SimRandom(seed: config.seed, streams: [Stream.episode, UInt64(index), 1 + UInt64(day)])
        let key = scenario.keys[burst.key]
        var pools = AddressPools(config: config, key: key, day: day)
        var overrides = RequestOverrides()
        // Injected calls to the key's own endpoints use its main ones, which it has surely called before.
        overrides.endpoints =
            burst.endpoints.isEmpty ? key.endpoints.prefix(2).map { APICatalogue.endpoints[$0] } : burst.endpoints
        overrides.addresses = burst.addresses
        overrides.userAgents = burst.userAgents
        overrides.statuses = burst.statuses
        overrides.statusWeights = burst.statusWeights
        for time in times where range.contains(time) {
            var event = makeRequest(key, at: time, overrides: overrides, rng: &rng, pools: &pools)
            if let override = episode.statusOverride {
                event.rejectedByGateway = override.rejectedByGateway
                event.authenticated = override.authenticated
            }
            event.tag = Int32(index)
            events.append(event)
        }
    }

    // MARK: - Requests

    /// Builds one request of `key` at `time`.
    private func makeRequest(
        _ key: KeyProfile,
        at time: EpochMillis,
        overrides: RequestOverrides,
        rng: inout SimRandom,
        pools: inout AddressPools
    ) -> SimEvent {
        let template: EndpointTemplate
        if let forced = overrides.template {
            template = forced
        } else if !overrides.endpoints.isEmpty {
            template = rng.pick(overrides.endpoints)
        } else if let adoption = key.releaseAdoption, time >= adoption, rng.chance(0.06) {
            template = APICatalogue.releaseEndpoints[rng.chance(0.7) ? 0 : 1]
        } else {
            template = APICatalogue.endpoints[key.endpoints[rng.weightedIndex(key.endpointWeights)]]
        }
        var target: String
        if let page = overrides.page {
            // A paging job keeps its filters and walks the pages.
            var fixed = SimRandom(
                seed: key.salt,
                streams: [UInt64(TimeFormat.dayNumber(of: time)), UInt64(template.service)]
            )
            target = PathRenderer.render(template, salt: key.salt, at: time, page: page, using: &fixed)
        } else {
            target = PathRenderer.render(template, salt: key.salt, at: time, using: &rng)
        }
        let node: Node = key.gateway == .kong ? .kong1 : (rng.chance(0.5) ? .gw1 : .gw2)
        let client = overrides.addresses.isEmpty ? pools.address(at: time, using: &rng) : rng.pick(overrides.addresses)
        let agent: String?
        if !overrides.userAgents.isEmpty {
            agent = rng.pick(overrides.userAgents)
        } else if key.kind == .mobile {
            // One app user keeps one device and app version.
            var device = SimRandom(seed: key.salt, streams: [AddressPools.hash(client)])
            agent = key.userAgents[device.weightedIndex(key.userAgentWeights)]
        } else {
            agent = key.userAgents[rng.weightedIndex(key.userAgentWeights)]
        }
        var outcome: Outcome
        if overrides.statuses.isEmpty {
            outcome = Outcome.normal(template, key: key, family: node.family, using: &rng)
        } else {
            let status = overrides.statuses[rng.weightedIndex(overrides.statusWeights)]
            outcome = Outcome.forced(
                status,
                template: template,
                family: node.family,
                rejected: status == 403 || status == 401,
                using: &rng
            )
        }
        var headerKey: String? = key.key
        if key.keyInQuery {
            target += (target.contains("?") ? "&" : "?") + (node == .kong1 ? "apikey=" : "api_key=") + key.key
            headerKey = nil
        }
        var requestBytes = 160 + target.utf8.count + (agent?.utf8.count ?? 0) + key.key.utf8.count
        if template.hasBody {
            requestBytes += Int(rng.logNormal(median: 420, sigma: 0.6))
        }
        return SimEvent(
            time: time,
            latency: Int32(outcome.latency),
            node: node,
            client: client,
            method: template.method,
            target: target,
            endpoint: template.label,
            service: Int16(template.service),
            status: Int16(outcome.status),
            bytes: Int32(outcome.bytes),
            requestBytes: Int32(requestBytes),
            http: rng.chance(key.http2Share) ? 20 : 11,
            userAgent: agent,
            referer: key.referer,
            remoteUser: nil,
            headerKey: headerKey,
            keyIndex: Int32(key.index),
            authenticated: true,
            rejectedByGateway: outcome.rejectedByGateway
        )
    }
}

/// Chooses client addresses for one key on one day.
///
/// Fixed sources pick among their addresses; carrier sources draw a per-day pool of user addresses
/// (IPv4 behind CGNAT and some IPv6) and pick from it with a skew towards busy users.
struct AddressPools {
    private let config: SimulationConfig
    private let key: KeyProfile
    private let day: Int
    private var pools: [Int: [ClientAddress]] = [:]

    /// Creates the pools for `key` on `day`.
    init(config: SimulationConfig, key: KeyProfile, day: Int) {
        self.config = config
        self.key = key
        self.day = day
    }

    /// An address for a request at `time`.
    mutating func address(at time: EpochMillis, using rng: inout SimRandom) -> ClientAddress {
        let active = key.sources.indices.filter { key.sources[$0].isActive(at: time) }
        let candidates = active.isEmpty ? [0] : active
        let sourceIndex = candidates[rng.weightedIndex(candidates.map { key.sources[$0].weight })]
        let source = key.sources[sourceIndex]
        if !source.addresses.isEmpty {
            return rng.pick(source.addresses)
        }
        let pool = self.pool(for: sourceIndex)
        return pool[Int(rng.exponential(mean: Double(pool.count) / 4)) % pool.count]
    }

    /// A stable 64-bit hash of an address.
    static func hash(_ address: ClientAddress) -> UInt64 {
        switch address {
        case .v4(let value): return SimRandom.mix(UInt64(value), [4])
        case .v6(let high, let low): return SimRandom.mix(high, [6, low])
        }
    }

    private mutating func pool(for sourceIndex: Int) -> [ClientAddress] {
        if let pool = pools[sourceIndex] {
            return pool
        }
        var rng = SimRandom(
            seed: config.seed,
            streams: [Stream.mobilePool, UInt64(key.index), UInt64(sourceIndex), UInt64(day)]
        )
        let source = key.sources[sourceIndex]
        let v4 = source.ranges.filter { !AddressPlan.ranges[$0].cidr.isIPv6 }
        let v6 = source.ranges.filter { AddressPlan.ranges[$0].cidr.isIPv6 }
        let size = min(600, max(12, Int(key.dailyVolume * config.scale / 3)))
        let pool = (0..<size).map { _ -> ClientAddress in
            let range = !v6.isEmpty && rng.chance(0.25) ? v6[0] : v4[rng.int(below: v4.count)]
            return AddressPlan.ranges[range].cidr.randomAddress(using: &rng)
        }
        pools[sourceIndex] = pool
        return pool
    }
}
