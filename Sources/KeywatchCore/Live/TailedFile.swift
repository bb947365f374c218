#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One open file that ``FileTailer`` reads: its descriptor, identity, how far it was read and
/// delivered, and the bytes of a line not finished yet.
///
/// The descriptor stays open after the file is renamed or deleted, so a rotated file is read to its
/// end whatever its name. The delivered offset is just after the last complete line, so a restart
/// from it reads an unfinished line again whole.
final class TailedFile {
    let id: FileID
    let fd: Int32
    /// The followed path the file was found at (``TailChunk/path``).
    var source: String
    /// The followed path it is at now, or nil once it was rotated away (renamed or deleted).
    var followedPath: String?
    /// Where a rotated file is now, when found next to its followed path.
    var rotatedName: String?
    /// Bytes read from the file.
    private(set) var readOffset: Int64
    /// Complete lines delivered (including overlong ones skipped).
    private(set) var line: Int64
    /// The start of an unfinished line (bytes after the last newline read).
    private var pending: [UInt8] = []
    /// Skipping an overlong line up to its newline.
    private var discarding = false
    private(set) var size: Int64 = 0
    private var lastModification = timespec()
    private var headLength = 0
    private var headHash = ""
    /// When the file last grew (or was opened).
    private(set) var lastGrowth: ContinuousClock.Instant
    /// When it was rotated away.
    var rotatedAt: ContinuousClock.Instant?

    /// Bytes delivered: the offset after the last complete line.
    var offset: Int64 { readOffset - Int64(pending.count) }

    init(fd: Int32, id: FileID, source: String, offset: Int64, line: Int64, now: ContinuousClock.Instant) {
        self.fd = fd
        self.id = id
        self.source = source
        self.followedPath = source
        self.readOffset = offset
        self.line = line
        self.lastGrowth = now
        updateHead()
    }

    deinit { close(fd) }

    /// The position after what was delivered, named `path`.
    func position(path: String, nowMs: Int64) -> TailPosition {
        updateHead()
        return TailPosition(
            path: path,
            device: id.device,
            inode: id.inode,
            offset: offset,
            line: line,
            headHash: headHash,
            updatedMs: nowMs
        )
    }

    /// The path this file's position is stored under: its followed path, or where it was rotated to.
    var positionPath: String { followedPath ?? rotatedName ?? source }

    /// Keeps the fingerprint of the first `min(offset, 1024)` bytes current (it changes only while
    /// the file is shorter than 1 KiB).
    private func updateHead() {
        let length = HeadFingerprint.length(forOffset: offset)
        guard length != headLength else { return }
        if let hash = HeadFingerprint.hash(fd: fd, length: length) {
            headLength = length
            headHash = hash
        }
    }

    /// Reads what was appended since the last call and appends chunks of whole lines to `chunks`.
    /// Detects truncation (size below what was read, or the first bytes changed) and starts again
    /// from 0.
    /// - Parameters:
    ///   - buffer: A reusable read buffer; chunks are at most its size plus an unfinished line.
    ///   - budget: The most bytes to read now, so one busy file does not hold up the others.
    ///   - maxLineLength: An unfinished line longer than this is dropped and the line skipped.
    ///   - counters: Updated with what was delivered.
    /// - Returns: Whether anything was read.
    @discardableResult
    func read(
        into chunks: inout [TailChunk],
        buffer: UnsafeMutableRawBufferPointer,
        budget: Int,
        maxLineLength: Int,
        now: ContinuousClock.Instant,
        nowMs: Int64,
        counters: inout TailCounters
    ) -> Bool {
        var info = stat()
        guard fstat(fd, &info) == 0 else { return false }
        let previousSize = size
        size = Int64(info.st_size)
        let modified = modificationTime(info)
        // A rewrite within one timestamp tick still changes the size, almost always.
        let changed =
            size != previousSize || modified.tv_sec != lastModification.tv_sec
            || modified.tv_nsec != lastModification.tv_nsec
        lastModification = modified
        if size < readOffset || (changed && headLength > 0 && !headMatches()) {
            restartAfterTruncation(into: &chunks, nowMs: nowMs, counters: &counters)
        }
        var grew = false
        var left = budget
        while left > 0 {
            let want = min(buffer.count, left)
            let n = pread(fd, buffer.baseAddress, want, off_t(readOffset))
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { break }
            readOffset += Int64(n)
            left -= n
            grew = true
            take(
                UnsafeRawBufferPointer(rebasing: buffer[0..<n]),
                into: &chunks,
                maxLineLength: maxLineLength,
                nowMs: nowMs,
                counters: &counters
            )
            if n < want { break }
        }
        if grew {
            lastGrowth = now
            size = max(size, readOffset)
        }
        return grew
    }

    /// Whether the file still starts with the bytes fingerprinted.
    private func headMatches() -> Bool {
        HeadFingerprint.hash(fd: fd, length: headLength) == headHash
    }

    /// Splits freshly read bytes at the last newline: what comes before (with the unfinished line
    /// carried from before) is delivered, the rest is kept.
    private func take(
        _ bytes: UnsafeRawBufferPointer,
        into chunks: inout [TailChunk],
        maxLineLength: Int,
        nowMs: Int64,
        counters: inout TailCounters
    ) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        var start = 0
        if discarding {
            guard let nl = memchr(base, 0x0A, bytes.count) else { return }
            start = base.distance(to: UnsafeRawPointer(nl)) + 1
            discarding = false
            line += 1
        }
        guard start < bytes.count else { return }
        guard let last = TailedFile.lastNewline(bytes, from: start) else {
            pending.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[start...]))
            if pending.count > maxLineLength {
                // A line that never ends within the limit: drop it and skip to its newline.
                pending.removeAll(keepingCapacity: false)
                discarding = true
                counters.overlongLines += 1
            }
            return
        }
        let end = last + 1
        var lines = pending
        pending.removeAll(keepingCapacity: true)
        lines.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[start..<end]))
        if end < bytes.count {
            if bytes.count - end > maxLineLength {
                discarding = true
                counters.overlongLines += 1
            } else {
                pending.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[end...]))
            }
        }
        deliver(lines, unterminated: 0, into: &chunks, nowMs: nowMs, counters: &counters)
    }

    private func deliver(
        _ bytes: [UInt8],
        unterminated: Int,
        into chunks: inout [TailChunk],
        nowMs: Int64,
        counters: inout TailCounters
    ) {
        let count = bytes.withUnsafeBytes { TailedFile.countNewlines($0) }
        let first = line + 1
        line += Int64(count)
        counters.lines += Int64(count)
        counters.bytes += Int64(bytes.count)
        counters.unterminatedLines += unterminated
        chunks.append(
            TailChunk(
                path: source,
                bytes: bytes,
                firstLine: first,
                lineCount: count,
                position: position(path: positionPath, nowMs: nowMs),
                isRotated: followedPath == nil,
                unterminatedLines: unterminated
            )
        )
    }

    /// Delivers an unfinished line as a line of its own (with a `\n` added): its file was rotated
    /// away and went quiet, truncated, or deleted, so the rest will never come.
    func flushUnfinishedLine(into chunks: inout [TailChunk], nowMs: Int64, counters: inout TailCounters) {
        discarding = false
        guard !pending.isEmpty else { return }
        var bytes = pending
        bytes.append(0x0A)
        pending.removeAll()
        // The bytes were read, so the delivered offset moves past them.
        deliver(bytes, unterminated: 1, into: &chunks, nowMs: nowMs, counters: &counters)
    }

    private func restartAfterTruncation(into chunks: inout [TailChunk], nowMs: Int64, counters: inout TailCounters) {
        let before = chunks.count
        flushUnfinishedLine(into: &chunks, nowMs: nowMs, counters: &counters)
        counters.truncations += 1
        readOffset = 0
        line = 0
        headLength = 0
        headHash = ""
        // The unfinished line's chunk leaves the file at its new start, not past the old content.
        if chunks.count > before { chunks[chunks.count - 1].position = position(path: positionPath, nowMs: nowMs) }
    }

    /// Whether a rotated-away file is done: read to its end and quiet for `grace`.
    func isFinished(now: ContinuousClock.Instant, grace: Duration) -> Bool {
        var info = stat()
        if fstat(fd, &info) == 0 && Int64(info.st_size) > readOffset { return false }
        return now - lastGrowth >= grace && now - (rotatedAt ?? now) >= grace
    }

    /// The index of the last `\n` in `bytes[from...]` (glibc's `memrchr` is not imported; the last
    /// newline is normally within a line's length of the end).
    static func lastNewline(_ bytes: UnsafeRawBufferPointer, from start: Int) -> Int? {
        var i = bytes.count - 1
        while i >= start {
            if bytes[i] == 0x0A { return i }
            i -= 1
        }
        return nil
    }

    private func modificationTime(_ info: stat) -> timespec {
        #if canImport(Darwin)
        info.st_mtimespec
        #else
        info.st_mtim
        #endif
    }

    static func countNewlines(_ bytes: UnsafeRawBufferPointer) -> Int {
        guard let base = bytes.baseAddress else { return 0 }
        var count = 0
        var p = base
        let end = base + bytes.count
        while p < end, let nl = memchr(p, 0x0A, p.distance(to: end)) {
            count += 1
            p = UnsafeRawPointer(nl) + 1
        }
        return count
    }
}
