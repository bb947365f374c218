import Foundation

/// The key ids already computed in one run, shared by the threads that parse it, so each key's
/// HMAC is computed once per run rather than once per parsing thread.
///
/// Like ``KeyRegistry``, it is keyed by a 128-bit hash of the credential under seeds drawn at
/// random for the run, so it holds no raw credential. It keeps only ids: each registry still makes
/// its own ``KeyIdentity`` (hint and first source), exactly as without sharing.
///
/// Safety (`@unchecked Sendable`): `ids` is read and written only while holding `lock`; the seeds
/// never change after `init`.
final class SharedKeyIDs: @unchecked Sendable {
    struct Digest: Hashable {
        var a: UInt64
        var b: UInt64
    }

    let seedA: UInt64
    let seedB: UInt64
    private let lock = NSLock()
    private var ids: [Digest: String] = [:]
    private var keeps = 0

    init() {
        var generator = SystemRandomNumberGenerator()
        seedA = generator.next()
        seedB = generator.next()
    }

    /// The id kept for `digest`, or the one `compute` makes, which is then kept for the other
    /// threads. `compute` runs outside the lock; two threads meeting a new key at once may both
    /// compute it (the ids are equal: same secret, same credential).
    func id(for digest: Digest, computing compute: () -> String) -> String {
        if let known = lock.withLock({ ids[digest] }) { return known }
        let id = compute()
        lock.withLock {
            ids[digest] = id
            keeps += 1
        }
        return id
    }

    /// How many ids were computed and kept: one per key unless two threads met a new key at once.
    var computed: Int { lock.withLock { keeps } }
}
