/// Formats events as log lines of one gateway's format.
protocol LineFormatter {
    /// Appends one line, including the trailing newline.
    mutating func append(_ event: SimEvent, to out: inout [UInt8])
}

/// nginx with the keywatch `log_format`:
///
/// ```
/// $remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" "$http_x_api_key" $request_time
/// ```
///
/// Quoted fields are escaped as nginx does by default: `"`, `\`, control bytes and bytes ≥ 0x7F become
/// `\xHH`. Empty values are logged as `-`.
struct NginxLineFormatter: LineFormatter {
    /// The format line itself, as written to `samples/nginx.log_format`.
    static let logFormat =
        "$remote_addr - $remote_user [$time_local] \"$request\" $status $body_bytes_sent \"$http_referer\" "
        + "\"$http_user_agent\" \"$http_x_api_key\" $request_time"

    private let offsetMinutes: Int
    private var cachedSecond: EpochMillis = .min
    private var cachedTime: [UInt8] = []
    private static let hex = Array("0123456789ABCDEF".utf8)

    /// Creates a formatter for a node whose `$time_local` uses `offsetMinutes`.
    init(offsetMinutes: Int) {
        self.offsetMinutes = offsetMinutes
    }

    mutating func append(_ event: SimEvent, to out: inout [UInt8]) {
        out.append(contentsOf: event.client.description.utf8)
        out.append(contentsOf: " - ".utf8)
        out.append(contentsOf: (event.remoteUser ?? "-").utf8)
        out.append(contentsOf: " [".utf8)
        let second = TimeFormat.floorDiv(event.time, Span.second)
        if second != cachedSecond {
            cachedSecond = second
            cachedTime.removeAll(keepingCapacity: true)
            TimeFormat.appendNginxTime(event.time, offsetMinutes: offsetMinutes, to: &cachedTime)
        }
        out.append(contentsOf: cachedTime)
        out.append(contentsOf: "] \"".utf8)
        NginxLineFormatter.appendEscaped(event.method, to: &out)
        out.append(UInt8(ascii: " "))
        NginxLineFormatter.appendEscaped(event.target, to: &out)
        out.append(
            contentsOf: event.http == 20
                ? " HTTP/2.0\" ".utf8 : event.http == 10 ? " HTTP/1.0\" ".utf8 : " HTTP/1.1\" ".utf8
        )
        out.append(contentsOf: String(event.status).utf8)
        out.append(UInt8(ascii: " "))
        out.append(contentsOf: (event.bytes < 0 ? "-" : String(event.bytes)).utf8)
        for value in [event.referer, event.userAgent, event.headerKey] {
            out.append(contentsOf: " \"".utf8)
            if let value, !value.isEmpty {
                NginxLineFormatter.appendEscaped(value, to: &out)
            } else {
                out.append(UInt8(ascii: "-"))
            }
            out.append(UInt8(ascii: "\""))
        }
        out.append(UInt8(ascii: " "))
        out.append(contentsOf: String(event.latency / 1000).utf8)
        out.append(UInt8(ascii: "."))
        TimeFormat.appendDigits(Int(event.latency % 1000), width: 3, to: &out)
        out.append(UInt8(ascii: "\n"))
    }

    /// Appends `value` with nginx's default log escaping.
    static func appendEscaped(_ value: String, to out: inout [UInt8]) {
        for byte in value.utf8 {
            if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") || byte < 0x20 || byte >= 0x7F {
                out.append(contentsOf: [
                    UInt8(ascii: "\\"), UInt8(ascii: "x"), hex[Int(byte >> 4)], hex[Int(byte & 0xF)],
                ])
            } else {
                out.append(byte)
            }
        }
    }
}

/// Ids Kong would show for routes, services and upstream ports; derived from the seed.
struct KongIdentities: Sendable {
    /// Service ids by service index.
    let serviceIDs: [String]
    /// Route ids by service index.
    let routeIDs: [String]

    /// Derives the ids from `seed`.
    init(seed: UInt64) {
        var rng = SimRandom(seed: seed, streams: [Stream.gatewayIDs])
        serviceIDs = APICatalogue.services.map { _ in rng.uuid() }
        routeIDs = APICatalogue.services.map { _ in rng.uuid() }
    }
}

/// Kong's file-log plugin: one JSON object per line, written by lua-cjson (which escapes `/` as `\/`).
///
/// `started_at` is the request start in epoch milliseconds; lines are written at completion, so
/// `started_at` can step back by at most one request's latency from one line to the next.
struct KongLineFormatter: LineFormatter {
    private let keys: [KeyProfile]
    private let ids: KongIdentities
    private static let host = "api.example.com"

    /// Creates a formatter that resolves consumers from `keys`.
    init(keys: [KeyProfile], ids: KongIdentities) {
        self.keys = keys
        self.ids = ids
    }

    mutating func append(_ event: SimEvent, to out: inout [UInt8]) {
        let service = APICatalogue.services[Int(event.service)]
        let path = event.path
        out.append(contentsOf: "{\"request\":{\"method\":".utf8)
        string(event.method, &out)
        out.append(contentsOf: ",\"uri\":".utf8)
        string(event.target, &out)
        out.append(contentsOf: ",\"url\":".utf8)
        string("https://\(KongLineFormatter.host):8443" + event.target, &out)
        out.append(contentsOf: ",\"size\":\(event.requestBytes),\"querystring\":".utf8)
        appendQuery(event.target, to: &out)
        out.append(contentsOf: ",\"headers\":{\"host\":".utf8)
        string(KongLineFormatter.host, &out)
        if let agent = event.userAgent {
            out.append(contentsOf: ",\"user-agent\":".utf8)
            string(agent, &out)
        }
        out.append(contentsOf: ",\"accept\":".utf8)
        string(event.referer == nil ? "application/json" : "*/*", &out)
        if let key = event.headerKey {
            out.append(contentsOf: ",\"apikey\":".utf8)
            string(key, &out)
        }
        if let referer = event.referer {
            out.append(contentsOf: ",\"referer\":".utf8)
            string(referer, &out)
        }
        out.append(contentsOf: "}},\"upstream_uri\":".utf8)
        string(event.target, &out)
        out.append(contentsOf: ",\"response\":{\"status\":\(event.status),\"size\":\(max(0, event.bytes) + 280)".utf8)
        out.append(contentsOf: ",\"headers\":{".utf8)
        if event.status == 401 {
            out.append(contentsOf: "\"www-authenticate\":".utf8)
            string("Key realm=\"kong\"", &out)
            out.append(UInt8(ascii: ","))
        }
        out.append(contentsOf: "\"content-type\":".utf8)
        string(
            path.hasSuffix("/pdf") && event.status == 200 ? "application/pdf" : "application/json; charset=utf-8",
            &out
        )
        out.append(contentsOf: ",\"content-length\":".utf8)
        string(String(max(0, event.bytes)), &out)
        out.append(contentsOf: ",\"via\":".utf8)
        string("kong/3.6.1", &out)
        out.append(contentsOf: "}},\"route\":{\"id\":".utf8)
        string(ids.routeIDs[Int(event.service)], &out)
        out.append(contentsOf: ",\"paths\":[".utf8)
        for (index, prefix) in service.paths.enumerated() {
            if index > 0 {
                out.append(UInt8(ascii: ","))
            }
            string(prefix, &out)
        }
        out.append(contentsOf: "],\"name\":".utf8)
        string(service.name + "-route", &out)
        out.append(contentsOf: "},\"service\":{\"id\":".utf8)
        string(ids.serviceIDs[Int(event.service)], &out)
        out.append(contentsOf: ",\"name\":".utf8)
        string(service.name, &out)
        let total = Int(event.latency)
        let proxy = event.rejectedByGateway ? -1 : max(0, total - 1 - Int(event.time % 3))
        let kong = event.rejectedByGateway ? total : total - proxy
        out.append(contentsOf: "},\"latencies\":{\"request\":\(total),\"kong\":\(kong),\"proxy\":\(proxy)}".utf8)
        out.append(contentsOf: ",\"client_ip\":".utf8)
        string(event.client.description, &out)
        out.append(contentsOf: ",\"started_at\":\(event.time - EpochMillis(event.latency))".utf8)
        if event.authenticated, event.keyIndex >= 0 {
            let key = keys[Int(event.keyIndex)]
            out.append(contentsOf: ",\"consumer\":{\"id\":".utf8)
            string(key.consumerID, &out)
            out.append(contentsOf: ",\"username\":".utf8)
            string(key.consumerName, &out)
            out.append(contentsOf: "},\"authenticated_entity\":{\"id\":".utf8)
            string(key.credentialID, &out)
            out.append(UInt8(ascii: "}"))
        }
        if !event.rejectedByGateway {
            let upstream = service.upstreams[Int(event.time % Int64(service.upstreams.count))]
            out.append(contentsOf: ",\"tries\":[{\"ip\":".utf8)
            string(upstream, &out)
            out.append(contentsOf: ",\"port\":8080,\"balancer_latency\":0}]".utf8)
        }
        out.append(contentsOf: "}\n".utf8)
    }

    private func string(_ text: String, _ out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        JSONEscaping.append(text, to: &out, escapeSlash: true)
        out.append(UInt8(ascii: "\""))
    }

    /// Kong's `querystring`: decoded arguments; a bare argument is `true`. Empty object when none.
    private func appendQuery(_ target: String, to out: inout [UInt8]) {
        let parts = target.split(separator: "?", maxSplits: 1)
        guard parts.count == 2 else {
            out.append(contentsOf: "{}".utf8)
            return
        }
        out.append(UInt8(ascii: "{"))
        var first = true
        var seen: Set<String> = []
        for pair in parts[1].split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = KongLineFormatter.decode(kv[0])
            guard !name.isEmpty, seen.insert(name).inserted else {
                continue
            }
            if !first {
                out.append(UInt8(ascii: ","))
            }
            first = false
            string(name, &out)
            out.append(UInt8(ascii: ":"))
            if kv.count == 2 {
                string(KongLineFormatter.decode(kv[1]), &out)
            } else {
                out.append(contentsOf: "true".utf8)
            }
        }
        out.append(UInt8(ascii: "}"))
    }

    /// Percent-decoding with `+` as space, as `ngx.req.get_uri_args` does.
    static func decode(_ text: Substring) -> String {
        var bytes: [UInt8] = []
        let input = Array(text.utf8)
        var index = 0
        while index < input.count {
            let byte = input[index]
            if byte == UInt8(ascii: "+") {
                bytes.append(UInt8(ascii: " "))
            } else if byte == UInt8(ascii: "%"), index + 2 < input.count,
                let value = UInt8(String(decoding: input[(index + 1)...(index + 2)], as: UTF8.self), radix: 16)
            {
                bytes.append(value)
                index += 2
            } else {
                bytes.append(byte)
            }
            index += 1
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
