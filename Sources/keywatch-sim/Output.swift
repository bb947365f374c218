import CZlib

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Errors the simulator reports; each case carries the path it concerns.
enum SimulatorError: Error, Hashable, CustomStringConvertible {
    case cannotCreateDirectory(path: String, errno: Int32)
    case cannotOpen(path: String, errno: Int32)
    case writeFailed(path: String)
    case zlib(code: Int32, path: String)

    var description: String {
        switch self {
        case .cannotCreateDirectory(let path, let code): return "cannot create directory \(path) (errno \(code))"
        case .cannotOpen(let path, let code): return "cannot open \(path) for writing (errno \(code))"
        case .writeFailed(let path): return "write to \(path) failed"
        case .zlib(let code, let path): return "zlib error \(code) while writing \(path)"
        }
    }
}

/// A destination for bytes: a plain file or a gzip stream.
protocol ByteSink: AnyObject {
    /// The file's path.
    var path: String { get }
    /// Appends bytes.
    /// - Throws: ``SimulatorError`` when the write fails.
    func write(_ bytes: [UInt8]) throws(SimulatorError)
    /// Flushes and closes; further writes are invalid.
    /// - Throws: ``SimulatorError`` when flushing fails.
    func close() throws(SimulatorError)
}

/// A file opened with `fopen`, closed in `deinit` if not closed before.
final class PlainFileSink: ByteSink {
    let path: String
    private var file: UnsafeMutablePointer<FILE>?

    /// Creates or truncates `path`.
    /// - Throws: ``SimulatorError/cannotOpen(path:errno:)``.
    init(path: String) throws(SimulatorError) {
        self.path = path
        guard let file = fopen(path, "wb") else {
            throw .cannotOpen(path: path, errno: errno)
        }
        self.file = file
    }

    func write(_ bytes: [UInt8]) throws(SimulatorError) {
        guard let file, !bytes.isEmpty else {
            return
        }
        let written = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) }
        guard written == bytes.count else {
            throw .writeFailed(path: path)
        }
    }

    func close() throws(SimulatorError) {
        guard let file else {
            return
        }
        self.file = nil
        guard fclose(file) == 0 else {
            throw .writeFailed(path: path)
        }
    }

    deinit {
        if let file {
            fclose(file)
        }
    }
}

/// A gzip file written through zlib's `deflate` with a gzip wrapper (window bits 15 + 16).
///
/// The header carries no name and mtime 0, so equal input gives byte-identical files.
final class GzipFileSink: ByteSink {
    let path: String
    private let file: PlainFileSink
    private let stream: UnsafeMutablePointer<z_stream>
    private var output: [UInt8]
    private var finished = false

    /// Opens `path` and initialises a deflate stream.
    /// - Parameters:
    ///   - path: Destination.
    ///   - level: zlib level 1...9.
    /// - Throws: ``SimulatorError``.
    init(path: String, level: Int32) throws(SimulatorError) {
        self.path = path
        self.file = try PlainFileSink(path: path)
        self.output = [UInt8](repeating: 0, count: 1 << 16)
        self.stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        let code = CZlib_deflateInit2(stream, level, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY)
        guard code == Z_OK else {
            stream.deinitialize(count: 1)
            stream.deallocate()
            throw .zlib(code: code, path: path)
        }
    }

    func write(_ bytes: [UInt8]) throws(SimulatorError) {
        guard !bytes.isEmpty else {
            return
        }
        var input = bytes
        try input.withUnsafeMutableBufferPointer { (buffer) throws(SimulatorError) in
            stream.pointee.next_in = buffer.baseAddress
            stream.pointee.avail_in = UInt32(buffer.count)
            defer {
                stream.pointee.next_in = nil
            }
            try pump(flush: Z_NO_FLUSH)
        }
    }

    func close() throws(SimulatorError) {
        guard !finished else {
            return
        }
        finished = true
        try pump(flush: Z_FINISH)
        try file.close()
    }

    private func pump(flush: Int32) throws(SimulatorError) {
        let capacity = output.count
        while true {
            let (code, produced) = output.withUnsafeMutableBufferPointer { out -> (Int32, Int) in
                stream.pointee.next_out = out.baseAddress
                stream.pointee.avail_out = UInt32(capacity)
                let code = deflate(stream, flush)
                let produced = capacity - Int(stream.pointee.avail_out)
                stream.pointee.next_out = nil
                return (code, produced)
            }
            guard code == Z_OK || code == Z_STREAM_END || code == Z_BUF_ERROR else {
                throw .zlib(code: code, path: path)
            }
            if produced > 0 {
                try file.write(Array(output[0..<produced]))
            }
            if flush == Z_FINISH {
                if code == Z_STREAM_END {
                    return
                }
            } else if stream.pointee.avail_in == 0 && produced < capacity {
                return
            }
        }
    }

    deinit {
        deflateEnd(stream)
        stream.deinitialize(count: 1)
        stream.deallocate()
    }
}

/// File-system helpers built on POSIX calls.
enum FileSystem {
    /// Creates `path` and its parents (`mkdir -p`).
    /// - Throws: ``SimulatorError/cannotCreateDirectory(path:errno:)``.
    static func createDirectory(_ path: String) throws(SimulatorError) {
        var current = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            current += "/" + component
            if mkdir(current, 0o755) != 0 && errno != EEXIST {
                throw .cannotCreateDirectory(path: current, errno: errno)
            }
        }
    }

    /// Names of the entries of a directory, sorted; empty when it does not exist.
    static func entries(of path: String) -> [String] {
        guard let directory = opendir(path) else {
            return []
        }
        defer {
            closedir(directory)
        }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." {
                names.append(name)
            }
        }
        return names.sorted()
    }

    /// Removes a file, ignoring a missing one.
    static func remove(_ path: String) {
        unlink(path)
    }

    /// Size of a file in bytes, or 0.
    static func size(of path: String) -> Int {
        var info = stat()
        return stat(path, &info) == 0 ? Int(info.st_size) : 0
    }
}
