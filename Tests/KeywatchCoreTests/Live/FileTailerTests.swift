import Foundation
import Testing

@testable import KeywatchCore

#if canImport(Glibc)
import Glibc
#endif

/// The tailer against real files in temporary directories, with short intervals so the suite stays fast.
@Suite struct FileTailerTests {
    static var fast: FileTailer.Options {
        var options = FileTailer.Options()
        options.pollInterval = .milliseconds(20)
        options.rescanInterval = .milliseconds(50)
        options.rotationGrace = .milliseconds(150)
        return options
    }

    /// What a test saw: each line as text with its followed path and number.
    struct Seen: Hashable, CustomStringConvertible {
        var path: String
        var number: Int64
        var text: String
        var description: String { "\((path as NSString).lastPathComponent):\(number) \(text)" }
    }

    /// Reads until `count` lines arrived (or 3 s passed), then polls a little longer to catch extras.
    static func collect(
        _ tailer: FileTailer,
        count: Int,
        settle: Duration = .milliseconds(60)
    ) -> [Seen] {
        var seen: [Seen] = []
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(3)
        while seen.count < count && clock.now < deadline {
            for chunk in tailer.next(timeout: .milliseconds(100)) { seen += lines(chunk) }
        }
        let settleEnd = clock.now + settle
        while clock.now < settleEnd {
            for chunk in tailer.next(timeout: .milliseconds(20)) { seen += lines(chunk) }
        }
        return seen
    }

    static func lines(_ chunk: TailChunk) -> [Seen] {
        var seen: [Seen] = []
        chunk.forEachLine { number, line in
            seen.append(Seen(path: chunk.path, number: number, text: String(decoding: line, as: UTF8.self)))
        }
        #expect(seen.count == chunk.lineCount)
        #expect(chunk.bytes.last == 0x0A)
        return seen
    }

    static func texts(_ seen: [Seen]) -> [String] { seen.map(\.text) }

    /// Appends `text` as a writer with `O_APPEND` would.
    static func append(_ path: String, _ text: String) {
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        precondition(fd >= 0)
        write(fd, text)
        close(fd)
    }

    static func write(_ fd: Int32, _ text: String) {
        let bytes = Array(text.utf8)
        let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        precondition(n == bytes.count)
    }

    static func size(_ path: String) -> Int64 {
        var info = stat()
        return stat(path, &info) == 0 ? Int64(info.st_size) : -1
    }

    static func numbered(_ range: ClosedRange<Int>, prefix: String = "line") -> String {
        range.map { "\(prefix) \($0)\n" }.joined()
    }

    @Test func appendedLinesAreDeliveredWithNumbersAndPosition() {
        let dir = TemporaryDirectory()
        let log = dir.path + "/access.log"
        Self.append(log, Self.numbered(1...2))
        let tailer = FileTailer(patterns: [log], options: Self.fast)
        #expect(Self.texts(Self.collect(tailer, count: 2)) == ["line 1", "line 2"])
        Self.append(log, Self.numbered(3...5))
        let later = Self.collect(tailer, count: 3)
        #expect(later.map(\.number) == [3, 4, 5])
        #expect(later.allSatisfy { $0.path == log })
        let position = tailer.positions()
        #expect(position.count == 1)
        #expect(position.first?.offset == Self.size(log))
        #expect(position.first?.line == 5)
        #expect(tailer.status().first?.lagBytes == 0)
        #expect(tailer.counters.lines == 5)
    }

    @Test(arguments: [true, false])
    func aFileCreatedAfterStartIsPickedUpWithinASecond(inotify: Bool) {
        let dir = TemporaryDirectory()
        let log = dir.path + "/later/access.log"
        var options = FileTailer.Options()  // default intervals: the delivery bound is real
        options.useInotify = inotify
        let tailer = FileTailer(patterns: [log], options: options)
        #expect(tailer.poll().isEmpty)
        try? FileManager.default.createDirectory(atPath: dir.path + "/later", withIntermediateDirectories: false)
        #expect(tailer.poll().isEmpty)
        let clock = ContinuousClock()
        let start = clock.now
        Self.append(log, Self.numbered(1...3))
        var seen: [Seen] = []
        while seen.count < 3 && clock.now - start < .seconds(3) {
            for chunk in tailer.next(timeout: .milliseconds(200)) { seen += Self.lines(chunk) }
        }
        #expect(Self.texts(seen) == ["line 1", "line 2", "line 3"])
        #expect(clock.now - start < .seconds(1))
        Self.append(log, "line 4\n")
        let appended = clock.now
        seen = []
        while seen.isEmpty && clock.now - appended < .seconds(3) {
            for chunk in tailer.next(timeout: .seconds(2)) { seen += Self.lines(chunk) }
        }
        #expect(Self.texts(seen) == ["line 4"])
        #expect(clock.now - appended < .seconds(1))
    }

    @Test func globsPickUpNewFilesButNotCompressedOnes() {
        let dir = TemporaryDirectory()
        Self.append(dir.path + "/a.log", "a 1\n")
        let tailer = FileTailer(patterns: [dir.path + "/*.log*"], options: Self.fast)
        #expect(Self.texts(Self.collect(tailer, count: 1)) == ["a 1"])
        Self.append(dir.path + "/b.log", "b 1\nb 2\n")
        dir.write("c.log.gz", Data([0x1F, 0x8B, 0x08, 0x00, 0x0A]))
        Self.append(dir.path + "/a.log", "a 2\n")
        let seen = Self.collect(tailer, count: 3)
        #expect(
            Set(seen.map { "\(($0.path as NSString).lastPathComponent) \($0.text)" }) == [
                "a.log a 2", "b.log b 1", "b.log b 2",
            ]
        )
        #expect(seen.count == 3)
        #expect(Set(tailer.positions().map(\.path)) == [dir.path + "/a.log", dir.path + "/b.log"])
    }

    @Test func renameAndCreateLosesNothingAndRepeatsNothing() {
        let dir = TemporaryDirectory()
        let log = dir.path + "/access.log"
        // The writer keeps its descriptor, as nginx does until it is told to reopen.
        var writer = open(log, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        Self.write(writer, Self.numbered(1...3))
        var options = Self.fast
        options.rotationGrace = .milliseconds(600)  // longer than the test takes to write line 8
        let tailer = FileTailer(patterns: [log], options: options)
        #expect(Self.collect(tailer, count: 3).count == 3)

        Self.write(writer, "line 4\n")  // before the rename, not read yet
        rename(log, log + ".1")
        Self.write(writer, "line 5\n")  // into the renamed file, before the tailer switches
        let oldWriter = writer
        writer = open(log, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        Self.write(writer, Self.numbered(6...7))
        var seen = Self.collect(tailer, count: 4)
        Self.write(oldWriter, "line 8\n")  // a late write into the old file after the switch
        close(oldWriter)
        Self.write(writer, "line 9\n")
        seen += Self.collect(tailer, count: 2)
        close(writer)

        #expect(seen.map(\.text).sorted() == (4...9).map { "line \($0)" })
        // The old file's lines come first and keep its numbering; the new file starts at 1.
        #expect(Array(seen.prefix(4)).map(\.text) == ["line 4", "line 5", "line 6", "line 7"])
        #expect(seen.first { $0.text == "line 5" }?.number == 5)
        #expect(seen.first { $0.text == "line 8" }?.number == 6)
        #expect(seen.first { $0.text == "line 6" }?.number == 1)
        #expect(seen.first { $0.text == "line 9" }?.number == 3)
        #expect(seen.allSatisfy { $0.path == log })
        #expect(tailer.counters.rotations == 1)

        // After the grace the old file is closed; only the new file has a position.
        _ = Self.collect(tailer, count: 0, settle: .milliseconds(800))
        #expect(tailer.positions().map(\.path) == [log])
        #expect(tailer.positions().first?.offset == Self.size(log))
    }

    @Test func copytruncateStartsAgainWithoutRereading() {
        let dir = TemporaryDirectory()
        let log = dir.path + "/access.log"
        Self.append(log, Self.numbered(1...3))
        let tailer = FileTailer(patterns: [log], options: Self.fast)
        #expect(Self.collect(tailer, count: 3).count == 3)

        // Shorter than before: seen by size.
        truncate(log, 0)
        Self.append(log, "new 1\n")
        var seen = Self.collect(tailer, count: 1)
        #expect(seen.map(\.text) == ["new 1"])
        #expect(seen.map(\.number) == [1])

        // Longer than before by the time the tailer looks: seen by the first bytes.
        truncate(log, 0)
        Self.append(log, Self.numbered(1...40, prefix: "again"))
        seen = Self.collect(tailer, count: 40)
        #expect(seen.map(\.text) == (1...40).map { "again \($0)" })
        #expect(seen.first?.number == 1)
        #expect(tailer.counters.truncations == 2)
        #expect(tailer.positions().first?.offset == Self.size(log))
    }

    @Test func restartResumesExactlyFromStoredPositions() throws {
        let dir = TemporaryDirectory()
        let log = dir.path + "/access.log"
        let store = try StateStore(directory: dir.path + "/state")
        Self.append(log, Self.numbered(1...3))
        do {
            let tailer = FileTailer(patterns: [log], options: Self.fast)
            #expect(Self.collect(tailer, count: 3).count == 3)
            Self.append(log, "line 4 half")  // unfinished at the checkpoint
            _ = Self.collect(tailer, count: 0)
            try store.checkpoint(Checkpoint(positions: tailer.positions()))
        }
        Self.append(log, " done\nline 5\n")
        let tailer = FileTailer(patterns: [log], positions: try store.loadPositions(), options: Self.fast)
        let seen = Self.collect(tailer, count: 2)
        #expect(seen.map(\.text) == ["line 4 half done", "line 5"])
        #expect(seen.map(\.number) == [4, 5])
    }

    @Test func restartAfterRenameWhileStoppedFinishesTheOldFileFirst() throws {
        let dir = TemporaryDirectory()
        let log = dir.path + "/access.log"
        Self.append(log, Self.numbered(1...3))
        var saved: [TailPosition] = []
        do {
            let tailer = FileTailer(patterns: [log], options: Self.fast)
            #expect(Self.collect(tailer, count: 3).count == 3)
            saved = tailer.positions()
        }
        // While stopped: more lines, rotation, a new file.
        Self.append(log, Self.numbered(4...5))
        rename(log, log + ".1")
        Self.append(log, Self.numbered(6...7))

        let tailer = FileTailer(patterns: [log], positions: saved, options: Self.fast)
        // Before anything is read, a checkpoint still names the rotated file at its position.
        #expect(tailer.positions().map(\.path).sorted() == [log, log + ".1"])
        #expect(tailer.positions().first { $0.path == log + ".1" }?.offset == saved[0].offset)
        let seen = Self.collect(tailer, count: 4, settle: .milliseconds(300))
        #expect(seen.map(\.text) == ["line 4", "line 5", "line 6", "line 7"])
        #expect(seen.map(\.number) == [4, 5, 1, 2])
        #expect(tailer.positions().map(\.path) == [log])
    }

    @Test func aReplacedFileAtTheSamePathIsReadFromTheStart() throws {
        let dir = TemporaryDirectory()
        let log = dir.path + "/access.log"
        Self.append(log, Self.numbered(1...3))
        let first = FileTailer(patterns: [log], options: Self.fast)
        #expect(Self.collect(first, count: 3).count == 3)
        let saved = first.positions()
        // Rewritten in place while stopped (same inode, other content, longer): not the same file.
        truncate(log, 0)
        Self.append(log, Self.numbered(1...9, prefix: "other"))
        let tailer = FileTailer(patterns: [log], positions: saved, options: Self.fast)
        #expect(Self.texts(Self.collect(tailer, count: 9)) == (1...9).map { "other \($0)" })
    }

    @Test func aCrashDuringRotationResumesBothFiles() throws {
        let dir = TemporaryDirectory()
        let log = dir.path + "/access.log"
        var writer = open(log, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        Self.write(writer, Self.numbered(1...2))
        var options = Self.fast
        options.rotationGrace = .seconds(30)  // still finishing the old file at the "crash"
        var saved: [TailPosition] = []
        do {
            let tailer = FileTailer(patterns: [log], options: options)
            #expect(Self.collect(tailer, count: 2).count == 2)
            rename(log, log + ".1")
            let old = writer
            writer = open(log, O_WRONLY | O_CREAT | O_APPEND, 0o644)
            Self.write(writer, "new 1\n")
            #expect(Self.texts(Self.collect(tailer, count: 1)) == ["new 1"])
            Self.write(old, "line 3\n")
            close(old)
            saved = tailer.positions()
            #expect(saved.map(\.path) == [log, log + ".1"])
        }
        Self.write(writer, "new 2\n")
        close(writer)
        let tailer = FileTailer(patterns: [log], positions: saved, options: Self.fast)
        let seen = Self.collect(tailer, count: 2)
        #expect(Set(seen.map(\.text)) == ["line 3", "new 2"])
        #expect(seen.count == 2)
    }

    @Test func unfinishedLinesWaitForTheirNewlineOrTheirFilesEnd() {
        let dir = TemporaryDirectory()
        let log = dir.path + "/access.log"
        Self.append(log, "one\ntw")
        let tailer = FileTailer(patterns: [log], options: Self.fast)
        #expect(Self.texts(Self.collect(tailer, count: 1)) == ["one"])
        #expect(tailer.positions().first?.offset == 4)
        Self.append(log, "o\nthr")
        #expect(Self.texts(Self.collect(tailer, count: 1)) == ["two"])
        // Rotated away with "thr" never finished: delivered once the old file is quiet.
        rename(log, log + ".1")
        Self.append(log, "four\n")
        let seen = Self.collect(tailer, count: 2, settle: .milliseconds(400))
        #expect(Set(Self.texts(seen)) == ["thr", "four"])
        #expect(seen.count == 2)
        #expect(tailer.counters.unterminatedLines == 1)
    }

    @Test func anOverlongUnfinishedLineIsSkippedToItsNewline() {
        let dir = TemporaryDirectory()
        let log = dir.path + "/access.log"
        var options = Self.fast
        options.maxLineLength = 100
        let tailer = FileTailer(patterns: [log], options: options)
        Self.append(log, "short\n" + String(repeating: "x", count: 150))
        #expect(Self.texts(Self.collect(tailer, count: 1)) == ["short"])
        Self.append(log, String(repeating: "y", count: 150))
        _ = Self.collect(tailer, count: 0)
        Self.append(log, "yy\nafter\n")
        let seen = Self.collect(tailer, count: 1)
        #expect(seen.map(\.text) == ["after"])
        #expect(seen.map(\.number) == [3])
        #expect(tailer.counters.overlongLines == 1)
    }

    @Test func aDeletedFileIsFinishedAndItsPathWaitedFor() {
        let dir = TemporaryDirectory()
        let log = dir.path + "/access.log"
        Self.append(log, "one\n")
        let tailer = FileTailer(patterns: [log], options: Self.fast)
        #expect(Self.collect(tailer, count: 1).count == 1)
        Self.append(log, "two\n")
        unlink(log)
        #expect(Self.texts(Self.collect(tailer, count: 1, settle: .milliseconds(300))) == ["two"])
        #expect(tailer.positions().isEmpty)
        Self.append(log, "three\n")
        let seen = Self.collect(tailer, count: 1)
        #expect(seen.map(\.text) == ["three"])
        #expect(seen.map(\.number) == [1])
    }

    @Test func binaryJunkIsPassedThroughByteForByte() {
        let dir = TemporaryDirectory()
        let log = dir.path + "/access.log"
        let junk: [UInt8] = [0x00, 0xFF, 0xFE, 0x41, 0x0D, 0x0A, 0xC3, 0x28, 0x0A, 0x0A]
        FileManager.default.createFile(atPath: log, contents: Data(junk))
        let tailer = FileTailer(patterns: [log], options: Self.fast)
        var lines: [[UInt8]] = []
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(2)
        while lines.count < 3 && clock.now < deadline {
            for chunk in tailer.next(timeout: .milliseconds(100)) {
                #expect(chunk.bytes == junk)
                lines += chunk.lines
            }
        }
        #expect(lines == [[0x00, 0xFF, 0xFE, 0x41, 0x0D], [0xC3, 0x28], []])
    }

    @Test func startingAtTheEndSkipsWhatExistingFilesHold() {
        let dir = TemporaryDirectory()
        let log = dir.path + "/access.log"
        Self.append(log, Self.numbered(1...3))
        var options = Self.fast
        options.existingFiles = .end
        let tailer = FileTailer(patterns: [log], options: options)
        Self.append(log, "line 4\n")
        #expect(Self.texts(Self.collect(tailer, count: 1)) == ["line 4"])
    }
}
