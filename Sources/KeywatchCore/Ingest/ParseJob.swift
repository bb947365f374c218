#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where `keywatch parse` sends events.
public enum ParseOutput: Sendable {
    /// One JSON object per event, to a file descriptor (standard output: 1).
    case jsonLines(fileDescriptor: Int32)
    /// Nothing: only the summary.
    case none
}

/// What a parse run did.
public struct ParseReport: Sendable {
    /// Counts, errors and samples.
    public var diagnostics: Diagnostics
    /// Distinct keys seen.
    public var keys: Int
    /// Distinct endpoint templates seen.
    public var endpoints: Int
    /// Wall-clock seconds.
    public var elapsedSeconds: Double

    /// Whether any input had a problem (unreadable, truncated, corrupt, unrecognised), which makes the exit status non-zero.
    public var hadInputErrors: Bool { diagnostics.hasInputErrors }

    /// The end-of-run summary printed on standard error.
    public var summary: String {
        let d = diagnostics
        var lines: [String] = []
        let mb = Double(d.bytes) / 1_000_000
        let rate = elapsedSeconds > 0 ? Double(d.lines) / elapsedSeconds : 0
        lines.append(
            "keywatch: \(d.lines) lines, \(d.events) events (\(d.eventsWithKey) with a key), \(keys) keys, "
                + "\(endpoints) endpoints, \(d.rejectedLines) rejected; "
                + "\(format(mb)) MB in \(format(elapsedSeconds)) s (\(format(rate / 1_000_000)) M lines/s, "
                + "\(format(elapsedSeconds > 0 ? mb / elapsedSeconds : 0)) MB/s)"
        )
        if d.formats.count <= 8 {
            for (input, name) in d.formats { lines.append("  format \(name): \(input)") }
        } else {
            var byFormat: [String: Int] = [:]
            for (_, name) in d.formats { byFormat[name, default: 0] += 1 }
            let parts = byFormat.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }
            lines.append("  formats: " + parts.joined(separator: ", ") + " inputs")
        }
        if !d.rejects.isEmpty {
            let parts = d.rejects.sorted { $0.key < $1.key }.map { "\($0.key.rawValue)=\($0.value)" }
            lines.append("  rejected: " + parts.joined(separator: " "))
        }
        if d.lateEvents > 0 {
            lines.append("  late: \(d.lateEvents) events arrived after the reorder window and were taken out of order")
        }
        if d.invalidUTF8 > 0 {
            lines.append("  invalid UTF-8: \(d.invalidUTF8) lines kept, their text repaired with U+FFFD")
        }
        for sample in d.samples {
            lines.append("  sample \(sample.reason.rawValue) at \(sample.file):\(sample.line): \(sample.excerpt)")
        }
        for error in d.errors { lines.append("  error: \(error)") }
        return lines.joined(separator: "\n")
    }

    private func format(_ value: Double) -> String {
        let scaled = (value * 100).rounded() / 100
        return String(scaled)
    }
}

/// `keywatch parse`: read inputs and print each event as JSON, or only count.
///
/// ```swift
/// let job = ParseJob(inputs: [InputSource(path: "access.log.gz")], configuration: IngestConfiguration(),
///                    fingerprinter: try KeyFingerprinter(stateDirectory: "baselines"))
/// let report = job.run(output: .none)
/// print(report.summary)
/// ```
public struct ParseJob: Sendable {
    /// The inputs, read in this order.
    public var inputs: [InputSource]
    /// How to read them.
    public var configuration: IngestConfiguration
    /// Makes key ids.
    public var fingerprinter: KeyFingerprinter

    /// Creates a job.
    public init(inputs: [InputSource], configuration: IngestConfiguration, fingerprinter: KeyFingerprinter) {
        self.inputs = inputs
        self.configuration = configuration
        self.fingerprinter = fingerprinter
    }

    /// Runs the job.
    /// - Parameter output: Where events go.
    /// - Returns: What happened.
    public func run(output: ParseOutput) -> ParseReport {
        let clock = ContinuousClock()
        let start = clock.now
        var report: ParseReport
        switch output {
        case .none:
            // Only counts are needed: two threads parse chunks, each taking the next when free.
            var engine = ParallelIngest(configuration: configuration, fingerprinter: fingerprinter)
            var sink = DiscardBatchSink()
            engine.run(inputs, into: &sink)
            report = ParseReport(
                diagnostics: engine.diagnostics,
                keys: engine.tables.keys.count,
                endpoints: engine.tables.endpoints.count,
                elapsedSeconds: 0
            )
        case .jsonLines(let fd):
            var engine = IngestEngine(configuration: configuration, fingerprinter: fingerprinter)
            var sink = JSONLinesSink(fileDescriptor: fd)
            engine.run(inputs, into: &sink)
            sink.flush()
            report = ParseReport(
                diagnostics: engine.diagnostics,
                keys: engine.normalizer.keys.count,
                endpoints: engine.normalizer.endpoints.count,
                elapsedSeconds: 0
            )
        }
        let elapsed = clock.now - start
        report.elapsedSeconds = elapsed.inSeconds
        return report
    }

    /// Runs the job on the two-thread path and returns the events as ``EventRecord``s without the
    /// fields only the raw line has (path, user agent); tests compare it with ``collect()``.
    func collectParallel() -> (records: [EventRecord], report: ParseReport) {
        var engine = ParallelIngest(configuration: configuration, fingerprinter: fingerprinter)
        var sink = CollectingBatchSink(inputs: inputs)
        engine.run(inputs, into: &sink)
        let report = ParseReport(
            diagnostics: engine.diagnostics,
            keys: engine.tables.keys.count,
            endpoints: engine.tables.endpoints.count,
            elapsedSeconds: 0
        )
        return (sink.records, report)
    }

    /// Runs the job in event-time order across gateway nodes (``MergedIngest``) and returns the
    /// events as ``EventRecord``s without path and user agent; the analysis reads inputs this way.
    func collectMerged(reorderWindowMillis: Int64 = 5_000) -> (records: [EventRecord], report: ParseReport) {
        var engine = MergedIngest(
            configuration: configuration,
            fingerprinter: fingerprinter,
            reorderWindowMillis: reorderWindowMillis
        )
        var sink = CollectingBatchSink(inputs: inputs)
        engine.run(inputs, into: &sink)
        let report = ParseReport(
            diagnostics: engine.diagnostics,
            keys: engine.tables.keys.count,
            endpoints: engine.tables.endpoints.count,
            elapsedSeconds: 0
        )
        return (sink.records, report)
    }

    /// Runs the job and returns every event as an ``EventRecord`` (for tests and small inputs).
    public func collect() -> (records: [EventRecord], report: ParseReport) {
        var engine = IngestEngine(configuration: configuration, fingerprinter: fingerprinter)
        var sink = CollectingSink()
        engine.run(inputs, into: &sink)
        let report = ParseReport(
            diagnostics: engine.diagnostics,
            keys: engine.normalizer.keys.count,
            endpoints: engine.normalizer.endpoints.count,
            elapsedSeconds: 0
        )
        return (sink.records, report)
    }
}

struct DiscardSink: EventSink {
    @inline(__always)
    mutating func consume(_ event: AccessEvent, fields: RawFields, normalizer: EventNormalizer, inputName: String) {}
}

struct CollectingBatchSink: BatchEventSink {
    let inputs: [InputSource]
    var records: [EventRecord] = []
    mutating func consume(_ event: AccessEvent, tables: borrowing RunTables) {
        let identity: KeyIdentity? = event.key.map { tables.keys[Int($0)] }
        let latency: Double? = event.latencyMillis.isNaN ? nil : (Double(event.latencyMillis) * 1000).rounded() / 1000
        let bytes: Int64? = event.bytes >= 0 ? event.bytes : nil
        let source = inputs[Int(event.source.input)].displayName + ":" + String(event.source.line)
        let record = EventRecord(
            time: Timestamps.rfc3339(event.time),
            ip: event.client?.description,
            keyID: identity?.id,
            keyHint: identity?.hint,
            keySource: identity?.source.description,
            method: event.method.description,
            path: "",
            endpoint: tables.endpoints[Int(event.endpoint)],
            status: Int(event.status),
            bytes: bytes,
            latencyMillis: latency,
            userAgent: nil,
            source: source
        )
        records.append(record)
    }
}

struct CollectingSink: EventSink {
    var records: [EventRecord] = []
    mutating func consume(_ event: AccessEvent, fields: RawFields, normalizer: EventNormalizer, inputName: String) {
        records.append(EventRecord(event: event, fields: fields, normalizer: normalizer, inputName: inputName))
    }
}

/// Writes events as JSON lines, buffering output in 256 KiB blocks.
struct JSONLinesSink: EventSink {
    let fileDescriptor: Int32
    var buffer: [UInt8] = []

    init(fileDescriptor: Int32) {
        self.fileDescriptor = fileDescriptor
        buffer.reserveCapacity(300 << 10)
    }

    mutating func consume(_ event: AccessEvent, fields: RawFields, normalizer: EventNormalizer, inputName: String) {
        let record = EventRecord(event: event, fields: fields, normalizer: normalizer, inputName: inputName)
        buffer.append(contentsOf: record.jsonLine.utf8)
        buffer.append(0x0A)
        if buffer.count >= 256 << 10 { flush() }
    }

    mutating func flush() {
        var offset = 0
        while offset < buffer.count {
            let n = buffer.withUnsafeBytes { write(fileDescriptor, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }  // EPIPE and the like: the reader went away.
            offset += n
        }
        buffer.removeAll(keepingCapacity: true)
    }
}
