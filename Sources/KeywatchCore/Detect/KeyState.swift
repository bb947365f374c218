/// A detector's memory of one ongoing behaviour of a key (a new country being used, a spike): when
/// it began, how many requests it has had, and the highest severity already alerted.
///
/// Episodes deduplicate alerts (one per key, kind and value within the cool-down) and let an alert
/// escalate when later requests confirm it.
public struct Episode: Sendable, Hashable {
    public var kind: AlertKind
    /// Hash of the value (country, ASN, endpoint…); 0 for windows such as a rate.
    public var value: UInt64
    /// First request of the episode, milliseconds.
    public var start: Int64
    /// Latest request that belonged to it.
    public var last: Int64
    /// Requests that belonged to it.
    public var requests: UInt32
    /// The highest severity alerted so far.
    public var alerted: Severity
    /// The score alerted with.
    public var score: UInt8
}

/// Everything kept per key: the learned ``KeyBaseline`` and the open ``Episode``s.
public struct KeyState: Sendable, Hashable {
    static let maxEpisodes = 8

    /// Open episodes, oldest first.
    public var episodes: [Episode] = []
    /// The learned baseline.
    public var baseline = KeyBaseline()

    /// Creates an empty state.
    public init() {}

    /// Index of the open episode of `kind` and `value`.
    func episode(_ kind: AlertKind, _ value: UInt64) -> Int? {
        episodes.firstIndex { $0.kind == kind && $0.value == value }
    }

    /// Adds an episode, dropping the oldest when full.
    mutating func open(_ episode: Episode) {
        if episodes.count >= Self.maxEpisodes {
            let oldest = episodes.indices.min { episodes[$0].last < episodes[$1].last }!
            episodes.remove(at: oldest)
        }
        episodes.append(episode)
    }

    /// Closes episodes idle for longer than `cooldown`; a quota episode lasts at least its 24-hour window,
    /// so a key that stays over its daily volume after a quiet night is not alerted twice.
    mutating func expire(now: Int64, cooldown: Int64) {
        func expired(_ e: Episode) -> Bool {
            now - e.last > (e.kind == .quotaSpike ? max(cooldown, 86_400_000) : cooldown)
        }
        if episodes.contains(where: expired) { episodes.removeAll(where: expired) }
    }

    /// The state as bytes for the store.
    public func encoded() -> [UInt8] {
        var w = ByteWriter(capacity: 640)
        baseline.encode(into: &w)
        w.append(UInt8(episodes.count))
        for e in episodes {
            w.append(UInt8(AlertKind.allCases.firstIndex(of: e.kind)!))
            w.append(e.value)
            w.append(e.start)
            w.append(e.last)
            w.append(e.requests)
            w.append(UInt8(Severity.allCases.firstIndex(of: e.alerted)!))
            w.append(e.score)
        }
        return w.bytes
    }

    /// Reads bytes written by ``encoded()``.
    /// - Throws: ``BaselineDecodingError`` when they are damaged or from a newer version.
    public init(decoding bytes: [UInt8]) throws(BaselineDecodingError) {
        var r = ByteReader(bytes)
        baseline = try KeyBaseline(decoding: &r)
        let count = Int(try r.read(UInt8.self))
        for _ in 0..<count {
            let kind = Int(try r.read(UInt8.self))
            let value = try r.read(UInt64.self)
            let start = try r.read(Int64.self)
            let last = try r.read(Int64.self)
            let requests = try r.read(UInt32.self)
            let severity = Int(try r.read(UInt8.self))
            let score = try r.read(UInt8.self)
            guard kind < AlertKind.allCases.count, severity < Severity.allCases.count else {
                throw .truncated(at: r.offset)
            }
            episodes.append(
                Episode(
                    kind: AlertKind.allCases[kind], value: value, start: start, last: last, requests: requests,
                    alerted: Severity.allCases[severity], score: score
                )
            )
        }
    }
}
