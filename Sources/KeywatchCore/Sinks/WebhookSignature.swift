import Crypto

/// The `X-Keywatch-Signature` header: `sha256=` and the hex HMAC-SHA256, under the shared secret, of
/// the `X-Keywatch-Timestamp` value, a dot and the exact request body.
///
/// Signing the timestamp with the body lets a receiver refuse replays: it recomputes the signature,
/// compares it in constant time, and rejects a timestamp more than 5 minutes from its clock. The
/// README section "Verifying webhook signatures" has a worked example and a Python receiver; the
/// tests check the example.
public enum WebhookSignature {
    /// How far a receiver should let a timestamp stray from its clock, in seconds.
    public static let tolerance: Int64 = 300

    /// The header value for one request.
    /// - Parameters:
    ///   - secret: The shared secret's bytes.
    ///   - timestamp: The `X-Keywatch-Timestamp` value, in seconds since 1970.
    ///   - body: The request body, byte for byte as sent.
    /// - Returns: `sha256=` and 64 lowercase hex digits.
    public static func sign(secret: [UInt8], timestamp: Int64, body: String) -> String {
        let message = Array("\(timestamp).".utf8) + Array(body.utf8)
        let mac = HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: secret))
        return "sha256=" + hex(Array(mac))
    }

    /// Checks a request as a receiver would: the signature matches (compared in constant time) and the
    /// timestamp is within ``tolerance`` of `nowSeconds`.
    /// - Parameters:
    ///   - signature: The `X-Keywatch-Signature` header value.
    ///   - secret: The shared secret's bytes.
    ///   - timestamp: The `X-Keywatch-Timestamp` header value.
    ///   - body: The request body as received.
    ///   - nowSeconds: The receiver's clock, in seconds since 1970.
    /// - Returns: Whether the request is authentic and fresh.
    public static func verify(
        signature: String,
        secret: [UInt8],
        timestamp: String,
        body: String,
        nowSeconds: Int64
    ) -> Bool {
        guard let seconds = Int64(timestamp), abs(nowSeconds - seconds) <= tolerance else { return false }
        let expected = Array(sign(secret: secret, timestamp: seconds, body: body).utf8)
        let given = Array(signature.utf8)
        guard given.count == expected.count else { return false }
        return zip(given, expected).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }

    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
