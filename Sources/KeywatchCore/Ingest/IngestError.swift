/// Problems reading an input. None stops the run: good data before and around them is kept, and
/// the run ends with a non-zero exit status.
public enum IngestError: Error, Hashable, CustomStringConvertible, Sendable {
    /// The input could not be opened.
    case cannotOpen(file: String, reason: String)
    /// A read failed part-way.
    case readFailed(file: String, byteOffset: Int64, reason: String)
    /// The gzip stream ended before its end marker: the file was cut off (still being written, or a failed copy).
    case truncatedGzip(file: String, byteOffset: Int64)
    /// zlib rejected the compressed data at this offset.
    case corruptGzip(file: String, byteOffset: Int64, code: Int32, message: String)
    /// Bytes after the last complete gzip member that are not another member.
    case trailingGarbage(file: String, byteOffset: Int64)
    /// A glob or path matched no file.
    case noMatch(pattern: String)
    /// No known format reads the input's first lines.
    case unrecognisedFormat(file: String, firstLine: String)

    public var description: String {
        switch self {
        case .cannotOpen(let file, let reason): "\(file): cannot open: \(reason)"
        case .readFailed(let file, let offset, let reason): "\(file): read failed at byte \(offset): \(reason)"
        case .truncatedGzip(let file, let offset):
            "\(file): gzip data ends early at compressed byte \(offset) (truncated file); lines before it were read"
        case .corruptGzip(let file, let offset, let code, let message):
            "\(file): corrupt gzip data at compressed byte \(offset) (zlib \(code): \(message)); "
                + "lines before it were read, reading resumed at the next gzip member if any"
        case .trailingGarbage(let file, let offset):
            "\(file): ignored non-gzip bytes after the last gzip member, from compressed byte \(offset)"
        case .noMatch(let pattern): "\(pattern): no such file (nothing matched)"
        case .unrecognisedFormat(let file, let firstLine):
            "\(file): skipped: no known log format reads its first lines (first line: \(firstLine)); "
                + "pass --format NAME or --log-format '<your nginx log_format>'"
        }
    }
}
