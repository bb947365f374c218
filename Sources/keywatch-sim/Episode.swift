/// The seven kinds of injected incident, as spelled in `labels.json`.
enum IncidentKind: String, CaseIterable, Sendable {
    case newCountry = "new_country"
    case newNetwork = "new_network"
    case rateSpike = "rate_spike"
    case quotaSpike = "quota_spike"
    case newEndpoint = "new_endpoint"
    case errorSpike = "error_spike"
    case dormantKey = "dormant_key"
}

/// Benign but tricky behaviour, as spelled in `labels.json`.
enum LegitKind: String, CaseIterable, Sendable {
    case mobileIPHopping = "mobile_ip_hopping"
    case cloudIPMove = "cloud_ip_move"
    case multiRegion = "multi_region"
    case growth = "growth"
    case officeHours = "office_hours"
    case nightlyBatch = "nightly_batch"
    case publicHoliday = "public_holiday"
    case dstChange = "dst_change"
    case newKey = "new_key"
    case apiRelease = "api_release"
    case outage = "outage_5xx"
    case poissonLowVolume = "poisson_low_volume"
    case sparseUsage = "sparse_usage"
    case roaming = "roaming"
    case invalidKey = "invalid_key"
}

/// Requests injected on top of a key's regular traffic.
struct Burst: Sendable {
    /// The key whose credentials the requests carry.
    var key: Int
    /// Number of requests.
    var count: Int
    /// Client addresses; empty means the key's usual sources.
    var addresses: [ClientAddress] = []
    /// User agents; empty means the key's usual ones.
    var userAgents: [String] = []
    /// Endpoints; empty means the key's usual ones.
    var endpoints: [EndpointTemplate] = []
    /// Forced statuses (with `statusWeights`); empty means the normal outcome model.
    var statuses: [Int] = []
    /// Relative weights of `statuses`.
    var statusWeights: [Double] = []
}

/// A response override applied to a key's regular requests inside an episode's window.
struct StatusOverride: Sendable {
    /// Statuses to draw from.
    var statuses: [Int]
    /// Relative weights of `statuses`.
    var weights: [Double]
    /// Kong: the request was rejected by a plugin and never reached the upstream.
    var rejectedByGateway: Bool
    /// Kong: a consumer was identified (false for an unknown or revoked key).
    var authenticated: Bool
}

/// One labelled episode: an incident or a legitimate behaviour, with what it does to the traffic.
struct Episode: Sendable {
    /// `inc-001` for incidents, `leg-001` for legitimate behaviour.
    var id: String = ""
    /// Kind string (an ``IncidentKind`` or ``LegitKind`` raw value).
    let kind: String
    /// Whether this is an incident (otherwise legitimate).
    let isIncident: Bool
    /// Affected keys; `nil` means every key.
    var keys: [Int]?
    /// Hints to list instead of `keys` (for keys outside the key set).
    var hintsOverride: [String]?
    /// Raw keys to list with `hintsOverride`.
    var rawKeysOverride: [String]?
    /// Start of the window (inclusive).
    var start: EpochMillis
    /// End of the window (exclusive).
    var end: EpochMillis
    /// Gateway family of the affected key, for incidents.
    var gateway: GatewayFamily?
    /// Label details known at planning time.
    var detail: [(String, JSONValue)] = []
    /// Injected requests.
    var burst: Burst?
    /// Multiplier on the key's regular rate inside the window.
    var volumeFactor: Double?
    /// Response override for regular requests inside the window.
    var statusOverride: StatusOverride?
    /// Whether the key's regular requests inside the window count towards the episode.
    var tagsRegularTraffic = false
    /// Whether the label reports request counts.
    var reportsRequests = false

    /// An id such as `inc-007`: a prefix and a number padded to three digits.
    static func id(_ prefix: String, _ number: Int) -> String {
        let digits = String(number)
        return prefix + "-" + String(repeating: "0", count: max(0, 3 - digits.count)) + digits
    }

    /// Whether `millis` falls in the window.
    func contains(_ millis: EpochMillis) -> Bool {
        millis >= start && millis < end
    }
}

/// What the writers observed for one episode.
struct EpisodeTally: Sendable {
    /// Requests tagged with the episode.
    var requests = 0
    /// First tagged request (completion time).
    var first: EpochMillis = .max
    /// Last tagged request.
    var last: EpochMillis = .min
    /// Tagged requests per status.
    var statuses: [Int: Int] = [:]

    /// Records one tagged request.
    mutating func record(time: EpochMillis, status: Int) {
        requests += 1
        first = min(first, time)
        last = max(last, time)
        statuses[status, default: 0] += 1
    }
}
