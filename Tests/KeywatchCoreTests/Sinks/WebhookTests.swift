import Foundation
import Testing

@testable import KeywatchCore

/// Webhook delivery against a real HTTP server on 127.0.0.1, signatures, backoff and sink names.
@Suite struct WebhookTests {
    static let secret = Array("whsec_keywatch_example".utf8)

    /// The README's worked example ("Verifying webhook signatures").
    @Test func signatureMatchesTheWorkedExample() {
        let body = #"{"id":"a_3f9a0c1b2d4e5f607182","kind":"new_country","severity":"medium"}"#
        let signature = WebhookSignature.sign(secret: Self.secret, timestamp: 1_700_000_000, body: body)
        #expect(signature == "sha256=49faa5577182a7e254585db130001dea9a2b30f9500131ef9d62daf51dd6bd90")
        let verify = { (sig: String, body: String, now: Int64) in
            WebhookSignature.verify(
                signature: sig,
                secret: Self.secret,
                timestamp: "1700000000",
                body: body,
                nowSeconds: now
            )
        }
        #expect(verify(signature, body, 1_700_000_299))
        #expect(!verify(signature, body, 1_700_000_301), "older than 5 minutes")
        #expect(!verify(signature, body + " ", 1_700_000_000), "body changed")
        #expect(!verify(String(signature.dropLast()) + "f", body, 1_700_000_000))
    }

    @Test func sinkNamesHoldNoCredentials() throws {
        let hook = try WebhookEndpoint(url: "https://user:pass@Hooks.Example.com:8443/in/keywatch?token=abc#x")
        #expect(hook.name == "https://hooks.example.com:8443/in/keywatch")
        let slack = try WebhookEndpoint(
            url: "https://hooks.slack.com/services/T0000AAAA/B0000BBBB/abcdefghijklmnopqrstuvwx",
            format: .slack
        )
        #expect(slack.name == "https://hooks.slack.com/services/T0000AAAA/B0000BBBB/…")
        #expect(
            throws: SinkError.invalidWebhookURL(sink: "ftp://example.com/x", reason: "the scheme must be http or https")
        ) {
            try WebhookEndpoint(url: "ftp://example.com/x")
        }
        #expect(throws: SinkError.duplicateWebhook(sink: "https://hooks.example.com:8443/in/keywatch")) {
            try WebhookEndpoint.checkDistinct([
                hook, try WebhookEndpoint(url: "https://Hooks.example.com:8443/in/keywatch?a=1"),
            ])
        }
    }

    @Test func slackBodyIsAMessageWithSeverityKindHintAndSummary() throws {
        let alert = SinkSamples.alert(3, kind: .rateSpike, severity: .high)
        let body = try WebhookEndpoint(url: "https://hooks.slack.com/services/T/B/x", format: .slack).body(for: alert)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: String])
        #expect(object.keys.sorted() == ["text"])
        let text = try #require(object["text"])
        for part in ["high", "rate_spike", alert.keyHint, alert.summary, alert.id] {
            #expect(text.contains(part), "\(part)")
        }
        #expect(try WebhookEndpoint(url: "https://example.com/").body(for: alert) == alert.json)
    }

    @Test func backoffDoublesWithJitterAndHonoursRetryAfter() {
        let policy = RetryPolicy(baseDelay: .seconds(1), maxDelay: .seconds(60), jitter: 0.5)
        #expect(policy.delayMs(afterAttempts: 1, random: 0) == 1000)
        #expect(policy.delayMs(afterAttempts: 3, random: 0) == 4000)
        #expect(policy.delayMs(afterAttempts: 3, random: 0.999) > 2000)
        #expect(policy.delayMs(afterAttempts: 30, random: 0) == 60_000)
        let now: Int64 = 1_445_412_480_000  // Wed, 21 Oct 2015 07:28:00 GMT
        #expect(policy.retryAfterMs("120", nowMs: now) == 120_000)
        #expect(policy.retryAfterMs("Wed, 21 Oct 2015 07:28:30 GMT", nowMs: now) == 30_000)
        #expect(policy.retryAfterMs("Wed, 21 Oct 2015 07:00:00 GMT", nowMs: now) == 0)
        #expect(policy.retryAfterMs("999999", nowMs: now) == 3_600_000)
        #expect(policy.retryAfterMs("soon", nowMs: now) == nil)
    }

    /// A store with `alerts` queued for `hooks`, and a deliverer with short delays.
    static func setUp(
        _ dir: TemporaryDirectory,
        hooks: [WebhookEndpoint],
        alerts: [Alert],
        events: EventLog = EventLog()
    ) throws -> (StateStore, WebhookDeliverer) {
        let store = try StateStore(directory: dir.path)
        let now = WebhookDeliverer.nowMs()
        try store.checkpoint(Checkpoint(outbox: hooks.flatMap { $0.outboxItems(for: alerts, nowMs: now) }))
        var deliverer = WebhookDeliverer(store: store, endpoints: hooks) { events.append($0) }
        deliverer.retry = RetryPolicy(baseDelay: .milliseconds(50), maxDelay: .milliseconds(200))
        deliverer.pollInterval = .milliseconds(20)
        deliverer.timeout = .seconds(2)
        return (store, deliverer)
    }

    /// Runs `deliverer` while `body` runs, then cancels it and waits for it to stop.
    static func running(_ deliverer: WebhookDeliverer, _ body: () async throws -> Void) async throws {
        let task = Task { await deliverer.run() }
        defer { task.cancel() }
        try await body()
        task.cancel()
        await task.value
    }

    @Test func failingReceiverGetsTheAlertOnceItRecovers() async throws {
        let receiver = try TestReceiver(script: [.init(status: 500), .init(status: 503)])
        defer { receiver.stop() }
        let dir = TemporaryDirectory()
        let hook = try WebhookEndpoint(url: receiver.url(), secret: Self.secret)
        let alert = SinkSamples.alert(1)
        let events = EventLog()
        let (store, deliverer) = try Self.setUp(dir, hooks: [hook], alerts: [alert], events: events)
        try await Self.running(deliverer) {
            #expect(await eventually { try store.outboxItem(alertID: alert.id, sink: hook.name)?.deliveredMs != nil })
            try await Task.sleep(for: .milliseconds(300))  // nothing more is sent once delivered
        }
        let requests = receiver.requests
        #expect(requests.count == 3)
        #expect(try store.outboxItem(alertID: alert.id, sink: hook.name)?.attempts == 3)
        #expect(events.all.filter { if case .delivered = $0 { true } else { false } }.count == 1)
        for request in requests {
            #expect(request.body == alert.json)
            #expect(request.headers["content-type"] == "application/json")
            #expect(request.headers["user-agent"] == "keywatch/\(KeywatchVersion.string)")
            #expect(request.headers["x-keywatch-id"] == alert.id)
            let timestamp = try #require(request.headers["x-keywatch-timestamp"])
            let signature = try #require(request.headers["x-keywatch-signature"])
            #expect(
                WebhookSignature.verify(
                    signature: signature,
                    secret: Self.secret,
                    timestamp: timestamp,
                    body: request.body,
                    nowSeconds: Int64(Date().timeIntervalSince1970)
                )
            )
        }
        #expect(try store.outboxDepth()[hook.name]?.pending == 0)
    }

    @Test func retryAfterIsHonoured() async throws {
        let receiver = try TestReceiver(script: [.init(status: 429, headers: [("Retry-After", "1")])])
        defer { receiver.stop() }
        let dir = TemporaryDirectory()
        let hook = try WebhookEndpoint(url: receiver.url())
        let alert = SinkSamples.alert(2)
        let (store, deliverer) = try Self.setUp(dir, hooks: [hook], alerts: [alert])
        try await Self.running(deliverer) {
            #expect(await eventually { try store.outboxItem(alertID: alert.id, sink: hook.name)?.deliveredMs != nil })
        }
        let requests = receiver.requests
        try #require(requests.count == 2)
        #expect(requests[1].receivedAt.timeIntervalSince(requests[0].receivedAt) >= 0.95)
        #expect(requests[0].headers["x-keywatch-signature"] == nil, "no secret, no signature")
    }

    @Test func notFoundIsPermanentAndKept() async throws {
        let receiver = try TestReceiver(fallback: .init(status: 404))
        defer { receiver.stop() }
        let dir = TemporaryDirectory()
        let hook = try WebhookEndpoint(url: receiver.url())
        let alert = SinkSamples.alert(3)
        let events = EventLog()
        let (store, deliverer) = try Self.setUp(dir, hooks: [hook], alerts: [alert], events: events)
        try await Self.running(deliverer) {
            #expect(await eventually { try store.outboxItem(alertID: alert.id, sink: hook.name)?.permanent == true })
            try await Task.sleep(for: .milliseconds(300))
        }
        #expect(receiver.requests.count == 1)
        let item = try #require(try store.outboxItem(alertID: alert.id, sink: hook.name))
        #expect(item.deliveredMs == nil && item.lastError == "HTTP 404")
        #expect(try store.outboxDepth()[hook.name] == OutboxDepth(pending: 0, permanent: 1, oldestPendingMs: nil))
        #expect(events.all == [.refused(alertID: alert.id, sink: hook.name, status: 404)])
    }

    @Test func aDeadReceiverDoesNotHoldUpAnother() async throws {
        let alive = try TestReceiver()
        defer { alive.stop() }
        let dead = try TestReceiver()
        dead.stop()  // its port now refuses connections
        let dir = TemporaryDirectory()
        let hooks = [try WebhookEndpoint(url: dead.url("/dead")), try WebhookEndpoint(url: alive.url("/alive"))]
        let alerts = [SinkSamples.alert(4), SinkSamples.alert(5)]
        let (store, deliverer) = try Self.setUp(dir, hooks: hooks, alerts: alerts)
        try await Self.running(deliverer) {
            #expect(await eventually { try store.outboxDepth()[hooks[1].name]?.pending == 0 })
        }
        #expect(alive.requests.map { $0.headers["x-keywatch-id"] } == alerts.map(\.id))
        let deadItem = try #require(try store.outboxItem(alertID: alerts[0].id, sink: hooks[0].name))
        #expect(deadItem.deliveredMs == nil && deadItem.lastError?.hasPrefix("network: ") == true)
        #expect(try store.outboxDepth()[hooks[0].name]?.pending == 2)
    }

    @Test func pendingItemsAreDeliveredAfterAStoreReopen() async throws {
        let receiver = try TestReceiver()
        defer { receiver.stop() }
        let dir = TemporaryDirectory()
        let hook = try WebhookEndpoint(url: receiver.url(), format: .slack)
        let alert = SinkSamples.alert(6)
        do {
            // Queued, then the process stops before delivering.
            let store = try StateStore(directory: dir.path)
            try store.checkpoint(Checkpoint(outbox: hook.outboxItems(for: [alert], nowMs: WebhookDeliverer.nowMs())))
        }
        let store = try StateStore(directory: dir.path)
        #expect(try store.outboxDepth()[hook.name]?.pending == 1)
        let deliverer = WebhookDeliverer(store: store, endpoints: [hook])
        await deliverer.deliverDue(to: hook)
        #expect(try store.outboxItem(alertID: alert.id, sink: hook.name)?.deliveredMs != nil)
        #expect(receiver.requests.map(\.body) == [hook.body(for: alert)])
    }
}

/// Collects delivery events from the deliverer's tasks.
final class EventLog: @unchecked Sendable {
    // Safety: `events` is touched only while holding `lock`.
    private let lock = NSLock()
    private var events: [DeliveryEvent] = []

    func append(_ event: DeliveryEvent) {
        lock.lock()
        events.append(event)
        lock.unlock()
    }

    var all: [DeliveryEvent] {
        lock.lock()
        defer { lock.unlock() }
        return events
    }
}

/// The real transport (libcurl, loaded on first use) against local sockets.
@Suite struct CurlTransportTests {
    let transport = CurlTransport()

    @Test func headersAndBodyArriveAsSentAndTheStatusAndRetryAfterComeBack() async throws {
        let receiver = try TestReceiver(script: [.init(status: 429, headers: [("Retry-After", "17")])])
        defer { receiver.stop() }
        let body = Array(#"{"kind":"new_country","summary":"ünïcode ✓"}"#.utf8)
        let response = try await transport.post(
            url: URL(string: receiver.url())!, headers: [("Content-Type", "application/json"), ("X-Keywatch-Id", "a1")],
            body: body, timeout: .seconds(5))
        #expect(response == WebhookResponse(status: 429, retryAfter: "17"))
        let request = try #require(receiver.requests.first)
        #expect(Array(request.body.utf8) == body)
        #expect(request.headers["content-type"] == "application/json" && request.headers["x-keywatch-id"] == "a1")
        #expect(request.headers["expect"] == nil, "no 100-continue round trip")
    }

    @Test func anEmptyBodyIsPostedAsEmpty() async throws {
        // An empty array has no storage: the transport must still send a zero-length body.
        let receiver = try TestReceiver()
        defer { receiver.stop() }
        let response = try await transport.post(
            url: URL(string: receiver.url())!, headers: [], body: [], timeout: .seconds(5))
        #expect(response.status == 200)
        let request = try #require(receiver.requests.first)
        #expect(request.body.isEmpty && request.headers["content-length"] == "0")
    }

    @Test func aRedirectIsTheReceiversAnswerNotFollowed() async throws {
        let receiver = try TestReceiver(script: [.init(status: 302, headers: [("Location", "/elsewhere")])])
        defer { receiver.stop() }
        let response = try await transport.post(
            url: URL(string: receiver.url())!, headers: [], body: Array("{}".utf8), timeout: .seconds(5))
        #expect(response.status == 302 && response.retryAfter == nil)
        #expect(receiver.requests.count == 1)
    }

    @Test func aClosedPortIsANetworkErrorThatNamesNoURL() async throws {
        // A port that was just free: bind, read the number, close.
        let receiver = try TestReceiver()
        let url = receiver.url("/hook?token=secret-value")
        receiver.stop()
        await #expect(throws: WebhookNetworkError(reason: "cannot connect")) {
            _ = try await transport.post(url: URL(string: url)!, headers: [], body: [], timeout: .seconds(5))
        }
    }

    @Test func aSilentReceiverTimesOut() throws {
        // Accepts the connection (the kernel's backlog) but never answers. The request runs on this
        // thread, so the time measured is the request's, not the test runner's scheduling.
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { generic in
                bind(fd, generic, length) == 0 && listen(fd, 4) == 0 && getsockname(fd, generic, &length) == 0
            }
        }
        try #require(bound)
        let url = "http://127.0.0.1:\(UInt16(bigEndian: address.sin_port))/hook"
        let start = ContinuousClock.now
        let outcome = CurlTransport.perform(url, [], Array("{}".utf8), 400)
        let elapsed = ContinuousClock.now - start
        #expect(outcome.failure == "timed out" && outcome.status == 0)
        #expect(elapsed >= .milliseconds(350) && elapsed < .seconds(3))
    }
}
