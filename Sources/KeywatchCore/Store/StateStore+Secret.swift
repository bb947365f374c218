import Foundation
import GRDB

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension StateStore {
    /// The file that held the fingerprint secret before the store did; a read-write open imports it.
    public static let legacySecretFileName = "fingerprint.secret"

    /// The installation's 32-byte fingerprint secret, under which ``KeyFingerprinter`` makes key ids.
    ///
    /// A read-write open makes sure there is one: it imports `<dir>/fingerprint.secret` from earlier
    /// keywatch versions (then removes the file, once the store holds the secret durably), or else
    /// creates 32 random bytes. Two processes opening a new directory at once agree on one secret:
    /// each inserts its candidate unless a row exists, then both read the row.
    /// - Returns: The secret.
    /// - Throws: ``StoreError/badSecret(path:reason:)`` if the store has none (a read-only open of a
    ///   store whose secret is missing) or one of the wrong size.
    public func secret() throws(StoreError) -> [UInt8] {
        guard let secret = try storedSecret() else { throw .badSecret(path: path, reason: "the store holds no secret") }
        return secret
    }

    private func storedSecret() throws(StoreError) -> [UInt8]? {
        let path = path
        return try run("read secret") {
            try pool.read { db in
                let bytes = try Row.fetchOne(db, sql: "SELECT bytes FROM secret WHERE id = 1")?
                    .withUnsafeData(atIndex: 0) { $0.map { [UInt8]($0) } }
                if let bytes, bytes.count != 32 {
                    throw StoreError.badSecret(path: path, reason: "expected 32 bytes, found \(bytes.count)")
                }
                return bytes
            }
        }
    }

    /// Imports or creates the secret if the store has none, and removes a legacy file that matches it.
    func ensureSecret() throws(StoreError) {
        let file = directory + "/" + StateStore.legacySecretFileName
        let legacy = try StateStore.readLegacySecret(file)
        var secret = try storedSecret()
        if secret == nil {
            let candidate: [UInt8]
            if let legacy {
                candidate = legacy
            } else {
                var generator = SystemRandomNumberGenerator()
                candidate = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
            }
            // synchronous = FULL (set at open) makes the commit durable before the file goes.
            secret = try run("store secret") {
                try pool.write { db in
                    try db.execute(
                        sql: "INSERT OR IGNORE INTO secret(id, bytes) VALUES (1, ?)",
                        arguments: [Data(candidate)]
                    )
                    return try Row.fetchOne(db, sql: "SELECT bytes FROM secret WHERE id = 1")?
                        .withUnsafeData(atIndex: 0) { $0.map { [UInt8]($0) } }
                }
            }
        }
        guard let legacy else { return }
        // A file that disagrees with the store is reported, not dropped: one of them made the key ids in use.
        guard legacy == secret else { throw .conflictingSecret(path: path, file: file) }
        if unlink(file) != 0 && errno != ENOENT {
            throw .badSecret(path: file, reason: "imported, but cannot remove it: " + String(cString: strerror(errno)))
        }
    }

    /// The legacy secret file's 32 bytes, or nil if there is no file.
    static func readLegacySecret(_ file: String) throws(StoreError) -> [UInt8]? {
        let fd = open(file, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            if errno == ENOENT { return nil }
            throw .badSecret(path: file, reason: String(cString: strerror(errno)))
        }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 64)
        let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, 64) }
        guard n == 32 else {
            throw .badSecret(
                path: file,
                reason: n < 0 ? String(cString: strerror(errno)) : "expected 32 bytes, found \(n)"
            )
        }
        return Array(buffer[0..<32])
    }
}
