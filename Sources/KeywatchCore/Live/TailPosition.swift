/// Where a followed file was read up to: which file (device and inode, and a fingerprint of its first
/// bytes) and how far (byte offset and line count). ``FileTailer`` resumes from it; the state store
/// keeps one per path (``StateStore/loadPositions()``, ``Checkpoint/positions``).
///
/// The file at ``path`` is the same file when its device and inode match and its first
/// `min(offset, 1024)` bytes still hash to ``headHash``. An inode alone is not enough: a file deleted
/// and created again often gets the same inode back.
public struct TailPosition: Sendable, Hashable {
    /// The path that was followed (as matched, not resolved), the row's key in the store.
    public var path: String
    /// The file's device (`st_dev`).
    public var device: UInt64
    /// The file's inode (`st_ino`).
    public var inode: UInt64
    /// Bytes read and delivered: the offset just after the last complete line.
    public var offset: Int64
    /// Lines delivered from this file (so the next line is number `line + 1`).
    public var line: Int64
    /// The fingerprint of the file's first `min(offset, 1024)` bytes (see ``HeadFingerprint``).
    public var headHash: String
    /// When the position was taken, in milliseconds since 1970.
    public var updatedMs: Int64

    /// Creates a position.
    /// - Parameters:
    ///   - path: The followed path.
    ///   - device: `st_dev` of the file.
    ///   - inode: `st_ino` of the file.
    ///   - offset: Byte offset after the last delivered line.
    ///   - line: Lines delivered so far.
    ///   - headHash: ``HeadFingerprint`` of the first `min(offset, 1024)` bytes.
    ///   - updatedMs: Time the position was taken, in milliseconds since 1970.
    public init(
        path: String,
        device: UInt64,
        inode: UInt64,
        offset: Int64,
        line: Int64,
        headHash: String,
        updatedMs: Int64
    ) {
        self.path = path
        self.device = device
        self.inode = inode
        self.offset = offset
        self.line = line
        self.headHash = headHash
        self.updatedMs = updatedMs
    }
}
