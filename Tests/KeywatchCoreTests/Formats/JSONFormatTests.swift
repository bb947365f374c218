import Testing

@testable import KeywatchCore

/// Lines for the JSON presets, taken from each gateway's documentation (compacted to one line,
/// as the gateways write them) or from logs built exactly as the documentation describes.
enum JSONSamples {
    /// Kong 3.8 file-log sample object, https://developer.konghq.com/plugins/file-log/ ("Log format").
    static let kong38 =
        #"{"response":{"size":9982,"headers":{"access-control-allow-origin":"*","content-length":"9593","date":"Thu, 19 Sep 2024 22:10:39 GMT","content-type":"text/html; charset=utf-8","via":"1.1 kong/3.8.0.0-enterprise-edition","connection":"close","server":"gunicorn/19.9.0","access-control-allow-credentials":"true","x-kong-upstream-latency":"171","x-kong-proxy-latency":"1","x-kong-request-id":"2f6946328ffc4946b8c9120704a4a155"},"status":200},"route":{"updated_at":1726782477,"tags":[],"response_buffering":true,"path_handling":"v0","protocols":["http","https"],"service":{"id":"fb4eecf8-dec2-40ef-b779-16de7e2384c7"},"https_redirect_status_code":426,"regex_priority":0,"name":"example_route","id":"0f1a4101-3327-4274-b1e4-484a4ab0c030","strip_path":true,"preserve_host":false,"created_at":1726782477,"request_buffering":true,"ws_id":"f381e34e-5c25-4e65-b91b-3c0a86cfc393","paths":["/example-route"]},"workspace":"f381e34e-5c25-4e65-b91b-3c0a86cfc393","workspace_name":"default","tries":[{"balancer_start":1726783839539,"balancer_start_ns":1.7267838395395e+18,"ip":"34.237.204.224","balancer_latency":0,"port":80,"balancer_latency_ns":27904}],"client_ip":"192.168.65.1","request":{"id":"2f6946328ffc4946b8c9120704a4a155","headers":{"accept":"*/*","user-agent":"HTTPie/3.2.3","host":"localhost:8000","connection":"keep-alive","accept-encoding":"gzip, deflate"},"uri":"/example-route","size":139,"method":"GET","querystring":{},"url":"http://localhost:8000/example-route"},"upstream_uri":"/","started_at":1726783839538,"source":"upstream","upstream_status":"200","latencies":{"kong":1,"proxy":171,"request":173,"receive":1},"service":{"write_timeout":60000,"read_timeout":60000,"updated_at":1726782459,"host":"httpbin.konghq.com","name":"example_service","id":"fb4eecf8-dec2-40ef-b779-16de7e2384c7","port":80,"enabled":true,"created_at":1726782459,"protocol":"http","ws_id":"f381e34e-5c25-4e65-b91b-3c0a86cfc393","connect_timeout":60000,"retries":5}}"#

    /// Kong 2.2.1 sample with `consumer` and `authenticated_entity`, from Kong's docs
    /// (docs.konghq.com app/_includes/md/plugins-hub/log-format.md, shown on every logging plugin page).
    static let kong22 =
        #"{"service":{"host":"httpbin.org","created_at":1614232642,"connect_timeout":60000,"id":"167290ee-c682-4ebf-bdea-e49a3ac5e260","protocol":"http","read_timeout":60000,"port":80,"path":"/anything","updated_at":1614232642,"write_timeout":60000,"retries":5,"ws_id":"54baa5a9-23d6-41e0-9c9a-02434b010b25"},"route":{"id":"78f79740-c410-4fd9-a998-d0a60a99dc9b","paths":["/log"],"protocols":["http"],"strip_path":true,"created_at":1614232648,"ws_id":"54baa5a9-23d6-41e0-9c9a-02434b010b25","request_buffering":true,"updated_at":1614232648,"preserve_host":false,"regex_priority":0,"response_buffering":true,"https_redirect_status_code":426,"path_handling":"v0","service":{"id":"167290ee-c682-4ebf-bdea-e49a3ac5e260"}},"request":{"querystring":{},"size":138,"uri":"/log","url":"http://localhost:8000/log","headers":{"host":"localhost:8000","accept-encoding":"gzip, deflate","user-agent":"HTTPie/2.4.0","accept":"*/*","connection":"keep-alive"},"method":"GET"},"response":{"headers":{"content-type":"application/json","date":"Thu, 25 Feb 2021 05:57:48 GMT","connection":"close","access-control-allow-credentials":"true","content-length":"503","server":"gunicorn/19.9.0","via":"kong/2.2.1.0-enterprise-edition","x-kong-proxy-latency":"57","x-kong-upstream-latency":"457","access-control-allow-origin":"*"},"status":200,"size":827},"latencies":{"request":515,"kong":58,"proxy":457},"tries":[{"balancer_latency":0,"port":80,"balancer_start":1614232668399,"ip":"18.211.130.98"}],"client_ip":"192.168.144.1","workspace":"54baa5a9-23d6-41e0-9c9a-02434b010b25","upstream_uri":"/anything","authenticated_entity":{"id":"c62c1455-9b1d-4f2d-8797-509ba83b8ae8"},"consumer":{"id":"ae974d6c-0f8a-4dc5-b701-fa0aa38592bd","created_at":1674035962,"username_lower":"foo","username":"foo","type":0},"started_at":1614232668342}"#

    /// A key-auth request in the same Kong shape: key in `apikey`, repeated X-Forwarded-For as an array,
    /// and a query string in `request.uri`.
    static let kongWithKey =
        #"{"request":{"querystring":{"page":"2"},"size":171,"uri":"/v1/orders?page=2","url":"http://localhost:8000/v1/orders?page=2","headers":{"host":"localhost:8000","apikey":"ak_test_FAKE0000000000000001","user-agent":"python-requests/2.31.0","x-forwarded-for":["203.0.113.7","10.0.0.2"]},"method":"POST"},"response":{"status":201,"size":412},"latencies":{"request":42,"kong":2,"proxy":40},"client_ip":"10.0.0.2","consumer":{"id":"ae974d6c-0f8a-4dc5-b701-fa0aa38592bd"},"started_at":1726783840001}"#

    /// AWS API Gateway REST API, the console's JSON format
    /// (https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-access-logging.html):
    /// `{ "requestId":"$context.requestId", "ip": "$context.identity.sourceIp", "caller":"$context.identity.caller",
    /// "user":"$context.identity.user", "requestTime":"$context.requestTime", "httpMethod":"$context.httpMethod",
    /// "resourcePath":"$context.resourcePath", "status":"$context.status", "protocol":"$context.protocol",
    /// "responseLength":"$context.responseLength" }`, with `-` for the unset caller and user.
    static let awsREST =
        #"{ "requestId":"c6af9ac6-7b61-11e6-9a41-93e8deadbeef", "ip": "198.51.100.7", "caller":"-", "user":"-", "requestTime":"09/Apr/2015:12:34:56 +0000", "httpMethod":"GET", "resourcePath":"/pets/{petId}", "status":"200", "protocol":"HTTP/1.1", "responseLength":"46" }"#

    /// AWS API Gateway HTTP API, the console's JSON format
    /// (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-logging.html).
    static let awsHTTP =
        #"{ "requestId":"Wf7_3gZ5IAMEVhQ=", "ip": "203.0.113.21", "requestTime":"21/Nov/2020:20:39:11 +0000", "httpMethod":"GET","routeKey":"GET /pets/{petId}", "status":"404","protocol":"HTTP/1.1", "responseLength":"-", "extendedRequestId": "Wf7_3gZ5IAMEVhQ=" }"#
}

@Suite("JSON log formats")
struct JSONFormatTests {
    typealias H = GatewayFormatHarness

    // MARK: Kong

    @Test func kongDocumentedSample() throws {
        var format = try JSONLogFormat(spec: .kong, options: FormatOptions())
        let (outcome, records) = H.parse(&format, JSONSamples.kong38)
        #expect(outcome == .records(1))
        let r = try #require(records.first)
        #expect(r.timeMillis == 1_726_783_839_538)
        #expect(r.remoteAddress == "192.168.65.1")
        #expect(r.method == "GET")
        #expect(r.target == "/example-route")
        #expect(r.status == 200)
        #expect(r.bytes == 9982)
        #expect(r.latencyMillis == 173)
        #expect(r.userAgent == "HTTPie/3.2.3")
        #expect(r.keySource == .none)
        #expect(r.gatewayEndpoint == "")
        #expect(format.name == "kong")
    }

    @Test func kongConsumerIsTheIdentityWithoutKey() throws {
        var format = try JSONLogFormat(spec: .kong, options: FormatOptions())
        let (outcome, records) = H.parse(&format, JSONSamples.kong22)
        #expect(outcome == .records(1))
        let r = try #require(records.first)
        #expect(r.timeMillis == 1_614_232_668_342)
        #expect(r.remoteAddress == "192.168.144.1")
        #expect(r.target == "/log")
        #expect(r.status == 200)
        #expect(r.bytes == 827)
        #expect(r.latencyMillis == 515)
        #expect(r.userAgent == "HTTPie/2.4.0")
        // consumer.id outranks authenticated_entity.id although it comes later in the object.
        #expect(r.key == "ae974d6c-0f8a-4dc5-b701-fa0aa38592bd")
        #expect(r.keySource == .consumer)
    }

    @Test func kongHeaderKeyOutranksConsumerAndArraysTakeFirst() throws {
        var format = try JSONLogFormat(spec: .kong, options: FormatOptions())
        let (_, records) = H.parse(&format, JSONSamples.kongWithKey)
        let r = try #require(records.first)
        #expect(r.key == "ak_test_FAKE0000000000000001")
        #expect(r.keySource == .header)
        #expect(r.forwardedFor == "203.0.113.7")
        #expect(r.method == "POST")
        #expect(r.target == "/v1/orders?page=2")
        #expect(r.status == 201)
        #expect(r.latencyMillis == 42)
    }

    @Test func kongAuthorizationHeaderIsPassedRaw() throws {
        var format = try JSONLogFormat(spec: .kong, options: FormatOptions())
        let line =
            #"{"request":{"method":"GET","uri":"/me","headers":{"Authorization":"Bearer ak_test_FAKE0000000000000001"}},"response":{"status":200},"client_ip":"10.1.2.3","started_at":1726783840001}"#
        let (_, records) = H.parse(&format, line)
        let r = try #require(records.first)
        #expect(r.authorization == "Bearer ak_test_FAKE0000000000000001")
        #expect(r.keySource == .none)
    }

    @Test func kongBatchArrayYieldsOneRecordPerElement() throws {
        var format = try JSONLogFormat(spec: .kong, options: FormatOptions())
        let line = "[" + JSONSamples.kong38 + "," + JSONSamples.kong22 + ", " + JSONSamples.kongWithKey + "]"
        let (outcome, records) = H.parse(&format, line)
        #expect(outcome == .records(3))
        #expect(records.map(\.timeMillis) == [1_726_783_839_538, 1_614_232_668_342, 1_726_783_840_001])
        #expect(records.map(\.target) == ["/example-route", "/log", "/v1/orders?page=2"])
        #expect(records.map(\.keySource) == [.none, .consumer, .header])
    }

    @Test func batchDropsElementsWithoutTimeAndRejectsWhenNoneHasOne() throws {
        var format = try JSONLogFormat(spec: .kong, options: FormatOptions())
        let noTime = #"{"request":{"method":"GET","uri":"/x"},"client_ip":"10.0.0.1"}"#
        let (mixed, records) = H.parse(&format, "[\(noTime),\(JSONSamples.kong22)]")
        #expect(mixed == .records(1))
        #expect(records.first?.target == "/log")
        let (none, empty) = H.parse(&format, "[\(noTime),\(noTime)]")
        #expect(none == .rejected(.badTimestamp))
        #expect(empty.isEmpty)
    }

    @Test func malformedBatchDropsRecordsAlreadyBuilt() throws {
        var format = try JSONLogFormat(spec: .kong, options: FormatOptions())
        let (outcome, records) = H.parse(&format, "[" + JSONSamples.kong22 + "," + JSONSamples.kong38.dropLast(5))
        #expect(outcome == .rejected(.malformed))
        #expect(records.isEmpty)
    }

    @Test func emptyArrayAndBlankLinesAreIgnored() throws {
        var format = try JSONLogFormat(spec: .kong, options: FormatOptions())
        #expect(H.parse(&format, "").0 == .ignored)
        #expect(H.parse(&format, "   ").0 == .ignored)
        #expect(H.parse(&format, "[ ]").0 == .ignored)
    }

    // MARK: AWS API Gateway

    @Test func awsRESTConsoleFormat() throws {
        var format = try JSONLogFormat(spec: .awsAPIGateway, options: FormatOptions())
        let (outcome, records) = H.parse(&format, JSONSamples.awsREST)
        #expect(outcome == .records(1))
        let r = try #require(records.first)
        #expect(r.timeMillis == 1_428_582_896_000)
        #expect(r.remoteAddress == "198.51.100.7")
        #expect(r.method == "GET")
        #expect(r.gatewayEndpoint == "/pets/{petId}")
        #expect(r.target == "")
        #expect(r.status == 200)
        #expect(r.bytes == 46)
        #expect(r.latencyMillis == nil)
        #expect(r.keySource == .none)  // caller and user are "-"
        #expect(format.name == "aws-apigw")
    }

    @Test func awsHTTPConsoleFormatWithRouteKeyAndDash() throws {
        var format = try JSONLogFormat(spec: .awsAPIGateway, options: FormatOptions())
        let (_, records) = H.parse(&format, JSONSamples.awsHTTP)
        let r = try #require(records.first)
        #expect(r.timeMillis == 1_605_991_151_000)
        #expect(r.remoteAddress == "203.0.113.21")
        #expect(r.gatewayEndpoint == "/pets/{petId}")
        #expect(r.status == 404)
        #expect(r.bytes == nil)
    }

    @Test func awsDefaultRouteHasNoEndpoint() throws {
        var format = try JSONLogFormat(spec: .awsAPIGateway, options: FormatOptions())
        let line =
            #"{"requestId":"Wf7_3gZ5IAMEVhQ=","ip":"203.0.113.21","requestTime":"21/Nov/2020:20:39:11 +0000","httpMethod":"POST","routeKey":"$default","path":"/anything/else","status":"200","responseLength":"12"}"#
        let (_, records) = H.parse(&format, line)
        let r = try #require(records.first)
        #expect(r.gatewayEndpoint == "")
        #expect(r.target == "/anything/else")
        #expect(r.method == "POST")
    }

    /// A custom format with the `$context.identity.apiKey`/`apiKeyId`, `requestTimeEpoch` and
    /// `responseLatency` variables, numbers unquoted as in
    /// https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-variables-for-access-logging.html;
    /// an unset unquoted variable prints as a bare `-`.
    @Test func awsKeysEpochTimeAndUnquotedNumbers() throws {
        var format = try JSONLogFormat(spec: .awsAPIGateway, options: FormatOptions())
        let line =
            #"{"requestId":"c6af9ac6-7b61-11e6-9a41-93e8deadbeef","requestTimeEpoch":1428582896123,"requestTime":"09/Apr/2015:12:34:56 +0000","httpMethod":"GET","path":"/prod/pets/7?verbose=1","resourcePath":"/pets/{petId}","status":200,"responseLatency":37,"integrationLatency":-,"responseLength":-,"apiKey":"ak_test_FAKE0000000000000001","apiKeyId":"abc123defg","userAgent":"curl/8.5.0","identity":{"sourceIp":"198.51.100.7"}}"#
        let (outcome, records) = H.parse(&format, line)
        #expect(outcome == .records(1))
        let r = try #require(records.first)
        #expect(r.timeMillis == 1_428_582_896_123)
        #expect(r.remoteAddress == "198.51.100.7")
        #expect(r.target == "/prod/pets/7?verbose=1")
        #expect(r.status == 200)
        #expect(r.latencyMillis == 37)
        #expect(r.bytes == nil)
        #expect(r.userAgent == "curl/8.5.0")
        #expect(r.key == "ak_test_FAKE0000000000000001")
        #expect(r.keySource == .awsKey)
    }

    @Test func awsKeyIDWhenOnlyTheIDIsLogged() throws {
        var format = try JSONLogFormat(spec: .awsAPIGateway, options: FormatOptions())
        let line =
            #"{"requestId":"r1","requestTime":"09/Apr/2015:12:34:56 +0000","httpMethod":"GET","resourcePath":"/pets","status":"200","apiKey":"-","apiKeyId":"abc123defg"}"#
        let (_, records) = H.parse(&format, line)
        let r = try #require(records.first)
        #expect(r.key == "abc123defg")
        #expect(r.keySource == .awsKeyID)
    }

    // MARK: Envoy / Istio JSON

    /// Istio's JSON encoding (`accessLogEncoding: JSON`), keys as in Istio's default JSON format
    /// (https://istio.io/latest/docs/tasks/observability/logs/access-log/).
    @Test func istioJSON() throws {
        var format = try JSONLogFormat(spec: .envoyJSON, options: FormatOptions())
        let line =
            #"{"response_code":200,"upstream_cluster":"inbound|80||","protocol":"HTTP/1.1","start_time":"2021-05-10T18:35:40.449Z","method":"GET","duration":1,"user_agent":"curl/7.64.0","response_code_details":"via_upstream","authority":"35.230.126.202","upstream_service_time":"0","request_id":"fde11243-0206-983c-bc60-b774c0886139","response_flags":"-","downstream_remote_address":"10.138.15.205:23950","route_name":"default","connection_termination_details":null,"upstream_host":"127.0.0.1:80","upstream_local_address":"127.0.0.1:53330","bytes_received":0,"bytes_sent":612,"downstream_local_address":"10.44.0.21:80","upstream_transport_failure_reason":null,"path":"/","x_forwarded_for":null,"requested_server_name":null}"#
        let (outcome, records) = H.parse(&format, line)
        #expect(outcome == .records(1))
        let r = try #require(records.first)
        #expect(r.timeMillis == 1_620_671_740_449)
        #expect(r.remoteAddress == "10.138.15.205")
        #expect(r.forwardedFor == "")
        #expect(r.method == "GET")
        #expect(r.target == "/")
        #expect(r.status == 200)
        #expect(r.bytes == 612)
        #expect(r.latencyMillis == 1)
        #expect(r.userAgent == "curl/7.64.0")
    }

    /// Envoy Gateway's default JSON access log (https://gateway.envoyproxy.io/docs/tasks/observability/proxy-observability/),
    /// with dashed header keys, plus a fake key header.
    @Test func envoyGatewayJSONWithDashedKeys() throws {
        var format = try JSONLogFormat(spec: .envoyJSON, options: FormatOptions())
        let line =
            #"{":authority":"backend:3000","bytes_received":0,"bytes_sent":466,"connection_termination_details":null,"downstream_local_address":"10.244.0.14:3000","downstream_remote_address":"10.244.0.12:34805","duration":1,"method":"GET","protocol":"HTTP/1.1","requested_server_name":null,"response_code":200,"response_code_details":"via_upstream","response_flags":"-","route_name":"httproute/envoy-gateway-system/backend/rule/0/match/0/backend","start_time":"2025-04-09T11:44:45.639Z","upstream_cluster":"httproute/envoy-gateway-system/backend/rule/0","upstream_host":"10.244.0.13:3000","upstream_local_address":"10.244.0.14:58822","upstream_transport_failure_reason":null,"user-agent":"curl/7.88.1","x-envoy-origin-path":"/","x-envoy-upstream-service-time":null,"x-forwarded-for":"10.244.0.12","x-request-id":"ab1e4da7-5f1d-45ea-bb4a-fa1ccd03b82b","x-api-key":"ak_test_FAKE0000000000000001"}"#
        let (_, records) = H.parse(&format, line)
        let r = try #require(records.first)
        #expect(r.timeMillis == 1_744_199_085_639)
        #expect(r.userAgent == "curl/7.88.1")
        #expect(r.forwardedFor == "10.244.0.12")
        #expect(r.remoteAddress == "10.244.0.12")
        #expect(r.target == "/")
        #expect(r.bytes == 466)
        #expect(r.key == "ak_test_FAKE0000000000000001")
        #expect(r.keySource == .header)
    }

    /// Envoy's `json_format` example output has no time at all
    /// (https://www.envoyproxy.io/docs/envoy/latest/configuration/observability/access_log/usage).
    @Test func envoyJSONWithoutTimeIsABadTimestamp() throws {
        var format = try JSONLogFormat(spec: .envoyJSON, options: FormatOptions())
        let line = #"{"protocol": "HTTP/1.1", "duration": "123", "my_custom_header": "value_of_MY_CUSTOM_HEADER"}"#
        #expect(H.parse(&format, line).0 == .rejected(.badTimestamp))
    }

    // MARK: Traefik

    /// Traefik JSON access log line as Traefik writes it; field names and units per
    /// https://doc.traefik.io/traefik/observability/access-logs/ ("Duration … in nanoseconds").
    @Test func traefikNanosecondDuration() throws {
        var format = try JSONLogFormat(spec: .traefik, options: FormatOptions())
        let line =
            #"{"ClientAddr":"172.16.100.61:49880","ClientHost":"172.16.100.61","ClientPort":"49880","ClientUsername":"-","DownstreamContentSize":19,"DownstreamStatus":404,"Duration":204055,"Overhead":204055,"RequestAddr":"172.16.100.61","RequestContentSize":0,"RequestCount":1,"RequestHost":"172.16.100.61","RequestMethod":"GET","RequestPath":"/","RequestPort":"-","RequestProtocol":"HTTP/1.1","RequestScheme":"http","RetryAttempts":0,"StartLocal":"2021-06-05T04:03:22.742209746Z","StartUTC":"2021-06-05T04:03:22.742209746Z","level":"info","msg":"","time":"2021-06-05T04:03:22Z"}"#
        let (outcome, records) = H.parse(&format, line)
        #expect(outcome == .records(1))
        let r = try #require(records.first)
        #expect(r.timeMillis == 1_622_865_802_742)
        #expect(r.remoteAddress == "172.16.100.61")
        #expect(r.method == "GET")
        #expect(r.target == "/")
        #expect(r.status == 404)
        #expect(r.bytes == 19)
        let latency = try #require(r.latencyMillis)
        #expect(abs(latency - 0.204055) < 1e-9)
        #expect(r.keySource == .none)
    }

    /// With `fields.headers.defaultMode: keep`, Traefik logs request headers as `request_<Name>`.
    @Test func traefikHeaders() throws {
        var format = try JSONLogFormat(spec: .traefik, options: FormatOptions())
        let line =
            #"{"ClientHost":"192.0.2.10","DownstreamContentSize":1234,"DownstreamStatus":200,"Duration":15000000,"RequestMethod":"GET","RequestPath":"/api/users?limit=5","StartUTC":"2026-01-25T10:00:00.000000000Z","request_User-Agent":"okhttp/4.12.0","request_X-Api-Key":"ak_test_FAKE0000000000000001","request_Authorization":"Basic dXNlcjpwYXNz","request_X-Forwarded-For":"198.51.100.4, 192.0.2.10"}"#
        let (_, records) = H.parse(&format, line)
        let r = try #require(records.first)
        #expect(r.latencyMillis == 15)
        #expect(r.target == "/api/users?limit=5")
        #expect(r.userAgent == "okhttp/4.12.0")
        #expect(r.key == "ak_test_FAKE0000000000000001")
        #expect(r.keySource == .header)
        #expect(r.authorization == "Basic dXNlcjpwYXNz")
        #expect(r.forwardedFor == "198.51.100.4, 192.0.2.10")
    }

    // MARK: Generic JSON and mappings

    @Test func genericJSONFromNginxEscapeJSON() throws {
        // nginx `log_format … escape=json` from Kong's support article
        // (https://developer.konghq.com/support/can-kong-gateway-expose-the-logs-as-json-objects/).
        var format = try JSONLogFormat(spec: .json, options: FormatOptions())
        let line =
            #"{"time_local":"25/Feb/2021:05:57:48 +0000","remote_addr":"192.168.144.1","remote_user":"","request":"GET /log?api_key=ak_test_FAKE0000000000000001 HTTP/1.1","status": "200","body_bytes_sent":"503","request_time":"0.515","http_referrer":"","http_user_agent":"HTTPie/2.4.0"}"#
        let (_, records) = H.parse(&format, line)
        let r = try #require(records.first)
        #expect(r.timeMillis == 1_614_232_668_000)
        #expect(r.remoteAddress == "192.168.144.1")
        #expect(r.method == "GET")
        #expect(r.target == "/log?api_key=ak_test_FAKE0000000000000001")
        #expect(r.status == 200)
        #expect(r.bytes == 503)
        #expect(r.latencyMillis == 515)
        #expect(r.userAgent == "HTTPie/2.4.0")
        #expect(format.name == "json")
    }

    @Test func genericJSONWithECSFieldsAndGoDurations() throws {
        var format = try JSONLogFormat(spec: .json, options: FormatOptions())
        let line =
            #"{"@timestamp":"2024-05-01T10:00:00.250+02:00","source":{"ip":"2001:db8::7"},"http":{"request":{"method":"DELETE"},"response":{"status_code":204}},"url":{"path":"/v2/items/9","query":"force=1"},"duration":"1.5ms"}"#
        let (_, records) = H.parse(&format, line)
        let r = try #require(records.first)
        #expect(r.timeMillis == 1_714_550_400_250)
        #expect(r.remoteAddress == "2001:db8::7")
        #expect(r.method == "DELETE")
        #expect(r.target == "/v2/items/9")
        #expect(r.query == "force=1")
        #expect(r.status == 204)
        #expect(r.latencyMillis == 1.5)
    }

    @Test func fieldMappingsOverrideThePresetAndKeyFieldIsExplicit() throws {
        let options = FormatOptions(
            fieldMappings: [
                try FieldMapping(parsing: "latency=latencies.proxy"),
                try FieldMapping(parsing: "time=meta.ts:s"),
            ],
            keyField: "request.headers.x-tenant-key"
        )
        var format = try JSONLogFormat(spec: .kong, options: options)
        let line =
            #"{"meta":{"ts":1726783840.5},"request":{"method":"GET","uri":"/a","headers":{"apikey":"ak_test_FAKE0000000000000001","X-Tenant-Key":"ak_test_FAKE0000000000000002"}},"response":{"status":200},"latencies":{"request":42,"proxy":40},"client_ip":"10.0.0.2","started_at":1726783840001}"#
        let (_, records) = H.parse(&format, line)
        let r = try #require(records.first)
        #expect(r.timeMillis == 1_726_783_840_500)
        #expect(r.latencyMillis == 40)
        #expect(r.key == "ak_test_FAKE0000000000000002")
        #expect(r.keySource == .explicit)
    }

    @Test func mappingTableForNginxJSON() throws {
        let mappings = [
            FieldMapping(role: .time, path: "ts", unit: .seconds),
            FieldMapping(role: .ip, path: "client.addr"),
            FieldMapping(role: .request, path: "req"),
            FieldMapping(role: .status, path: "status"),
            FieldMapping(role: .latency, path: "rt", unit: .seconds),
            FieldMapping(role: .key, path: "hdr.x_api_key"),
        ]
        var format = JSONLogFormat(mappings: mappings, options: FormatOptions(), name: "nginx")
        let line =
            #"{"ts":"1700000000.123","client":{"addr":"203.0.113.9"},"req":"PUT /v1/things/1 HTTP/2.0","status":"500","rt":"0.250","hdr":{"x_api_key":"ak_test_FAKE0000000000000003"}}"#
        let (_, records) = H.parse(&format, line)
        let r = try #require(records.first)
        #expect(r.timeMillis == 1_700_000_000_123)
        #expect(r.remoteAddress == "203.0.113.9")
        #expect(r.method == "PUT")
        #expect(r.target == "/v1/things/1")
        #expect(r.status == 500)
        #expect(r.latencyMillis == 250)
        #expect(r.key == "ak_test_FAKE0000000000000003")
        #expect(r.keySource == .header)
        #expect(format.name == "nginx")
    }

    @Test func nonJSONSpecsAndEmptySegmentsThrow() {
        #expect(throws: FormatError.unknownFormat("combined")) {
            _ = try JSONLogFormat(spec: .combined, options: FormatOptions())
        }
        #expect(throws: FormatError.self) {
            _ = try JSONLogFormat(spec: .json, options: FormatOptions(keyField: "request..apikey"))
        }
    }

    // MARK: Escapes and junk

    @Test func escapedStringsAreDecoded() throws {
        var format = try JSONLogFormat(spec: .json, options: FormatOptions())
        let line =
            #"{"time":"2024-05-01T10:00:00Z","path":"\/caf\u00e9\/\ud83d\ude00?q=\"x\"","user_agent":"Mozilla\/5.0 \\o\/ \u4e2d\t","x_api_key":"ak_test_FAKE\u0030000000000000001","method":"G\u0045T"}"#
        let (_, records) = H.parse(&format, line)
        let r = try #require(records.first)
        #expect(r.target == "/café/😀?q=\"x\"")
        #expect(r.userAgent == "Mozilla/5.0 \\o/ 中\t")
        #expect(r.key == "ak_test_FAKE0000000000000001")
        #expect(r.method == "GET")
    }

    @Test func loneSurrogatesAndNginxHexEscapes() throws {
        var format = try JSONLogFormat(spec: .json, options: FormatOptions())
        let line = #"{"time":"2024-05-01T10:00:00Z","path":"/a\ud800b","user_agent":"curl \x22quoted\x22"}"#
        let (_, records) = H.parse(&format, line)
        let r = try #require(records.first)
        #expect(r.target == "/a\u{FFFD}b")
        #expect(r.userAgent == "curl \"quoted\"")
    }

    @Test(arguments: [
        "{",
        "}",
        "{\"time\":\"2024-05-01T10:00:00Z\"",
        "{\"time\":\"2024-05-01T10:00:00Z\",}",
        "{\"time\":\"2024-05-01T10:00:00Z\" \"a\":1}",
        "{\"time\":2024-05-01}",
        "{\"a\":tru}",
        "{\"a\":nul}",
        "{\"a\":01}",
        "{\"a\":1.}",
        "{\"a\":1e}",
        "{\"a\":\"\\q\"}",
        "{\"a\":\"\\u12\"}",
        "{\"a\":\"unterminated}",
        "{\"a\":[1,2}",
        "{\"a\":{\"b\":1]}",
        "{'a':1}",
        "{\"a\":1} trailing",
        "[1,2,3]",
        "[{\"a\":1},]",
        "\"just a string\"",
        "42",
        "null",
        "127.0.0.1 - - [10/Oct/2000:13:55:36 -0700] \"GET / HTTP/1.0\" 200 2326",
    ])
    func malformedLinesAreRejected(_ line: String) throws {
        var format = try JSONLogFormat(spec: .kong, options: FormatOptions())
        let (outcome, records) = H.parse(&format, line)
        #expect(outcome == .rejected(.malformed))
        #expect(records.isEmpty)
    }

    @Test func everyTruncationOfARealLineIsRejectedWithoutCrashing() throws {
        var format = try JSONLogFormat(spec: .kong, options: FormatOptions())
        let bytes = Array(JSONSamples.kongWithKey.utf8)
        for cut in 0..<bytes.count {
            let (outcome, records) = H.parse(&format, bytes: Array(bytes[0..<cut]))
            #expect(outcome == (cut == 0 ? .ignored : .rejected(.malformed)), "cut at \(cut)")
            #expect(records.isEmpty)
        }
        #expect(H.parse(&format, bytes: bytes).0 == .records(1))
    }

    @Test func binaryJunkIsRejected() throws {
        var format = try JSONLogFormat(spec: .kong, options: FormatOptions())
        var generator = JSONFuzzRandom(seed: 0x5EED)
        for round in 0..<2000 {
            let length = Int(generator.next() % 300)
            var bytes = (0..<length).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
            if round % 2 == 0 && !bytes.isEmpty { bytes[0] = UInt8(ascii: "{") }
            let (outcome, _) = H.parse(&format, bytes: bytes)
            if case .records = outcome { Issue.record("junk parsed as a record: \(bytes)") }
        }
    }

    @Test func mutatedRealLinesNeverCrash() throws {
        var format = try JSONLogFormat(spec: .kong, options: FormatOptions())
        var generator = JSONFuzzRandom(seed: 42)
        let original = Array(JSONSamples.kongWithKey.utf8)
        let alphabet = Array(#"{}[]":,\u0-9aeflnrstx "#.utf8)
        for _ in 0..<3000 {
            var bytes = original
            for _ in 0..<(1 + Int(generator.next() % 4)) {
                let at = Int(generator.next() % UInt64(bytes.count))
                bytes[at] = alphabet[Int(generator.next() % UInt64(alphabet.count))]
            }
            let (outcome, records) = H.parse(&format, bytes: bytes)
            if case .records(let n) = outcome { #expect(records.count == n) }
        }
    }

    @Test func hugeNumbersNeverOverflow() throws {
        var format = try JSONLogFormat(spec: .json, options: FormatOptions())
        for time in ["1e300", "-5", "99999999999999999999999", "1.5e308", "0"] {
            let line = #"{"time":"# + time + #","status":1e300,"bytes":-1,"duration":"9e307h"}"#
            #expect(H.parse(&format, line).0 == .rejected(.badTimestamp), "time \(time)")
        }
        let line = #"{"time":1.7e9,"status":1e300,"bytes":99999999999999999999,"duration":"9e307h"}"#
        let (_, records) = H.parse(&format, line)
        let r = try #require(records.first)
        #expect(r.timeMillis == 1_700_000_000_000)
        #expect(r.status == 0)
        #expect(r.bytes == nil)
        #expect(r.latencyMillis == nil)
    }

    @Test func deepNestingIsRejected() throws {
        var format = try JSONLogFormat(spec: .json, options: FormatOptions())
        let deep = String(repeating: "{\"a\":", count: 100_000) + "1" + String(repeating: "}", count: 100_000)
        #expect(H.parse(&format, deep).0 == .rejected(.malformed))
        let arrays = String(repeating: "[", count: 50_000)
        #expect(H.parse(&format, arrays).0 == .rejected(.malformed))
        // 63 levels inside the top-level object are fine.
        let ok =
            #"{"time":"2024-05-01T10:00:00Z","x":"# + String(repeating: "[", count: 63)
            + String(repeating: "]", count: 63) + "}"
        #expect(H.parse(&format, ok).0 == .records(1))
    }

    // MARK: Detection

    @Test func detectsEachPreset() {
        let cases: [(String, FormatSpec?)] = [
            (JSONSamples.kong38, .kong),
            ("[" + JSONSamples.kong22 + "]", .kong),
            (JSONSamples.awsREST, .awsAPIGateway),
            (JSONSamples.awsHTTP, .awsAPIGateway),
            (
                #"{"ClientHost":"172.16.100.61","DownstreamStatus":404,"StartUTC":"2021-06-05T04:03:22.742209746Z"}"#,
                .traefik
            ),
            (#"{"start_time":"2021-05-10T18:35:40.449Z","method":"GET","response_code":200,"duration":1}"#, .envoyJSON),
            (#"{"time":"2024-05-01T10:00:00Z","status":200}"#, .json),
            (#"{"time":"2024-05-01T10:00:00Z""#, nil),
            ("[1,2]", nil),
            ("not json", nil),
        ]
        for (line, expected) in cases {
            let detected = H.withView(line) { JSONLogFormat.detect($0) }
            #expect(detected == expected, "\(line.prefix(60))")
        }
    }
}

/// A tiny deterministic generator for fuzz-style tests.
struct JSONFuzzRandom {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
