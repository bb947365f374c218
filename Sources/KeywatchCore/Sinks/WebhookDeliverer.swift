import Foundation

/// How long to wait before retrying a failed delivery.
///
/// The n-th failure waits `baseDelay × 2^(n−1)`, capped at `maxDelay`, less a random share of up to
/// `jitter` of it, so receivers coming back are not hit by every sender at once. A `Retry-After`
/// answer (seconds or an HTTP date) is honoured instead, up to `maxRetryAfter`.
public struct RetryPolicy: Sendable, Hashable {
    /// The wait after the first failure.
    public var baseDelay: Duration
    /// The longest wait between attempts.
    public var maxDelay: Duration
    /// The share of a wait (0–1) that may be taken off at random.
    public var jitter: Double
    /// The longest `Retry-After` obeyed.
    public var maxRetryAfter: Duration

    /// Creates a policy; the defaults suit production (1 s, doubling to 10 minutes, half jitter).
    public init(
        baseDelay: Duration = .seconds(1),
        maxDelay: Duration = .seconds(600),
        jitter: Double = 0.5,
        maxRetryAfter: Duration = .seconds(3600)
    ) {
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
        self.jitter = jitter
        self.maxRetryAfter = maxRetryAfter
    }

    /// The wait after the `attempts`-th failed attempt, in milliseconds.
    /// - Parameters:
    ///   - attempts: Failed attempts so far, including this one (1 or more).
    ///   - random: A number in 0..<1 (random in production).
    /// - Returns: The delay in milliseconds.
    public func delayMs(afterAttempts attempts: Int, random: Double = Double.random(in: 0..<1)) -> Int64 {
        let cap = WebhookDeliverer.milliseconds(maxDelay)
        let full = min(cap, WebhookDeliverer.milliseconds(baseDelay) << Int64(min(max(attempts - 1, 0), 40)))
        return max(1, full - Int64(Double(full) * jitter * random))
    }

    /// A `Retry-After` value as a delay: whole seconds, or an HTTP date (IMF-fixdate, RFC 850 or asctime).
    /// - Parameters:
    ///   - value: The header's value.
    ///   - nowMs: The current time, in milliseconds since 1970.
    /// - Returns: The delay in milliseconds (0 for a date in the past, at most `maxRetryAfter`), or nil
    ///   when the value is neither.
    public func retryAfterMs(_ value: String, nowMs: Int64) -> Int64? {
        let text = value.trimmingCharacters(in: .whitespaces)
        let cap = WebhookDeliverer.milliseconds(maxRetryAfter)
        if let seconds = Int64(text), seconds >= 0 {
            return min(cap, seconds.multipliedReportingOverflow(by: 1000).partialValue)
        }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        for format in ["EEE, dd MMM yyyy HH:mm:ss zzz", "EEEE, dd-MMM-yy HH:mm:ss zzz", "EEE MMM d HH:mm:ss yyyy"] {
            formatter.dateFormat = format
            if let date = formatter.date(from: text) {
                return min(cap, max(0, Int64(date.timeIntervalSince1970 * 1000) - nowMs))
            }
        }
        return nil
    }
}

/// What happened to one delivery attempt, for logs and metrics. Names sinks, never full URLs.
public enum DeliveryEvent: Sendable, Hashable {
    /// The receiver answered 2xx; the item is done.
    case delivered(alertID: String, sink: String, status: Int, attempts: Int)
    /// The attempt failed (network error, 408, 429, 5xx or another non-2xx); it is retried then.
    case retrying(alertID: String, sink: String, error: String, attempts: Int, nextAttemptMs: Int64)
    /// The receiver refused the item for good (4xx other than 408 and 429); it is kept, not retried.
    case refused(alertID: String, sink: String, status: Int)
    /// The outbox could not be read or updated; the deliverer waits and tries again.
    case storeFailed(sink: String, error: StoreError)
}

/// Sends the outbox's due items to the configured webhooks, each on its own task, until cancelled.
///
/// ```swift
/// let deliverer = WebhookDeliverer(store: store, endpoints: hooks) { event in logger.info("\(event)") }
/// try await withThrowingTaskGroup(of: Void.self) { group in
///     group.addTask { await deliverer.run() }     // beside the tail and detect tasks
///     …
/// }
/// ```
///
/// Each POST carries the item's body with `Content-Type: application/json`,
/// `User-Agent: keywatch/<version>`, `X-Keywatch-Id` (the alert id: an idempotency key),
/// `X-Keywatch-Timestamp` (Unix seconds) and, with a secret, `X-Keywatch-Signature`
/// (``WebhookSignature``). A 2xx marks the item delivered. A network error, 408, 429, 5xx or any
/// other status records the failure and pauses that webhook until the item's next attempt
/// (``RetryPolicy``, or `Retry-After`); a 4xx other than 408 and 429 marks the item permanent.
///
/// Reading never waits for delivery: alerts reach the outbox in checkpoints, and each webhook is
/// served by its own child task, so a dead receiver delays only its own items. Delivery is at least
/// once: a process stopped between a receiver's 2xx and the store update sends that item again after a
/// restart, with the same `X-Keywatch-Id`.
public struct WebhookDeliverer: Sendable {
    /// The store whose outbox is delivered.
    public let store: StateStore
    /// The webhooks; each delivers the outbox rows with its ``WebhookEndpoint/name``.
    public let endpoints: [WebhookEndpoint]
    /// Sends requests.
    public var transport: any WebhookTransport
    /// The most a request may take.
    public var timeout: Duration = .seconds(10)
    /// Backoff between attempts.
    public var retry = RetryPolicy()
    /// How often an idle webhook looks for new items.
    public var pollInterval: Duration = .milliseconds(500)
    /// Items read from the outbox at a time.
    public var batchSize = 50
    /// Called after each attempt, from the webhook's task.
    public var onEvent: @Sendable (DeliveryEvent) -> Void

    /// Creates a deliverer.
    /// - Parameters:
    ///   - store: The state store with the outbox.
    ///   - endpoints: The webhooks.
    ///   - transport: Sends requests (``CurlTransport`` by default).
    ///   - onEvent: Called after each attempt, for logs and metrics.
    public init(
        store: StateStore,
        endpoints: [WebhookEndpoint],
        transport: any WebhookTransport = CurlTransport(),
        onEvent: @escaping @Sendable (DeliveryEvent) -> Void = { _ in }
    ) {
        self.store = store
        self.endpoints = endpoints
        self.transport = transport
        self.onEvent = onEvent
    }

    /// Delivers until the task is cancelled, one child task per webhook.
    public func run() async {
        await withTaskGroup(of: Void.self) { group in
            for endpoint in endpoints {
                group.addTask {
                    while !Task.isCancelled {
                        let pause = await deliverDue(to: endpoint)
                        guard pause > 0 else { continue }
                        do { try await Task.sleep(for: .milliseconds(pause)) } catch { return }
                    }
                }
            }
        }
    }

    /// One pass for one webhook: sends its due items in order until one fails.
    /// - Parameters:
    ///   - endpoint: The webhook.
    ///   - nowMs: The time to judge what is due, in milliseconds since 1970 (the wall clock by default).
    /// - Returns: How long to wait before the next pass, in milliseconds: 0 when more may be due,
    ///   ``pollInterval`` when the outbox had nothing more, or the time to the next attempt after a failure.
    @discardableResult
    public func deliverDue(to endpoint: WebhookEndpoint, nowMs: Int64 = WebhookDeliverer.nowMs()) async -> Int64 {
        let poll = WebhookDeliverer.milliseconds(pollInterval)
        let items: [OutboxItem]
        do {
            items = try store.dueOutboxItems(sink: endpoint.name, nowMs: nowMs, limit: batchSize)
        } catch {
            onEvent(.storeFailed(sink: endpoint.name, error: error))
            return max(poll, 1000)
        }
        for item in items {
            if Task.isCancelled { return 0 }
            let pause = await attempt(item, to: endpoint)
            if pause > 0 { return pause }
        }
        return items.count == batchSize ? 0 : poll
    }

    /// Sends one item and records the outcome; returns how long the webhook should pause (0: go on).
    private func attempt(_ item: OutboxItem, to endpoint: WebhookEndpoint) async -> Int64 {
        let timestamp = WebhookDeliverer.nowMs() / 1000
        let headers = WebhookDeliverer.headers(for: item, endpoint: endpoint, timestamp: timestamp)
        let attempts = item.attempts + 1
        let error: String
        var retryAfter: String?
        do {
            let response = try await transport.post(
                url: endpoint.url,
                headers: headers,
                body: Array(item.body.utf8),
                timeout: timeout
            )
            let now = WebhookDeliverer.nowMs()
            switch response.status {
            case 200..<300:
                return record(
                    { () throws(StoreError) in
                        try store.markDelivered(alertID: item.alertID, sink: item.sink, atMs: now)
                    },
                    .delivered(alertID: item.alertID, sink: item.sink, status: response.status, attempts: attempts),
                    sink: item.sink
                )
            case 400..<500 where response.status != 408 && response.status != 429:
                return record(
                    { () throws(StoreError) in
                        try store.recordFailure(
                            alertID: item.alertID,
                            sink: item.sink,
                            error: "HTTP \(response.status)",
                            nextAttemptMs: now,
                            permanent: true
                        )
                    },
                    .refused(alertID: item.alertID, sink: item.sink, status: response.status),
                    sink: item.sink
                )
            default:
                error = "HTTP \(response.status)"
                retryAfter = response.retryAfter
            }
        } catch let failure {
            // Stopped mid-request (shutdown): not the receiver's failure; the item stays due as it was.
            if Task.isCancelled { return 0 }
            error = failure.description
        }
        let now = WebhookDeliverer.nowMs()
        let delay = retryAfter.flatMap { retry.retryAfterMs($0, nowMs: now) } ?? retry.delayMs(afterAttempts: attempts)
        let next = now + max(delay, 1)
        let paused = record(
            { () throws(StoreError) in
                try store.recordFailure(alertID: item.alertID, sink: item.sink, error: error, nextAttemptMs: next)
            },
            .retrying(alertID: item.alertID, sink: item.sink, error: error, attempts: attempts, nextAttemptMs: next),
            sink: item.sink
        )
        return max(paused, next - now)
    }

    /// Runs a store update and reports `event`, or the store's failure (then pauses a second).
    private func record(_ update: () throws(StoreError) -> Void, _ event: DeliveryEvent, sink: String) -> Int64 {
        do {
            try update()
            onEvent(event)
            return 0
        } catch {
            onEvent(.storeFailed(sink: sink, error: error))
            return 1000
        }
    }

    /// The headers of one POST.
    /// - Parameters:
    ///   - item: The outbox item.
    ///   - endpoint: The webhook (its secret signs the body).
    ///   - timestamp: The `X-Keywatch-Timestamp`, in seconds since 1970.
    /// - Returns: Names and values, in order.
    public static func headers(for item: OutboxItem, endpoint: WebhookEndpoint, timestamp: Int64) -> [(String, String)]
    {
        var headers = [
            ("Content-Type", "application/json"),
            ("User-Agent", "keywatch/\(KeywatchVersion.string)"),
            ("X-Keywatch-Id", item.alertID),
            ("X-Keywatch-Timestamp", String(timestamp)),
        ]
        if let secret = endpoint.secret {
            headers.append(
                ("X-Keywatch-Signature", WebhookSignature.sign(secret: secret, timestamp: timestamp, body: item.body))
            )
        }
        return headers
    }

    /// The wall clock in milliseconds since 1970.
    public static func nowMs() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    static func milliseconds(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
    }
}
