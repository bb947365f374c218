import Foundation

@testable import KeywatchCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A tiny HTTP/1.1 server on 127.0.0.1 for the webhook tests, on its own thread: it answers each
/// request with the next scripted reply (then with `fallback`), closes the connection, and records
/// what it received.
///
/// Safety (`@unchecked Sendable`): `script` and `received` are touched only while holding `lock`; the
/// listening socket is only closed by ``stop()``.
final class TestReceiver: @unchecked Sendable {
    struct Request: Sendable {
        /// Header values by lowercased name.
        var headers: [String: String]
        var body: String
        var receivedAt: Date
    }

    struct Reply: Sendable {
        var status: Int
        var headers: [(String, String)] = []
    }

    let port: UInt16
    private let listener: Int32
    private let lock = NSLock()
    private let finished = DispatchSemaphore(value: 0)
    private var stopped = false
    private var script: [Reply]
    private let fallback: Reply
    private var received: [Request] = []

    /// The URL of `path` on this server.
    func url(_ path: String = "/hook") -> String { "http://127.0.0.1:\(port)\(path)" }

    /// What arrived so far, in order.
    var requests: [Request] {
        lock.lock()
        defer { lock.unlock() }
        return received
    }

    init(script: [Reply] = [], fallback: Reply = Reply(status: 200)) throws {
        self.script = script
        self.fallback = fallback
        #if canImport(Glibc)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { throw POSIXError(.EIO) }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { generic in
                bind(fd, generic, length) == 0 && listen(fd, 16) == 0 && getsockname(fd, generic, &length) == 0
            }
        }
        guard bound else {
            close(fd)
            throw POSIXError(.EADDRINUSE)
        }
        listener = fd
        port = UInt16(bigEndian: address.sin_port)
        let thread = Thread { [self] in
            serve()
            finished.signal()
        }
        thread.start()
    }

    /// Stops accepting and waits for the serving thread; later calls do nothing.
    ///
    /// The listener is closed exactly once, and only after the serving thread has stopped using it:
    /// a second `close`, or an `accept` on a closed descriptor, would hit whatever descriptor
    /// another test opened with the same number in the meantime (a child's pipe, another receiver).
    func stop() {
        let first = lock.withLock {
            defer { stopped = true }
            return !stopped
        }
        guard first else { return }
        shutdown(listener, Int32(SHUT_RDWR))
        if finished.wait(timeout: .now() + 5) == .success { close(listener) }
    }

    deinit { stop() }

    private func serve() {
        while true {
            let connection = accept(listener, nil, nil)
            if connection < 0 {
                if errno == EINTR { continue }
                return
            }
            handle(connection)
            close(connection)
        }
    }

    private func handle(_ connection: Int32) {
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(connection, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var buffer: [UInt8] = []
        let separator = Array("\r\n\r\n".utf8)
        var headerEnd: Int?
        while headerEnd == nil {
            guard readSome(connection, into: &buffer) else { return }
            headerEnd = buffer.indices.dropLast(3).first { Array(buffer[$0..<$0 + 4]) == separator }
        }
        let head = String(decoding: buffer[..<headerEnd!], as: UTF8.self)
        var headers: [String: String] = [:]
        for line in head.components(separatedBy: "\r\n").dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(
                in: .whitespaces
            )
        }
        if headers["expect"]?.lowercased() == "100-continue" { send(connection, "HTTP/1.1 100 Continue\r\n\r\n") }
        let length = Int(headers["content-length"] ?? "0") ?? 0
        let bodyStart = headerEnd! + 4
        while buffer.count - bodyStart < length {
            guard readSome(connection, into: &buffer) else { return }
        }
        let body = String(decoding: buffer[bodyStart..<bodyStart + length], as: UTF8.self)
        lock.lock()
        received.append(Request(headers: headers, body: body, receivedAt: Date()))
        let reply = script.isEmpty ? fallback : script.removeFirst()
        lock.unlock()
        var response = "HTTP/1.1 \(reply.status) Scripted\r\nContent-Length: 0\r\nConnection: close\r\n"
        for (name, value) in reply.headers { response += "\(name): \(value)\r\n" }
        send(connection, response + "\r\n")
    }

    private func readSome(_ connection: Int32, into buffer: inout [UInt8]) -> Bool {
        var chunk = [UInt8](repeating: 0, count: 4096)
        let count = chunk.withUnsafeMutableBytes { recv(connection, $0.baseAddress, $0.count, 0) }
        guard count > 0 else { return false }
        buffer += chunk[..<count]
        return true
    }

    private func send(_ connection: Int32, _ text: String) {
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { Glibc.send(connection, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }
}

/// Waits until `condition` holds (a thrown error counts as not yet), polling every 20 ms up to `polls`
/// times; returns whether it held.
///
/// It counts polls, not wall time: when the whole test run keeps the cooperative pool busy, this task
/// and the deliverer's are delayed alike, so the deliverer gets as many chances as the waiting does.
func eventually(polls: Int = 1500, _ condition: () throws -> Bool) async -> Bool {
    for _ in 0..<polls {
        if (try? condition()) == true { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return (try? condition()) == true
}
