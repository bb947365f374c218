/// Gateway nodes in output order.
enum Node: UInt8, CaseIterable, Sendable {
    /// First nginx node (logs in UTC).
    case gw1 = 0
    /// Second nginx node (logs in +0100).
    case gw2 = 1
    /// The Kong node (logs epoch milliseconds).
    case kong1 = 2

    /// Gateway family of the node.
    var family: GatewayFamily {
        self == .kong1 ? .kong : .nginx
    }
}

/// One simulated request as seen by a gateway, before formatting.
struct SimEvent: Sendable {
    /// Completion time (when the gateway writes the line).
    var time: EpochMillis
    /// Total request time in milliseconds.
    var latency: Int32
    /// Tie-breaker that makes the sort order total and deterministic.
    var seq: Int32 = 0
    /// Node that served the request.
    var node: Node
    /// Client address.
    var client: ClientAddress
    /// HTTP method.
    var method: String
    /// Path with query, as sent (including `api_key`/`apikey` when the key travels in the query).
    var target: String
    /// Endpoint label (`GET /v1/orders/{id}`) for keyed requests; empty otherwise.
    var endpoint = ""
    /// Kong service index into ``APICatalogue/services``.
    var service: Int16
    /// Response status.
    var status: Int16
    /// Response body bytes; `-1` is logged as `-`.
    var bytes: Int32
    /// Request size in bytes (Kong `request.size`).
    var requestBytes: Int32
    /// HTTP version times ten (10, 11, 20).
    var http: UInt8
    /// `User-Agent`, if any.
    var userAgent: String?
    /// `Referer`, if any.
    var referer: String?
    /// Basic-auth user, if any.
    var remoteUser: String?
    /// Key sent in the `X-API-Key` (nginx) or `apikey` (Kong) header, if any.
    var headerKey: String?
    /// Index of the key the request authenticates as; `-1` when none.
    var keyIndex: Int32 = -1
    /// Kong: whether a consumer was identified.
    var authenticated = false
    /// Kong: whether a plugin answered without calling the upstream.
    var rejectedByGateway = false
    /// Whether the request is proxied upstream (so an upstream outage affects it).
    var proxied = true
    /// Whether this is part of the key's regular traffic (not injected by an episode).
    var regular = false
    /// Episode index the request counts towards; `-1` when none.
    var tag: Int32 = -1

    /// Path without the query string.
    var path: Substring {
        target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)[0]
    }
}
