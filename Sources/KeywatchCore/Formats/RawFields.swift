/// Where a credential was found in a log record; decides which candidate wins when several exist.
public enum KeySource: UInt8, Sendable, Comparable, CustomStringConvertible {
    /// No credential.
    case none = 0
    /// A gateway consumer or credential id (Kong), used only when no key is logged.
    case consumer
    /// AWS API Gateway `apiKeyId`.
    case awsKeyID
    /// A query parameter such as `api_key`.
    case query
    /// `Authorization: Bearer …`.
    case bearer
    /// AWS API Gateway `apiKey`.
    case awsKey
    /// A header such as `x-api-key` or `apikey`.
    case header
    /// A field named by the user with `--key-field`.
    case explicit

    public static func < (lhs: KeySource, rhs: KeySource) -> Bool { lhs.rawValue < rhs.rawValue }

    public var description: String {
        switch self {
        case .none: "none"
        case .consumer: "consumer"
        case .awsKeyID: "aws_api_key_id"
        case .query: "query"
        case .bearer: "bearer"
        case .awsKey: "aws_api_key"
        case .header: "header"
        case .explicit: "field"
        }
    }
}

/// The fields a ``LogFormat`` pulls out of one line, as borrowed bytes.
///
/// Every view is valid only during the callback that receives the fields. Formats fill what
/// their line carries and leave the rest empty; the ``EventNormalizer`` turns the result into
/// an ``AccessEvent``.
public struct RawFields {
    /// Event time in milliseconds since the Unix epoch, UTC; `nil` if the line had none or it did not parse.
    public var timeMillis: Int64?
    /// The connecting peer (`$remote_addr`, Kong `client_ip`), possibly with a port.
    public var remoteAddress = ByteView.empty
    /// An X-Forwarded-For list, nearest proxy last.
    public var forwardedFor = ByteView.empty
    /// HTTP method.
    public var method = ByteView.empty
    /// Request target: path and optional query, or an absolute URL.
    public var target = ByteView.empty
    /// The query string alone (without `?`) when the format logs it apart from the path.
    public var query = ByteView.empty
    /// An endpoint template the gateway already resolved (AWS `resourcePath`, `routeKey`).
    public var gatewayEndpoint = ByteView.empty
    /// HTTP status, or 0 when missing.
    public var status: Int = 0
    /// Response body bytes; `nil` for `-` or missing.
    public var bytes: Int64?
    /// Request latency in milliseconds; `nil` when missing.
    public var latencyMillis: Double?
    /// User agent.
    public var userAgent = ByteView.empty
    /// The best credential candidate so far and where it came from.
    public var key = ByteView.empty
    /// Where ``key`` came from.
    public var keySource = KeySource.none
    /// A raw `Authorization` header value, from which a bearer token may be taken.
    public var authorization = ByteView.empty

    /// Creates empty fields.
    public init() {}

    /// Clears every field for the next line.
    @inlinable
    public mutating func reset() {
        self = RawFields()
    }

    /// Offers a credential candidate; it replaces the current one only if `source` ranks higher.
    @inlinable
    public mutating func offerKey(_ value: ByteView, from source: KeySource) {
        if source > keySource && !value.isMissing {
            key = value
            keySource = source
        }
    }
}
