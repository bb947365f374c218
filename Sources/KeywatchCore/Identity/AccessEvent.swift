/// HTTP request methods, as one byte.
public enum HTTPMethod: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    case none, get, post, put, patch, delete, head, options, connect, trace, other

    /// Reads a method name; unknown tokens are ``other`` and an empty or `-` one is ``none``.
    @inlinable
    public init(_ v: ByteView) {
        if v.count == 3 && v[0] == UInt8(ascii: "G") && v[1] == UInt8(ascii: "E") && v[2] == UInt8(ascii: "T") {
            self = .get
            return
        }
        if v.isMissing {
            self = .none
            return
        }
        switch v.count {
        case 3:
            if v.equalsIgnoringCase("GET") {
                self = .get
            } else if v.equalsIgnoringCase("PUT") {
                self = .put
            } else {
                self = .other
            }
        case 4:
            if v.equalsIgnoringCase("POST") {
                self = .post
            } else if v.equalsIgnoringCase("HEAD") {
                self = .head
            } else {
                self = .other
            }
        case 5:
            if v.equalsIgnoringCase("PATCH") {
                self = .patch
            } else if v.equalsIgnoringCase("TRACE") {
                self = .trace
            } else {
                self = .other
            }
        case 6: self = v.equalsIgnoringCase("DELETE") ? .delete : .other
        case 7:
            if v.equalsIgnoringCase("OPTIONS") {
                self = .options
            } else if v.equalsIgnoringCase("CONNECT") {
                self = .connect
            } else {
                self = .other
            }
        default: self = .other
        }
    }

    public var description: String {
        switch self {
        case .none: "-"
        case .get: "GET"
        case .post: "POST"
        case .put: "PUT"
        case .patch: "PATCH"
        case .delete: "DELETE"
        case .head: "HEAD"
        case .options: "OPTIONS"
        case .connect: "CONNECT"
        case .trace: "TRACE"
        case .other: "OTHER"
        }
    }
}

/// An interned endpoint template; index into the normaliser's endpoint table.
public typealias EndpointID = Int32

/// Where an event came from: an input (index into the run's input list) and a 1-based line number.
public struct SourceRef: Sendable, Hashable {
    /// Index of the input in the run.
    public var input: Int32
    /// 1-based line number in the (decompressed) input.
    public var line: Int64

    /// Creates a reference.
    public init(input: Int32, line: Int64) {
        self.input = input
        self.line = line
    }
}

/// One request, normalised: what every later stage (enrich, baseline, detect) works on.
///
/// It is a small value with no strings: the key and endpoint are handles into the normaliser's
/// tables, so millions of events cost no allocations.
public struct AccessEvent: Sendable {
    /// Event time, milliseconds since the Unix epoch, UTC.
    public var time: Int64
    /// The client address after X-Forwarded-For resolution; `nil` when the line had none.
    public var client: IPAddress?
    /// The key, or `nil` for an unauthenticated request.
    public var key: KeyHandle?
    /// HTTP method.
    public var method: HTTPMethod
    /// Endpoint template.
    public var endpoint: EndpointID
    /// HTTP status, 0 when missing.
    public var status: UInt16
    /// Response bytes, -1 when missing.
    public var bytes: Int64
    /// Latency in milliseconds, NaN when missing.
    public var latencyMillis: Float
    /// A hash of the user agent (0 when missing), enough to tell agents apart.
    public var userAgentHash: UInt64
    /// Where the event came from.
    public var source: SourceRef
}
