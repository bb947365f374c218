/// Envoy's default text access log, in both layouts found in the wild.
///
/// Envoy's own default
/// (https://www.envoyproxy.io/docs/envoy/latest/configuration/observability/access_log/usage):
/// ```
/// [%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%"
/// %RESPONSE_CODE% %RESPONSE_FLAGS% %BYTES_RECEIVED% %BYTES_SENT% %DURATION%
/// %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%"
/// "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%"
/// ```
/// and the longer one Istio (and many Envoy deployments) use
/// (https://istio.io/latest/docs/tasks/observability/logs/access-log/), which adds
/// `%RESPONSE_CODE_DETAILS% %CONNECTION_TERMINATION_DETAILS% "%UPSTREAM_TRANSPORT_FAILURE_REASON%"`
/// after the flags and `%UPSTREAM_CLUSTER% %UPSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS%
/// %DOWNSTREAM_REMOTE_ADDRESS% %REQUESTED_SERVER_NAME% %ROUTE_NAME%` at the end.
///
/// The layout is told apart per line: in the longer one the third field after the flags is quoted.
/// The client is `DOWNSTREAM_REMOTE_ADDRESS` (port removed) when the line has it, else the last
/// X-Forwarded-For hop; the whole X-Forwarded-For list is kept as well. `DURATION` is already in
/// milliseconds. TCP proxy entries (request `"- - -"`) are not HTTP requests and are ignored.
public struct EnvoyTextFormat: LogFormat, Sendable {
    /// `envoy`.
    public var name: String { "envoy" }

    /// Creates the format.
    /// - Parameter options: Accepted for symmetry with the other formats; the default layouts log
    ///   no credential header, so `--key-field` does not apply.
    public init(options: FormatOptions = FormatOptions()) {}

    /// Whether `line` is an Envoy default-format access log entry.
    /// - Parameter line: A line, without terminator.
    /// - Returns: `true` when the line parses as one.
    public static func detect(_ line: ByteView) -> Bool {
        guard line.count > 2, line[0] == UInt8(ascii: "["), line[1] &- 0x30 < 10 else { return false }
        var format = EnvoyTextFormat()
        var records = RecordBuffer()
        switch format.parse(line, into: &records) {
        case .records, .ignored: return true
        case .rejected: return false
        }
    }

    /// Parses one Envoy access log entry in either default layout.
    /// - Parameters:
    ///   - line: The line, without terminator.
    ///   - records: Receives one record whose views point into `line`.
    /// - Returns: ``ParseOutcome/records(_:)`` with 1, ``ParseOutcome/ignored`` for a blank line or a
    ///   TCP proxy entry, or why the line was rejected.
    public mutating func parse(_ line: ByteView, into records: inout RecordBuffer) -> ParseOutcome {
        let trimmed = line.trimmed()
        if trimmed.isEmpty { return .ignored }
        guard trimmed[0] == UInt8(ascii: "[") else { return .rejected(.malformed) }
        var fields = QuotedFieldTokenizer(trimmed)
        guard let timeField = fields.next(), fields.nextIsQuoted(), let request = fields.next(),
            let statusField = fields.next(), fields.next() != nil,  // response flags
            fields.next() != nil, let b = fields.next()
        else { return .rejected(.malformed) }

        let sent: ByteView
        let duration: ByteView
        let long = fields.nextIsQuoted()
        if long {
            // The two fields were RESPONSE_CODE_DETAILS and CONNECTION_TERMINATION_DETAILS.
            guard fields.next() != nil,  // "UPSTREAM_TRANSPORT_FAILURE_REASON"
                fields.next() != nil,  // BYTES_RECEIVED
                let s = fields.next(), let d = fields.next()
            else { return .rejected(.malformed) }
            sent = s
            duration = d
        } else {
            // The two fields were BYTES_RECEIVED and BYTES_SENT.
            guard let d = fields.next() else { return .rejected(.malformed) }
            sent = b
            duration = d
        }
        _ = fields.next()  // X-ENVOY-UPSTREAM-SERVICE-TIME
        let forwardedFor = fields.nextIsQuoted() ? fields.next() ?? .empty : .empty
        let userAgent = fields.nextIsQuoted() ? fields.next() ?? .empty : .empty
        var remote = ByteView.empty
        if long {
            // "X-REQUEST-ID" ":AUTHORITY" "UPSTREAM_HOST" cluster upstream_local downstream_local downstream_remote
            for _ in 0..<6 { _ = fields.next() }
            if let candidate = fields.next(), Self.looksLikeAddress(candidate) {
                remote = GatewayFieldText.hostStrippingPort(candidate)
            }
        }

        let status = GatewayFieldText.status(statusField)
        guard status != nil || statusField.isMissing else { return .rejected(.malformed) }
        let latency = GatewayFieldText.durationMillis(duration, unit: .milliseconds)
        guard latency != nil || duration.isMissing else { return .rejected(.malformed) }
        guard sent.isMissing || sent.decimalValue != nil else { return .rejected(.malformed) }
        let (method, target) = GatewayFieldText.splitRequestLine(request)
        guard let time = Timestamps.parseISO8601(timeField) else { return .rejected(.badTimestamp) }
        if method.isEmpty && (target.isEmpty || target.equalsIgnoringCase("- -")) { return .ignored }

        let index = records.appendNew()
        records[index].timeMillis = time
        records[index].method = method
        records[index].target = target
        records[index].status = status ?? 0
        records[index].bytes = GatewayFieldText.byteCount(sent)
        records[index].latencyMillis = latency
        let xff = forwardedFor.isMissing ? ByteView.empty : forwardedFor
        records[index].forwardedFor = xff
        records[index].remoteAddress = remote.isEmpty ? GatewayFieldText.lastForwardedHop(xff) : remote
        records[index].userAgent = userAgent.isMissing ? .empty : userAgent
        return .records(1)
    }

    /// `10.0.0.1:443` or `[2001:db8::1]:443`, not `-`, a host name or a pipe-separated cluster name.
    private static func looksLikeAddress(_ v: ByteView) -> Bool {
        guard v.count >= 3 else { return false }
        let c = v[0]
        return (c &- 0x30 < 10 || c == UInt8(ascii: "[")) && v.firstIndex(of: UInt8(ascii: ":")) != nil
            && v.firstIndex(of: UInt8(ascii: "|")) == nil
    }
}
