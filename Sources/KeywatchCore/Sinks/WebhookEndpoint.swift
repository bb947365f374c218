import Foundation

/// One configured webhook (`--webhook URL`, `--webhook-format`, `--webhook-secret-file`).
///
/// ```swift
/// let secret = try WebhookEndpoint.secret(fromFile: "/etc/keywatch/webhook.secret")
/// let hook = try WebhookEndpoint(url: "https://hooks.example.com/keywatch", format: .json, secret: secret)
/// batch.outbox = alerts.flatMap { hook.outboxItems(for: [$0], nowMs: now) }
/// ```
///
/// Its ``name`` identifies its outbox rows and appears in logs and metrics, so it holds no secret:
/// the URL without user and password, query and fragment, with long path segments (the tokens of
/// Slack or Discord webhook URLs) masked as `…`.
public struct WebhookEndpoint: Sendable, Hashable {
    /// What a POST carries.
    public enum Format: String, Sendable, Hashable, CaseIterable {
        /// The alert JSON (``Alert/json``).
        case json
        /// A Slack incoming-webhook message, `{"text": …}`, with severity, kind, key hint and summary.
        case slack
    }

    /// The URL requests go to, credentials and all.
    public let url: URL
    /// The outbox's sink name: the URL without credentials, query, fragment or token-like path segments.
    public let name: String
    /// What a POST carries.
    public let format: Format
    /// The shared secret for `X-Keywatch-Signature`, or nil to send no signature.
    public let secret: [UInt8]?

    /// Path segments at least this long are masked in ``name`` (Slack's token has 24 characters).
    static let maskedSegmentLength = 20

    /// Checks and keeps one webhook.
    /// - Parameters:
    ///   - url: An absolute `http` or `https` URL.
    ///   - format: What a POST carries.
    ///   - secret: The shared secret, or nil.
    /// - Throws: ``SinkError/invalidWebhookURL(sink:reason:)``.
    public init(url: String, format: Format = .json, secret: [UInt8]? = nil) throws(SinkError) {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
            let host = components.host, !host.isEmpty
        else {
            throw .invalidWebhookURL(sink: "(unparsable URL)", reason: "not an absolute URL")
        }
        let name = WebhookEndpoint.name(scheme: scheme, host: host, port: components.port, path: components.path)
        guard scheme == "http" || scheme == "https", let parsed = components.url else {
            throw .invalidWebhookURL(sink: name, reason: "the scheme must be http or https")
        }
        self.url = parsed
        self.name = name
        self.format = format
        self.secret = secret
    }

    private static func name(scheme: String, host: String, port: Int?, path: String) -> String {
        let segments = path.split(separator: "/", omittingEmptySubsequences: false).map { segment in
            segment.count >= maskedSegmentLength ? "…" : String(segment)
        }
        let hostPart = host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
        return "\(scheme)://\(hostPart.lowercased())" + (port.map { ":\($0)" } ?? "") + segments.joined(separator: "/")
    }

    /// Reads a secret file's first line (without its line end) as the shared secret's bytes.
    /// - Parameter path: The file, such as `--webhook-secret-file`'s.
    /// - Returns: The secret.
    /// - Throws: ``SinkError/badSecret(path:reason:)`` when it cannot be read or is empty.
    public static func secret(fromFile path: String) throws(SinkError) -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .badSecret(path: path, reason: "cannot read it")
        }
        let line = data.prefix { $0 != UInt8(ascii: "\n") && $0 != UInt8(ascii: "\r") }
        guard !line.isEmpty else { throw .badSecret(path: path, reason: "its first line is empty") }
        return Array(line)
    }

    /// Checks a set of webhooks for two with the same ``name``, which would share outbox rows.
    /// - Parameter endpoints: The configured webhooks.
    /// - Throws: ``SinkError/duplicateWebhook(sink:)``.
    public static func checkDistinct(_ endpoints: [WebhookEndpoint]) throws(SinkError) {
        var seen: Set<String> = []
        for endpoint in endpoints where !seen.insert(endpoint.name).inserted {
            throw .duplicateWebhook(sink: endpoint.name)
        }
    }

    /// The request body for `alert` in this webhook's format.
    /// - Parameter alert: The alert.
    /// - Returns: JSON text: the alert itself, or a Slack message.
    public func body(for alert: Alert) -> String {
        switch format {
        case .json:
            return alert.json
        case .slack:
            let text =
                "keywatch \(alert.severity.rawValue) \(alert.kind.rawValue) for key \(alert.keyHint) "
                + "(\(alert.keyID)): \(alert.summary) [\(alert.id)]"
            return "{\"text\":\(JSONText.quoted(text))}"
        }
    }

    /// Outbox items for this webhook, one per alert, due at once; put them in ``Checkpoint/outbox``.
    /// - Parameters:
    ///   - alerts: Alerts raised since the last checkpoint.
    ///   - nowMs: The current time, in milliseconds since 1970.
    /// - Returns: The items.
    public func outboxItems(for alerts: [Alert], nowMs: Int64) -> [OutboxItem] {
        alerts.map { OutboxItem(alertID: $0.id, sink: name, body: body(for: $0), createdMs: nowMs) }
    }
}
