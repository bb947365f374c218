/// Why a line produced no event.
public enum RejectReason: String, CaseIterable, Sendable, Hashable, Comparable {
    /// The line does not match the input's format.
    case malformed
    /// The line matched, but its timestamp could not be read.
    case badTimestamp = "bad_timestamp"
    /// The line exceeded the line-length limit; it was skipped without being buffered.
    case lineTooLong = "line_too_long"
    /// The line holds NUL bytes: binary junk, not text.
    case binary
    /// The last line of an input ended without a newline because the input was cut off (truncated gzip).
    case truncated

    public static func < (lhs: RejectReason, rhs: RejectReason) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// What a ``LogFormat`` made of one line.
public enum ParseOutcome: Sendable, Equatable {
    /// The line held this many records, appended to the record buffer (usually one; a JSON array batch may hold more).
    case records(Int)
    /// The line is not data (a blank line, a `#` header) and is neither an event nor an error.
    case ignored
    /// The line is bad; it is counted under `reason`.
    case rejected(RejectReason)
}

/// A parser for one access-log format.
///
/// Contract:
/// - `parse(_:into:)` reads one line, without its line terminator (`\n` and any `\r` are already
///   stripped), and appends one ``RawFields`` per request it holds to `records`. It never reads
///   outside `line`, never traps on any input, and returns ``ParseOutcome/rejected(_:)`` for a line
///   it cannot read.
/// - Views in the appended fields may point into `line` or into memory the format owns; they stay
///   valid until the next call to `parse`.
/// - A format is used by one thread at a time; create one per input with ``FormatSpec/makeFormat()``.
public protocol LogFormat {
    /// The format's name, as accepted by `--format`.
    var name: String { get }

    /// Parses one line.
    /// - Parameters:
    ///   - line: The line's bytes, without terminator.
    ///   - records: Where to append the records found; the caller empties it between lines.
    /// - Returns: What the line held.
    mutating func parse(_ line: ByteView, into records: inout RecordBuffer) -> ParseOutcome
}

/// A reusable buffer of parsed records for one line, so parsing allocates nothing per line.
public struct RecordBuffer {
    var storage: [RawFields] = []
    /// Number of records in use.
    public private(set) var count = 0

    /// Creates an empty buffer.
    public init() { storage.reserveCapacity(8) }

    /// Empties the buffer, keeping its memory.
    public mutating func removeAll() { count = 0 }

    /// Appends a cleared record and returns its index, for the caller to fill through ``subscript(_:)``.
    public mutating func appendNew() -> Int {
        if count == storage.count {
            storage.append(RawFields())
        } else {
            storage[count].reset()
        }
        count += 1
        return count - 1
    }

    /// Appends a filled record.
    @inline(__always)
    public mutating func append(_ fields: RawFields) {
        if count == storage.count {
            storage.append(fields)
        } else {
            storage[count] = fields
        }
        count += 1
    }

    /// Appends a cleared record and lets `body` fill it in place; the record is kept only when
    /// `body` returns ``ParseOutcome/records(_:)``. Saves building the record aside and copying it in.
    @inline(__always)
    mutating func fillNew(_ body: (inout RawFields) -> ParseOutcome) -> ParseOutcome {
        let index = appendNew()
        let outcome = storage.withUnsafeMutableBufferPointer { body(&$0[index]) }
        if case .records = outcome {} else { count -= 1 }
        return outcome
    }

    /// Drops the last record, for a format that started one and then found the line bad.
    public mutating func removeLast() {
        if count > 0 { count -= 1 }
    }

    /// The record at `index`.
    public subscript(index: Int) -> RawFields {
        get { storage[index] }
        _modify { yield &storage[index] }
    }
}
