/// What one output file holds, for the summary.
struct WrittenFile: Sendable {
    /// Path relative to the output directory.
    let relativePath: String
    /// Lines written.
    var lines: Int
    /// Size on disk in bytes.
    var bytes: Int
}

/// A node's log directory with daily rotation, as logrotate with `dateext` + `dateyesterday` leaves it.
///
/// Lines go to `<prefix>YYYYMMDD.gz`, named after the node-local date of their content and rotated at
/// the node's local midnight; lines of the final (partial) local day go to the plain live file.
final class RotatingLog<Formatter: LineFormatter> {
    private let outputDirectory: String
    private let relativeDirectory: String
    private let liveName: String
    private let rotatedPrefix: String
    private let offsetMinutes: Int
    private let liveDay: Int
    private let gzipLevel: Int32
    private var formatter: Formatter
    private var sink: (any ByteSink)?
    private var currentDay = Int.min
    private var buffer: [UInt8] = []
    private var lastTime: EpochMillis = .min
    /// Files written so far, in order.
    private(set) var files: [WrittenFile] = []

    /// Creates the log.
    /// - Parameters:
    ///   - outputDirectory: The sample root.
    ///   - relativeDirectory: The node's directory under it, e.g. `nginx/gw1`.
    ///   - liveName: Live file name, e.g. `access.log`.
    ///   - rotatedPrefix: Rotated file prefix, e.g. `access.log-`.
    ///   - offsetMinutes: Node's UTC offset (rotation happens at local midnight).
    ///   - endMillis: End of the simulated period; its local date is the live day.
    ///   - gzipLevel: Compression level.
    ///   - formatter: Line formatter.
    init(
        outputDirectory: String,
        relativeDirectory: String,
        liveName: String,
        rotatedPrefix: String,
        offsetMinutes: Int,
        endMillis: EpochMillis,
        gzipLevel: Int32,
        formatter: Formatter
    ) {
        self.outputDirectory = outputDirectory
        self.relativeDirectory = relativeDirectory
        self.liveName = liveName
        self.rotatedPrefix = rotatedPrefix
        self.offsetMinutes = offsetMinutes
        self.liveDay = TimeFormat.dayNumber(of: endMillis - 1 + EpochMillis(offsetMinutes) * Span.minute)
        self.gzipLevel = gzipLevel
        self.formatter = formatter
        buffer.reserveCapacity(1 << 18)
    }

    /// Removes files this log would write (left over from an earlier run).
    func removeStaleFiles() {
        let directory = outputDirectory + "/" + relativeDirectory
        for name in FileSystem.entries(of: directory) where name == liveName || name.hasPrefix(rotatedPrefix) {
            FileSystem.remove(directory + "/" + name)
        }
    }

    /// Appends an event; events must arrive in completion-time order.
    /// - Throws: ``SimulatorError`` on I/O failure.
    func append(_ event: SimEvent) throws(SimulatorError) {
        precondition(event.time >= lastTime, "events must be time-ordered")
        lastTime = event.time
        let day = TimeFormat.dayNumber(of: event.time + EpochMillis(offsetMinutes) * Span.minute)
        if day != currentDay {
            try open(day: day)
        }
        formatter.append(event, to: &buffer)
        files[files.count - 1].lines += 1
        if buffer.count >= 1 << 18 {
            try sink?.write(buffer)
            buffer.removeAll(keepingCapacity: true)
        }
    }

    /// Flushes and closes the current file, creating an empty live file if none was written.
    /// - Throws: ``SimulatorError`` on I/O failure.
    func close() throws(SimulatorError) {
        if currentDay != liveDay {
            try open(day: liveDay)
        }
        try finishCurrent()
    }

    private func open(day: Int) throws(SimulatorError) {
        try finishCurrent()
        currentDay = day
        let name = day >= liveDay ? liveName : rotatedPrefix + CivilDate(dayNumber: day).compact + ".gz"
        let path = outputDirectory + "/" + relativeDirectory + "/" + name
        sink = day >= liveDay ? try PlainFileSink(path: path) : try GzipFileSink(path: path, level: gzipLevel)
        files.append(WrittenFile(relativePath: relativeDirectory + "/" + name, lines: 0, bytes: 0))
    }

    private func finishCurrent() throws(SimulatorError) {
        guard let sink else {
            return
        }
        try sink.write(buffer)
        buffer.removeAll(keepingCapacity: true)
        try sink.close()
        self.sink = nil
        files[files.count - 1].bytes = FileSystem.size(of: sink.path)
    }
}
