/// A compiled set of dotted JSON paths that a ``JSONScanner`` looks for.
///
/// Paths are object keys joined with `.` (`request.headers.x-api-key`) and match ignoring ASCII
/// case. A key that itself holds dots (`"http.request.method": …`) matches the same path as the
/// nested form. Build a table once per format; it is immutable and may be shared between threads.
///
/// ```swift
/// let table = JSONPathTable(paths: ["started_at", "request.method"])
/// var scanner = JSONScanner(table: table)
/// _ = scanner.scan(line) { values in
///     let method = values[1]  // the value at "request.method", or an empty view
/// }
/// ```
public struct JSONPathTable: Sendable {
    let storage: JSONPathTableStorage

    /// Compiles `paths`; the index of a path in this array is its index in ``JSONValues``.
    ///
    /// Duplicate paths (ignoring case) share the first one's slot, so `index(of:)` finds the first.
    /// An empty path never matches.
    /// - Parameter paths: Dotted paths.
    public init(paths: [String]) {
        storage = JSONPathTableStorage(paths: paths)
    }

    /// Number of paths; ``JSONValues`` has one value per path.
    public var count: Int { storage.pathCount }

    /// The index of `path` (ignoring ASCII case), or `nil` if the table does not hold it.
    /// - Parameter path: A dotted path.
    /// - Returns: The path's index.
    public func index(of path: String) -> Int? {
        let lowered = Array(path.utf8).map(lowercaseASCII)
        for i in 0..<storage.pathCount where storage.pathBytes(i).elementsEqual(lowered) {
            return storage.canonical[i]
        }
        return nil
    }
}

/// The immutable, pointer-based form of a ``JSONPathTable``.
///
/// `@unchecked Sendable`: every buffer is written once in `init` and only read afterwards, and the
/// buffers are freed in `deinit`, when no reader can exist.
final class JSONPathTableStorage: @unchecked Sendable {
    /// One open-addressing slot: a path (or path prefix) hash and what it stands for.
    struct Slot {
        var hash: UInt64 = 0
        /// Index of the leaf path, or -1 when the hash is only a prefix of wanted paths.
        var leaf: Int32 = -1
        /// 1 = occupied, 2 = some wanted path continues below this one.
        var flags: UInt8 = 0
    }

    let pathCount: Int
    let slots: UnsafeMutablePointer<Slot>
    let slotMask: Int
    /// Lower-cased path bytes, concatenated; path `i` is `bytes[offsets[i]..<offsets[i + 1]]`.
    let bytes: UnsafeMutablePointer<UInt8>
    let offsets: UnsafeMutablePointer<Int32>
    /// For each path, the index of the first path equal to it (duplicates collapse onto it).
    let canonical: [Int]
    /// A 1024-bit filter over (length, first byte, last byte) of every run of consecutive segments
    /// of every path: a key that misses it cannot be part of a wanted path, so it is not hashed.
    let keyFilter: UnsafeMutablePointer<UInt64>

    init(paths: [String]) {
        pathCount = paths.count
        let lowered = paths.map { Array($0.utf8).map(lowercaseASCII) }
        let total = lowered.reduce(0) { $0 + $1.count }
        bytes = .allocate(capacity: total + 8)
        bytes.initialize(repeating: 0, count: total + 8)
        offsets = .allocate(capacity: paths.count + 1)
        var at = 0
        for (i, path) in lowered.enumerated() {
            offsets[i] = Int32(at)
            for b in path {
                bytes[at] = b
                at += 1
            }
        }
        offsets[paths.count] = Int32(at)

        var firstIndex: [[UInt8]: Int] = [:]
        var canonical: [Int] = []
        for (i, path) in lowered.enumerated() {
            if let first = firstIndex[path] {
                canonical.append(first)
            } else {
                firstIndex[path] = i
                canonical.append(i)
            }
        }
        self.canonical = canonical

        keyFilter = .allocate(capacity: 16)
        keyFilter.initialize(repeating: 0, count: 16)
        for (i, path) in lowered.enumerated() where canonical[i] == i && !path.isEmpty {
            let segments = path.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
            if segments.contains(where: \.isEmpty) {
                // Empty segments: keys could be anything, so let every key through.
                keyFilter.update(repeating: ~0, count: 16)
                continue
            }
            for from in segments.indices {
                var length = -1
                for to in from..<segments.endIndex {
                    length += segments[to].count + 1
                    let bit = JSONPathHash.filterBit(
                        length: length,
                        first: segments[from].first!,
                        last: segments[to].last!
                    )
                    keyFilter[bit >> 6] |= 1 &<< UInt64(bit & 63)
                }
            }
        }

        // Every leaf path plus every proper prefix that ends at a segment boundary.
        var entries: [(hash: UInt64, leaf: Int32, prefix: Bool)] = []
        var seen: [UInt64: Int] = [:]
        func add(_ hash: UInt64, leaf: Int32, prefix: Bool) {
            if let at = seen[hash] {
                if leaf >= 0 && entries[at].leaf < 0 { entries[at].leaf = leaf }
                if prefix { entries[at].prefix = true }
            } else {
                seen[hash] = entries.count
                entries.append((hash, leaf, prefix))
            }
        }
        for (i, path) in lowered.enumerated() where canonical[i] == i && !path.isEmpty {
            let padded = path + [UInt8](repeating: 0, count: 8)
            padded.withUnsafeBytes { raw in
                for (k, b) in path.enumerated() where b == UInt8(ascii: ".") && k > 0 {
                    add(JSONPathHash.hash(raw.baseAddress!, length: k), leaf: -1, prefix: true)
                }
                add(JSONPathHash.hash(raw.baseAddress!, length: path.count), leaf: Int32(i), prefix: false)
            }
        }
        var size = 16
        while size < entries.count * 4 { size *= 2 }
        slotMask = size - 1
        slots = .allocate(capacity: size)
        slots.initialize(repeating: Slot(), count: size)
        for entry in entries {
            var at = JSONPathHash.slot(entry.hash, mask: slotMask)
            while slots[at].flags != 0 { at = (at + 1) & slotMask }
            slots[at] = Slot(hash: entry.hash, leaf: entry.leaf, flags: entry.prefix ? 3 : 1)
        }
    }

    deinit {
        slots.deallocate()
        keyFilter.deallocate()
        bytes.deallocate()
        offsets.deallocate()
    }

    func pathBytes(_ i: Int) -> UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(start: bytes + Int(offsets[i]), count: Int(offsets[i + 1] - offsets[i]))
    }
}

/// The hash of a lower-cased dotted path, taken over the path's bytes in 8-byte words counted
/// from the path's start, so it is the same whether the path arrives as one key or key by key.
///
/// While keys are read, the state covers the complete words of the path so far; ``finish(_:_:length:)``
/// folds in the partial last word and the length.
enum JSONPathHash {
    static let seed: UInt64 = 0x243F_6A88_85A3_08D3

    @inline(__always)
    static func mix(_ state: UInt64, _ word: UInt64) -> UInt64 {
        let h = (state ^ word) &* 0x9E37_79B9_7F4A_7C15
        return (h &<< 31) | (h &>> 33)
    }

    /// Folds the words at byte offsets `from`, `from + 8`, … below `to` (both multiples of 8).
    @inline(__always)
    static func words(_ p: UnsafeRawPointer, _ state: UInt64, from: Int, to: Int) -> UInt64 {
        var h = state
        var k = from
        while k < to {
            h = mix(h, UInt64(littleEndian: p.loadUnaligned(fromByteOffset: k, as: UInt64.self)))
            k += 8
        }
        return h
    }

    /// The final hash of a `length`-byte path whose complete words are folded into `state`. Reads
    /// the 8 bytes at the last word's offset, so the buffer must extend 8 bytes past `length`.
    @inline(__always)
    static func finish(_ p: UnsafeRawPointer, _ state: UInt64, length: Int) -> UInt64 {
        let at = length & ~7
        let rest = length & 7
        var tail: UInt64 = 0
        if rest > 0 {
            tail = UInt64(littleEndian: p.loadUnaligned(fromByteOffset: at, as: UInt64.self))
            tail &= (1 &<< UInt64(rest * 8)) &- 1
        }
        return mix(state, tail | UInt64(truncatingIfNeeded: length) &<< 56)
    }

    /// The slot a hash starts probing at; mixes the high half in, as `mix` leaves it the best spread.
    @inline(__always)
    static func slot(_ hash: UInt64, mask: Int) -> Int {
        Int(truncatingIfNeeded: hash ^ (hash &>> 29)) & mask
    }

    /// The bit of ``JSONPathTableStorage/keyFilter`` for a key of `length` bytes (lower-cased ends).
    @inline(__always)
    static func filterBit(length: Int, first: UInt8, last: UInt8) -> Int {
        let x = (UInt32(truncatingIfNeeded: length) &<< 16 | UInt32(first) &<< 8 | UInt32(last)) &* 0x9E37_79B1
        return Int(x &>> 22)
    }

    /// The hash of a whole `length`-byte path at `p` (padded by 8 readable bytes).
    static func hash(_ p: UnsafeRawPointer, length: Int) -> UInt64 {
        finish(p, words(p, seed, from: 0, to: length & ~7), length: length)
    }
}

/// The values a ``JSONScanner`` found in one JSON object, one per path of its ``JSONPathTable``.
///
/// Valid only inside the callback that receives it; the views stay valid until the scanner's next
/// `scan` call. A path that was absent, `null`, `""` or `"-"` reads as an empty view.
public struct JSONValues {
    @usableFromInline let base: UnsafeMutablePointer<ByteView>
    /// Number of paths.
    public let count: Int

    @usableFromInline
    init(base: UnsafeMutablePointer<ByteView>, count: Int) {
        self.base = base
        self.count = count
    }

    /// The value at path `index`: the string's bytes with escapes resolved, a number's or literal's text.
    @inlinable
    public subscript(index: Int) -> ByteView {
        precondition(index >= 0 && index < count)
        return base[index]
    }
}

/// What a ``JSONScanner`` made of one line.
public enum JSONScanResult: Sendable, Hashable {
    /// The line held this many objects (a top-level object, or the objects of a top-level array).
    case objects(Int)
    /// The line is blank or an empty array.
    case empty
    /// The line is not JSON, or a top-level value that is neither an object nor an array of objects,
    /// or nests deeper than ``JSONScanner/maximumDepth``.
    case malformed
}

/// Scratch memory a ``JSONScanner`` unescapes strings and builds paths into.
///
/// `@unchecked Sendable`: ``JSONScanner`` checks `isKnownUniquelyReferenced` before every scan and
/// allocates its own scratch when the storage is shared, so no two scanners ever write one instance.
final class JSONScratch: @unchecked Sendable {
    var capacity: Int
    var bytes: UnsafeMutablePointer<UInt8>
    var path: UnsafeMutablePointer<UInt8>
    let values: UnsafeMutablePointer<ByteView>
    let valueCount: Int

    init(capacity: Int, valueCount: Int) {
        self.capacity = capacity
        bytes = .allocate(capacity: capacity)
        path = .allocate(capacity: capacity + 2 * JSONScanner.maximumDepth)
        path.initialize(repeating: 0, count: capacity + 2 * JSONScanner.maximumDepth)
        self.valueCount = valueCount
        values = .allocate(capacity: max(valueCount, 1))
        values.initialize(repeating: .empty, count: max(valueCount, 1))
    }

    /// Makes room for a line of `count` bytes. Only called before a line is scanned, so no view
    /// handed out for the current line ever points into freed memory.
    func reserve(_ count: Int) {
        if count <= capacity { return }
        var newCapacity = capacity
        while newCapacity < count { newCapacity *= 2 }
        bytes.deallocate()
        path.deallocate()
        capacity = newCapacity
        bytes = .allocate(capacity: newCapacity)
        path = .allocate(capacity: newCapacity + 2 * JSONScanner.maximumDepth)
        path.initialize(repeating: 0, count: newCapacity + 2 * JSONScanner.maximumDepth)
    }

    deinit {
        bytes.deallocate()
        path.deallocate()
        values.deallocate()
    }
}

/// A byte-level JSON reader that pulls the values at a few dotted paths out of one line.
///
/// It validates the whole line as JSON but only tracks paths inside objects that lead to a wanted
/// path: other subtrees are skipped without building keys. It allocates nothing per line; strings
/// with escapes (`\"`, `\\`, `\/`, `\uXXXX` with surrogate pairs, and nginx's `\xHH`) are decoded
/// into scratch memory the scanner owns, so views stay valid until the next ``scan(_:_:)``.
///
/// Shapes it reads:
/// - a top-level object: one callback;
/// - a top-level array of objects (a Kong http-log batch): one callback per element;
/// - arrays inside objects (repeated headers): the first element stands for the array.
///
/// Leniencies, for real gateway output: a bare `-` where a value belongs reads as missing (AWS
/// API Gateway writes `"status":-` for an unquoted `$context` variable without value), `\xHH`
/// escapes decode to the byte, raw control bytes inside strings are kept, and a UTF-8 byte-order
/// mark before the value is skipped.
public struct JSONScanner: Sendable {
    /// The deepest nesting of objects and arrays accepted; deeper input is rejected as malformed.
    public static let maximumDepth = 64

    /// The paths this scanner looks for.
    public let table: JSONPathTable
    private var scratch: JSONScratch

    /// Creates a scanner for `table`.
    /// - Parameter table: The wanted paths.
    public init(table: JSONPathTable) {
        self.table = table
        scratch = JSONScratch(capacity: 1024, valueCount: table.count)
    }

    /// Scans one line, calling `body` with the values of each object it holds.
    ///
    /// When a batch turns out malformed after some objects were reported, the result is
    /// ``JSONScanResult/malformed`` and the caller should drop what it built from them.
    /// - Parameters:
    ///   - line: The line, without its terminator.
    ///   - body: Called once per object, in order, with that object's values.
    /// - Returns: What the line held.
    public mutating func scan(_ line: ByteView, _ body: (JSONValues) -> Void) -> JSONScanResult {
        if !isKnownUniquelyReferenced(&scratch) {
            scratch = JSONScratch(capacity: scratch.capacity, valueCount: table.count)
        }
        guard let base = line.base, line.count > 0 else { return .empty }
        // `self` owns both objects for the whole call; unowned(unsafe) skips the reference counting.
        unowned(unsafe) let scratch = self.scratch
        unowned(unsafe) let storage = self.table.storage
        scratch.reserve(line.count)
        var state = JSONScanState(base: base, end: line.count, table: storage, scratch: scratch)
        return state.run(body)
    }
}

/// The per-line cursor: raw pointers only, so the hot loops touch no reference counts.
struct JSONScanState {
    let base: UnsafePointer<UInt8>
    let end: Int
    var i = 0
    let slots: UnsafeMutablePointer<JSONPathTableStorage.Slot>
    let slotMask: Int
    let pathBytes: UnsafeMutablePointer<UInt8>
    let pathOffsets: UnsafeMutablePointer<Int32>
    let keyFilter: UnsafeMutablePointer<UInt64>
    let pathBuffer: UnsafeMutablePointer<UInt8>
    let out: UnsafeMutablePointer<UInt8>
    var outUsed = 0
    let values: UnsafeMutablePointer<ByteView>
    let valueCount: Int

    init(base: UnsafePointer<UInt8>, end: Int, table: JSONPathTableStorage, scratch: JSONScratch) {
        self.base = base
        self.end = end
        slots = table.slots
        slotMask = table.slotMask
        pathBytes = table.bytes
        pathOffsets = table.offsets
        keyFilter = table.keyFilter
        pathBuffer = scratch.path
        out = scratch.bytes
        values = scratch.values
        valueCount = table.pathCount
    }

    // MARK: Top level

    mutating func run(_ body: (JSONValues) -> Void) -> JSONScanResult {
        // A UTF-8 byte-order mark.
        if end >= 3 && base[0] == 0xEF && base[1] == 0xBB && base[2] == 0xBF { i = 3 }
        skipWhitespace()
        if i >= end { return .empty }
        let valuesView = JSONValues(base: values, count: valueCount)
        switch base[i] {
        case UInt8(ascii: "{"):
            clearValues()
            guard object(depth: 1, hash: JSONPathHash.seed, pathLength: 0, track: true) else { return .malformed }
            skipWhitespace()
            guard i == end else { return .malformed }
            body(valuesView)
            return .objects(1)
        case UInt8(ascii: "["):
            i += 1
            skipWhitespace()
            if i < end && base[i] == UInt8(ascii: "]") {
                i += 1
                skipWhitespace()
                return i == end ? .empty : .malformed
            }
            var count = 0
            while true {
                skipWhitespace()
                guard i < end, base[i] == UInt8(ascii: "{") else { return .malformed }
                clearValues()
                guard object(depth: 2, hash: JSONPathHash.seed, pathLength: 0, track: true) else { return .malformed }
                body(valuesView)
                count += 1
                skipWhitespace()
                guard i < end else { return .malformed }
                if base[i] == UInt8(ascii: ",") {
                    i += 1
                    continue
                }
                guard base[i] == UInt8(ascii: "]") else { return .malformed }
                i += 1
                break
            }
            skipWhitespace()
            return i == end ? .objects(count) : .malformed
        default:
            return .malformed
        }
    }

    func clearValues() {
        for k in 0..<valueCount { values[k] = .empty }
    }

    @inline(__always)
    mutating func skipWhitespace() {
        while i < end {
            let c = base[i]
            guard c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D else { return }
            i += 1
        }
    }

    // MARK: Containers

    /// Reads the object at `i` (on its `{`). When `track` is set, keys extend the path at
    /// `pathBuffer[0..<pathLength]` (rolling hash `hash`) and are looked up in the table.
    mutating func object(depth: Int, hash: UInt64, pathLength: Int, track: Bool) -> Bool {
        if depth > JSONScanner.maximumDepth { return false }
        i += 1
        skipWhitespace()
        if i < end && base[i] == UInt8(ascii: "}") {
            i += 1
            return true
        }
        while true {
            skipWhitespace()
            guard i < end, base[i] == UInt8(ascii: "\"") else { return false }
            var childHash: UInt64 = 0
            var childLength = 0
            var leaf: Int32 = -1
            var prefix = false
            if track {
                guard let (h, length) = key(hash: hash, pathLength: pathLength) else { return false }
                if length >= 0 {
                    childHash = h
                    childLength = length
                    let slot = lookup(JSONPathHash.finish(pathBuffer, h, length: length))
                    if slot.flags != 0 {
                        prefix = slot.flags & 2 != 0
                        if slot.leaf >= 0 && pathMatches(Int(slot.leaf), length: length) { leaf = slot.leaf }
                    }
                }
            } else {
                guard skipString() else { return false }
            }
            skipWhitespace()
            guard i < end, base[i] == UInt8(ascii: ":") else { return false }
            i += 1
            guard value(depth: depth, hash: childHash, pathLength: childLength, leaf: leaf, prefix: prefix) else {
                return false
            }
            skipWhitespace()
            guard i < end else { return false }
            let c = base[i]
            i += 1
            if c == UInt8(ascii: ",") { continue }
            return c == UInt8(ascii: "}")
        }
    }

    /// Reads the array at `i` (on its `[`). Its first element stands at the array's own path;
    /// the others are validated and skipped.
    mutating func array(depth: Int, hash: UInt64, pathLength: Int, leaf: Int32, prefix: Bool) -> Bool {
        if depth > JSONScanner.maximumDepth { return false }
        i += 1
        skipWhitespace()
        if i < end && base[i] == UInt8(ascii: "]") {
            i += 1
            return true
        }
        var first = true
        while true {
            let ok =
                first
                ? value(depth: depth, hash: hash, pathLength: pathLength, leaf: leaf, prefix: prefix)
                : value(depth: depth, hash: 0, pathLength: 0, leaf: -1, prefix: false)
            guard ok else { return false }
            first = false
            skipWhitespace()
            guard i < end else { return false }
            let c = base[i]
            i += 1
            if c == UInt8(ascii: ",") { continue }
            return c == UInt8(ascii: "]")
        }
    }

    /// Reads any value at `i`, recording it at `leaf` (when >= 0) if it is a scalar.
    mutating func value(depth: Int, hash: UInt64, pathLength: Int, leaf: Int32, prefix: Bool) -> Bool {
        skipWhitespace()
        guard i < end else { return false }
        switch base[i] {
        case UInt8(ascii: "\""):
            return leaf >= 0 ? stringValue(leaf: Int(leaf)) : skipString()
        case UInt8(ascii: "{"):
            return object(depth: depth + 1, hash: hash, pathLength: pathLength, track: prefix)
        case UInt8(ascii: "["):
            return array(depth: depth + 1, hash: hash, pathLength: pathLength, leaf: leaf, prefix: prefix)
        case UInt8(ascii: "t"):
            return literal(0x74_72_75_65, length: 4, leaf: leaf)  // true
        case UInt8(ascii: "f"):
            guard i + 5 <= end, base[i + 4] == UInt8(ascii: "e") else { return false }
            return literal(0x66_61_6C_73, length: 5, leaf: leaf)  // fals(e)
        case UInt8(ascii: "n"):
            return literal(0x6E_75_6C_6C, length: 4, leaf: -1)  // null reads as missing
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return number(leaf: leaf)
        default:
            return false
        }
    }

    // MARK: Scalars

    /// Checks the 4-byte literal prefix `word` (big-endian ASCII) at `i` and steps over `length` bytes.
    mutating func literal(_ word: UInt32, length: Int, leaf: Int32) -> Bool {
        guard i + length <= end else { return false }
        let w =
            UInt32(base[i]) << 24 | UInt32(base[i + 1]) << 16 | UInt32(base[i + 2]) << 8 | UInt32(base[i + 3])
        guard w == word else { return false }
        if leaf >= 0 { record(Int(leaf), ByteView(base: base + i, count: length)) }
        i += length
        return true
    }

    mutating func number(leaf: Int32) -> Bool {
        let start = i
        if base[i] == UInt8(ascii: "-") {
            i += 1
            // A bare "-": AWS's placeholder for an unquoted variable without value.
            if i >= end || !isDigit(base[i]) { return true }
        }
        if base[i] == UInt8(ascii: "0") {
            i += 1
        } else {
            while i < end && isDigit(base[i]) { i += 1 }
        }
        if i < end && base[i] == UInt8(ascii: ".") {
            i += 1
            guard i < end, isDigit(base[i]) else { return false }
            while i < end && isDigit(base[i]) { i += 1 }
        }
        if i < end && (base[i] | 0x20) == UInt8(ascii: "e") {
            i += 1
            if i < end && (base[i] == UInt8(ascii: "+") || base[i] == UInt8(ascii: "-")) { i += 1 }
            guard i < end, isDigit(base[i]) else { return false }
            while i < end && isDigit(base[i]) { i += 1 }
        }
        if leaf >= 0 { record(Int(leaf), ByteView(base: base + start, count: i - start)) }
        return true
    }

    @inline(__always)
    func isDigit(_ c: UInt8) -> Bool { c &- 0x30 < 10 }

    /// Stores the first non-missing value found for a path.
    @inline(__always)
    func record(_ leaf: Int, _ view: ByteView) {
        if values[leaf].count == 0 && !view.isMissing { values[leaf] = view }
    }

    /// Steps `i` from an opening quote to just past the closing one, validating escapes.
    mutating func skipString() -> Bool {
        i += 1
        while true {
            guard let stop = nextQuoteOrBackslash() else { return false }
            i = stop
            if base[i] == UInt8(ascii: "\"") {
                i += 1
                return true
            }
            guard let next = escapeLength(at: i) else { return false }
            i += next
        }
    }

    /// Reads a string value for `leaf`: a view into the line, or into scratch when it has escapes.
    mutating func stringValue(leaf: Int) -> Bool {
        i += 1
        let start = i
        guard let stop = nextQuoteOrBackslash() else { return false }
        i = stop
        if base[i] == UInt8(ascii: "\"") {
            record(leaf, ByteView(base: base + start, count: i - start))
            i += 1
            return true
        }
        // Escapes: copy what came before, then decode into scratch.
        let outStart = outUsed
        (out + outUsed).update(from: base + start, count: i - start)
        outUsed += i - start
        while true {
            if base[i] == UInt8(ascii: "\"") {
                i += 1
                record(leaf, ByteView(base: UnsafePointer(out + outStart), count: outUsed - outStart))
                return true
            }
            var w = outUsed
            guard decodeEscape(into: out, at: &w) else { return false }
            outUsed = w
            let runStart = i
            guard let stop = nextQuoteOrBackslash() else { return false }
            (out + outUsed).update(from: base + runStart, count: stop - runStart)
            outUsed += stop - runStart
            i = stop
        }
    }

    /// Reads the key at `i` (on its opening quote) into the path buffer after `pathLength` bytes
    /// (plus a `.` unless at the root), lower-cased; returns the hash state over the new path's
    /// complete words (see ``JSONPathHash``) and the new path length. The length is -1 for a key
    /// that the key filter shows cannot lead to a wanted path; nothing is built for it.
    mutating func key(hash: UInt64, pathLength: Int) -> (UInt64, Int)? {
        i += 1
        guard let stop = nextQuoteOrBackslash() else { return nil }
        if base[stop] == UInt8(ascii: "\"") {
            let length = stop - i
            let bit = JSONPathHash.filterBit(
                length: length,
                first: length > 0 ? lowercaseASCII(base[i]) : 0,
                last: length > 0 ? lowercaseASCII(base[stop - 1]) : 0
            )
            if keyFilter[bit >> 6] & (1 &<< UInt64(bit & 63)) == 0 {
                i = stop + 1
                return (0, -1)
            }
        }
        var w = pathLength
        if pathLength > 0 {
            pathBuffer[w] = UInt8(ascii: ".")
            w += 1
        }
        if base[stop] == UInt8(ascii: "\"") {
            w += copyLowercased(from: i, to: stop, into: pathBuffer + w)
            i = stop + 1
        } else {
            // Escapes in a key: decode byte by byte.
            while true {
                guard i < end else { return nil }
                let c = base[i]
                if c == UInt8(ascii: "\"") {
                    i += 1
                    break
                }
                if c == UInt8(ascii: "\\") {
                    let from = w
                    guard decodeEscape(into: pathBuffer, at: &w) else { return nil }
                    for k in from..<w { pathBuffer[k] = lowercaseASCII(pathBuffer[k]) }
                    continue
                }
                pathBuffer[w] = lowercaseASCII(c)
                w += 1
                i += 1
            }
        }
        let h = JSONPathHash.words(UnsafeRawPointer(pathBuffer), hash, from: pathLength & ~7, to: w & ~7)
        return (h, w)
    }

    /// Copies `base[from..<to]` lower-cased (ASCII) to `destination`, eight bytes at a time while
    /// eight bytes of the line remain; may write up to 7 bytes past the copy. Returns the count.
    @inline(__always)
    func copyLowercased(from: Int, to: Int, into destination: UnsafeMutablePointer<UInt8>) -> Int {
        let count = to - from
        var k = 0
        let source = UnsafeRawPointer(base + from)
        let target = UnsafeMutableRawPointer(destination)
        while k < count && from + k + 8 <= end {
            let w = UInt64(littleEndian: source.loadUnaligned(fromByteOffset: k, as: UInt64.self))
            // Set 0x20 in each byte that is 'A'...'Z'.
            let low = w & 0x7F7F_7F7F_7F7F_7F7F
            let atLeastA = low &+ 0x3F3F_3F3F_3F3F_3F3F  // high bit once a byte >= 0x41
            let aboveZ = low &+ 0x2525_2525_2525_2525  // high bit once a byte >= 0x5B
            let upper = atLeastA & ~aboveZ & ~w & 0x8080_8080_8080_8080
            target.storeBytes(of: (w | upper &>> 2).littleEndian, toByteOffset: k, as: UInt64.self)
            k += 8
        }
        while k < count {
            destination[k] = lowercaseASCII(base[from + k])
            k += 1
        }
        return count
    }

    @inline(__always)
    func lookup(_ hash: UInt64) -> JSONPathTableStorage.Slot {
        var at = JSONPathHash.slot(hash, mask: slotMask)
        while true {
            let slot = slots[at]
            if slot.flags == 0 || slot.hash == hash { return slot }
            at = (at + 1) & slotMask
        }
    }

    /// Whether the path buffer's first `length` bytes are wanted path `leaf` (the hash may collide).
    /// Both buffers extend 8 bytes past any path, so whole words can be compared.
    func pathMatches(_ leaf: Int, length: Int) -> Bool {
        let from = Int(pathOffsets[leaf])
        guard Int(pathOffsets[leaf + 1]) - from == length else { return false }
        let a = UnsafeRawPointer(pathBuffer)
        let b = UnsafeRawPointer(pathBytes + from)
        var k = 0
        while k + 8 <= length {
            if a.loadUnaligned(fromByteOffset: k, as: UInt64.self)
                != b.loadUnaligned(fromByteOffset: k, as: UInt64.self)
            {
                return false
            }
            k += 8
        }
        if k < length {
            let diff =
                a.loadUnaligned(fromByteOffset: k, as: UInt64.self)
                ^ b.loadUnaligned(fromByteOffset: k, as: UInt64.self)
            let mask: UInt64 = (1 &<< UInt64((length - k) * 8)) &- 1
            if UInt64(littleEndian: diff) & mask != 0 { return false }
        }
        return true
    }

    // MARK: Escapes

    /// Index of the next `"` or `\` at or after `i`, eight bytes at a time where possible.
    @inline(__always)
    func nextQuoteOrBackslash() -> Int? {
        var k = i
        let raw = UnsafeRawPointer(base)
        while k + 8 <= end {
            let w = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: k, as: UInt64.self))
            let q = w ^ 0x2222_2222_2222_2222
            let b = w ^ 0x5C5C_5C5C_5C5C_5C5C
            let hit =
                ((q &- 0x0101_0101_0101_0101) & ~q | (b &- 0x0101_0101_0101_0101) & ~b) & 0x8080_8080_8080_8080
            if hit != 0 { return k + hit.trailingZeroBitCount / 8 }
            k += 8
        }
        while k < end {
            let c = base[k]
            if c == UInt8(ascii: "\"") || c == UInt8(ascii: "\\") { return k }
            k += 1
        }
        return nil
    }

    /// Length of the valid escape sequence at `at` (on its backslash), or `nil`.
    func escapeLength(at: Int) -> Int? {
        guard at + 1 < end else { return nil }
        switch base[at + 1] {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
            UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
            return 2
        case UInt8(ascii: "u"):
            return hex(at + 2, digits: 4) != nil ? 6 : nil
        case UInt8(ascii: "x"):
            return hex(at + 2, digits: 2) != nil ? 4 : nil
        default:
            return nil
        }
    }

    func hex(_ at: Int, digits: Int) -> UInt32? {
        guard at + digits <= end else { return nil }
        var value: UInt32 = 0
        for k in at..<(at + digits) {
            let c = base[k]
            let d: UInt8
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = c - UInt8(ascii: "A") + 10
            default: return nil
            }
            value = value << 4 | UInt32(d)
        }
        return value
    }

    /// Decodes the escape at `i` (on its backslash) into `buffer` at `w`, advancing both.
    ///
    /// Output never outgrows input: `\uXXXX` (6 bytes) yields at most 3, a surrogate pair (12) 4.
    mutating func decodeEscape(into buffer: UnsafeMutablePointer<UInt8>, at w: inout Int) -> Bool {
        guard i + 1 < end else { return false }
        let e = base[i + 1]
        var byte: UInt8
        switch e {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): byte = e
        case UInt8(ascii: "b"): byte = 0x08
        case UInt8(ascii: "f"): byte = 0x0C
        case UInt8(ascii: "n"): byte = 0x0A
        case UInt8(ascii: "r"): byte = 0x0D
        case UInt8(ascii: "t"): byte = 0x09
        case UInt8(ascii: "x"):
            guard let v = hex(i + 2, digits: 2) else { return false }
            buffer[w] = UInt8(v)
            w += 1
            i += 4
            return true
        case UInt8(ascii: "u"):
            guard var scalar = hex(i + 2, digits: 4) else { return false }
            i += 6
            if scalar & 0xFC00 == 0xD800 {
                // A high surrogate: combine with a following low one, else U+FFFD.
                if i + 6 <= end, base[i] == UInt8(ascii: "\\"), base[i + 1] == UInt8(ascii: "u"),
                    let low = hex(i + 2, digits: 4), low & 0xFC00 == 0xDC00
                {
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    i += 6
                } else {
                    scalar = 0xFFFD
                }
            } else if scalar & 0xFC00 == 0xDC00 {
                scalar = 0xFFFD
            }
            w += Self.encodeUTF8(scalar, into: buffer + w)
            return true
        default:
            return false
        }
        buffer[w] = byte
        w += 1
        i += 2
        return true
    }

    /// Writes `scalar` as UTF-8 and returns the byte count.
    static func encodeUTF8(_ scalar: UInt32, into p: UnsafeMutablePointer<UInt8>) -> Int {
        switch scalar {
        case 0..<0x80:
            p[0] = UInt8(scalar)
            return 1
        case 0x80..<0x800:
            p[0] = UInt8(0xC0 | scalar >> 6)
            p[1] = UInt8(0x80 | scalar & 0x3F)
            return 2
        case 0x800..<0x10000:
            p[0] = UInt8(0xE0 | scalar >> 12)
            p[1] = UInt8(0x80 | (scalar >> 6) & 0x3F)
            p[2] = UInt8(0x80 | scalar & 0x3F)
            return 3
        default:
            p[0] = UInt8(0xF0 | scalar >> 18)
            p[1] = UInt8(0x80 | (scalar >> 12) & 0x3F)
            p[2] = UInt8(0x80 | (scalar >> 6) & 0x3F)
            p[3] = UInt8(0x80 | scalar & 0x3F)
            return 4
        }
    }
}
