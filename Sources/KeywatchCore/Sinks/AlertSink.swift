/// Where raised alerts go as they are raised: standard output, a JSON-lines file, or several at once.
///
/// The contract:
/// - ``emit(_:)`` is called on the detection path, once per alert, in the order alerts are raised.
///   It must return quickly and never wait on a network: webhooks are not sinks but rows of the
///   durable outbox (``Checkpoint/outbox``), sent by a ``WebhookDeliverer`` on its own task.
/// - ``checkpoint()`` is called when the state is checkpointed; when it returns, every alert emitted
///   before is durable (for a file: written and `fsync`ed).
/// - After a crash, the alerts raised since the last checkpoint are raised again when the logs are
///   replayed, with the same ``Alert/id``: a sink delivers at least once, and its reader can drop
///   repeated ids.
///
/// Implementations are `Sendable` and may be called from any thread, one call at a time or not.
/// To fan out, wrap several in a ``MultiplexAlertSink``.
public protocol AlertSink: Sendable {
    /// Takes one alert.
    /// - Parameter alert: The alert, already redacted (key id and masked hint only).
    /// - Throws: ``SinkError`` when the alert could not be written.
    func emit(_ alert: Alert) throws(SinkError)

    /// Makes every alert emitted so far durable.
    /// - Throws: ``SinkError`` when that failed.
    func checkpoint() throws(SinkError)
}

/// Errors from alert sinks and webhook set-up. Cases name a path or a sink name, never a URL with
/// credentials or a secret.
public enum SinkError: Error, Hashable, CustomStringConvertible {
    /// The alerts file could not be opened or created.
    case cannotOpen(path: String, reason: String)
    /// Writing to the alerts file failed.
    case writeFailed(path: String, reason: String)
    /// `fsync` of the alerts file failed.
    case syncFailed(path: String, reason: String)
    /// A webhook URL is not an absolute `http` or `https` URL.
    case invalidWebhookURL(sink: String, reason: String)
    /// Two webhook URLs have the same sink name (the same URL but for credentials, query or a masked token).
    case duplicateWebhook(sink: String)
    /// The webhook secret file could not be read, or is empty.
    case badSecret(path: String, reason: String)

    public var description: String {
        switch self {
        case .cannotOpen(let path, let reason):
            "cannot open alerts file \(path): \(reason); check that its directory exists and is writable"
        case .writeFailed(let path, let reason):
            "cannot write alerts file \(path): \(reason); check free disk space"
        case .syncFailed(let path, let reason):
            "cannot sync alerts file \(path) to disk: \(reason); check the disk"
        case .invalidWebhookURL(let sink, let reason):
            "webhook \(sink): \(reason); pass --webhook with an absolute http:// or https:// URL"
        case .duplicateWebhook(let sink):
            "webhook \(sink) is configured twice; keep one of them"
        case .badSecret(let path, let reason):
            "webhook secret file \(path): \(reason); put the shared secret on the file's first line"
        }
    }
}

/// Sends every alert to several sinks, as swift-log's `MultiplexLogHandler` does for log handlers.
///
/// Every sink gets every alert even when one fails; the first error is thrown afterwards.
public struct MultiplexAlertSink: AlertSink {
    /// The sinks, in the order they are called.
    public let sinks: [any AlertSink]

    /// Creates a sink that fans out to `sinks`.
    /// - Parameter sinks: The sinks.
    public init(_ sinks: [any AlertSink]) {
        self.sinks = sinks
    }

    public func emit(_ alert: Alert) throws(SinkError) {
        try forEach { sink throws(SinkError) in try sink.emit(alert) }
    }

    public func checkpoint() throws(SinkError) {
        try forEach { sink throws(SinkError) in try sink.checkpoint() }
    }

    private func forEach(_ body: (any AlertSink) throws(SinkError) -> Void) throws(SinkError) {
        var first: SinkError?
        for sink in sinks {
            do throws(SinkError) {
                try body(sink)
            } catch {
                first = first ?? error
            }
        }
        if let first { throw first }
    }
}
