import Crypto

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The fingerprint of a file's first bytes, which tells a file from another that took its inode or
/// its name: SHA-256 of the first `min(offset, 1024)` bytes, as 32 hex digits (the first 16 bytes).
///
/// Log lines begin with addresses and timestamps, so 1 KiB of them is as good as unique; the empty
/// head (offset 0) has the empty string as its fingerprint and matches any file.
enum HeadFingerprint {
    /// How many leading bytes are fingerprinted at most.
    static let maxLength = 1024

    /// The number of bytes fingerprinted for a position at `offset`.
    static func length(forOffset offset: Int64) -> Int { Int(min(offset, Int64(maxLength))) }

    /// The fingerprint of `bytes`.
    static func hash(_ bytes: UnsafeRawBufferPointer) -> String {
        guard bytes.count > 0 else { return "" }
        let digest = SHA256.hash(data: bytes)
        var text = ""
        text.reserveCapacity(32)
        for byte in digest.prefix(16) {
            text.append(hexDigits[Int(byte >> 4)])
            text.append(hexDigits[Int(byte & 0xF)])
        }
        return text
    }

    private static let hexDigits: [Character] = Array("0123456789abcdef")

    /// The fingerprint of the first `length` bytes of the open file `fd`, or nil when the file is
    /// shorter than that or cannot be read.
    static func hash(fd: Int32, length: Int) -> String? {
        guard length > 0 else { return "" }
        return withUnsafeTemporaryAllocation(byteCount: length, alignment: 1) { buffer -> String? in
            var done = 0
            while done < length {
                let n = pread(fd, buffer.baseAddress! + done, length - done, off_t(done))
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { return nil }
                done += n
            }
            return hash(UnsafeRawBufferPointer(buffer))
        }
    }

    /// The fingerprint of the first `length` bytes of the file at `path`, or nil when it is shorter
    /// or cannot be read.
    static func hash(path: String, length: Int) -> String? {
        let fd = openForReading(path)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        return hash(fd: fd, length: length)
    }
}

/// A file's identity on this machine: device and inode.
struct FileID: Hashable, Sendable {
    var device: UInt64
    var inode: UInt64

    init(device: UInt64, inode: UInt64) {
        self.device = device
        self.inode = inode
    }

    init(_ info: stat) {
        device = UInt64(info.st_dev)
        inode = UInt64(info.st_ino)
    }
}

/// `stat` of `path`, following symbolic links (a followed `current.log` link is followed to its
/// file), or nil if there is no regular file there.
func regularFileStatus(_ path: String) -> stat? {
    var info = stat()
    guard stat(path, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { return nil }
    return info
}

/// Opens `path` for reading (close-on-exec, never blocking on a FIFO); -1 on failure.
func openForReading(_ path: String) -> Int32 {
    open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
}
