import CCurl
import Foundation

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

/// Sends one HTTP POST. ``CurlTransport`` is the real one; tests may substitute their own.
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

/// Posts with libcurl, loaded when the first webhook is posted (see `CCurl`), one request per
/// thread: webhooks carry alerts, a few per minute at most, and each blocks only its own thread.
///
/// keywatch does not link Foundation's `URLSession` (libcurl underneath on Linux): that put about
/// thirty libraries into every command's start-up, `parse` included, for a feature only `watch`
/// uses. No cookies, no cache, no redirects followed (an answer of 3xx is the receiver's answer).
public struct CurlTransport: WebhookTransport {
    /// Creates a transport.
    public init() {}

    public func post(
        url: URL,
        headers: [(String, String)],
        body: [UInt8],
        timeout: Duration
    )
        async throws(WebhookNetworkError) -> WebhookResponse
    {
        let address = url.absoluteString
        let lines = headers.map { "\($0.0): \($0.1)" }
        let millis = max(1, Int(timeout.inSeconds * 1000))
        // A plain continuation resumed by the request's own thread: cancelling a delivery lets its
        // request finish or time out on its own, and the result is recorded.
        let outcome: Outcome = await withCheckedContinuation { continuation in
            startThread(name: "keywatch-webhook") {
                continuation.resume(returning: CurlTransport.perform(address, lines, body, millis))
            }
        }
        if let failure = outcome.failure { throw WebhookNetworkError(reason: failure) }
        return WebhookResponse(status: outcome.status, retryAfter: outcome.retryAfter)
    }

    /// What a request came to.
    struct Outcome: Sendable {
        var status = 0
        var retryAfter: String?
        var failure: String?
    }

    /// Posts on the calling thread, which it blocks for up to `millis` milliseconds.
    static func perform(_ url: String, _ headers: [String], _ body: [UInt8], _ millis: Int) -> Outcome {
        var result = CCurl_result()
        var cHeaders = headers.map { strdup($0) }
        defer { for header in cHeaders { free(header) } }
        cHeaders.withUnsafeMutableBufferPointer { pointers in
            pointers.withMemoryRebound(to: UnsafePointer<CChar>?.self) { headerList in
                body.withUnsafeBufferPointer { bytes in
                    CCurl_post(
                        url, headerList.baseAddress, Int32(headerList.count), bytes.baseAddress, bytes.count,
                        millis, &result)
                }
            }
        }
        var outcome = Outcome()
        if result.error != 0 || result.status == 0 {
            outcome.failure = describe(code: result.error, reason: text(of: &result.reason))
        } else {
            outcome.status = Int(result.status)
            let retryAfter = text(of: &result.retry_after)
            outcome.retryAfter = retryAfter.isEmpty ? nil : retryAfter
        }
        return outcome
    }

    /// A fixed-size C character array as a string, up to its NUL.
    private static func text<T>(of array: inout T) -> String {
        withUnsafeBytes(of: &array) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
    }

    /// A libcurl error in words; `reason` (libcurl's own message, which never names the URL) for
    /// the rare ones.
    static func describe(code: Int32, reason: String) -> String {
        switch code {
        case -1: reason
        case 28: "timed out"  // CURLE_OPERATION_TIMEDOUT
        case 7: "cannot connect"  // CURLE_COULDNT_CONNECT
        case 6, 5: "host not found"  // CURLE_COULDNT_RESOLVE_HOST, _PROXY
        case 52, 55, 56: "connection lost"  // CURLE_GOT_NOTHING, CURLE_SEND_ERROR, CURLE_RECV_ERROR
        case 35, 51, 58, 59, 60, 77, 80, 83, 90, 91: "TLS failed"  // CURLE_SSL_*, CURLE_PEER_FAILED_VERIFICATION
        case 1, 3: "bad URL"  // CURLE_UNSUPPORTED_PROTOCOL, CURLE_URL_MALFORMAT
        case 8: "bad response"  // CURLE_WEIRD_SERVER_REPLY
        default: "curl error \(code): \(reason)"
        }
    }
}
