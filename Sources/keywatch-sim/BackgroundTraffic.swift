/// Requests that carry no valid key: health checks, monitoring, crawlers, scanners and bad keys.
struct BackgroundTraffic {
    private let config: SimulationConfig
    private let invalidKeys: [String]

    private static let monitorAgent = "UptimePing/2.1 (+https://uptimeping.example/bot)"
    private static let scannerPaths = [
        "/.env", "/wp-login.php", "/.git/config", "/actuator/env", "/phpmyadmin/index.php", "/api/v1/pods",
        "/cgi-bin/luci/;stok=/locale", "/server-status", "/.aws/credentials", "/v2/_catalog",
    ]
    private static let crawlerAgents = [
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36",
    ]

    /// Creates the background generator.
    init(config: SimulationConfig, invalidKeys: [String]) {
        self.config = config
        self.invalidKeys = invalidKeys
    }

    /// Appends one day of background events.
    /// - Parameters:
    ///   - day: Day index.
    ///   - range: The day's time range (shorter for the live day).
    ///   - events: Output.
    func generate(day: Int, range: Range<EpochMillis>, into events: inout [SimEvent]) {
        var rng = SimRandom(seed: config.seed, streams: [Stream.background, UInt64(day)])
        healthChecks(range: range, rng: &rng, into: &events)
        monitoring(range: range, rng: &rng, into: &events)
        let hosting = AddressPlan.indices { $0.kind == .hosting }
        let isp = AddressPlan.indices { $0.kind == .isp }
        for node in Node.allCases {
            let share = node == .kong1 ? 0.4 : 0.5
            for _ in 0..<rng.poisson(10 * share * config.scale) {
                let client = AddressPlan.ranges[rng.pick(hosting)].cidr.randomAddress(using: &rng)
                let agent = rng.pick(UserAgents.scanner)
                var event = anonymous(
                    node,
                    at: randomTime(range, &rng),
                    client: client,
                    method: "GET",
                    target: rng.pick(BackgroundTraffic.scannerPaths),
                    status: 404,
                    bytes: 153,
                    rng: &rng
                )
                event.userAgent = agent == "-" ? nil : agent
                events.append(event)
            }
            for _ in 0..<rng.poisson(6 * share * config.scale) {
                let client = AddressPlan.ranges[rng.pick(isp)].cidr.randomAddress(using: &rng)
                let (target, status, bytes) = rng.pick([
                    ("/robots.txt", 200, 26), ("/favicon.ico", 404, 153), ("/", 200, 612),
                ])
                var event = anonymous(
                    node,
                    at: randomTime(range, &rng),
                    client: client,
                    method: "GET",
                    target: target,
                    status: status,
                    bytes: bytes,
                    rng: &rng
                )
                event.userAgent = rng.pick(BackgroundTraffic.crawlerAgents)
                events.append(event)
            }
            for _ in 0..<rng.poisson(4 * share * config.scale) {
                let client = AddressPlan.ranges[rng.pick(isp)].cidr.randomAddress(using: &rng)
                var event = anonymous(
                    node,
                    at: randomTime(range, &rng),
                    client: client,
                    method: "GET",
                    target: rng.pick(["/v1/orders?status=open", "/v1/products/SKU-10442", "/v1/me"]),
                    status: 401,
                    bytes: 64,
                    rng: &rng
                )
                event.userAgent = rng.pick(UserAgents.adHoc)
                event.rejectedByGateway = true
                events.append(event)
            }
        }
        for (index, key) in invalidKeys.enumerated() {
            let node: Node = index % 2 == 0 ? (rng.chance(0.5) ? .gw1 : .gw2) : .kong1
            let client = AddressPlan.ranges[isp[index % isp.count]].cidr.randomAddress(using: &rng)
            for _ in 0..<rng.poisson(1.5) {
                var event = anonymous(
                    node,
                    at: randomTime(range, &rng),
                    client: client,
                    method: "GET",
                    target: "/v1/orders?page=1",
                    status: 401,
                    bytes: 52,
                    rng: &rng
                )
                event.userAgent = "python-requests/2.31.0"
                event.headerKey = key
                event.rejectedByGateway = true
                events.append(event)
            }
        }
    }

    /// The load balancer checks each nginx node; nginx answers itself, so these never fail.
    private func healthChecks(range: Range<EpochMillis>, rng: inout SimRandom, into events: inout [SimEvent]) {
        let interval = EpochMillis(config.healthCheckInterval) * Span.second
        for node in [Node.gw1, .gw2] {
            var time = range.lowerBound + (node == .gw1 ? 250 : 700)
            while time < range.upperBound {
                var event = anonymous(
                    node,
                    at: time + rng.int64(in: 0..<30),
                    client: AddressPlan.healthChecker(node: Int(node.rawValue)),
                    method: "GET",
                    target: "/healthz",
                    status: 200,
                    bytes: 2,
                    rng: &rng
                )
                event.latency = 0
                event.userAgent = "lb-healthcheck/1.0"
                event.http = 10
                event.proxied = false
                events.append(event)
                time += interval
            }
        }
    }

    /// An uptime monitor polls the public status endpoint and scrapes nginx's stub status with basic auth.
    private func monitoring(range: Range<EpochMillis>, rng: inout SimRandom, into events: inout [SimEvent]) {
        var time = range.lowerBound + 17 * Span.second
        var slot = 0
        while time < range.upperBound {
            let client = ClientAddress.v4(0x45A2_7CE1 + UInt32(rng.int(below: 6)))
            for node in [rng.chance(0.5) ? Node.gw1 : .gw2, .kong1] {
                var event = anonymous(
                    node,
                    at: time + rng.int64(in: 0..<900),
                    client: client,
                    method: "GET",
                    target: "/v1/status",
                    status: 200,
                    bytes: 48,
                    rng: &rng
                )
                event.userAgent = BackgroundTraffic.monitorAgent
                events.append(event)
            }
            if slot % 3 == 0 {
                for node in [Node.gw1, .gw2] {
                    var event = anonymous(
                        node,
                        at: time + 2 * Span.second + rng.int64(in: 0..<500),
                        client: client,
                        method: "GET",
                        target: "/nginx_status",
                        status: 200,
                        bytes: 97 + rng.int(below: 12),
                        rng: &rng
                    )
                    event.userAgent = BackgroundTraffic.monitorAgent
                    event.remoteUser = "monitor"
                    event.proxied = false
                    events.append(event)
                }
            }
            slot += 1
            time += 5 * Span.minute
        }
    }

    private func randomTime(_ range: Range<EpochMillis>, _ rng: inout SimRandom) -> EpochMillis {
        rng.int64(in: range)
    }

    private func anonymous(
        _ node: Node,
        at time: EpochMillis,
        client: ClientAddress,
        method: String,
        target: String,
        status: Int,
        bytes: Int,
        rng: inout SimRandom
    ) -> SimEvent {
        let service: Int
        switch target {
        case _ where target.hasPrefix("/v1/orders"): service = 0
        case _ where target.hasPrefix("/v1/products"): service = 2
        case _ where target.hasPrefix("/v1/me"): service = 6
        default: service = 11
        }
        return SimEvent(
            time: time,
            latency: Int32(status == 200 ? rng.int(in: 1...12) : rng.int(in: 0...3)),
            node: node,
            client: client,
            method: method,
            target: target,
            service: Int16(service),
            status: Int16(status),
            bytes: Int32(bytes),
            requestBytes: Int32(120 + target.utf8.count),
            http: 11
        )
    }
}
