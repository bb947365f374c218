// The analysis figures of issue #3, measured in this process against the library:
//
// (a) full analysis (`AnalyzeJob`: time-ordered merge, geography, learning, detection) next to
//     parse only (`ParseJob.run(output: .none)`, what `keywatch parse --output none` runs), on the
//     same files; goal: analysis throughput at least 60% of parse-only throughput.
// (b) memory per tracked key after learning 100k keys; goal: at most 4 KiB.

import Foundation
import KeywatchCore

#if canImport(Glibc)
import Glibc
#endif

/// Heap bytes in use, from glibc's `mallinfo2()` (all arenas: `uordblks` plus mmapped `hblkhd`).
///
/// Swift's Glibc module does not import `<malloc.h>`, so the function is looked up by name. It
/// returns a 10-word struct in memory, which on x86-64 (System V) means the caller passes the
/// result's address in the first argument register and gets it back: exactly a C function of one
/// pointer. Elsewhere this answers `nil` and the figures fall back to RSS.
func heapInUse() -> Int? {
    #if arch(x86_64) && canImport(Glibc)
    guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallinfo2") else { return nil }
    typealias Mallinfo2 = @convention(c) (UnsafeMutableRawPointer) -> UnsafeMutableRawPointer
    let call = unsafeBitCast(symbol, to: Mallinfo2.self)
    var words = [Int](repeating: 0, count: 10)
    words.withUnsafeMutableBytes { _ = call($0.baseAddress!) }
    // struct mallinfo2 { arena, ordblks, smblks, hblks, hblkhd, usmblks, fsmblks, uordblks, fordblks, keepcost }
    return words[7] + words[4]
    #else
    return nil
    #endif
}

/// Returns freed heap memory to the system (`malloc_trim(0)`), so RSS shows what is still in use.
func trimHeap() {
    #if canImport(Glibc)
    guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "malloc_trim") else { return }
    typealias MallocTrim = @convention(c) (Int) -> Int32
    _ = unsafeBitCast(symbol, to: MallocTrim.self)(0)
    #endif
}

/// Resident set size of this process, in bytes (`/proc/self/statm`).
func residentBytes() -> Int {
    guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
    let fields = text.split(separator: " ")
    guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
    return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
}

func seconds(_ d: Duration) -> Double {
    Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
}

let benchFingerprinter = KeyFingerprinter(secret: [UInt8](repeating: 0x5A, count: 32))

/// CPU seconds (user + system) used so far by the whole process (`RUSAGE_SELF`) and by the calling
/// thread alone (`RUSAGE_THREAD`, Linux only; 0 elsewhere).
func cpuSeconds() -> (process: Double, thread: Double) {
    func total(_ who: Int32) -> Double {
        var usage = rusage()
        guard getrusage(__rusage_who_t(who), &usage) == 0 else { return 0 }
        return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6 + Double(usage.ru_stime.tv_sec)
            + Double(usage.ru_stime.tv_usec) / 1e6
    }
    #if os(Linux)
    return (total(RUSAGE_SELF.rawValue), total(1))  // 1 is RUSAGE_THREAD
    #else
    return (total(RUSAGE_SELF), 0)
    #endif
}

/// One in-process run: wall seconds, CPU seconds, and what the run reported.
struct LibraryRun {
    var seconds: Double
    /// CPU seconds of all threads.
    var cpu: Double = 0
    /// CPU seconds of the calling thread, which for an analysis is the merge and detection thread.
    var callerCPU: Double = 0
    var lines: Int64
    var events: Int64
    var keys: Int
    var alerts: Int
}

/// `keywatch parse --output none`: the two-thread parse path, events discarded.
func parseOnce(_ path: String, configuration: IngestConfiguration) -> LibraryRun {
    let job = ParseJob(
        inputs: [InputSource(path: path)],
        configuration: configuration,
        fingerprinter: benchFingerprinter
    )
    let clock = ContinuousClock()
    let start = clock.now
    let cpuBefore = cpuSeconds()
    let report = job.run(output: .none)
    let elapsed = seconds(clock.now - start)
    let cpuAfter = cpuSeconds()
    return LibraryRun(
        seconds: elapsed,
        cpu: cpuAfter.process - cpuBefore.process,
        callerCPU: cpuAfter.thread - cpuBefore.thread,
        lines: report.diagnostics.lines,
        events: report.diagnostics.eventsWithKey,
        keys: report.keys,
        alerts: 0
    )
}

/// The analysis with a fresh engine and no checkpoints: merge, geography, learning and detection.
func analyzeOnce(
    _ path: String,
    configuration: IngestConfiguration,
    geo: GeoResolver,
    checkpoint: ((StateSnapshot) throws -> Void)? = nil
) -> (run: LibraryRun, engine: DetectionEngine) {
    var job = AnalyzeJob(
        inputs: [InputSource(path: path)],
        configuration: configuration,
        fingerprinter: benchFingerprinter
    )
    job.checkpointInterval = .infinity  // with a checkpoint: only the final one
    var engine = DetectionEngine(geo: geo)
    let clock = ContinuousClock()
    let start = clock.now
    let cpuBefore = cpuSeconds()
    let report: AnalyzeReport
    do {
        report = try job.run(engine: &engine, onAlert: { _ in }, checkpoint: checkpoint)
    } catch {
        print("keywatch-bench: analysis failed: \(error)")
        exit(1)
    }
    let elapsed = seconds(clock.now - start)
    let cpuAfter = cpuSeconds()
    let run = LibraryRun(
        seconds: elapsed,
        cpu: cpuAfter.process - cpuBefore.process,
        callerCPU: cpuAfter.thread - cpuBefore.thread,
        lines: report.diagnostics.lines,
        events: Int64(report.events),
        keys: report.keys,
        alerts: report.alertTotal
    )
    return (run, engine)
}

func describe(_ name: String, _ run: LibraryRun, bytes: Int64) -> String {
    "  \(name.padding(toLength: 44, withPad: " ", startingAt: 0)) \(format(run.seconds, 3)) s  "
        + "\(format(Double(run.lines) / run.seconds / 1e6)) M lines/s  \(format(Double(bytes) / run.seconds / 1e6, 0)) MB/s"
}

/// (a): parse only and full analysis of one file, best of `runs` each, and their throughput ratio.
/// - Returns: analysis throughput / parse-only throughput.
@discardableResult
func compareAnalysis(
    _ label: String,
    path: String,
    configuration: IngestConfiguration,
    geo: GeoResolver,
    runs: Int
) -> Double {
    let bytes = fileSize(path)
    // Parse-only and analysis runs alternate, so a machine whose speed drifts (other tenants) slows
    // both alike; each side reports its best run, and each pair its own ratio.
    var parse: LibraryRun?
    var analysis: LibraryRun?
    var pairRatios: [Double] = []
    for _ in 0..<max(runs, 1) {
        let p = parseOnce(path, configuration: configuration)
        let a = analyzeOnce(path, configuration: configuration, geo: geo).run
        if parse == nil || p.seconds < parse!.seconds { parse = p }
        if analysis == nil || a.seconds < analysis!.seconds { analysis = a }
        pairRatios.append(p.seconds / a.seconds)
    }
    guard let parse, let analysis else { return 0 }
    print(describe("parse only (\(label))", parse, bytes: bytes))
    print(
        describe("analysis (\(label))", analysis, bytes: bytes) + "  \(analysis.keys) keys, \(analysis.alerts) alerts"
    )
    let ratio = parse.seconds / analysis.seconds
    print("  analysis / parse-only throughput = \(format(ratio))  (goal >= 0.60) \(ratio >= 0.60 ? "ok" : "MISSED")")
    pairRatios.sort()
    print(
        "  per pair of runs: median \(format(pairRatios[pairRatios.count / 2])), range "
            + "\(format(pairRatios.first!))–\(format(pairRatios.last!))"
    )
    // Where the time goes: with every core busy, the ratio cannot beat parse CPU / analysis CPU, and
    // the analysis cannot end before its merge and detection thread has done its share.
    print(
        "  CPU: parse only \(format(parse.cpu, 2)) s; analysis \(format(analysis.cpu, 2)) s, of which the merge "
            + "and detection thread \(format(analysis.callerCPU, 2)) s (\(format(analysis.callerCPU / analysis.seconds * 100, 0))% "
            + "of the wall time); parse CPU / analysis CPU = \(format(parse.cpu / max(analysis.cpu, 1e-9)))"
    )
    // Where the difference goes: learning and detection alone, on events parsed beforehand, on one thread.
    let prepared = PreparedEvents(
        inputs: [InputSource(path: path)], configuration: configuration, fingerprinter: benchFingerprinter)
    var bestDetect = Double.infinity
    for _ in 0..<max(runs, 1) {
        var engine = DetectionEngine(geo: geo)
        let clock = ContinuousClock()
        let start = clock.now
        _ = prepared.replay(into: &engine)
        bestDetect = min(bestDetect, seconds(clock.now - start))
    }
    print(
        "  learning + detection alone (one thread, events parsed beforehand): \(format(bestDetect, 3)) s = "
            + "\(format(bestDetect / Double(max(prepared.count, 1)) * 1e9, 0)) ns/event"
    )
    return ratio
}

/// Traffic for `keys` keys over two days: each key has its own three addresses (three networks) and
/// three of 24 endpoints, and makes about `perKey` requests at random times, in time order.
func writeManyKeys(_ path: String, keys count: Int, perKey: Int) -> Int {
    var g = Generator(state: 99)
    let keys = makeKeys(count, &g)
    let resources = [
        "orders", "customers", "products", "invoices", "payments", "refunds", "carts", "shipments", "users", "teams",
        "projects", "files", "events", "webhooks", "reports", "plans", "coupons", "taxes", "reviews", "stores",
        "accounts", "sessions", "tickets", "notes",
    ]
    let out = BufferedWriter(path)
    let lines = count * perKey
    let span = 2 * 86_400
    for n in 0..<lines {
        let second = n * span / lines
        let day = 1 + second / 86400
        let h = (second / 3600) % 24
        let m = (second / 60) % 60
        let s = second % 60
        let k = g.below(count)
        let slot = g.below(3)
        let ip = "\(20 + (k >> 16) % 200 + 10 * slot).\((k >> 8) & 255).\(k & 255).\(1 + slot * 40 + g.below(4))"
        let resource = resources[(k + 7 * slot) % resources.count]
        let status = g.below(60) == 0 ? 401 : 200
        out.write(
            "\(ip) - - [\(pad2(day))/\(months[10])/2026:\(pad2(h)):\(pad2(m)):\(pad2(s)) +0000] \"GET /v1/\(resource)/\(g.below(900_000) + 1000) HTTP/1.1\" "
                + "\(status) \(g.below(9000) + 100) \"-\" \"\(agents[(k + slot) % agents.count])\" \"\(keys[k])\" 0.\(g.below(900) + 100)\n"
        )
    }
    out.close()
    return lines
}

/// (b): learns `keys` keys and reports heap and RSS per tracked key, the encoded state per key and
/// the time of one checkpoint of all of them into a fresh state store.
func measureKeyMemory(directory: String, keys count: Int, perKey: Int, configuration: IngestConfiguration, keep: Bool) {
    let path = directory + "/nginx-\(count / 1000)k-keys.log"
    print("")
    print("memory per tracked key: writing \(count) keys × ~\(perKey) requests over 2 days to \(path) …")
    let lines = writeManyKeys(path, keys: count, perKey: perKey)
    let stateDirectory = directory + "/state-\(count / 1000)k-keys"
    try? FileManager.default.removeItem(atPath: stateDirectory)
    trimHeap()
    let heapBefore = heapInUse()
    let rssBefore = residentBytes()
    var checkpointSeconds = 0.0
    var encodedTotal = 0
    var storedKeys = 0
    var databaseBytes: Int64 = 0
    var engine: DetectionEngine
    var run: LibraryRun
    do {
        var store: StateStore?
        do {
            store = try StateStore(directory: stateDirectory)
        } catch {
            print("keywatch-bench: cannot open \(stateDirectory): \(error)")
            exit(1)
        }
        (run, engine) = analyzeOnce(
            path,
            configuration: configuration,
            geo: GeoResolver(networks: nil, databases: []),
            checkpoint: { snapshot in
                let clock = ContinuousClock()
                let start = clock.now
                try store!.checkpoint(Checkpoint(snapshot, eventsTotal: Int64(snapshot.events)))
                checkpointSeconds = seconds(clock.now - start)
                storedKeys = snapshot.keys.count
            }
        )
        store = nil
        databaseBytes = fileSize(stateDirectory + "/keywatch.sqlite")
    }
    trimHeap()
    let heapAfter = heapInUse()
    let rssAfter = residentBytes()
    for key in engine.keys { encodedTotal += key.state.encoded().count }
    let tracked = engine.keyCount
    print(
        "  analysis of \(lines) lines: \(format(run.seconds)) s (\(format(Double(lines) / run.seconds / 1e6)) M lines/s), "
            + "\(tracked) keys tracked, \(run.alerts) alerts"
    )
    if let heapBefore, let heapAfter {
        let perKey = Double(heapAfter - heapBefore) / Double(tracked)
        print(
            "  heap in use per tracked key (mallinfo2) = \(format(perKey, 0)) B = \(format(perKey / 1024)) KiB  "
                + "(goal <= 4 KiB) \(perKey <= 4096 ? "ok" : "MISSED")"
        )
    }
    print(
        "  RSS growth per tracked key (after malloc_trim) = \(format(Double(rssAfter - rssBefore) / Double(tracked), 0)) B"
    )
    print("  encoded state per key = \(format(Double(encodedTotal) / Double(tracked), 0)) B on average")
    print(
        "  one checkpoint of \(storedKeys) keys into a new state store: \(format(checkpointSeconds)) s; "
            + "keywatch.sqlite \(databaseBytes / 1_000_000) MB"
    )
    withExtendedLifetime(engine) {}
    if !keep {
        unlink(path)
        try? FileManager.default.removeItem(atPath: stateDirectory)
    }
}
