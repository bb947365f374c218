/// AWS Application Load Balancer access logs, and the older Classic Load Balancer layout.
///
/// ```
/// type time elb client:port target:port request_processing_time target_processing_time
/// response_processing_time elb_status_code target_status_code received_bytes sent_bytes
/// "request" "user_agent" ssl_cipher ssl_protocol target_group_arn "trace_id" …
/// ```
///
/// (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-access-logs.html).
/// Classic ELB lines lack the leading `type`. Fields after the user agent are ignored, so lines
/// with more or fewer trailing fields read alike.
///
/// - The time is the `time` field (when the response was sent).
/// - The client is `client:port` with the port removed; ALB writes IPv6 clients without brackets
///   (`2001:db8::1:2817`), so the port is whatever follows the last colon.
/// - The target keeps the absolute URL from the request line (`http://host:80/path?q`).
/// - The latency is the sum of the three processing times in milliseconds; it is missing when
///   any of them is `-1` (the request never reached a target).
/// - The bytes are `sent_bytes`, which for ALB include the response headers.
///
/// ALB logs carry no request headers, so no credential other than a query parameter can be found
/// (the normaliser reads those from the target); `--key-field` does not apply.
public struct ALBFormat: LogFormat, Sendable {
    /// `alb`.
    public var name: String { "alb" }

    /// Creates the format.
    /// - Parameter options: Accepted for symmetry with the other formats; ALB logs have no fields
    ///   they could name.
    public init(options: FormatOptions = FormatOptions()) {}

    /// Whether `line` is an ALB or Classic ELB access log entry.
    /// - Parameter line: A line, without terminator.
    /// - Returns: `true` when the line parses as one.
    public static func detect(_ line: ByteView) -> Bool {
        var format = ALBFormat()
        var records = RecordBuffer()
        if case .records = format.parse(line, into: &records) { return true }
        return false
    }

    private static func isRequestType(_ v: ByteView) -> Bool {
        v.equalsIgnoringCase("http") || v.equalsIgnoringCase("https") || v.equalsIgnoringCase("h2")
            || v.equalsIgnoringCase("grpcs") || v.equalsIgnoringCase("ws") || v.equalsIgnoringCase("wss")
    }

    /// Parses one ALB or Classic ELB entry.
    /// - Parameters:
    ///   - line: The line, without terminator.
    ///   - records: Receives one record whose views point into `line`.
    /// - Returns: ``ParseOutcome/records(_:)`` with 1, ``ParseOutcome/ignored`` for a blank line, or why
    ///   the line was rejected.
    public mutating func parse(_ line: ByteView, into records: inout RecordBuffer) -> ParseOutcome {
        if line.trimmed().isEmpty { return .ignored }
        var fields = QuotedFieldTokenizer(line)
        guard var timeField = fields.next() else { return .rejected(.malformed) }
        if Self.isRequestType(timeField) {
            guard let next = fields.next() else { return .rejected(.malformed) }
            timeField = next
        } else if timeField.count < 19 || timeField[4] != UInt8(ascii: "-") {
            return .rejected(.malformed)
        }
        guard fields.next() != nil,  // elb
            let client = fields.next(),
            fields.next() != nil,  // target:port
            let requestTime = fields.next(),
            let targetTime = fields.next(),
            let responseTime = fields.next(),
            let statusField = fields.next(),
            fields.next() != nil,  // target_status_code
            let received = fields.next(),
            let sent = fields.next()
        else { return .rejected(.malformed) }
        guard fields.nextIsQuoted(), let request = fields.next() else { return .rejected(.malformed) }
        let userAgent = fields.nextIsQuoted() ? fields.next() ?? .empty : .empty

        // Shape checks, so that other formats are not mistaken for this one.
        guard let t1 = GatewayFieldText.secondsAsMillis(requestTime),
            let t2 = GatewayFieldText.secondsAsMillis(targetTime),
            let t3 = GatewayFieldText.secondsAsMillis(responseTime)
        else { return .rejected(.malformed) }
        let status = GatewayFieldText.status(statusField)
        guard status != nil || statusField.isMissing else { return .rejected(.malformed) }
        guard received.isMissing || received.decimalValue != nil, sent.isMissing || sent.decimalValue != nil else {
            return .rejected(.malformed)
        }
        guard let time = Timestamps.parseISO8601(timeField) else { return .rejected(.badTimestamp) }

        let index = records.appendNew()
        records[index].timeMillis = time
        records[index].remoteAddress = GatewayFieldText.hostBeforeLastColon(client)
        let (method, target) = GatewayFieldText.splitRequestLine(request)
        records[index].method = method
        records[index].target = target
        records[index].status = status ?? 0
        records[index].bytes = GatewayFieldText.byteCount(sent)
        if t1 >= 0 && t2 >= 0 && t3 >= 0 { records[index].latencyMillis = t1 + t2 + t3 }
        records[index].userAgent = userAgent.isMissing ? .empty : userAgent
        return .records(1)
    }
}
