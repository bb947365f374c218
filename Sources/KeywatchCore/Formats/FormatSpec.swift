/// A field that a JSON mapping (`--field ROLE=PATH[:UNIT]`) can fill.
public enum FieldRole: String, Sendable, CaseIterable, Hashable {
    case time, ip, xff, method, path, query, endpoint, status, bytes, latency
    case userAgent = "user_agent"
    case key, authorization
    /// A whole request line, `GET /path?q HTTP/1.1`, split into method and target.
    case request
    /// A consumer or credential id, used as the identity only when no key is logged.
    case consumer
}

/// One `--field ROLE=PATH[:UNIT]` mapping: take `role` from the JSON value at dotted `path`.
public struct FieldMapping: Sendable, Hashable {
    /// The role the value fills.
    public var role: FieldRole
    /// Dotted path into the JSON object, e.g. `request.headers.x-api-key`; matched ignoring ASCII case.
    public var path: String
    /// Unit for `latency` and numeric `time` values; `nil` means the role's default (latency: ms, time: guessed).
    public var unit: TimeUnit?

    /// Creates a mapping.
    public init(role: FieldRole, path: String, unit: TimeUnit? = nil) {
        self.role = role
        self.path = path
        self.unit = unit
    }

    /// Parses the `ROLE=PATH[:UNIT]` form of `--field`.
    /// - Throws: ``FormatError/badFieldMapping(_:reason:)`` naming what was expected.
    public init(parsing text: String) throws(FormatError) {
        guard let eq = text.firstIndex(of: "=") else {
            throw .badFieldMapping(text, reason: "expected ROLE=PATH, e.g. key=request.headers.x-api-key")
        }
        let roleName = String(text[..<eq])
        guard let role = FieldRole(rawValue: roleName) else {
            let roles = FieldRole.allCases.map(\.rawValue).joined(separator: ", ")
            throw .badFieldMapping(text, reason: "unknown role '\(roleName)'; expected one of: \(roles)")
        }
        var path = String(text[text.index(after: eq)...])
        var unit: TimeUnit?
        if let colon = path.lastIndex(of: ":"), let u = TimeUnit(rawValue: String(path[path.index(after: colon)...])) {
            unit = u
            path = String(path[..<colon])
        }
        guard !path.isEmpty else { throw .badFieldMapping(text, reason: "the JSON path after '=' is empty") }
        self.init(role: role, path: path, unit: unit)
    }
}

/// Errors in format configuration: a bad `--log-format`, `--field` or `--format`.
public enum FormatError: Error, Hashable, CustomStringConvertible {
    /// A `--field` value that is not `ROLE=PATH[:UNIT]`.
    case badFieldMapping(String, reason: String)
    /// A `--log-format` string that cannot be used.
    case badLogFormat(String, reason: String)
    /// A `--format` name that keywatch does not know.
    case unknownFormat(String)
    /// Auto-detection found no known format in the first lines of `file`.
    case undetectable(file: String, sample: String)

    public var description: String {
        switch self {
        case .badFieldMapping(let text, let reason): "invalid --field '\(text)': \(reason)"
        case .badLogFormat(let text, let reason): "invalid --log-format '\(text)': \(reason)"
        case .unknownFormat(let name):
            "unknown --format '\(name)'; expected one of: \(FormatSpec.names.joined(separator: ", "))"
        case .undetectable(let file, let sample):
            "\(file): could not recognise the log format from its first lines (first line: \(sample)); "
                + "pass --format NAME, or --log-format '<your nginx log_format>'"
        }
    }
}

/// Options that every format honours.
public struct FormatOptions: Sendable, Hashable {
    /// `--field` mappings for JSON input; for the presets they add to or replace the preset's own.
    public var fieldMappings: [FieldMapping] = []
    /// `--key-field`: where the credential lives. A dotted JSON path for JSON input, a header name or
    /// nginx variable (`http_x_my_key`, `arg_token`) for text input. It outranks every built-in location.
    public var keyField: String?

    /// Creates options.
    public init(fieldMappings: [FieldMapping] = [], keyField: String? = nil) {
        self.fieldMappings = fieldMappings
        self.keyField = keyField
    }
}

/// Which log format an input is in: chosen with `--format`, `--log-format`, or detected from the first lines.
public enum FormatSpec: Sendable, Hashable, CustomStringConvertible {
    /// nginx/Apache combined or common log format, with any extra trailing fields.
    case combined
    /// An nginx `log_format` string given with `--log-format`.
    case nginx(String)
    /// Kong file-log / http-log JSON (also JSON-array batches).
    case kong
    /// AWS API Gateway JSON access logs.
    case awsAPIGateway
    /// Envoy's default text access log format.
    case envoy
    /// Envoy / Istio JSON access logs.
    case envoyJSON
    /// Traefik JSON access logs.
    case traefik
    /// AWS Application Load Balancer access logs.
    case alb
    /// Any other JSON lines, read through `--field` mappings and common field names.
    case json

    /// The names `--format` accepts.
    public static let names = [
        "combined", "nginx", "kong", "aws-apigw", "envoy", "envoy-json", "traefik", "alb", "json",
    ]

    /// The spec for a `--format` name; `nginx` needs `logFormat`.
    /// - Throws: ``FormatError/unknownFormat(_:)`` or ``FormatError/badLogFormat(_:reason:)``.
    public init(name: String, logFormat: String? = nil) throws(FormatError) {
        switch name.lowercased() {
        case "combined", "common", "apache", "clf": self = .combined
        case "nginx":
            guard let logFormat else {
                throw .badLogFormat("", reason: "--format nginx needs --log-format '<the log_format string>'")
            }
            self = .nginx(logFormat)
        case "kong": self = .kong
        case "aws-apigw", "apigw", "aws-api-gateway", "apigateway": self = .awsAPIGateway
        case "envoy": self = .envoy
        case "envoy-json", "istio": self = .envoyJSON
        case "traefik": self = .traefik
        case "alb", "aws-alb", "elb": self = .alb
        case "json": self = .json
        default: throw .unknownFormat(name)
        }
    }

    public var description: String {
        switch self {
        case .combined: "combined"
        case .nginx: "nginx"
        case .kong: "kong"
        case .awsAPIGateway: "aws-apigw"
        case .envoy: "envoy"
        case .envoyJSON: "envoy-json"
        case .traefik: "traefik"
        case .alb: "alb"
        case .json: "json"
        }
    }
}
