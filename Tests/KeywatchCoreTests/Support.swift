import Foundation
import Testing

@testable import KeywatchCore

/// Paths and helpers shared by the core tests.
enum Fixtures {
    /// `Tests/Fixtures`.
    static let directory: String = {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures").path
    }()

    static func path(_ name: String) -> String { directory + "/" + name }

    /// A fingerprinter with a fixed secret, so ids are stable across test runs.
    static let fingerprinter = KeyFingerprinter(secret: [UInt8](repeating: 7, count: 32))
}

/// A temporary directory removed at the end of the test.
final class TemporaryDirectory {
    let path: String

    init() {
        path = NSTemporaryDirectory() + "keywatch-test-" + UUID().uuidString
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    /// Writes `data` to `name` and returns its path.
    @discardableResult
    func write(_ name: String, _ data: Data) -> String {
        let file = path + "/" + name
        FileManager.default.createFile(atPath: file, contents: data)
        return file
    }

    @discardableResult
    func write(_ name: String, _ text: String) -> String { write(name, Data(text.utf8)) }
}

/// Parses `text` as one input and returns the events and the report.
func parse(
    _ text: String,
    configuration: IngestConfiguration = IngestConfiguration(),
    name: String = "input.log"
) -> (records: [EventRecord], report: ParseReport) {
    parse(data: Data(text.utf8), configuration: configuration, name: name)
}

func parse(
    data: Data,
    configuration: IngestConfiguration = IngestConfiguration(),
    name: String = "input.log"
) -> (records: [EventRecord], report: ParseReport) {
    let dir = TemporaryDirectory()
    let file = dir.write(name, data)
    return ParseJob(
        inputs: [InputSource(path: file)],
        configuration: configuration,
        fingerprinter: Fixtures.fingerprinter
    )
    .collect()
}

func parseFiles(
    _ paths: [String],
    configuration: IngestConfiguration = IngestConfiguration()
) -> (
    records: [EventRecord], report: ParseReport
) {
    ParseJob(
        inputs: paths.map { InputSource(path: $0) },
        configuration: configuration,
        fingerprinter: Fixtures.fingerprinter
    )
    .collect()
}

/// Milliseconds since the epoch for a UTC civil time.
func utc(_ year: Int, _ month: Int, _ day: Int, _ hour: Int, _ minute: Int, _ second: Int, ms: Int = 0) -> Int64 {
    let days = Timestamps.daysFromCivil(year: year, month: month, day: day)
    return Int64(days * 86400 + hour * 3600 + minute * 60 + second) * 1000 + Int64(ms)
}

/// Runs `body` with a ByteView over `text`.
func withBytes<R>(_ text: String, _ body: (ByteView) throws -> R) rethrows -> R {
    var bytes = Array(text.utf8)
    return try bytes.withUnsafeMutableBufferPointer {
        try body(ByteView(base: UnsafePointer($0.baseAddress), count: $0.count))
    }
}

/// gzip-compresses `data` with the system gzip tool (test-only).
func gzip(_ data: Data) throws -> Data {
    let dir = TemporaryDirectory()
    let file = dir.write("x", data)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/gzip")
    process.arguments = ["-n", "-c", file]
    let pipe = Pipe()
    process.standardOutput = pipe
    try process.run()
    let output = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return output
}
