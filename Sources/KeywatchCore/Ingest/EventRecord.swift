/// An event as people read it: what `keywatch parse` prints, one JSON object per line.
///
/// Built only for output; the hot path works on ``AccessEvent``. The path has its query values
/// redacted, and the key appears only as its id and masked hint.
public struct EventRecord: Sendable, Hashable, Codable {
    /// RFC 3339 UTC time with milliseconds.
    public var time: String
    /// Client address.
    public var ip: String?
    /// Key id, or `nil` when the request carried no credential.
    public var keyID: String?
    /// Masked hint of the key.
    public var keyHint: String?
    /// Where the credential was found (`header`, `query`, `bearer`, …).
    public var keySource: String?
    /// HTTP method.
    public var method: String
    /// Request path with query values redacted.
    public var path: String
    /// Endpoint template.
    public var endpoint: String
    /// HTTP status (0 when missing).
    public var status: Int
    /// Response bytes, `nil` when missing.
    public var bytes: Int64?
    /// Latency in milliseconds, `nil` when missing.
    public var latencyMillis: Double?
    /// User agent.
    public var userAgent: String?
    /// `file:line`.
    public var source: String

    enum CodingKeys: String, CodingKey {
        case time, ip
        case keyID = "key_id"
        case keyHint = "key_hint"
        case keySource = "key_source"
        case method, path, endpoint, status, bytes
        case latencyMillis = "latency_ms"
        case userAgent = "user_agent"
        case source
    }

    /// Builds a record from its values.
    init(
        time: String,
        ip: String?,
        keyID: String?,
        keyHint: String?,
        keySource: String?,
        method: String,
        path: String,
        endpoint: String,
        status: Int,
        bytes: Int64?,
        latencyMillis: Double?,
        userAgent: String?,
        source: String
    ) {
        self.time = time
        self.ip = ip
        self.keyID = keyID
        self.keyHint = keyHint
        self.keySource = keySource
        self.method = method
        self.path = path
        self.endpoint = endpoint
        self.status = status
        self.bytes = bytes
        self.latencyMillis = latencyMillis
        self.userAgent = userAgent
        self.source = source
    }

    /// Builds the record for an event and the fields it came from.
    init(event: AccessEvent, fields: RawFields, normalizer: EventNormalizer, inputName: String) {
        time = Timestamps.rfc3339(event.time)
        ip = event.client?.description
        if let key = event.key {
            let identity = normalizer.keys[key]
            keyID = identity.id
            keyHint = identity.hint
            // Where this line carried the key (the normaliser wrote its choice back into the
            // fields), not where the key was first seen.
            keySource = (fields.keySource == .none ? identity.source : fields.keySource).description
        }
        method = fields.method.isMissing ? "-" : fields.method.string
        path = Redactor.target(fields.target)
        if !fields.query.isMissing && fields.target.firstIndex(of: UInt8(ascii: "?")) == nil {
            path += "?" + Redactor.query(fields.query)
        }
        endpoint = normalizer.endpointName(event.endpoint)
        status = Int(event.status)
        bytes = event.bytes >= 0 ? event.bytes : nil
        latencyMillis = event.latencyMillis.isNaN ? nil : (Double(event.latencyMillis) * 1000).rounded() / 1000
        userAgent = fields.userAgent.isMissing ? nil : fields.userAgent.string
        source = "\(inputName):\(event.source.line)"
    }

    /// The record as one line of JSON (no trailing newline), with keys in a fixed order.
    public var jsonLine: String {
        var out = "{\"time\":\"\(time)\",\"ip\":"
        out += ip.map { JSONText.quoted($0) } ?? "null"
        out += ",\"key_id\":" + (keyID.map { JSONText.quoted($0) } ?? "null")
        out += ",\"key_hint\":" + (keyHint.map { JSONText.quoted($0) } ?? "null")
        out += ",\"key_source\":" + (keySource.map { JSONText.quoted($0) } ?? "null")
        out += ",\"method\":" + JSONText.quoted(method)
        out += ",\"path\":" + JSONText.quoted(path)
        out += ",\"endpoint\":" + JSONText.quoted(endpoint)
        out += ",\"status\":\(status)"
        out += ",\"bytes\":" + (bytes.map { String($0) } ?? "null")
        out += ",\"latency_ms\":" + (latencyMillis.map { JSONText.number($0) } ?? "null")
        out += ",\"user_agent\":" + (userAgent.map { JSONText.quoted($0) } ?? "null")
        out += ",\"source\":" + JSONText.quoted(source) + "}"
        return out
    }
}

/// Minimal JSON text helpers for output.
public enum JSONText {
    /// `s` as a JSON string literal.
    public static func quoted(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    /// A finite number without a trailing `.0` for integers.
    public static func number(_ value: Double) -> String {
        guard value.isFinite else { return "null" }
        if value == value.rounded() && abs(value) < 1e15 { return String(Int64(value)) }
        return String(value)
    }
}
