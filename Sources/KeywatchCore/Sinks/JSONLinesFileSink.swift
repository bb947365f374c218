import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `--alerts-file F`: appends one alert JSON object (``Alert/json``) per line.
///
/// ```swift
/// let file = try JSONLinesFileSink(path: "/var/log/keywatch/alerts.jsonl")
/// try file.emit(alert)        // appended at once (O_APPEND: a whole line per write)
/// try file.checkpoint()       // fsync: durable once the state checkpoint is
/// ```
///
/// The file is created with mode 0600 (alerts name keys by masked hint, still worth keeping private).
/// It may be rotated under the sink: before each write it compares the path's device and inode with
/// the open file's, and when the file was renamed or removed it syncs the old one and opens (creates)
/// the path afresh, so logrotate's rename-and-create and a plain `rm` both work. `copytruncate` works
/// as it is, since writes append at the end.
///
/// Safety (`@unchecked Sendable`): the descriptor and its identity are read and written only while
/// holding `lock`.
public final class JSONLinesFileSink: AlertSink, @unchecked Sendable {
    /// The file's path.
    public let path: String
    private let lock = NSLock()
    private var fd: Int32 = -1
    private var identity: (device: UInt64, inode: UInt64) = (0, 0)

    /// Opens (or creates) the file for appending.
    /// - Parameter path: The alerts file.
    /// - Throws: ``SinkError/cannotOpen(path:reason:)``.
    public init(path: String) throws(SinkError) {
        self.path = path
        try reopen()
    }

    deinit {
        if fd >= 0 { close(fd) }
    }

    public func emit(_ alert: Alert) throws(SinkError) {
        var line = alert.json + "\n"
        lock.lock()
        defer { lock.unlock() }
        try reopenIfRotated()
        let fd = fd
        let failure: Int32? = line.withUTF8 { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    return errno
                }
                offset += written
            }
            return nil
        }
        if let failure { throw .writeFailed(path: path, reason: String(cString: strerror(failure))) }
    }

    public func checkpoint() throws(SinkError) {
        lock.lock()
        defer { lock.unlock() }
        try sync()
        try reopenIfRotated()
    }

    private func sync() throws(SinkError) {
        guard fd >= 0 else { return }
        while fsync(fd) != 0 {
            if errno != EINTR { throw .syncFailed(path: path, reason: String(cString: strerror(errno))) }
        }
    }

    /// Opens the path again when it no longer names the open file (renamed away or removed).
    private func reopenIfRotated() throws(SinkError) {
        var info = stat()
        if stat(path, &info) == 0 && UInt64(info.st_dev) == identity.device && UInt64(info.st_ino) == identity.inode {
            return
        }
        try sync()
        try reopen()
    }

    private func reopen() throws(SinkError) {
        let newFD = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
        guard newFD >= 0 else { throw .cannotOpen(path: path, reason: String(cString: strerror(errno))) }
        var info = stat()
        guard fstat(newFD, &info) == 0 else {
            let reason = String(cString: strerror(errno))
            close(newFD)
            throw .cannotOpen(path: path, reason: reason)
        }
        if fd >= 0 { close(fd) }
        fd = newFD
        identity = (UInt64(info.st_dev), UInt64(info.st_ino))
    }
}
