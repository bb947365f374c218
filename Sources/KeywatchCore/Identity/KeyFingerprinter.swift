import Crypto
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Errors about the state directory and the fingerprint secret.
public enum StateError: Error, Hashable, CustomStringConvertible {
    /// The state directory could not be created.
    case cannotCreateDirectory(path: String, reason: String)
    /// The secret file exists but could not be read, or has the wrong size.
    case badSecret(path: String, reason: String)
    /// The secret file could not be written.
    case cannotWriteSecret(path: String, reason: String)
    /// The state store holding the secret could not be opened or read.
    case store(StoreError)

    public var description: String {
        switch self {
        case .cannotCreateDirectory(let path, let reason):
            "cannot create state directory \(path): \(reason); pass --state DIR with a writable directory"
        case .badSecret(let path, let reason):
            "fingerprint secret \(path) is unusable: \(reason); restore it from backup (key ids depend on it) "
                + "or remove it to start a new installation with new key ids"
        case .cannotWriteSecret(let path, let reason):
            "cannot write fingerprint secret \(path): \(reason); check permissions of the state directory"
        case .store(let error):
            error.description
        }
    }
}

/// Turns raw credentials into stable, non-reversible key ids: HMAC-SHA256 under a per-installation secret.
///
/// The secret is 32 random bytes in the state directory's store (``StateStore/secret()``), created on
/// first use; earlier versions kept it in `fingerprint.secret`, which the store imports. Without the
/// secret a key id cannot be linked to a key, and with it a key id can only be checked against a key
/// one already holds (`keywatch key-id`).
public struct KeyFingerprinter: Sendable {
    /// The file name of the secret in earlier versions; ``StateStore`` imports such a file and removes it.
    public static let secretFileName = StateStore.legacySecretFileName
    /// HMAC state already keyed with the secret (its inner and outer pads absorbed), copied for each
    /// new key instead of re-keying: keying costs two of the four SHA-256 blocks of a key id and
    /// several allocations.
    ///
    /// Safety (`nonisolated(unsafe)`): `HMAC` is a value whose hashers keep their state in a
    /// copy-on-write reference. This stored value is never mutated after `init`; every key id works
    /// on its own copy, and the first `update` of a copy sees the shared reference as not unique and
    /// copies the state before writing. Threads therefore only read the shared state (and change its
    /// reference count atomically), so sharing a fingerprinter across threads is safe.
    private nonisolated(unsafe) let keyed: HMAC<SHA256>
    /// Ids computed by other threads of the same run (see ``sharingIDs()``); `nil` outside a run.
    private(set) var shared: SharedKeyIDs?

    /// Creates a fingerprinter from secret bytes (tests and tools that manage their own secret).
    public init(secret: [UInt8]) {
        keyed = HMAC<SHA256>(key: SymmetricKey(data: secret))
    }

    /// Loads the installation's secret from the store in `directory`, creating the directory, the store
    /// and the secret if needed (see ``StateStore/secret()``).
    ///
    /// A store that already holds the secret is opened read-only, so `parse` and `key-id` write
    /// nothing (no journal, no sync) and work on a state directory they may only read.
    /// - Parameter directory: The state directory.
    /// - Throws: ``StateError`` naming the path and what to do.
    public init(stateDirectory directory: String) throws(StateError) {
        // A legacy secret file still needs the read-write open, which imports it or reports a
        // conflict; so does a database that others may read, which that open makes private again.
        let legacy = directory + "/" + StateStore.legacySecretFileName
        var info = stat()
        let isPrivate =
            stat(directory + "/" + StateStore.fileName, &info) == 0 && info.st_mode & 0o077 == 0
        if isPrivate, access(legacy, F_OK) != 0,
            let store = try? StateStore(directory: directory, access: .readOnly),
            let secret = try? store.secret()
        {
            self.init(secret: secret)
            return
        }
        do {
            try self.init(store: StateStore(directory: directory))
        } catch {
            throw .store(error)
        }
    }

    /// Loads the installation's secret from an open store.
    /// - Parameter store: The state store.
    /// - Throws: ``StoreError`` if the store holds no usable secret.
    public init(store: StateStore) throws(StoreError) {
        self.init(secret: try store.secret())
    }

    /// A copy for the parsing threads of one run: their ``KeyRegistry``s share the ids they compute.
    func sharingIDs() -> KeyFingerprinter {
        var copy = self
        copy.shared = SharedKeyIDs()
        return copy
    }

    /// The key id for a credential: `k_` and 24 hex digits (96 bits of the HMAC).
    /// - Parameters:
    ///   - raw: The credential's bytes.
    ///   - source: Where it came from; consumer ids are kept apart from keys.
    /// - Returns: The key id.
    public func keyID(for raw: ByteView, source: KeySource = .header) -> String {
        var mac = keyed
        if source == .consumer || source == .awsKeyID {
            mac.update(data: Array("\(source)\u{0}".utf8))
        }
        if let base = raw.base {
            mac.update(data: UnsafeRawBufferPointer(start: base, count: raw.count))
        }
        let digest = mac.finalize()
        // "k_" and the first 12 bytes in hex, written straight into the string's storage.
        return digest.withUnsafeBytes { bytes in
            String(unsafeUninitializedCapacity: 26) { text in
                let hex: StaticString = "0123456789abcdef"
                let digits = hex.utf8Start
                text[0] = UInt8(ascii: "k")
                text[1] = UInt8(ascii: "_")
                for i in 0..<12 {
                    text[2 + 2 * i] = digits[Int(bytes[i] >> 4)]
                    text[3 + 2 * i] = digits[Int(bytes[i] & 15)]
                }
                return 26
            }
        }
    }

    /// The key id for a credential given as a string.
    public func keyID(for raw: String, source: KeySource = .header) -> String {
        var bytes = Array(raw.utf8)
        return bytes.withUnsafeMutableBufferPointer { buffer in
            keyID(for: ByteView(base: UnsafePointer(buffer.baseAddress), count: buffer.count), source: source)
        }
    }
}

/// Masked, human-readable hints for credentials: enough to recognise a key, never enough to use it.
public enum KeyHint {
    /// The hint for a credential: its non-secret prefix (`ak_live_`), two more characters, `…`, and the last two.
    ///
    /// Short credentials reveal less: under 16 characters only the first two and the last one; under
    /// 8 only the first. Anything but letters, digits, `_`, `-` and `.` shows as `?`.
    /// - Parameters:
    ///   - raw: The credential's bytes.
    ///   - source: Where it came from; consumer ids get a `consumer:` label.
    /// - Returns: The hint.
    public static func make(for raw: ByteView, source: KeySource = .header) -> String {
        let n = raw.count
        func char(_ i: Int) -> Character {
            let c = raw[i]
            let ok = (c &- 0x30 <= 9) || (lowercaseASCII(c) &- 0x61 < 26) || c == 0x5F || c == 0x2D || c == 0x2E
            return ok ? Character(Unicode.Scalar(c)) : "?"
        }
        var head = 0
        var tail = 0
        if n < 8 {
            head = min(1, n)
        } else if n < 16 {
            head = 2
            tail = 1
        } else {
            // A vendor prefix like "ak_live_" or "sk-" is not secret; show it and two more.
            var prefix = 0
            let limit = min(12, n / 2)
            for i in 0..<limit where raw[i] == UInt8(ascii: "_") || raw[i] == UInt8(ascii: "-") { prefix = i + 1 }
            head = min(prefix + 2, n / 2)
            if prefix == 0 { head = 4 }
            tail = 2
        }
        var text = source == .consumer ? "consumer:" : source == .awsKeyID ? "keyid:" : ""
        for i in 0..<head { text.append(char(i)) }
        text += "…"
        for i in (n - tail)..<n where tail > 0 { text.append(char(i)) }
        return text
    }
}
