/// JSON access logs: Kong, AWS API Gateway, Envoy/Istio, Traefik, and any other JSON lines read
/// through field mappings.
///
/// Each preset maps the gateway's documented field names to ``RawFields`` roles, with fallbacks in
/// priority order (see ``JSONLogFormat/presetMappings(for:)``). `--field` mappings come first and so
/// override them; `--key-field` adds a credential location that outranks all others. Only the time
/// is mandatory: a line whose time is missing or unreadable is rejected as
/// ``RejectReason/badTimestamp``, a line that is not JSON as ``RejectReason/malformed``.
///
/// Values are read from strings and numbers alike (`"status":"200"` and `"status":200`); `-`,
/// `""` and `null` mean missing. Latencies are converted to milliseconds from each mapping's unit.
/// A top-level JSON array (a Kong http-log batch) yields one record per object; an object without
/// a readable time is dropped from the batch, and the line is rejected only when none has one.
///
/// ```swift
/// var format = try JSONLogFormat(spec: .kong, options: FormatOptions())
/// var records = RecordBuffer()
/// if case .records(let n) = format.parse(line, into: &records) { … }
/// ```
public struct JSONLogFormat: LogFormat, Sendable {
    /// The preset's `--format` name (`kong`, `aws-apigw`, …), or the name given to ``init(mappings:options:name:)``.
    public let name: String
    private let plan: JSONFieldPlan
    private var scanner: JSONScanner

    /// Creates the format for a JSON preset.
    /// - Parameters:
    ///   - spec: One of ``FormatSpec/kong``, ``FormatSpec/awsAPIGateway``, ``FormatSpec/envoyJSON``,
    ///     ``FormatSpec/traefik`` or ``FormatSpec/json``.
    ///   - options: `--field` mappings (placed before the preset's) and `--key-field` (a dotted path).
    /// - Throws: ``FormatError/unknownFormat(_:)`` for a spec that is not a JSON format, and
    ///   ``FormatError/badFieldMapping(_:reason:)`` for a mapping or key field with an empty path segment.
    public init(spec: FormatSpec, options: FormatOptions) throws(FormatError) {
        guard let preset = Self.presetMappings(for: spec) else { throw .unknownFormat(spec.description) }
        for mapping in options.fieldMappings where !JSONFieldPlan.isUsablePath(mapping.path) {
            throw .badFieldMapping(
                "\(mapping.role.rawValue)=\(mapping.path)",
                reason: "the path has an empty segment (a stray '.')"
            )
        }
        if let keyField = options.keyField, !JSONFieldPlan.isUsablePath(keyField) {
            throw .badFieldMapping("key=\(keyField)", reason: "--key-field has an empty path segment (a stray '.')")
        }
        self.init(
            sources: Self.sources(userMappings: options.fieldMappings, keyField: options.keyField, preset: preset),
            name: spec.description
        )
    }

    /// Creates a format from a plain mapping table, such as one derived from an nginx
    /// `log_format … escape=json` string.
    ///
    /// `.key` mappings in `mappings` rank as ``KeySource/header``; those in `options.fieldMappings`
    /// and `options.keyField` rank as ``KeySource/explicit``. A mapping whose path has an empty
    /// segment never matches.
    /// - Parameters:
    ///   - mappings: Where each role is read from; earlier mappings win within a role.
    ///   - options: `--field` mappings (placed before `mappings`) and `--key-field` (a dotted path).
    ///   - name: The name the format reports.
    public init(mappings: [FieldMapping], options: FormatOptions, name: String) {
        let table = mappings.map { JSONFieldSource(JSONRole($0.role), $0.path, unit: $0.unit, keySource: .header) }
        self.init(
            sources: Self.sources(userMappings: options.fieldMappings, keyField: options.keyField, preset: table),
            name: name
        )
    }

    private init(sources: [JSONFieldSource], name: String) {
        self.name = name
        plan = JSONFieldPlan(sources: sources)
        scanner = JSONScanner(table: plan.table)
    }

    private static func sources(
        userMappings: [FieldMapping],
        keyField: String?,
        preset: [JSONFieldSource]
    )
        -> [JSONFieldSource]
    {
        var sources: [JSONFieldSource] = []
        if let keyField { sources.append(JSONFieldSource(.key, keyField, keySource: .explicit)) }
        for m in userMappings {
            sources.append(JSONFieldSource(JSONRole(m.role), m.path, unit: m.unit, keySource: .explicit))
        }
        return sources + preset
    }

    /// Parses one line: a JSON object, or an array of objects, into one record per object.
    /// - Parameters:
    ///   - line: The line, without terminator.
    ///   - records: Receives the records; their views point into `line` or this format's scratch memory.
    /// - Returns: The number of records, ``ParseOutcome/ignored`` for a blank line or `[]`, or why the
    ///   line was rejected.
    public mutating func parse(_ line: ByteView, into records: inout RecordBuffer) -> ParseOutcome {
        // `self` keeps the plan alive for the whole call; unowned(unsafe) skips the reference counting.
        unowned(unsafe) let plan = self.plan
        let before = records.count
        let result = scanner.scan(line) { values in
            let index = records.appendNew()
            if !plan.fill(&records[index], from: values) { records.removeLast() }
        }
        switch result {
        case .empty:
            return .ignored
        case .malformed:
            while records.count > before { records.removeLast() }
            return .rejected(.malformed)
        case .objects:
            let added = records.count - before
            return added > 0 ? .records(added) : .rejected(.badTimestamp)
        }
    }

    // MARK: Detection

    private static let detectionPaths = [
        "started_at", "client_ip", "request.method",  // Kong 0...2
        "requestid", "httpmethod", "routekey", "resourcepath", "requesttime",  // AWS 3...7
        "requestmethod", "downstreamstatus", "startutc",  // Traefik 8...10
        "response_code", "start_time", "duration", "downstream_remote_address",  // Envoy 11...14
    ]
    private static let detectionTable = JSONPathTable(paths: detectionPaths)

    /// Which JSON preset a first line is in.
    ///
    /// Kong has `started_at` with `client_ip` or `request.method`; AWS API Gateway has `requestId`
    /// with `httpMethod`, `routeKey`, `resourcePath` or `requestTime`; Traefik has `RequestMethod`,
    /// `DownstreamStatus` or `StartUTC`; Envoy/Istio has `response_code` with `start_time`,
    /// `duration` or `downstream_remote_address`. Any other JSON object (or array of objects, judged
    /// by its first element) is ``FormatSpec/json``.
    /// - Parameter line: A line that starts with `{` or `[`.
    /// - Returns: The preset, or `nil` when the line is not a JSON object.
    public static func detect(_ line: ByteView) -> FormatSpec? {
        var scanner = JSONScanner(table: detectionTable)
        var found = [Bool](repeating: false, count: detectionPaths.count)
        var first = true
        let result = scanner.scan(line) { values in
            guard first else { return }
            first = false
            for k in 0..<values.count { found[k] = !values[k].isEmpty }
        }
        guard case .objects = result else { return nil }
        if found[0] && (found[1] || found[2]) { return .kong }
        if found[3] && (found[4] || found[5] || found[6] || found[7]) { return .awsAPIGateway }
        if found[8] || found[9] || found[10] { return .traefik }
        if found[11] && (found[12] || found[13] || found[14]) { return .envoyJSON }
        return .json
    }
}
