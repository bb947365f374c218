/// A compact handle for a key seen in this run; index into ``KeyRegistry``.
public typealias KeyHandle = Int32

/// What keywatch keeps about a credential: its key id and masked hint. Never the credential.
public struct KeyIdentity: Sendable, Hashable {
    /// The keyed fingerprint, `k_` and 24 hex digits.
    public var id: String
    /// A masked hint such as `ak_live_Q7…nD`.
    public var hint: String
    /// Where the credential was found the first time.
    public var source: KeySource
}

/// Maps credentials to ``KeyHandle``s, computing each key's HMAC fingerprint once.
///
/// The cache is keyed by a 128-bit hash of the credential under seeds drawn at random for each
/// process, so the registry holds no raw credential, not even in memory.
public struct KeyRegistry: Sendable {
    /// An open-addressing slot: the credential's 128-bit digest and its handle, side by side, so a
    /// lookup touches one place in memory (one cache miss, not a slot and then a digest array).
    private struct Slot {
        var a: UInt64 = 0
        var b: UInt64 = 0
        /// The handle, or -1 for an empty slot.
        var id: Int32 = -1
    }

    private let fingerprinter: KeyFingerprinter
    private let seedA: UInt64
    private let seedB: UInt64
    private var slots: [Slot]
    private var mask: Int
    /// The identities, indexed by handle.
    public private(set) var identities: [KeyIdentity] = []

    /// Creates a registry that fingerprints with `fingerprinter`.
    public init(fingerprinter: KeyFingerprinter) {
        self.fingerprinter = fingerprinter
        if let shared = fingerprinter.shared {
            // The run's seeds, so a digest means the same credential in every thread's registry.
            seedA = shared.seedA
            seedB = shared.seedB
        } else {
            var generator = SystemRandomNumberGenerator()
            seedA = generator.next()
            seedB = generator.next()
        }
        slots = [Slot](repeating: Slot(), count: 1024)
        mask = 1023
    }

    /// Number of distinct keys seen.
    public var count: Int { identities.count }

    /// The handle for a credential, registering it on first sight.
    /// - Parameters:
    ///   - raw: The credential bytes.
    ///   - source: Where it was found.
    /// - Returns: Its handle.
    @inlinable
    public mutating func handle(for raw: ByteView, source: KeySource) -> KeyHandle {
        handleSlow(raw, source: source)
    }

    @usableFromInline
    mutating func handleSlow(_ raw: ByteView, source: KeySource) -> KeyHandle {
        // Consumer ids live in their own namespace, as the fingerprint does.
        let domain: UInt64 = source == .consumer ? 0xC0 : source == .awsKeyID ? 0xA1 : 0
        let (a, b) = FastHash.hash128(raw, seeds: (seedA ^ domain, seedB ^ domain))
        var slot = Int(truncatingIfNeeded: a) & mask
        while true {
            let entry = slots[slot]
            if entry.id < 0 { break }
            if entry.a == a && entry.b == b { return entry.id }
            slot = (slot + 1) & mask
        }
        let id = Int32(identities.count)
        let keyID: String
        if let shared = fingerprinter.shared {
            // Another parsing thread of this run may have fingerprinted the key already.
            keyID = shared.id(for: SharedKeyIDs.Digest(a: a, b: b)) { fingerprinter.keyID(for: raw, source: source) }
        } else {
            keyID = fingerprinter.keyID(for: raw, source: source)
        }
        identities.append(KeyIdentity(id: keyID, hint: KeyHint.make(for: raw, source: source), source: source))
        slots[slot] = Slot(a: a, b: b, id: id)
        // Grow past three quarters full: probes stay short and mostly within one cache line.
        if identities.count * 4 > slots.count * 3 {
            let old = slots
            slots = [Slot](repeating: Slot(), count: old.count * 2)
            mask = slots.count - 1
            for entry in old where entry.id >= 0 {
                var s = Int(truncatingIfNeeded: entry.a) & mask
                while slots[s].id >= 0 { s = (s + 1) & mask }
                slots[s] = entry
            }
        }
        return id
    }

    /// The identity behind `handle`.
    public subscript(handle: KeyHandle) -> KeyIdentity { identities[Int(handle)] }
}
