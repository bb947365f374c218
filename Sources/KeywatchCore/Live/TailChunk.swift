#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Whole lines read from one followed file by ``FileTailer``: their bytes, where they came from, and
/// the file's position after them.
///
/// ```swift
/// for chunk in tailer.next(timeout: 1) {
///     chunk.forEachLine { number, line in
///         // parse `line` (no "\n"; a "\r" before it is kept) from chunk.path, line `number`
///     }
/// }
/// try store.checkpoint(Checkpoint(keys: changed, positions: tailer.positions()))
/// ```
///
/// Every line in ``bytes`` ends in `\n`, so the buffer can be handed whole to a line-aligned parser.
/// Bytes are passed through as they are (NUL, invalid UTF-8, a `\r` before the `\n`): the parser
/// judges and counts bad lines. A line the writer never finished (see ``FileTailer``) is delivered
/// with a `\n` added and counted in ``unterminatedLines``.
public struct TailChunk: Sendable {
    /// The followed path the lines came from: the path or glob match the file was found at, also
    /// after it was rotated away (its position then names where it is now).
    public var path: String
    /// The lines, each ending in `\n`.
    public var bytes: [UInt8]
    /// The number of the first line in the file (1-based; counting starts again after copytruncate).
    public var firstLine: Int64
    /// How many lines ``bytes`` holds.
    public var lineCount: Int
    /// The file's position after these lines.
    public var position: TailPosition
    /// Whether the lines came from a file no longer at ``path`` (renamed or deleted, being finished).
    public var isRotated: Bool
    /// Lines in this chunk that had no newline and were ended by rotation, truncation or deletion.
    public var unterminatedLines: Int

    /// Calls `body` with each line's number and bytes, without the `\n`.
    /// - Parameter body: Called once per line, in order; the buffer is valid only during the call.
    /// - Throws: What `body` throws.
    public func forEachLine(_ body: (Int64, UnsafeRawBufferPointer) throws -> Void) rethrows {
        try bytes.withUnsafeBytes { all in
            guard let base = all.baseAddress else { return }
            var start = 0
            var number = firstLine
            while start < all.count {
                let rest = all.count - start
                guard let nl = memchr(base + start, 0x0A, rest) else { break }
                let end = base.distance(to: UnsafeRawPointer(nl))
                try body(number, UnsafeRawBufferPointer(rebasing: all[start..<end]))
                number += 1
                start = end + 1
            }
        }
    }

    /// The lines as byte arrays, without `\n` (for tests and small consumers; allocates per line).
    public var lines: [[UInt8]] {
        var result: [[UInt8]] = []
        result.reserveCapacity(lineCount)
        forEachLine { _, line in result.append([UInt8](line)) }
        return result
    }
}

/// Per-file figures for metrics and status.
public struct TailFileStatus: Sendable, Hashable {
    /// The followed path (see ``TailChunk/path``).
    public var path: String
    /// The file's current position.
    public var position: TailPosition
    /// The file's size at the last look, in bytes.
    public var size: Int64
    /// Bytes written but not yet delivered: how far reading is behind the file's end.
    public var lagBytes: Int64 { max(0, size - position.offset) }
    /// Whether the file is no longer at its path and is being finished.
    public var isRotated: Bool
}

/// Counters over the tailer's life.
public struct TailCounters: Sendable, Hashable {
    /// Lines delivered.
    public var lines: Int64 = 0
    /// Bytes delivered.
    public var bytes: Int64 = 0
    /// Files replaced at their path (rename-and-create, or delete-and-create).
    public var rotations: Int = 0
    /// Files found truncated or rewritten in place (copytruncate): reading started again from 0.
    public var truncations: Int = 0
    /// Lines without a newline delivered when their file was rotated, truncated or deleted.
    public var unterminatedLines: Int = 0
    /// Lines longer than the line limit that never ended within it; skipped to their newline.
    public var overlongLines: Int = 0
    /// Files opened.
    public var filesOpened: Int = 0

    /// Creates zero counters.
    public init() {}
}
