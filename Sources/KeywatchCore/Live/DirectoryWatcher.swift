#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Wakes the tailer when something changes in the directories of the followed files: inotify on
/// Linux (one watch per directory, which reports writes, creations, renames and deletions of the
/// files in it), or nothing, in which case ``wait(seconds:)`` simply sleeps and the tailer polls.
///
/// A directory that cannot be watched (inotify's per-user limit, a file system without events)
/// leaves polling to cover it; the tailer polls at its fallback interval whenever ``isComplete``
/// is false.
final class DirectoryWatcher {
    private var fd: Int32 = -1
    private var watched: [String: Int32] = [:]
    private var buffer = [UInt8](repeating: 0, count: 16 << 10)
    /// Whether every directory asked for is watched (so waiting on events alone is enough).
    private(set) var isComplete = false
    /// Set by ``wait(seconds:)`` when a name was created, moved or deleted: a rescan is worth doing.
    var namesChanged = false

    init(useInotify: Bool) {
        #if os(Linux)
        if useInotify { fd = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC)) }
        #endif
    }

    deinit { if fd >= 0 { close(fd) } }

    /// Whether events can arrive at all.
    var isActive: Bool { fd >= 0 }

    /// Watches each of `directories` not watched yet and forgets the ones no longer asked for.
    func watch(_ directories: Set<String>) {
        guard fd >= 0 else { return }
        #if os(Linux)
        var complete = true
        for directory in directories where watched[directory] == nil {
            let mask: UInt32 =
                UInt32(IN_MODIFY) | UInt32(IN_CREATE) | UInt32(IN_MOVED_TO) | UInt32(IN_MOVED_FROM)
                | UInt32(IN_DELETE) | UInt32(IN_CLOSE_WRITE) | UInt32(IN_ATTRIB) | UInt32(IN_DELETE_SELF)
                | UInt32(IN_MOVE_SELF)
            let wd = inotify_add_watch(fd, directory, mask)
            if wd >= 0 { watched[directory] = wd } else { complete = false }
        }
        for (directory, wd) in watched where !directories.contains(directory) {
            inotify_rm_watch(fd, wd)
            watched[directory] = nil
        }
        isComplete = complete
        #endif
    }

    /// Waits up to `seconds` for an event (or sleeps that long without inotify).
    /// - Returns: Whether an event arrived.
    @discardableResult
    func wait(seconds: Double) -> Bool {
        let milliseconds = Int32(max(0, min(seconds, 60)) * 1000)
        guard fd >= 0 else {
            if milliseconds > 0 { usleep(UInt32(milliseconds) * 1000) }
            return false
        }
        var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let ready = poll(&entry, 1, milliseconds)
        guard ready > 0 else { return false }
        drain()
        return true
    }

    /// Reads all pending events, noting whether any changed a name.
    private func drain() {
        #if os(Linux)
        let nameEvents =
            UInt32(IN_CREATE) | UInt32(IN_MOVED_TO) | UInt32(IN_MOVED_FROM) | UInt32(IN_DELETE)
            | UInt32(IN_DELETE_SELF) | UInt32(IN_MOVE_SELF) | UInt32(IN_IGNORED) | UInt32(IN_Q_OVERFLOW)
        let headerSize = MemoryLayout<inotify_event>.size
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { return }
            buffer.withUnsafeBytes { bytes in
                var at = 0
                while at + headerSize <= n {
                    // struct inotify_event { int wd; uint32_t mask, cookie, len; char name[]; }
                    let wd = bytes.loadUnaligned(fromByteOffset: at, as: Int32.self)
                    let mask = bytes.loadUnaligned(fromByteOffset: at + 4, as: UInt32.self)
                    if mask & UInt32(IN_IGNORED) != 0 {
                        // The directory went away: watch it again when it comes back.
                        if let directory = watched.first(where: { $0.value == wd })?.key { watched[directory] = nil }
                    }
                    let length = Int(bytes.loadUnaligned(fromByteOffset: at + 12, as: UInt32.self))
                    if mask & nameEvents != 0 { namesChanged = true }
                    at += headerSize + length
                }
            }
        }
        #endif
    }
}
