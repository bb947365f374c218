extension JSONLogFormat {
    /// The built-in mappings of a JSON preset, in priority order within each role; `nil` for a
    /// spec that is not JSON.
    static func presetMappings(for spec: FormatSpec) -> [JSONFieldSource]? {
        switch spec {
        case .kong: kong
        case .awsAPIGateway: awsAPIGateway
        case .envoyJSON: envoyJSON
        case .traefik: traefik
        case .json: genericJSON
        case .combined, .nginx, .envoy, .alb: nil
        }
    }

    /// Kong file-log / http-log / tcp-log (https://developer.konghq.com/plugins/file-log/).
    static let kong: [JSONFieldSource] = [
        JSONFieldSource(.time, "started_at", unit: .milliseconds),
        JSONFieldSource(.ip, "client_ip"),
        JSONFieldSource(.xff, "request.headers.x-forwarded-for"),
        JSONFieldSource(.method, "request.method"),
        JSONFieldSource(.target, "request.uri"),
        JSONFieldSource(.target, "request.url"),
        JSONFieldSource(.status, "response.status"),
        JSONFieldSource(.bytes, "response.size"),
        JSONFieldSource(.latency, "latencies.request", unit: .milliseconds),
        JSONFieldSource(.userAgent, "request.headers.user-agent"),
        JSONFieldSource(.key, "request.headers.apikey"),
        JSONFieldSource(.key, "request.headers.x-api-key"),
        JSONFieldSource(.key, "request.headers.api-key"),
        JSONFieldSource(.authorization, "request.headers.authorization"),
        JSONFieldSource(.consumer, "consumer.id"),
        JSONFieldSource(.consumer, "authenticated_entity.id"),
        JSONFieldSource(.consumer, "authenticated_entity.consumer_id"),
        JSONFieldSource(.consumer, "credential.id"),
    ]

    /// AWS API Gateway REST and HTTP API access logs. Users choose the keys; these follow the
    /// console's JSON examples and the `$context` variable names
    /// (https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-access-logging.html,
    /// https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-logging-variables.html).
    static let awsAPIGateway: [JSONFieldSource] = [
        JSONFieldSource(.time, "requestTimeEpoch", unit: .milliseconds),
        JSONFieldSource(.time, "requestTime"),
        JSONFieldSource(.time, "timestamp"),
        JSONFieldSource(.ip, "ip"),
        JSONFieldSource(.ip, "sourceIp"),
        JSONFieldSource(.ip, "identity.sourceIp"),
        JSONFieldSource(.ip, "clientIp"),
        JSONFieldSource(.method, "httpMethod"),
        JSONFieldSource(.method, "method"),
        JSONFieldSource(.target, "path"),
        JSONFieldSource(.target, "requestPath"),
        JSONFieldSource(.endpoint, "resourcePath"),
        JSONFieldSource(.endpoint, "routeKey"),
        JSONFieldSource(.status, "status"),
        JSONFieldSource(.status, "statusCode"),
        JSONFieldSource(.bytes, "responseLength"),
        JSONFieldSource(.latency, "responseLatency", unit: .milliseconds),
        JSONFieldSource(.latency, "integrationLatency", unit: .milliseconds),
        JSONFieldSource(.userAgent, "userAgent"),
        JSONFieldSource(.userAgent, "identity.userAgent"),
        JSONFieldSource(.key, "apiKey", keySource: .awsKey),
        JSONFieldSource(.key, "identity.apiKey", keySource: .awsKey),
        JSONFieldSource(.key, "apiKeyId", keySource: .awsKeyID),
        JSONFieldSource(.key, "identity.apiKeyId", keySource: .awsKeyID),
        JSONFieldSource(.consumer, "authorizer.principalId"),
        JSONFieldSource(.consumer, "principalId"),
        JSONFieldSource(.consumer, "caller"),
        JSONFieldSource(.consumer, "identity.caller"),
        JSONFieldSource(.consumer, "user"),
        JSONFieldSource(.consumer, "identity.user"),
    ]

    /// Envoy `json_format` access logs, Istio's JSON encoding and Envoy Gateway's default
    /// (https://www.envoyproxy.io/docs/envoy/latest/configuration/observability/access_log/usage,
    /// https://istio.io/latest/docs/tasks/observability/logs/access-log/).
    static let envoyJSON: [JSONFieldSource] = [
        JSONFieldSource(.time, "start_time"),
        JSONFieldSource(.time, "timestamp"),
        JSONFieldSource(.time, "@timestamp"),
        JSONFieldSource(.ip, "downstream_remote_address"),
        JSONFieldSource(.ip, "downstream_direct_remote_address"),
        JSONFieldSource(.xff, "x_forwarded_for"),
        JSONFieldSource(.xff, "x-forwarded-for"),
        JSONFieldSource(.method, "method"),
        JSONFieldSource(.method, ":method"),
        JSONFieldSource(.target, "x-envoy-original-path"),
        JSONFieldSource(.target, "x_envoy_original_path"),
        JSONFieldSource(.target, "x-envoy-origin-path"),
        JSONFieldSource(.target, "path"),
        JSONFieldSource(.target, ":path"),
        JSONFieldSource(.status, "response_code"),
        JSONFieldSource(.bytes, "bytes_sent"),
        JSONFieldSource(.latency, "duration", unit: .milliseconds),
        JSONFieldSource(.userAgent, "user_agent"),
        JSONFieldSource(.userAgent, "user-agent"),
        JSONFieldSource(.key, "x-api-key"),
        JSONFieldSource(.key, "x_api_key"),
        JSONFieldSource(.key, "apikey"),
        JSONFieldSource(.key, "api-key"),
        JSONFieldSource(.key, "api_key"),
        JSONFieldSource(.authorization, "authorization"),
    ]

    /// Traefik's JSON access log; headers appear as `request_<Header-Name>` when kept
    /// (https://doc.traefik.io/traefik/observability/access-logs/).
    static let traefik: [JSONFieldSource] = [
        JSONFieldSource(.time, "StartUTC"),
        JSONFieldSource(.time, "StartLocal"),
        JSONFieldSource(.time, "time"),
        JSONFieldSource(.ip, "ClientHost"),
        JSONFieldSource(.ip, "ClientAddr"),
        JSONFieldSource(.xff, "request_X-Forwarded-For"),
        JSONFieldSource(.method, "RequestMethod"),
        JSONFieldSource(.target, "RequestPath"),
        JSONFieldSource(.request, "RequestLine"),
        JSONFieldSource(.status, "DownstreamStatus"),
        JSONFieldSource(.bytes, "DownstreamContentSize"),
        JSONFieldSource(.latency, "Duration", unit: .nanoseconds),
        JSONFieldSource(.userAgent, "request_User-Agent"),
        JSONFieldSource(.key, "request_X-Api-Key"),
        JSONFieldSource(.key, "request_Apikey"),
        JSONFieldSource(.key, "request_Api-Key"),
        JSONFieldSource(.authorization, "request_Authorization"),
        JSONFieldSource(.consumer, "ClientUsername"),
    ]

    /// Common names in other JSON logs: nginx variable names, Elastic Common Schema, and the
    /// usual short forms. Bare latency numbers are milliseconds, except nginx's `request_time`
    /// (seconds) and ECS `event.duration` (nanoseconds).
    static let genericJSON: [JSONFieldSource] = [
        JSONFieldSource(.time, "time"),
        JSONFieldSource(.time, "timestamp"),
        JSONFieldSource(.time, "@timestamp"),
        JSONFieldSource(.time, "ts"),
        JSONFieldSource(.time, "time_iso8601"),
        JSONFieldSource(.time, "time_local"),
        JSONFieldSource(.time, "msec", unit: .seconds),
        JSONFieldSource(.time, "datetime"),
        JSONFieldSource(.time, "date"),
        JSONFieldSource(.ip, "client_ip"),
        JSONFieldSource(.ip, "clientip"),
        JSONFieldSource(.ip, "remote_addr"),
        JSONFieldSource(.ip, "remote_ip"),
        JSONFieldSource(.ip, "ip"),
        JSONFieldSource(.ip, "source.ip"),
        JSONFieldSource(.ip, "client.ip"),
        JSONFieldSource(.xff, "x_forwarded_for"),
        JSONFieldSource(.xff, "http_x_forwarded_for"),
        JSONFieldSource(.xff, "x-forwarded-for"),
        JSONFieldSource(.xff, "xff"),
        JSONFieldSource(.method, "method"),
        JSONFieldSource(.method, "request_method"),
        JSONFieldSource(.method, "http_method"),
        JSONFieldSource(.method, "verb"),
        JSONFieldSource(.method, "http.request.method"),
        JSONFieldSource(.target, "request_uri"),
        JSONFieldSource(.target, "uri"),
        JSONFieldSource(.target, "path"),
        JSONFieldSource(.target, "url"),
        JSONFieldSource(.target, "url.original"),
        JSONFieldSource(.target, "url.path"),
        JSONFieldSource(.request, "request"),
        JSONFieldSource(.query, "query_string"),
        JSONFieldSource(.query, "querystring"),
        JSONFieldSource(.query, "query"),
        JSONFieldSource(.query, "args"),
        JSONFieldSource(.query, "url.query"),
        JSONFieldSource(.status, "status"),
        JSONFieldSource(.status, "status_code"),
        JSONFieldSource(.status, "statuscode"),
        JSONFieldSource(.status, "http.response.status_code"),
        JSONFieldSource(.bytes, "body_bytes_sent"),
        JSONFieldSource(.bytes, "bytes_sent"),
        JSONFieldSource(.bytes, "bytes"),
        JSONFieldSource(.bytes, "size"),
        JSONFieldSource(.bytes, "response_size"),
        JSONFieldSource(.bytes, "http.response.body.bytes"),
        JSONFieldSource(.latency, "latency_ms", unit: .milliseconds),
        JSONFieldSource(.latency, "duration_ms", unit: .milliseconds),
        JSONFieldSource(.latency, "latency", unit: .milliseconds),
        JSONFieldSource(.latency, "duration", unit: .milliseconds),
        JSONFieldSource(.latency, "response_time", unit: .milliseconds),
        JSONFieldSource(.latency, "request_time", unit: .seconds),
        JSONFieldSource(.latency, "event.duration", unit: .nanoseconds),
        JSONFieldSource(.userAgent, "user_agent"),
        JSONFieldSource(.userAgent, "http_user_agent"),
        JSONFieldSource(.userAgent, "useragent"),
        JSONFieldSource(.userAgent, "user-agent"),
        JSONFieldSource(.userAgent, "agent"),
        JSONFieldSource(.userAgent, "user_agent.original"),
        JSONFieldSource(.key, "x_api_key"),
        JSONFieldSource(.key, "x-api-key"),
        JSONFieldSource(.key, "http_x_api_key"),
        JSONFieldSource(.key, "api_key"),
        JSONFieldSource(.key, "apikey"),
        JSONFieldSource(.key, "http_apikey"),
        JSONFieldSource(.key, "api-key"),
        JSONFieldSource(.authorization, "authorization"),
        JSONFieldSource(.authorization, "http_authorization"),
    ]
}
