/// Status, size and timing of a response.
struct Outcome: Sendable {
    /// HTTP status.
    var status: Int
    /// Body bytes, or `-1` for `-`.
    var bytes: Int
    /// Total time in milliseconds.
    var latency: Int
    /// Kong: answered by a plugin without reaching the upstream.
    var rejectedByGateway: Bool

    /// Draws the normal outcome of a call.
    /// - Parameters:
    ///   - template: The endpoint.
    ///   - key: The calling key (its error rates and kind).
    ///   - family: Gateway family (error pages differ).
    ///   - rng: Randomness source.
    /// - Returns: The outcome.
    static func normal(
        _ template: EndpointTemplate,
        key: KeyProfile,
        family: GatewayFamily,
        using rng: inout SimRandom
    ) -> Outcome {
        let roll = rng.unit()
        let status: Int
        if roll < key.serverErrorRate {
            status = [500, 502, 503, 504][rng.weightedIndex([5, 2, 2, 1])]
        } else if roll < key.serverErrorRate + key.clientErrorRate {
            var choices: [(Int, Double)] = [(401, 0.6), (403, 0.5), (429, 0.8), (400, 0.5)]
            if template.hasIdentifier {
                choices.append((404, 5))
            }
            if template.hasBody {
                choices += [(400, 2), (422, 2), (409, 1)]
            }
            status = choices[rng.weightedIndex(choices.map(\.1))].0
        } else if key.kind == .mobile && rng.chance(0.002) {
            status = 499
        } else if key.kind == .mobile && template.method == "GET" && rng.chance(0.04) {
            status = 304
        } else {
            status = template.success
        }
        return forced(status, template: template, family: family, rejected: status == 429, using: &rng)
    }

    /// The outcome of a call whose status is already decided.
    /// - Parameters:
    ///   - status: The status.
    ///   - template: The endpoint.
    ///   - family: Gateway family.
    ///   - rejected: Whether a gateway plugin answered.
    ///   - rng: Randomness source.
    /// - Returns: The outcome.
    static func forced(
        _ status: Int,
        template: EndpointTemplate,
        family: GatewayFamily,
        rejected: Bool,
        using rng: inout SimRandom
    ) -> Outcome {
        let median = template.latencyMedian
        switch status {
        case 200, 201, 202:
            let bytes = max(2, Int(rng.logNormal(median: max(template.bytesMedian, 2), sigma: 0.45)))
            return Outcome(
                status: status,
                bytes: template.bytesMedian <= 2 ? 2 : bytes,
                latency: 1 + Int(rng.logNormal(median: median, sigma: 0.55)),
                rejectedByGateway: false
            )
        case 204, 304:
            return Outcome(
                status: status,
                bytes: 0,
                latency: 1 + Int(rng.logNormal(median: median * 0.6, sigma: 0.5)),
                rejectedByGateway: false
            )
        case 499:
            return Outcome(
                status: status,
                bytes: -1,
                latency: 1 + Int(rng.logNormal(median: median * 4, sigma: 0.8)),
                rejectedByGateway: false
            )
        case 500:
            return Outcome(
                status: status,
                bytes: 95,
                latency: 1 + Int(rng.logNormal(median: median * 1.5, sigma: 0.6)),
                rejectedByGateway: false
            )
        case 502, 503, 504:
            let pages = family == .nginx ? [502: 157, 503: 197, 504: 167] : [502: 74, 503: 58, 504: 51]
            let latency =
                status == 504
                ? 60_000 + rng.int(below: 40) : Int(rng.logNormal(median: status == 502 ? 4 : 2, sigma: 0.6))
            return Outcome(status: status, bytes: pages[status]!, latency: latency, rejectedByGateway: false)
        default:
            let latency = rejected ? rng.int(in: 0...3) : 2 + Int(rng.logNormal(median: 10, sigma: 0.5))
            return Outcome(
                status: status,
                bytes: Int(rng.logNormal(median: 96, sigma: 0.25)),
                latency: latency,
                rejectedByGateway: rejected
            )
        }
    }
}
