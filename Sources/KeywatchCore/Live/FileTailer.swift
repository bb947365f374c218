#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Follows gateway log files the way `tail -F`, fail2ban and CrowdSec do: through rotation by
/// rename-and-create and by copytruncate, across restarts, losing no line and reading none twice.
///
/// ```swift
/// let tailer = FileTailer(patterns: ["/var/log/nginx/access.log", "/var/log/kong/*.log"],
///                         positions: try store.loadPositions())
/// while running {
///     for chunk in tailer.next(timeout: .seconds(1)) {
///         chunk.forEachLine { number, line in /* parse line number `number` of chunk.path */ }
///     }
///     if checkpointDue {
///         try store.checkpoint(Checkpoint(keys: changed, alerts: raised, positions: tailer.positions()))
///     }
/// }
/// ```
///
/// ## What is followed
/// Each pattern is a path or a glob (`*`, `?`, `[…]`). A path that does not exist yet is waited for;
/// globs are expanded again every ``Options/rescanInterval`` (and at once when inotify reports a new
/// name), so files that appear later are picked up. Only regular files are followed (a symbolic link
/// is followed to its file); compressed names (`.gz`, `.bz2`, `.xz`, `.zst`, `.zip`, `.lz4`, `.br`)
/// are skipped, as logrotate's compressed generations are finished files. One file (device and
/// inode) is read once even when several patterns match it.
///
/// ## Rotation
/// - **Rename and create** (logrotate's default, `mv access.log access.log.1`, then a new
///   `access.log`): the path now holds another inode. The old file is kept open and read to its end
///   first, then the new file from 0. The old file stays open, and is read whenever it grows (a
///   writer that has not reopened its log yet goes on writing into it), until it has been quiet for
///   ``Options/rotationGrace``; then it is closed.
/// - **Copytruncate** (same inode, cut to 0): seen as a size below what was read, or as first bytes
///   that no longer match the fingerprint; reading starts again from 0, and line numbers too.
/// - **Delete** (`rm`): like rename, the open file is finished, then the path is waited for.
///
/// ## Unfinished lines
/// Bytes after the last newline are held, not delivered: the writer is usually in the middle of a
/// line. A position never points into them, so a restart reads such a line again whole. The line is
/// delivered, with a `\n` added and counted in ``TailCounters/unterminatedLines`` (the parser then
/// judges it, usually as a bad line), only when the rest can no longer come: its file was rotated
/// away and went quiet for ``Options/rotationGrace``, or was truncated. A line longer than
/// ``Options/maxLineLength`` that has not ended is dropped up to its newline and counted in
/// ``TailCounters/overlongLines``; a position taken meanwhile points after the dropped bytes, so a
/// restart there delivers the rest of that line as one (bad) line.
///
/// ## Positions and restarts
/// ``positions()`` gives each open file's ``TailPosition`` after the lines delivered so far: a
/// followed file under its path, a rotated file that is still being finished under the name it has
/// now (such as `access.log.1`, found next to its old path by inode). Store them with the state
/// those lines produced (``Checkpoint/positions``). A tailer created with them resumes a file at its
/// position when the file at the path, or one next to it with the same device and inode, has the
/// same fingerprint and is at least that long; a file renamed away while keywatch was stopped is
/// finished first, and the file now at the path is read from 0. A file whose position does not match
/// (replaced, truncated) is read from 0. Files found at the first scan without a position start at
/// ``Options/existingFiles``; files that appear later are always read from 0.
///
/// ## Waking up
/// On Linux the tailer watches the followed files' directories with inotify, so a new line is read
/// as soon as it is written; ``next(timeout:)`` still polls every ``Options/rescanInterval``, and
/// every ``Options/pollInterval`` where inotify is not available or a directory could not be watched.
///
/// A tailer has one owner and is not `Sendable`: run it on its own thread (``next(timeout:)`` blocks).
public final class FileTailer {
    /// How a tailer polls, waits and limits lines.
    public struct Options: Sendable {
        /// Where to start a file that exists at the first scan and has no stored position.
        public enum StartPoint: Sendable, Hashable {
            /// Read it whole (the default: nothing is skipped).
            case beginning
            /// Skip what it holds now and follow what is appended, as `tail -F` does.
            case end
        }

        /// How often to look at the files when no inotify event wakes the tailer.
        public var pollInterval: Duration = .milliseconds(250)
        /// How often to expand globs again and look for replaced files, inotify or not.
        public var rescanInterval: Duration = .seconds(1)
        /// How long a rotated-away file must stay quiet before it is closed.
        public var rotationGrace: Duration = .seconds(2)
        /// The longest unfinished line held; longer lines are skipped to their newline.
        public var maxLineLength: Int = 64 << 10
        /// The read size; a chunk holds at most this many bytes (plus an unfinished line).
        public var readSize: Int = 1 << 20
        /// The most bytes read from one file in one poll, so one busy file does not delay the others.
        public var readBudget: Int = 8 << 20
        /// Whether to use inotify where available.
        public var useInotify: Bool = true
        /// Where files found at the first scan without a stored position start.
        public var existingFiles: StartPoint = .beginning

        /// The defaults: 250 ms polling, 1 s rescans, 2 s rotation grace, 64 KiB lines, inotify on.
        public init() {}
    }

    /// The paths and globs followed.
    public let patterns: [String]
    /// The options the tailer was created with.
    public let options: Options
    /// Counters over the tailer's life.
    public private(set) var counters = TailCounters()

    private var files: [FileID: TailedFile] = [:]
    private var paths: [String: FileID] = [:]
    private var followed: [String] = []
    private var resume: [FileID: TailPosition] = [:]
    private var savedPaths: Set<String> = []
    private var finished: [FileID: TailPosition] = [:]
    private var finishedOrder: [FileID] = []
    private var lastScan: ContinuousClock.Instant?
    private var firstScan = true
    private let watcher: DirectoryWatcher
    private let buffer: UnsafeMutableRawBufferPointer
    private let clock = ContinuousClock()

    /// Creates a tailer and looks at the files once (nothing is read until ``poll()``).
    /// - Parameters:
    ///   - patterns: Paths and globs to follow.
    ///   - positions: Positions stored by an earlier run (``StateStore/loadPositions()``).
    ///   - options: Polling, rotation and line limits.
    public init(patterns: [String], positions: [TailPosition] = [], options: Options = Options()) {
        self.patterns = patterns
        self.options = options
        watcher = DirectoryWatcher(useInotify: options.useInotify)
        buffer = .allocate(byteCount: max(4096, options.readSize), alignment: 16)
        let now = clock.now
        var elsewhere: [(path: String, position: TailPosition)] = []
        for position in positions {
            savedPaths.insert(position.path)
            guard let (path, id) = FileTailer.locate(position) else { continue }
            resume[id] = position
            if path != position.path { elsewhere.append((path, position)) }
        }
        scan(now: now)
        firstScan = false
        // Stored files not followed now (renamed away while stopped, or saved while being finished):
        // finish them from their positions.
        for (id, position) in resume {
            let path = elsewhere.first(where: { $0.position == position })?.path ?? position.path
            guard files[id] == nil, let file = open(path, id: id, source: position.path, now: now) else { continue }
            file.followedPath = nil
            file.rotatedName = path
            file.rotatedAt = now
            files[id] = file
        }
        resume.removeAll()
    }

    deinit { buffer.deallocate() }

    // MARK: Reading

    /// Looks at the files and reads what was appended, without waiting.
    /// - Returns: Chunks of whole lines; rotated-away files' lines come before their successors'.
    public func poll() -> [TailChunk] {
        let now = clock.now
        let nowMs = FileTailer.wallMilliseconds()
        if watcher.namesChanged || lastScan.map({ now - $0 >= options.rescanInterval }) ?? true {
            watcher.namesChanged = false
            scan(now: now)
        } else {
            for path in followed { reconcile(path, now: now) }
        }
        var chunks: [TailChunk] = []
        let rotated = files.values.filter { $0.followedPath == nil }.sorted {
            ($0.rotatedAt ?? now, $0.source) < ($1.rotatedAt ?? now, $1.source)
        }
        for file in rotated {
            read(file, into: &chunks, now: now, nowMs: nowMs)
            if file.isFinished(now: now, grace: options.rotationGrace) {
                file.flushUnfinishedLine(into: &chunks, nowMs: nowMs, counters: &counters)
                remember(file, nowMs: nowMs)
                files[file.id] = nil
            }
        }
        for file in files.values.filter({ $0.followedPath != nil }).sorted(by: { $0.source < $1.source }) {
            read(file, into: &chunks, now: now, nowMs: nowMs)
        }
        return chunks
    }

    /// Waits until lines are there, or `timeout` has passed.
    /// - Parameter timeout: The longest wait.
    /// - Returns: Chunks of whole lines, or none when the time ran out.
    public func next(timeout: Duration) -> [TailChunk] {
        let deadline = clock.now + timeout
        while true {
            let chunks = poll()
            if !chunks.isEmpty { return chunks }
            let remaining = deadline - clock.now
            if remaining <= .zero { return [] }
            let step = watcher.isActive && watcher.isComplete ? options.rescanInterval : options.pollInterval
            watcher.wait(seconds: min(remaining, step).inSeconds)
        }
    }

    private func read(_ file: TailedFile, into chunks: inout [TailChunk], now: ContinuousClock.Instant, nowMs: Int64) {
        file.read(
            into: &chunks,
            buffer: buffer,
            budget: options.readBudget,
            maxLineLength: options.maxLineLength,
            now: now,
            nowMs: nowMs,
            counters: &counters
        )
    }

    // MARK: Positions

    /// The position of every open file after the lines delivered so far, ordered by path.
    ///
    /// A followed file's position is named by its path; a rotated-away file still being finished by
    /// the name it has now, if it is still next to its old path (otherwise it is left out: a restart
    /// could not find it).
    /// - Returns: The positions to store with the state those lines produced.
    public func positions() -> [TailPosition] {
        let nowMs = FileTailer.wallMilliseconds()
        var result: [String: TailPosition] = [:]
        for file in files.values {
            if let path = file.followedPath {
                result[path] = file.position(path: path, nowMs: nowMs)
                continue
            }
            if let name = file.rotatedName, let info = regularFileStatus(name), FileID(info) == file.id {
                // still there
            } else {
                file.rotatedName = FileTailer.findSibling(of: file.source, id: file.id)
            }
            guard let name = file.rotatedName, result[name] == nil else { continue }
            result[name] = file.position(path: name, nowMs: nowMs)
        }
        return result.values.sorted { $0.path < $1.path }
    }

    /// Per-file figures: position, size and lag, ordered by path.
    /// - Returns: One status per open file.
    public func status() -> [TailFileStatus] {
        let nowMs = FileTailer.wallMilliseconds()
        return files.values.map { file in
            TailFileStatus(
                path: file.source,
                position: file.position(path: file.positionPath, nowMs: nowMs),
                size: file.size,
                isRotated: file.followedPath == nil
            )
        }.sorted { ($0.path, $0.position.path) < ($1.path, $1.position.path) }
    }

    // MARK: Following paths

    /// Expands the patterns again, follows what they match now, and watches their directories.
    private func scan(now: ContinuousClock.Instant) {
        lastScan = now
        let (matched, directories) = FileTailer.expand(patterns)
        let matching = Set(matched)
        for path in paths.keys where !matching.contains(path) { unmap(path, now: now) }
        followed = matched
        for path in followed { reconcile(path, now: now) }
        var watched = directories
        for file in files.values { watched.insert(FileTailer.directory(of: file.followedPath ?? file.source)) }
        watcher.watch(watched)
    }

    /// Makes `path` follow the file now there: nothing changes if it is the same file; otherwise the
    /// old one is rotated away and the new one opened.
    private func reconcile(_ path: String, now: ContinuousClock.Instant) {
        let old = paths[path]
        guard let info = regularFileStatus(path) else {
            if old != nil { unmap(path, now: now) }
            return
        }
        let id = FileID(info)
        if old == id { return }
        if old != nil {
            counters.rotations += 1
            unmap(path, now: now)
        }
        if let file = files[id] {
            // Already open, under another pattern or as a rotated file now matched (access.log.1 by a glob).
            paths[path] = id
            if file.followedPath == nil {
                file.followedPath = path
                file.rotatedAt = nil
                file.rotatedName = nil
            }
            return
        }
        guard let file = open(path, id: id, source: path, now: now) else { return }
        files[id] = file
        paths[path] = id
    }

    /// Opens the file at `path`, if it still is `id`, at its stored, remembered or starting position.
    private func open(_ path: String, id: FileID, source: String, now: ContinuousClock.Instant) -> TailedFile? {
        let fd = openForReading(path)
        guard fd >= 0 else { return nil }
        var info = stat()
        guard fstat(fd, &info) == 0, FileID(info) == id else {
            close(fd)
            return nil
        }
        var start: (offset: Int64, line: Int64) = (0, 0)
        if let position = resume.removeValue(forKey: id) ?? finished[id],
            FileTailer.matches(fd: fd, size: Int64(info.st_size), position: position)
        {
            start = (position.offset, position.line)
        } else if firstScan && options.existingFiles == .end && !savedPaths.contains(path) {
            start = (Int64(info.st_size), 0)
        }
        counters.filesOpened += 1
        return TailedFile(fd: fd, id: id, source: source, offset: start.offset, line: start.line, now: now)
    }

    /// Stops following `path`; its file is rotated away unless another followed path holds it.
    private func unmap(_ path: String, now: ContinuousClock.Instant) {
        guard let id = paths.removeValue(forKey: path), let file = files[id] else { return }
        guard file.followedPath == path else { return }
        if let other = paths.first(where: { $0.value == id })?.key {
            file.followedPath = other
            return
        }
        file.followedPath = nil
        file.rotatedAt = now
        file.rotatedName = FileTailer.findSibling(of: path, id: id)
    }

    /// Keeps the end position of a closed file, so the same file matched again later (a glob that
    /// also matches `access.log.1`) goes on from there instead of from 0.
    private func remember(_ file: TailedFile, nowMs: Int64) {
        if finished[file.id] == nil { finishedOrder.append(file.id) }
        finished[file.id] = file.position(path: file.source, nowMs: nowMs)
        if finishedOrder.count > 1024 { finished[finishedOrder.removeFirst()] = nil }
    }

    // MARK: Helpers

    /// Where the stored file is now: its path if it is still there, or a name next to it with the
    /// same device and inode; nil if neither matches the fingerprint.
    static func locate(_ position: TailPosition) -> (String, FileID)? {
        let id = FileID(device: position.device, inode: position.inode)
        var candidates: [String] = []
        if let info = regularFileStatus(position.path), FileID(info) == id {
            candidates.append(position.path)
        } else if let sibling = findSibling(of: position.path, id: id) {
            candidates.append(sibling)
        }
        for path in candidates {
            let fd = openForReading(path)
            guard fd >= 0 else { continue }
            defer { close(fd) }
            var info = stat()
            guard fstat(fd, &info) == 0, FileID(info) == id else { continue }
            if matches(fd: fd, size: Int64(info.st_size), position: position) { return (path, id) }
        }
        return nil
    }

    /// Whether the open file can be the one `position` was taken in: long enough, same first bytes.
    static func matches(fd: Int32, size: Int64, position: TailPosition) -> Bool {
        guard size >= position.offset else { return false }
        return HeadFingerprint.hash(fd: fd, length: HeadFingerprint.length(forOffset: position.offset))
            == position.headHash
    }

    /// A regular file in `path`'s directory with device and inode `id`, other than `path`.
    static func findSibling(of path: String, id: FileID) -> String? {
        let directory = directory(of: path)
        guard let dir = opendir(directory) else { return nil }
        defer { closedir(dir) }
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.baseAddress!.assumingMemoryBound(to: CChar.self))
            }
            if name == "." || name == ".." { continue }
            guard UInt64(entry.pointee.d_ino) == id.inode else { continue }
            let candidate = directory == "/" ? "/" + name : directory + "/" + name
            if candidate == path { continue }
            if let info = regularFileStatus(candidate), FileID(info) == id { return candidate }
        }
        return nil
    }

    static let compressedSuffixes = [".gz", ".bz2", ".xz", ".zst", ".zip", ".lz4", ".br"]

    /// The files the patterns match now (literal paths always, existing or not), and the
    /// directories to watch for them.
    static func expand(_ patterns: [String]) -> (paths: [String], directories: Set<String>) {
        var paths: [String] = []
        var seen = Set<String>()
        var directories = Set<String>()
        for pattern in patterns {
            guard isGlob(pattern) else {
                if seen.insert(pattern).inserted { paths.append(pattern) }
                directories.insert(directory(of: pattern))
                continue
            }
            let parent = directory(of: pattern)
            if !isGlob(parent) { directories.insert(parent) }
            var result = glob_t()
            defer { globfree(&result) }
            guard glob(pattern, 0, nil, &result) == 0 else { continue }
            for i in 0..<Int(result.gl_pathc) {
                guard let p = result.gl_pathv[i] else { continue }
                let path = String(cString: p)
                if compressedSuffixes.contains(where: { path.hasSuffix($0) }) { continue }
                guard regularFileStatus(path) != nil, seen.insert(path).inserted else { continue }
                paths.append(path)
                directories.insert(directory(of: path))
            }
        }
        return (paths, directories)
    }

    static func isGlob(_ text: String) -> Bool { text.contains(where: { $0 == "*" || $0 == "?" || $0 == "[" }) }

    /// The directory part of `path` (`.` for a bare name).
    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    static func wallMilliseconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
    }
}
