/// The events of a run, parsed and merged into event-time order ahead of time, so that detection
/// alone can be timed (the benchmark's per-event cost of learning and detecting, without the parse
/// threads competing for the cores).
///
/// ```swift
/// let prepared = PreparedEvents(inputs: inputs, configuration: config, fingerprinter: fingerprinter)
/// var engine = DetectionEngine(geo: resolver)
/// let alerts = prepared.replay(into: &engine)
/// ```
public struct PreparedEvents {
    private var sink: Collector

    /// Events with a key.
    public var count: Int { sink.events.count }

    /// Parses and merges `inputs` as ``AnalyzeJob`` does, keeping every event with a key in memory.
    public init(inputs: [InputSource], configuration: IngestConfiguration, fingerprinter: KeyFingerprinter) {
        var merge = MergedIngest(configuration: configuration, fingerprinter: fingerprinter)
        var collector = Collector()
        merge.run(inputs, into: &collector)
        collector.tables = merge.tables
        sink = collector
    }

    /// Feeds every event to `engine` in order, with the same cache hints the analysis loop gives.
    /// - Returns: The number of alerts raised.
    public func replay(into engine: inout DetectionEngine) -> Int {
        var alerts: [Alert] = []
        var total = 0
        let events = sink.events
        let far = MergedIngest.prefetchDistance
        let near = far / 2
        for i in events.indices {
            engine.prefetch(
                far: i + far < events.count ? events[i + far].key : nil,
                near: i + near < events.count ? events[i + near].key : nil)
            engine.observe(events[i], tables: sink.tables, into: &alerts)
            total += alerts.count
            alerts.removeAll(keepingCapacity: true)
        }
        return total
    }

    private struct Collector: BatchEventSink {
        var events: [AccessEvent] = []
        var tables = RunTables()
        mutating func consume(_ event: AccessEvent, tables: borrowing RunTables) {
            if event.key != nil { events.append(event) }
        }
    }
}
