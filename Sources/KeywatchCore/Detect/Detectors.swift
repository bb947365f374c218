import Foundation

/// What every detector needs to know about the triggering request.
struct AlertContext {
    var slot: Int
    var time: Int64
    var sourceRef: SourceRef
    var fixedSource: String?
    var status: UInt16
}

/// What the dormancy detector needs of a key's baseline as it was before the waking request (a few
/// numbers, not a copy of the whole baseline).
struct DormancyFacts {
    var firstSeen: Int64
    var lastSeen: Int64
    var longestGap: Int64
    var requests: Int64

    init(_ baseline: KeyBaseline) {
        firstSeen = baseline.firstSeen
        lastSeen = baseline.lastSeen
        longestGap = baseline.longestGap
        requests = baseline.requests
    }
}

/// A key's quota reference, recomputed once per hour: mean, spread and busiest of its past days.
struct QuotaReference {
    var hour: Int32 = -1
    var days = 0
    var mean = 0.0
    var max: UInt32 = 0
    var threshold: UInt32 = .max
}

/// Remembers when spikes began across all keys. When many keys spike together the cause is the
/// gateway or a shared client (an auth backend answering 401 to everyone, a retry storm after an
/// outage), not a leaked key, and the alerts say so at low severity.
struct CrowdTracker {
    /// Keys that may spike together before it counts as a crowd.
    static let crowdSize = 5
    static let window: Int64 = 15 * 60_000
    private var starts: [AlertKind: [(time: Int64, slot: Int)]] = [:]

    init() {}

    /// Records that `slot` started a spike of `kind` at `time` and returns how many other keys
    /// started one within the window before it.
    mutating func record(_ kind: AlertKind, time: Int64, slot: Int) -> Int {
        var list = starts[kind, default: []]
        list.removeAll { time - $0.time > Self.window }
        if !list.contains(where: { $0.slot == slot }) { list.append((time, slot)) }
        starts[kind] = list
        return list.count - 1
    }

    /// The starts within the window before `now`, one per line: `kind time_ms key_id`.
    func encoded(now: Int64, keyID: (Int) -> String) -> String {
        var lines: [String] = []
        for kind in AlertKind.allCases {
            for start in starts[kind] ?? [] where now == .min || now - start.time <= Self.window {
                lines.append("\(kind.rawValue) \(start.time) \(keyID(start.slot))")
            }
        }
        return lines.joined(separator: "\n")
    }

    /// Reads ``encoded(now:keyID:)``; lines that do not parse or name an unknown key are skipped.
    init(decoding text: String, slot: (String) -> Int?) {
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count == 3, let kind = AlertKind(rawValue: String(fields[0])), let time = Int64(fields[1]),
                let slot = slot(String(fields[2]))
            else { continue }
            starts[kind, default: []].append((time, slot))
        }
    }
}

extension DetectionEngine {
    // MARK: Raising

    /// Raises an alert unless an episode of the same kind and value is open with an equal or higher
    /// severity; an open episode with a lower severity escalates.
    mutating func raise(
        _ state: inout KeyState, _ kind: AlertKind, value: UInt64, valueText: String, score rawScore: Int,
        summary: String, evidence: [(String, EvidenceValue)], context: AlertContext, into alerts: inout [Alert]
    ) {
        let score = max(1, min(99, rawScore))
        // Below this a finding is learned silently: a key's first call of an endpoint most keys use.
        guard score >= settings.minimumScore else { return }
        let severity = Severity(score: score)
        var start = context.time
        if let i = state.episode(kind, value) {
            state.episodes[i].last = context.time
            guard severity > state.episodes[i].alerted else { return }
            state.episodes[i].alerted = severity
            state.episodes[i].score = UInt8(score)
            start = state.episodes[i].start
        } else {
            state.open(
                Episode(
                    kind: kind, value: value, start: context.time, last: context.time, requests: 1,
                    alerted: severity, score: UInt8(score)
                )
            )
        }
        let key = identity(at: context.slot)
        let alert = Alert(
            id: Alert.makeID(keyID: key.id, kind: kind, value: valueText, severity: severity, episodeStart: start),
            time: context.time, kind: kind, severity: severity, score: score, keyID: key.id, keyHint: key.hint,
            value: valueText, summary: "key \(key.hint) " + summary, evidence: evidence,
            source: sourceText(context)
        )
        alertCounts[kind, default: [:]][severity, default: 0] += 1
        alerts.append(alert)
    }

    func sourceText(_ context: AlertContext) -> String {
        if let fixed = context.fixedSource { return fixed }
        let input = Int(context.sourceRef.input)
        let name = input >= 0 && input < inputNames.count ? inputNames[input] : "input \(input)"
        return "\(name):\(context.sourceRef.line)"
    }

    // MARK: Dormancy

    mutating func dormant(
        _ state: inout KeyState, before: DormancyFacts, context: AlertContext, into alerts: inout [Alert]
    ) {
        let gap = context.time - before.lastSeen
        let longest = before.longestGap
        var score = 35
        if Double(gap) >= 1.5 * Double(settings.dormancyMillis) { score += 15 }
        if gap >= 3 * max(longest, 3_600_000) { score += 5 }
        let days = Double(gap) / 86_400_000
        raise(
            &state, .dormantKey, value: 0, valueText: "return", score: score,
            summary: "used again after \(fmt(days)) days of silence (last seen \(Timestamps.rfc3339(before.lastSeen)); "
                + "longest silence before: \(fmt(Double(longest) / 86_400_000)) days)",
            evidence: [
                ("silent_days", .number(days)),
                ("last_seen", .text(Timestamps.rfc3339(before.lastSeen))),
                ("longest_silence_before_days", .number(Double(longest) / 86_400_000)),
                ("dormancy_days", .number(Double(settings.dormancyMillis) / 86_400_000)),
                ("requests_before", .int(before.requests)),
                ("first_seen", .text(Timestamps.rfc3339(before.firstSeen))),
            ],
            context: context, into: &alerts
        )
    }

    // MARK: Novelty

    mutating func novelty(
        _ state: inout KeyState, values: GeoValues, geo resolved: GeoInfo?, client: IPAddress?, endpointHash: UInt64,
        sensitive: Bool, context: AlertContext, into alerts: inout [Alert]
    ) {
        // The value if the key's (non-empty) table lacks it. Most requests of a mature key bring
        // nothing new: that is decided here, without copying the baseline.
        func new(_ table: ValueStats, _ value: UInt64?) -> UInt64? {
            guard let value, table.count > 0, !table.contains(value) else { return nil }
            return value
        }
        let newCountry = new(state.baseline.countries, values.country)
        let newASN = new(state.baseline.asns, values.asn)
        let newNetwork = values.asn == nil ? new(state.baseline.networks, values.network) : nil
        let newEndpoint = !state.baseline.endpoints.contains(endpointHash)
        guard newCountry != nil || newASN != nil || newNetwork != nil || newEndpoint else { return }
        // Without geographic data the engine resolves nothing per request: the client's fallback
        // network is described only now, for an alert.
        let geo = resolved ?? client.map(GeoResolver.fallback)
        let b = state.baseline
        let concentrated = b.networks.count <= 8 && b.distinctAddresses <= 32
        let place = geo.map(describe) ?? "?"
        if let country = newCountry {
            let code = countryText(country)
            let seen = b.countries.entries.sorted { $0.count > $1.count }
            raise(
                &state, .newCountry, value: country, valueText: code, score: concentrated ? 60 : 30,
                summary: "used from \(code) (\(place)) for the first time; seen before: "
                    + seen.prefix(6).map { countryText($0.value) }.joined(separator: ", "),
                evidence: [
                    ("country", .text(code)), ("asn", geo?.asn.map { .int(Int64($0)) } ?? .null),
                    ("org", geo?.organization.map(EvidenceValue.text) ?? .null),
                    ("network", geo?.network.map { .text($0.description) } ?? .null),
                    ("seen_countries", .counts(seen.map { (countryText($0.value), Int64($0.count)) })),
                    ("key_networks", .int(Int64(b.networks.count))),
                    ("key_addresses", .int(Int64(b.distinctAddresses))),
                    ("key_requests", .int(b.requests)),
                ],
                context: context, into: &alerts
            )
        } else if let asn = newASN {
            let seen = b.asns.entries.sorted { $0.count > $1.count }
            raise(
                &state, .newNetwork, value: asn, valueText: "AS\(asn)", score: concentrated ? 55 : 25,
                summary: "used from AS\(asn) (\(place)) for the first time; seen before: "
                    + seen.prefix(6).map { "AS\($0.value)" }.joined(separator: ", "),
                evidence: [
                    ("asn", .int(Int64(asn))), ("org", geo?.organization.map(EvidenceValue.text) ?? .null),
                    ("country", geo?.country.map { .text($0.description) } ?? .null),
                    ("network", geo?.network.map { .text($0.description) } ?? .null),
                    ("seen_asns", .counts(seen.map { ("AS\($0.value)", Int64($0.count)) })),
                    ("key_networks", .int(Int64(b.networks.count))),
                    ("key_requests", .int(b.requests)),
                ],
                context: context, into: &alerts
            )
        } else if concentrated, let network = newNetwork, let cidr = geo?.network {
            // Without ASN data a new /24 is weak evidence (clouds and carriers move addresses): low only.
            raise(
                &state, .newNetwork, value: network, valueText: cidr.description, score: 30,
                summary: "used from network \(cidr) for the first time (no ASN data; \(b.networks.count) networks seen before)",
                evidence: [
                    ("network", .text(cidr.description)),
                    ("key_networks", .int(Int64(b.networks.count))),
                    ("key_requests", .int(b.requests)),
                ],
                context: context, into: &alerts
            )
        }
        if newEndpoint {
            let users = population[endpointHash]?.keys ?? 0
            let common = users >= max(5, UInt32(keyCount / 50))
            var score = 25
            if sensitive { score += 35 }
            if users == 0 { score += 15 } else if users <= 2 { score += 5 }
            if common { score -= 10 }
            let text = endpointName(endpointHash)
            let who = users == 0 ? "no other key has called it" : "\(users) other key\(users == 1 ? " calls" : "s call") it"
            raise(
                &state, .newEndpoint, value: endpointHash, valueText: text, score: score,
                summary: "called \(text) for the first time (\(sensitive ? "sensitive path; " : "")\(who); "
                    + "\(b.endpoints.count) endpoints known)",
                evidence: [
                    ("endpoint", .text(text)), ("sensitive", .text(sensitive ? "yes" : "no")),
                    ("keys_using_endpoint", .int(Int64(users))),
                    ("key_endpoints", .int(Int64(b.endpoints.count))),
                    ("status", .int(Int64(context.status))),
                    ("key_requests", .int(b.requests)),
                ],
                context: context, into: &alerts
            )
        }
    }

    /// Counts requests that continue an open novelty or dormancy episode and escalates it once
    /// ``DetectionSettings/escalationRequests`` of them arrive within the escalation window.
    mutating func continueEpisodes(
        _ state: inout KeyState, values: GeoValues, endpointHash: UInt64, context: AlertContext,
        into alerts: inout [Alert]
    ) {
        for i in state.episodes.indices {
            let e = state.episodes[i]
            let matches: Bool
            switch e.kind {
            case .newCountry: matches = values.country == e.value
            case .newNetwork: matches = values.asn == e.value || (values.asn == nil && values.network == e.value)
            case .newEndpoint: matches = endpointHash == e.value
            case .dormantKey: matches = true
            default: matches = false
            }
            guard matches, context.time != e.start else { continue }
            state.episodes[i].requests &+= 1
            state.episodes[i].last = context.time
            let n = state.episodes[i].requests
            let elapsed = context.time - e.start
            guard n == settings.escalationRequests, elapsed <= settings.escalationWindowMillis else { continue }
            // Network-only novelty (no ASN data) stays low: address churn inside clouds is normal.
            if e.kind == .newNetwork && values.asn == nil { continue }
            let minutes = Double(elapsed) / 60_000
            let base = Int(e.score)
            let text = valueText(of: e)
            raise(
                &state, e.kind, value: e.value, valueText: text, score: base + 25,
                summary: escalationSummary(e, text: text, requests: n, minutes: minutes),
                evidence: [
                    ("value", .text(text)), ("requests_since_first", .int(Int64(n))),
                    ("minutes_since_first", .number(minutes)),
                    ("first_request", .text(Timestamps.rfc3339(e.start))),
                    ("first_alert_severity", .text(e.alerted.rawValue)),
                ],
                context: context, into: &alerts
            )
        }
    }

    private func escalationSummary(_ e: Episode, text: String, requests: UInt32, minutes: Double) -> String {
        switch e.kind {
        case .dormantKey:
            "woke up after its dormancy and made \(requests) requests in \(fmt(minutes)) min"
        case .newEndpoint:
            "called \(text), which it never used before, \(requests) times in \(fmt(minutes)) min"
        default:
            "made \(requests) requests in \(fmt(minutes)) min from \(text), which it never used before"
        }
    }

    private func valueText(of e: Episode) -> String {
        switch e.kind {
        case .newCountry: countryText(e.value)
        case .newNetwork: "AS\(e.value)"
        case .newEndpoint: endpointName(e.value)
        default: e.kind.rawValue
        }
    }

    // MARK: Volume

    /// Other keys whose spike of `kind` began within the crowd window; counts this key's start once.
    private mutating func crowdSize(_ kind: AlertKind, state: KeyState, context: AlertContext) -> Int {
        if let open = state.episode(kind, 0) {
            // A continuing episode keeps the crowd size it started with.
            return crowd.record(kind, time: state.episodes[open].start, slot: context.slot)
        }
        return crowd.record(kind, time: context.time, slot: context.slot)
    }

    mutating func rate(_ state: inout KeyState, context: AlertContext, into alerts: inout [Alert]) {
        guard state.baseline.daysLearned >= 3 else { return }
        let h = Int(state.baseline.hourHead) % 24
        let factor = settings.rateFactor
        let (window10, window30) = (state.baseline.window10, state.baseline.window30)
        let over10 = window10 >= settings.rateMinimum && Float(window10) > factor * state.baseline.peak10[h]
        let over30 = Float(window30) >= 1.5 * Float(settings.rateMinimum)
            && Float(window30) > factor * state.baseline.peak30[h]
        guard over10 || over30 else { return }
        let b = state.baseline
        let hours = [(h + 23) % 24, h, (h + 1) % 24]
        let ref10 = hours.map { b.peak10[$0] }.max()!
        let ref30 = hours.map { b.peak30[$0] }.max()!
        let perHour = max(hours.map { b.hourMean[$0] }.max()!, 0.2)
        // Which window is more extreme against its own reference.
        let ratio10 = Double(b.window10) / Double(max(ref10, perHour / 6, 1))
        let ratio30 = Double(b.window30) / Double(max(ref30, perHour / 2, 1))
        let use10 = ratio10 >= ratio30
        let observed = use10 ? b.window10 : b.window30
        let ref = use10 ? ref10 : ref30
        let expected = Double(perHour) / (use10 ? 6 : 2)
        let ratio = use10 ? ratio10 : ratio30
        guard Float(observed) > factor * ref, Float(observed) >= (use10 ? 1 : 1.5) * Float(settings.rateMinimum),
            poissonTail(Int(observed), mean: 2 * expected) < 1e-6
        else { return }
        let window = use10 ? 10 : 30
        var score = max(45, Int(50 + 15 * log2(ratio / Double(factor))))
        let together = crowdSize(.rateSpike, state: state, context: context)
        if together >= CrowdTracker.crowdSize { score = 30 }
        raise(
            &state, .rateSpike, value: 0, valueText: "rate", score: score,
            summary: "made \(observed) requests in \(window) min; its busiest \(window) min at this hour was "
                + "\(fmt(Double(ref))) (typical \(fmt(expected)))",
            evidence: [
                ("window_minutes", .int(Int64(window))), ("requests", .int(Int64(observed))),
                ("busiest_before", .number(Double(ref))), ("typical", .number(expected)),
                ("ratio", .number(ratio)), ("hour_utc", .int(Int64(h))),
                ("days_learned", .int(Int64(b.daysLearned))),
                ("other_keys_spiking", .int(Int64(together))),
            ],
            context: context, into: &alerts
        )
    }

    mutating func quota(_ state: inout KeyState, context: AlertContext, into alerts: inout [Alert]) {
        let rolling = state.baseline.rolling24
        guard rolling >= settings.quotaMinimum else { return }
        let b = state.baseline
        if quotaCache.count < keyCount {
            quotaCache.append(contentsOf: repeatElement(QuotaReference(), count: keyCount - quotaCache.count))
        }
        if quotaCache[context.slot].hour != b.hourHead {
            quotaCache[context.slot] = quotaReference(b)
        }
        let ref = quotaCache[context.slot]
        guard ref.days >= settings.quotaMinimumDays, rolling >= ref.threshold else { return }
        let ratio = Double(rolling) / max(ref.mean, 1)
        let score = Int(50 + 15 * log2(Double(rolling) / Double(ref.threshold)) + (ratio >= 6 ? 10 : 0))
        raise(
            &state, .quotaSpike, value: 0, valueText: "day", score: max(45, score),
            summary: "made \(rolling) requests in 24 h; its daily volume is \(fmt(ref.mean)) on average "
                + "(busiest day \(ref.max), \(ref.days) days of history)",
            evidence: [
                ("window_hours", .int(24)), ("requests", .int(Int64(rolling))),
                ("daily_mean", .number(ref.mean)), ("daily_max", .int(Int64(ref.max))),
                ("threshold", .int(Int64(ref.threshold))), ("ratio_to_mean", .number(ratio)),
                ("days_of_history", .int(Int64(ref.days))),
            ],
            context: context, into: &alerts
        )
    }

    private func quotaReference(_ b: KeyBaseline) -> QuotaReference {
        let days = b.pastDays(limit: 14)
        var ref = QuotaReference(hour: b.hourHead, days: days.count)
        guard !days.isEmpty else { return ref }
        let mean = Double(days.reduce(0, +)) / Double(days.count)
        let variance = days.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / Double(days.count)
        let busiest = days.max()!
        ref.mean = mean
        ref.max = busiest
        let limit = max(
            Double(settings.quotaMinimum), settings.quotaFactor * mean, mean + 6 * variance.squareRoot(),
            1.5 * Double(busiest)
        )
        ref.threshold = UInt32(min(limit.rounded(.up), Double(UInt32.max)))
        return ref
    }

    mutating func authFailures(_ state: inout KeyState, context: AlertContext, into alerts: inout [Alert]) {
        guard state.baseline.authWindow10 >= settings.errorMinimum else { return }
        let b = state.baseline
        let share = Double(b.authWindow10) / Double(max(b.window10, 1))
        let usual = Double(b.authFailures) / Double(max(b.requests, 1))
        let expected = usual * Double(b.window10)
        guard share >= settings.errorShare, Double(b.authWindow10) >= 4 * expected + 4 else { return }
        var score = 55
        if share >= 0.9 { score += 10 }
        if b.authWindow10 >= 3 * settings.errorMinimum { score += 10 }
        let together = crowdSize(.errorSpike, state: state, context: context)
        if together >= CrowdTracker.crowdSize { score = 30 }
        raise(
            &state, .errorSpike, value: 0, valueText: "auth", score: score,
            summary: "failed authentication \(b.authWindow10) times in 10 min (\(Int((share * 100).rounded()))% of "
                + "its requests, last status \(context.status)); usually \(fmt(usual * 100))% fail",
            evidence: [
                ("window_minutes", .int(10)), ("auth_failures", .int(Int64(b.authWindow10))),
                ("requests", .int(Int64(b.window10))), ("share", .number(share)),
                ("usual_failure_rate", .number(usual)), ("last_status", .int(Int64(context.status))),
                ("other_keys_failing", .int(Int64(together))),
            ],
            context: context, into: &alerts
        )
    }

    // MARK: Text

    func describe(_ geo: GeoInfo) -> String {
        var parts: [String] = []
        if let asn = geo.asn {
            parts.append(geo.organization.map { "AS\(asn) \($0)" } ?? "AS\(asn)")
        } else if let org = geo.organization {
            parts.append(org)
        }
        if let country = geo.country { parts.append(country.description) }
        if parts.isEmpty, let network = geo.network { parts.append(network.description) }
        return parts.joined(separator: ", ")
    }

    func countryText(_ value: UInt64) -> String {
        CountryCode(rawValue: UInt16(truncatingIfNeeded: value))?.description ?? "??"
    }
}

/// `P(X >= n)` for a Poisson variable with the given mean.
func poissonTail(_ n: Int, mean: Double) -> Double {
    if n <= 0 { return 1 }
    let mu = max(mean, 1e-9)
    // Sum the pmf from n upward in log space until terms vanish.
    var logTerm = Double(n) * log(mu) - mu - logFactorial(n)
    var total = 0.0
    var k = n
    while k < n + 2_000 {
        let term = exp(logTerm)
        total += term
        if term < total * 1e-12 { break }
        k += 1
        logTerm += log(mu) - log(Double(k))
    }
    return min(1, total)
}

private func logFactorial(_ n: Int) -> Double {
    if n < 2 { return 0 }
    if n < 32 {
        var s = 0.0
        for i in 2...n { s += log(Double(i)) }
        return s
    }
    let x = Double(n)
    return x * log(x) - x + 0.5 * log(2 * Double.pi * x) + 1 / (12 * x)
}

func fmt(_ value: Double) -> String {
    if value >= 100 { return String(Int(value.rounded())) }
    let scaled = (value * 10).rounded() / 10
    return scaled == scaled.rounded() ? String(Int(scaled)) : String(scaled)
}
