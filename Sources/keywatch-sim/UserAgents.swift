/// User-agent strings per kind of client; all invented or generic.
enum UserAgents {
    /// Server-side SDKs and HTTP libraries.
    static let service = [
        "acme-sdk/2.3.1 (python 3.11.6; linux)", "acme-sdk/2.4.0 (node 20.11.1; linux)", "acme-sdk-go/1.8.2",
        "Go-http-client/1.1", "Go-http-client/2.0", "okhttp/4.12.0", "Apache-HttpClient/4.5.14 (Java/17.0.9)",
        "Java/11.0.21", "python-requests/2.31.0", "python-httpx/0.27.0", "axios/1.6.7",
        "node-fetch/1.0 (+https://github.com/bitinn/node-fetch)", "Faraday v2.9.0", "GuzzleHttp/7",
        "Microsoft.Net.Http/8.0", "curl/7.81.0", "reqwest/0.12.4",
    ]

    /// Nightly jobs.
    static let batch = [
        "nightly-export/1.4 python-requests/2.28.2", "airflow-sync/2.8.1", "curl/8.5.0", "Wget/1.21.2",
        "reconcile-job/0.9 (Go-http-client/1.1)", "ledger-close/3.2 (Java/21.0.2)",
    ]

    /// Mobile app names; versions and platforms are added per key.
    static let apps = [
        "ShopMate", "FreshCart", "ParcelPal", "Basketly", "DealDash", "TrailStore", "KiezMarkt", "Feirinha",
        "Bazaarly", "MiseEnPlace",
    ]

    /// Desktop and mobile browsers for web front-ends.
    static let browsers = [
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Safari/605.1.15",
        "Mozilla/5.0 (X11; Linux x86_64; rv:131.0) Gecko/20100101 Firefox/131.0",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Mobile/15E148 Safari/604.1",
        "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.6723.58 Mobile Safari/537.36",
    ]

    /// Partner integrations; two of them exercise nginx escaping (a quote and a non-ASCII byte).
    static let partner = [
        "PartnerSync/1.4 (+https://partnersync.example)",
        "Mozilla/5.0 (Windows NT; Windows NT 10.0; de-DE) WindowsPowerShell/5.1.19041.4291",
        "PostmanRuntime/7.36.3", "SAP NetWeaver Application Server (1.0;754)",
        "Microsoft.Data.Mashup (https://go.microsoft.com/fwlink/?LinkID=304225)", "Zapier",
        "NorthwindBridge/3.1 (compatible; \"Northwind ERP\" connector)", "python-requests/2.25.1",
        "Café-Connector/1.0 (+https://cafe-connector.example)", "Java/1.8.0_392", "okhttp/3.14.9",
        "Integromat/production",
    ]

    /// Developers' ad-hoc tools.
    static let adHoc = [
        "curl/8.4.0", "curl/7.68.0", "PostmanRuntime/7.39.0", "insomnia/2023.5.8", "HTTPie/3.2.2",
        "python-requests/2.32.3", "Wget/1.20.3 (linux-gnu)",
    ]

    /// Tools attackers use with a stolen key.
    static let attacker = [
        "python-requests/2.32.3", "curl/8.7.1", "Go-http-client/1.1", "Mozilla/5.0 (X11; Linux x86_64)",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
        "aiohttp/3.9.5",
    ]

    /// Anonymous scanners probing for well-known files.
    static let scanner = [
        "Mozilla/5.0 zgrab/0.x", "Mozilla/5.0 (compatible; CensysInspect/1.1)", "python-requests/2.28.1",
        "Go-http-client/1.1", "-",
    ]

    /// A set of app user agents (iOS and Android builds across versions) for one mobile app.
    static func mobileApp(name: String, using rng: inout SimRandom) -> [String] {
        let major = rng.int(in: 3...9)
        let minor = rng.int(in: 0...20)
        var agents: [String] = []
        for step in 0..<3 {
            let version = "\(major).\(max(0, minor - step)).\(rng.int(in: 0...4))"
            let build = 1000 + rng.int(below: 9000)
            agents.append("\(name)/\(version) (iPhone; iOS 18.\(rng.int(in: 0...1)); Scale/3.00)")
            agents.append("\(name)/\(build) CFNetwork/1568.100.1 Darwin/24.0.0")
            agents.append("\(name)/\(version) (Android 14; \(rng.pick(androidDevices)))")
            agents.append("okhttp/4.12.0 \(name)/\(version)")
        }
        return agents
    }

    private static let androidDevices = ["SM-S918B", "Pixel 8", "Pixel 7a", "SM-A546B", "moto g84 5G", "CPH2581"]
}
