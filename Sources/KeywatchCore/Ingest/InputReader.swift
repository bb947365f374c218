#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One input: a file path, or `-` for standard input.
public struct InputSource: Sendable, Hashable {
    /// The path, or `-`.
    public var path: String
    /// The name shown in diagnostics and `source` fields.
    public var displayName: String { path == "-" ? "<stdin>" : path }

    /// Creates an input.
    public init(path: String) { self.path = path }
}

/// The reader thread's work: read an input, detect gzip by its magic bytes, inflate chunk by chunk,
/// and hand decompressed chunks to the parser through a ``ChunkPipe``.
struct InputReader {
    let source: InputSource
    let inputChunkSize: Int
    let backend: InflateBackend

    init(source: InputSource, backend: InflateBackend = .zlib, inputChunkSize: Int = 256 << 10) {
        self.source = source
        self.backend = backend
        self.inputChunkSize = inputChunkSize
    }

    /// Reads the whole input into `pipe`, ending with ``ChunkKind/end``.
    func run(into pipe: ChunkPipe) {
        let name = source.displayName
        let fd = source.path == "-" ? 0 : open(source.path, O_RDONLY)
        guard fd >= 0 else {
            _ = pipe.acquire()
            pipe.publish(length: 0, kind: .failure(.cannotOpen(file: name, reason: String(cString: strerror(errno)))))
            _ = pipe.acquire()
            pipe.publish(length: 0, kind: .end)
            return
        }
        defer { if fd != 0 { close(fd) } }
        #if os(Linux)
        posix_fadvise(fd, 0, 0, Int32(POSIX_FADV_SEQUENTIAL))
        #endif
        // Peek at the first bytes to tell gzip from plain text.
        let input = UnsafeMutableRawBufferPointer.allocate(byteCount: inputChunkSize, alignment: 16)
        defer { input.deallocate() }
        var readError: IngestError?
        var filled = 0
        while filled < 2 {
            let n = read(fd, input.baseAddress! + filled, inputChunkSize - filled)
            if n < 0 && errno == EINTR { continue }
            if n < 0 {
                readError = .readFailed(file: name, byteOffset: Int64(filled), reason: String(cString: strerror(errno)))
                break
            }
            if n == 0 { break }
            filled += n
        }
        if filled >= 2 && input[0] == 0x1F && input[1] == 0x8B && readError == nil {
            inflate(fd: fd, input: input, initial: filled, into: pipe)
        } else {
            copyPlain(
                fd: fd,
                initial: UnsafeRawBufferPointer(rebasing: input[0..<filled]),
                error: readError,
                into: pipe
            )
        }
        _ = pipe.acquire()
        pipe.publish(length: 0, kind: .end)
    }

    private func copyPlain(fd: Int32, initial: UnsafeRawBufferPointer, error: IngestError?, into pipe: ChunkPipe) {
        var out = pipe.acquire()
        var length = initial.count
        if length > 0 { out.baseAddress!.copyMemory(from: initial.baseAddress!, byteCount: length) }
        var offset = Int64(length)
        var failure = error
        while failure == nil && !pipe.isCancelled {
            if length == out.count {
                pipe.publish(length: length, kind: .data)
                out = pipe.acquire()
                length = 0
            }
            let n = read(fd, out.baseAddress! + length, out.count - length)
            if n < 0 && errno == EINTR { continue }
            if n < 0 {
                failure = .readFailed(
                    file: source.displayName,
                    byteOffset: offset,
                    reason: String(cString: strerror(errno))
                )
                break
            }
            if n == 0 { break }
            length += n
            offset += Int64(n)
        }
        pipe.publish(length: length, kind: .data)
        if let failure {
            _ = pipe.acquire()
            pipe.publish(length: 0, kind: .failure(failure))
        }
    }

    private func inflate(fd: Int32, input: UnsafeMutableRawBufferPointer, initial: Int, into pipe: ChunkPipe) {
        let name = source.displayName
        let inflater: any Inflater
        switch backend {
        case .isal:
            inflater = IsalInflater()
        case .zlib:
            do {
                inflater = try GzipInflater()
            } catch {
                _ = pipe.acquire()
                pipe.publish(length: 0, kind: .failure(error))
                return
            }
        }
        var inStart = 0
        var inEnd = initial
        var consumedBefore: Int64 = 0  // compressed bytes before input[0]
        var eof = false
        var out = pipe.acquire()
        var produced = 0
        var inMember = true
        var resyncing = false

        func refill() {
            // Move leftover to the front and read more.
            if inStart > 0 {
                let left = inEnd - inStart
                if left > 0 { input.baseAddress!.copyMemory(from: input.baseAddress! + inStart, byteCount: left) }
                consumedBefore += Int64(inStart)
                inStart = 0
                inEnd = left
            }
            while inEnd < input.count {
                let n = read(fd, input.baseAddress! + inEnd, input.count - inEnd)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 {
                    eof = true
                    break
                }
                inEnd += n
                if inEnd - inStart >= 64 << 10 { break }
            }
        }
        func emit(_ kind: ChunkKind) {
            pipe.publish(length: produced, kind: .data)
            out = pipe.acquire()
            produced = 0
            pipe.publish(length: 0, kind: kind)
            out = pipe.acquire()
        }

        while !pipe.isCancelled {
            if resyncing {
                // Look for the next member header: 1f 8b 08.
                var found = -1
                var k = inStart
                while k + 2 < inEnd {
                    if input[k] == 0x1F && input[k + 1] == 0x8B && input[k + 2] == 0x08 {
                        found = k
                        break
                    }
                    k += 1
                }
                if found >= 0 {
                    inStart = found
                    inflater.reset()
                    resyncing = false
                    inMember = true
                    continue
                }
                inStart = max(inStart, inEnd - 2)
                if eof { break }
                refill()
                continue
            }
            if inStart == inEnd {
                if eof { break }
                refill()
                if inStart == inEnd && eof { break }
                continue
            }
            if !inMember {
                // Between members: another must start here.
                if inEnd - inStart < 2 && !eof {
                    refill()
                    continue
                }
                if inEnd - inStart >= 2 && input[inStart] == 0x1F && input[inStart + 1] == 0x8B {
                    inflater.reset()
                    inMember = true
                    continue
                }
                // Zero padding or junk after the last member.
                var allZero = true
                for k in inStart..<inEnd where input[k] != 0 { allZero = false }
                if !allZero || !eof {
                    emit(.warning(.trailingGarbage(file: name, byteOffset: consumedBefore + Int64(inStart))))
                }
                break
            }
            let available = UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(input)[inStart..<inEnd])
            let space = UnsafeMutableRawBufferPointer(rebasing: out[produced..<out.count])
            switch inflater.inflate(input: available, output: space) {
            case .progress(let consumed, let made):
                inStart += consumed
                produced += made
                if consumed == 0 && made == 0 {
                    if produced == out.count {
                        pipe.publish(length: produced, kind: .data)
                        out = pipe.acquire()
                        produced = 0
                    } else if eof {
                        emit(.discontinuity(.truncatedGzip(file: name, byteOffset: consumedBefore + Int64(inStart))))
                        inMember = false
                        inStart = inEnd
                    } else {
                        refill()
                    }
                }
            case .memberEnd(let consumed, let made):
                inStart += consumed
                produced += made
                inMember = false
            case .error(let consumed, let made, let code, let message):
                inStart += consumed
                produced += made
                emit(
                    .discontinuity(
                        .corruptGzip(
                            file: name,
                            byteOffset: consumedBefore + Int64(inStart),
                            code: code,
                            message: message
                        )
                    )
                )
                resyncing = true
                inMember = false
            }
            if produced == out.count {
                pipe.publish(length: produced, kind: .data)
                out = pipe.acquire()
                produced = 0
            }
        }
        if inMember && !pipe.isCancelled {
            emit(.discontinuity(.truncatedGzip(file: name, byteOffset: consumedBefore + Int64(inEnd))))
        }
        pipe.publish(length: produced, kind: .data)
    }
}
