/// The fields a JSON format fills, in the order ``JSONFieldPlan`` resolves them.
enum JSONRole: Int, CaseIterable {
    case time, ip, xff, method, target, query, endpoint, status, bytes, latency, userAgent, key, authorization
    case request, consumer

    init(_ role: FieldRole) {
        switch role {
        case .time: self = .time
        case .ip: self = .ip
        case .xff: self = .xff
        case .method: self = .method
        case .path: self = .target
        case .query: self = .query
        case .endpoint: self = .endpoint
        case .status: self = .status
        case .bytes: self = .bytes
        case .latency: self = .latency
        case .userAgent: self = .userAgent
        case .key: self = .key
        case .authorization: self = .authorization
        case .request: self = .request
        case .consumer: self = .consumer
        }
    }
}

/// One place a role may be read from, in priority order within its role.
struct JSONFieldSource {
    var role: JSONRole
    var path: String
    var unit: TimeUnit?
    /// For ``JSONRole/key``: how the credential ranks.
    var keySource: KeySource = .header

    init(_ role: JSONRole, _ path: String, unit: TimeUnit? = nil, keySource: KeySource = .header) {
        self.role = role
        self.path = path
        self.unit = unit
        self.keySource = keySource
    }
}

/// A compiled mapping from JSON paths to ``RawFields``: the path table a ``JSONScanner`` uses and,
/// for each role, its candidate paths in priority order.
///
/// `@unchecked Sendable`: the candidate buffers are written once in `init`, only read afterwards,
/// and freed in `deinit`.
final class JSONFieldPlan: @unchecked Sendable {
    struct Candidate {
        var path: Int
        var unit: TimeUnit?
        var keySource: KeySource
    }

    let table: JSONPathTable
    private let candidates: UnsafeMutablePointer<Candidate>
    /// Candidates of role `r` are `candidates[roleStart[r]..<roleStart[r + 1]]`.
    private let roleStart: UnsafeMutablePointer<Int>

    /// Compiles `sources`, earlier ones winning within a role.
    init(sources: [JSONFieldSource]) {
        var pathIndex: [String: Int] = [:]
        var paths: [String] = []
        var byRole = [[Candidate]](repeating: [], count: JSONRole.allCases.count)
        for source in sources {
            let lowered = source.path.lowercased()
            guard Self.isUsablePath(lowered) else { continue }
            let index: Int
            if let known = pathIndex[lowered] {
                index = known
            } else {
                index = paths.count
                pathIndex[lowered] = index
                paths.append(lowered)
            }
            let candidate = Candidate(path: index, unit: source.unit, keySource: source.keySource)
            if !byRole[source.role.rawValue].contains(where: { $0.path == index && $0.keySource == source.keySource }) {
                byRole[source.role.rawValue].append(candidate)
            }
        }
        table = JSONPathTable(paths: paths)
        let total = byRole.reduce(0) { $0 + $1.count }
        candidates = .allocate(capacity: max(total, 1))
        roleStart = .allocate(capacity: byRole.count + 1)
        var at = 0
        for (r, list) in byRole.enumerated() {
            roleStart[r] = at
            for c in list {
                (candidates + at).initialize(to: c)
                at += 1
            }
        }
        roleStart[byRole.count] = at
    }

    deinit {
        candidates.deallocate()
        roleStart.deallocate()
    }

    /// A dotted path with no empty segment.
    static func isUsablePath(_ path: String) -> Bool {
        !path.isEmpty && !path.hasPrefix(".") && !path.hasSuffix(".") && !path.contains("..")
    }

    /// Whether any candidate is configured for `role`.
    func hasCandidates(_ role: JSONRole) -> Bool {
        roleStart[role.rawValue + 1] > roleStart[role.rawValue]
    }

    @inline(__always)
    private func range(_ role: JSONRole) -> Range<Int> {
        roleStart[role.rawValue]..<roleStart[role.rawValue + 1]
    }

    /// The first non-empty value among `role`'s candidates.
    @inline(__always)
    private func first(_ role: JSONRole, _ values: JSONValues) -> ByteView {
        for k in range(role) {
            let v = values[candidates[k].path]
            if !v.isEmpty { return v }
        }
        return .empty
    }

    /// Fills `fields` from one object's values.
    /// - Returns: `false` when no candidate held a readable time (the record is unusable).
    func fill(_ fields: inout RawFields, from values: JSONValues) -> Bool {
        var time: Int64?
        for k in range(.time) {
            let v = values[candidates[k].path]
            if v.isEmpty { continue }
            if let t = GatewayFieldText.timeMillis(v, unit: candidates[k].unit) {
                time = t
                break
            }
        }
        guard let time else { return false }
        fields.timeMillis = time

        let ip = first(.ip, values)
        if !ip.isEmpty { fields.remoteAddress = GatewayFieldText.hostStrippingPort(ip) }
        fields.forwardedFor = first(.xff, values)
        fields.method = first(.method, values)
        fields.target = first(.target, values)
        if fields.method.isEmpty || fields.target.isEmpty {
            let request = first(.request, values)
            if !request.isEmpty {
                let (method, target) = GatewayFieldText.splitRequestLine(request)
                if fields.method.isEmpty { fields.method = method }
                if fields.target.isEmpty { fields.target = target }
            }
        }
        fields.query = first(.query, values)
        for k in range(.endpoint) {
            let endpoint = GatewayFieldText.endpoint(values[candidates[k].path])
            if !endpoint.isEmpty {
                fields.gatewayEndpoint = endpoint
                break
            }
        }
        for k in range(.status) {
            if let status = GatewayFieldText.status(values[candidates[k].path]) {
                fields.status = status
                break
            }
        }
        for k in range(.bytes) {
            if let bytes = GatewayFieldText.byteCount(values[candidates[k].path]) {
                fields.bytes = bytes
                break
            }
        }
        for k in range(.latency) {
            let v = values[candidates[k].path]
            if v.isEmpty { continue }
            if let ms = GatewayFieldText.durationMillis(v, unit: candidates[k].unit ?? .milliseconds) {
                fields.latencyMillis = ms
                break
            }
        }
        fields.userAgent = first(.userAgent, values)
        fields.authorization = first(.authorization, values)
        for k in range(.key) {
            fields.offerKey(values[candidates[k].path], from: candidates[k].keySource)
        }
        fields.offerKey(first(.consumer, values), from: .consumer)
        return true
    }
}
