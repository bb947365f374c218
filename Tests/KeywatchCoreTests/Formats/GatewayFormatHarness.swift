@testable import KeywatchCore

/// One parsed record with every view copied into a `String`, so it outlives the parse call.
struct ParsedRecord: Equatable, CustomStringConvertible {
    var timeMillis: Int64?
    var remoteAddress = ""
    var forwardedFor = ""
    var method = ""
    var target = ""
    var query = ""
    var gatewayEndpoint = ""
    var status = 0
    var bytes: Int64?
    var latencyMillis: Double?
    var userAgent = ""
    var key = ""
    var keySource = KeySource.none
    var authorization = ""

    init(_ f: RawFields) {
        timeMillis = f.timeMillis
        remoteAddress = f.remoteAddress.string
        forwardedFor = f.forwardedFor.string
        method = f.method.string
        target = f.target.string
        query = f.query.string
        gatewayEndpoint = f.gatewayEndpoint.string
        status = f.status
        bytes = f.bytes
        latencyMillis = f.latencyMillis
        userAgent = f.userAgent.string
        key = f.key.string
        keySource = f.keySource
        authorization = f.authorization.string
    }

    var description: String {
        "time=\(timeMillis.map(String.init) ?? "nil") ip=\(remoteAddress) xff=\(forwardedFor) \(method) \(target) "
            + "q=\(query) ep=\(gatewayEndpoint) status=\(status) bytes=\(bytes.map(String.init) ?? "nil") "
            + "latency=\(latencyMillis.map { "\($0)" } ?? "nil") ua=\(userAgent) key=\(key)(\(keySource)) "
            + "auth=\(authorization)"
    }
}

/// Runs formats over lines given as text or bytes and copies the results out before the next parse.
enum GatewayFormatHarness {
    /// Parses `line` with `format`, returning the outcome and the records as strings.
    static func parse<F: LogFormat>(_ format: inout F, _ line: String) -> (ParseOutcome, [ParsedRecord]) {
        parse(&format, bytes: Array(line.utf8))
    }

    /// Parses raw bytes with `format`.
    static func parse<F: LogFormat>(_ format: inout F, bytes: [UInt8]) -> (ParseOutcome, [ParsedRecord]) {
        var records = RecordBuffer()
        return bytes.withUnsafeBufferPointer { buffer in
            let view = ByteView(base: buffer.baseAddress, count: buffer.count)
            let outcome = format.parse(view, into: &records)
            var out: [ParsedRecord] = []
            for i in 0..<records.count { out.append(ParsedRecord(records[i])) }
            return (outcome, out)
        }
    }

    /// Runs `body` with a view over `text`'s bytes.
    static func withView<R>(_ text: String, _ body: (ByteView) -> R) -> R {
        let bytes = Array(text.utf8)
        return bytes.withUnsafeBufferPointer { body(ByteView(base: $0.baseAddress, count: $0.count)) }
    }
}
