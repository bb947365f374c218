import Foundation

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// What a receiver answered.
public struct WebhookResponse: Sendable, Hashable {
    /// The HTTP status code.
    public var status: Int
    /// The `Retry-After` header, if any.
    public var retryAfter: String?

    /// Creates a response.
    public init(status: Int, retryAfter: String? = nil) {
        self.status = status
        self.retryAfter = retryAfter
    }
}

/// A request that got no HTTP answer (refused, timed out, reset…). The reason names no URL.
public struct WebhookNetworkError: Error, Hashable, CustomStringConvertible {
    /// What happened, such as `timed out`.
    public var reason: String

    public var description: String { "network: \(reason)" }
}

/// Sends one HTTP POST. ``URLSessionTransport`` is the real one; tests may substitute their own.
///
/// The contract: return the receiver's status whatever it is (never throw for a 4xx or 5xx), and
/// throw ``WebhookNetworkError`` only when no answer came within `timeout`.
public protocol WebhookTransport: Sendable {
    /// Posts `body` to `url`.
    /// - Parameters:
    ///   - url: The webhook URL.
    ///   - headers: Header names and values, in order.
    ///   - body: The body, byte for byte.
    ///   - timeout: The most to wait for the whole exchange.
    /// - Returns: The status and `Retry-After`.
    /// - Throws: ``WebhookNetworkError``.
    func post(
        url: URL,
        headers: [(String, String)],
        body: [UInt8],
        timeout: Duration
    )
        async throws(WebhookNetworkError) -> WebhookResponse
}

/// Posts with Foundation's `URLSession` (libcurl through FoundationNetworking on Linux), one
/// ephemeral session with no cookies and no cache.
public struct URLSessionTransport: WebhookTransport {
    private let session: URLSession

    /// Creates a transport with its own session.
    public init() {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.httpCookieAcceptPolicy = .never
        configuration.httpShouldSetCookies = false
        configuration.urlCache = nil
        session = URLSession(configuration: configuration)
    }

    public func post(
        url: URL,
        headers: [(String, String)],
        body: [UInt8],
        timeout: Duration
    )
        async throws(WebhookNetworkError) -> WebhookResponse
    {
        var request = URLRequest(url: url)
        request.httpMethod = "POST"
        request.timeoutInterval = timeout.inSeconds
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        request.httpBody = Data(body)
        // A completion handler behind a plain continuation, not `session.data(for:)`: on Linux,
        // cancelling a task that awaits `data(for:)` while its request completes deadlocks
        // (cancellation holds the task's status lock and waits for URLSession's queue, which waits
        // for that lock to resume the task; seen with gdb when `watch` stopped under load). Here a
        // cancelled delivery lets its request finish or time out on its own, and records the result.
        let outcome: Outcome = await withCheckedContinuation { continuation in
            let task = session.dataTask(with: request) { _, response, error in
                continuation.resume(returning: Outcome(response: response, error: error))
            }
            task.resume()
        }
        if let failure = outcome.failure { throw WebhookNetworkError(reason: failure) }
        return WebhookResponse(status: outcome.status, retryAfter: outcome.retryAfter)
    }

    /// What a request came to, taken apart inside its completion handler.
    private struct Outcome: Sendable {
        var status = 0
        var retryAfter: String?
        var failure: String?

        init(response: URLResponse?, error: (any Error)?) {
            if let error = error as? URLError {
                failure = URLSessionTransport.describe(error.code)
            } else if let error {
                failure = "\(type(of: error))"
            } else if let http = response as? HTTPURLResponse {
                status = http.statusCode
                retryAfter = http.value(forHTTPHeaderField: "Retry-After")
            } else {
                failure = "not an HTTP response"
            }
        }
    }

    /// A URL error's code in words; `URLError`'s own description may include the URL and its credentials.
    static func describe(_ code: URLError.Code) -> String {
        switch code {
        case .timedOut: "timed out"
        case .cannotConnectToHost: "cannot connect"
        case .cannotFindHost, .dnsLookupFailed: "host not found"
        case .networkConnectionLost: "connection lost"
        case .notConnectedToInternet: "no network"
        case .secureConnectionFailed, .serverCertificateUntrusted, .serverCertificateHasBadDate,
            .serverCertificateNotYetValid, .serverCertificateHasUnknownRoot:
            "TLS failed"
        case .badServerResponse: "bad response"
        case .cancelled: "cancelled"
        default: "URL error \(code.rawValue)"
        }
    }
}
