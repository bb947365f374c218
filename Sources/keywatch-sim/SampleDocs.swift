/// The small text files written next to the logs.
enum SampleDocs {
    /// `networks.csv`: every client range with its country, ASN and operator.
    static func networksCSV() -> String {
        var text = "cidr,country,asn,org\n"
        for range in AddressPlan.ranges {
            text += "\(range.cidr),\(range.country),\(range.asn),\(range.org)\n"
        }
        return text
    }

    /// `README.md` for the sample directory, describing this run.
    static func readme(config: SimulationConfig) -> String {
        let start = TimeFormat.rfc3339(config.startMillis)
        let end = TimeFormat.rfc3339(config.endMillis)
        let learning = TimeFormat.rfc3339(config.learningEndMillis)
        let first = config.startDate.compact
        let last = CivilDate(dayNumber: config.startDate.dayNumber + config.days - 1).compact
        let isDefault =
            config.seed == 42 && config.days == 14 && config.keyCount == 300 && config.scale == 1
            && config.startDate == CivilDate(year: 2026, month: 10, day: 26) && config.liveHours == 6
            && config.kongShare == 0.2 && config.incidentsPerKind == nil && config.learningDays == 7
            && config.gzipLevel == 9 && config.healthCheckInterval == 60
        let command =
            isDefault
            ? "swift run -c release keywatch-sim --out samples --seed 42"
            : "swift run -c release keywatch-sim --out \(config.outputDirectory) --seed \(config.seed) "
                + "--days \(config.days) --keys \(config.keyCount) --start \(config.startDate.iso) "
                + "--scale \(config.scale) --live-hours \(config.liveHours) --kong-share \(config.kongShare) "
                + "--learning-days \(config.learningDays) --gzip-level \(config.gzipLevel) "
                + "--health-check-interval \(config.healthCheckInterval)"
                + (config.incidentsPerKind.map { " --incidents-per-kind \($0)" } ?? "")
        return """
            # keywatch sample traffic

            Synthetic API-gateway access logs for \(config.keyCount) API keys with labelled incidents, written by \
            `keywatch-sim` (Sources/keywatch-sim). Everything here is generated and deterministic: the same \
            command gives byte-identical files. All keys, addresses, ASNs and organisations are invented.

            Regenerate with:

            ```
            \(command)
            ```

            Period: \(start) to \(end) (\(config.days) full days plus a \(config.liveHours)-hour partial day). \
            The first \(config.learningDays) days (until \(learning)) are a learning period without incidents.

            ## Layout

            ```
            nginx.log_format                  the nginx log_format of both nginx nodes (one line)
            nginx/gw1/access.log-YYYYMMDD.gz  nginx node 1, one gzip file per day, $time_local in +0000
            nginx/gw1/access.log              node 1, the last (partial) day, plain text
            nginx/gw2/...                     nginx node 2, same layout, $time_local in +0100
            kong/kong1/file-log-YYYYMMDD.gz   Kong file-log plugin, one JSON object per line, per day
            kong/kong1/file-log.json          Kong, the last (partial) day, plain text
            networks.csv                      cidr,country,asn,org for every client range (offline GeoIP/ASN)
            labels.json                       ground truth: incidents and legitimate-but-tricky behaviour
            ```

            Rotated files run from \(first) to \(last). Each file is named after the node-local date of its \
            lines and rotated at the node's local midnight (logrotate `dateext` + `dateyesterday`), so gw2's \
            days run from 23:00 to 23:00 UTC. Lines are ordered by completion time within and across files.

            A key's traffic stays in one gateway family: nginx keys are spread over gw1 and gw2 by the load \
            balancer, Kong keys go through kong1.

            ## nginx format

            ```
            \(NginxLineFormatter.logFormat)
            ```

            - `$http_x_api_key` carries the key; a few keys send it as the query parameter `api_key=` instead \
            (the header field is then `-`). Requests without a key: load-balancer health checks \
            (`10.20.0.2`/`10.20.0.3`, `GET /healthz`), an uptime monitor, crawlers, scanners, CORS preflights \
            and clients that forgot the key (401).
            - Quoted fields are escaped like nginx does: `"` becomes `\\x22`, bytes >= 0x7F become `\\xHH` \
            (one partner's user agent contains a quote, another a UTF-8 `é`).
            - `$body_bytes_sent` is `-` on a few 499 lines; `$remote_user` is `monitor` on `/nginx_status` scrapes.
            - Clients include IPv6 addresses (`2001:db8::/32`), HTTP/2.0 and HTTP/1.0 requests.

            ## Kong format

            One object per line as the file-log plugin writes it through lua-cjson, which escapes `/` as `\\/`. \
            The key is in `request.headers.apikey` or `request.querystring.apikey`; `consumer` and \
            `authenticated_entity` are present only when Kong identified the consumer (absent for unknown or \
            revoked keys and keyless requests). `started_at` is the request start in epoch milliseconds; lines \
            are written at completion (`started_at + latencies.request`), so `started_at` may step back by up to \
            one request's latency. When a plugin answers (401/403/429, CORS preflight) `latencies.proxy` is -1 \
            and `tries` is absent.

            ## labels.json

            ```
            {"seed":\(config.seed),"start":"\(start)","end":"\(end)","keys":\(config.keyCount),"learning_end":"\(learning)",
             "incidents":[{"id":"inc-001","kind":K,"key":"<raw key>","key_hint":"ak_live_Q7…nD","start":T,"end":T,
                           "gateway":"nginx|kong","consumer":"partner-7","key_kind":"partner","detail":{...}}],
             "legitimate":[{"id":"leg-001","kind":K,"start":T,"end":T,"keys":["<hint>",...] | "all",
                            "raw_keys":["<raw key>",...],"detail":{...}}]}
            ```

            Incident kinds: `new_country`, `new_network`, `rate_spike`, `quota_spike`, `new_endpoint`, \
            `error_spike`, `dormant_key`; \(config.effectiveIncidentsPerKind) of each, all after the learning \
            period, one per key, on keys that existed from the start, away from the gateway outage.

            - Windows are `[start, end)` in UTC with second precision. All injected requests lie inside. \
            `quota_spike` covers one whole UTC day. `detail.first_request`/`last_request` are the first and last \
            counted log timestamps (completion times).
            - `detail.requests` counts the injected requests; for `rate_spike`, `quota_spike` and `error_spike` \
            it also counts the key's regular requests inside the window.
            - `new_country`: a burst from a hosting range in a country the key never used; `new_network`: a new \
            ASN in the key's usual country; `rate_spike`: about 10x the key's per-minute rate for 10-40 minutes; \
            `quota_spike`: 5-8x the key's volume over a whole day; `new_endpoint`: admin/internal endpoints no key \
            ever calls; `error_spike`: every request of the key fails with 401 (revoked key still in use) or 403 \
            (scope removed) and the client retries; `dormant_key`: a key active on the first day only, silent \
            for 10+ days, then used again (`detail.silent_days`).

            Legitimate kinds: `mobile_ip_hopping`, `cloud_ip_move` (new IPs, same ASN), `multi_region` (one \
            cloud ASN, two countries, from day one), `growth` (+50% over the period), `office_hours`, \
            `nightly_batch` (02:00 local), `public_holiday`, `dst_change` (US partners move one hour in UTC), \
            `new_key` (keys created mid-period), `api_release` (`/v2/orders/{id}/refunds` adopted by many keys), \
            `outage_5xx` (all proxied requests on every gateway answer 502/503 for 22 minutes), \
            `poisson_low_volume`, `sparse_usage` (gaps of 5-8 days, below a 10-day dormancy threshold), \
            `roaming` (a mobile key briefly from a carrier abroad: a legitimate new country), `invalid_key` \
            (unknown keys answered 401), and `endpoint_first_use`/`network_first_use` (a key's rarely used \
            endpoint or network seen for the first time after the learning period, found while writing). Every \
            first use of an endpoint, ASN or country by an existing key after the learning period is covered by \
            an incident or a legitimate entry.

            ## Bigger sets

            `--scale N` multiplies every rate (for benchmarks), `--keys`, `--days` and `--seed` change the \
            population; `--kong-share`, `--live-hours`, `--incidents-per-kind`, `--learning-days`, \
            `--gzip-level` and `--health-check-interval` tune the rest. See `keywatch-sim --help`.

            """
    }
}
