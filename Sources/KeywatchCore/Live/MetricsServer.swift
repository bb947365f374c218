#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Errors from the `--listen` server.
public enum ListenError: Error, Hashable, CustomStringConvertible {
    /// The address is not `HOST:PORT` with an IPv4 host.
    case badAddress(String)
    /// The socket could not be bound or listened on.
    case cannotListen(address: String, errno: Int32)

    public var description: String {
        switch self {
        case .badAddress(let text):
            "--listen \(text): expected an IPv4 address and port such as 127.0.0.1:9464"
        case .cannotListen(let address, let code):
            "cannot listen on \(address): \(String(cString: strerror(code))); is another process using the port?"
        }
    }
}

/// A small HTTP/1.1 server for `/healthz` and Prometheus `/metrics`, on its own thread.
///
/// It answers one request per connection (`Connection: close`), reads at most 8 KiB of request,
/// and never blocks the pipeline: the page text comes from a closure that reads a snapshot.
public final class MetricsServer: @unchecked Sendable {
    // Safety: `socket` is written once in `init` and only read afterwards; `render` and `healthy`
    // are immutable closures that must themselves be thread-safe (they read a locked snapshot).
    private let socket: Int32
    private let render: @Sendable () -> String
    private let healthy: @Sendable () -> Bool
    /// The bound port (useful when asked for port 0).
    public let port: UInt16

    /// Binds `address` (`127.0.0.1:9464`; port 0 picks a free one) and starts serving.
    /// - Parameters:
    ///   - address: IPv4 host and port.
    ///   - metrics: Returns the Prometheus text exposition.
    ///   - healthy: Whether `/healthz` answers 200 (else 503).
    /// - Throws: ``ListenError``.
    public init(
        address: String, metrics: @escaping @Sendable () -> String, healthy: @escaping @Sendable () -> Bool
    ) throws(ListenError) {
        guard let colon = address.lastIndex(of: ":"), let port = UInt16(address[address.index(after: colon)...])
        else { throw .badAddress(address) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        let host = String(address[..<colon])
        guard inet_pton(AF_INET, host.isEmpty ? "0.0.0.0" : host, &addr.sin_addr) == 1 else {
            throw .badAddress(address)
        }
        #if canImport(Glibc)
        let fd = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        #else
        let fd = Darwin.socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { throw .cannotListen(address: address, errno: errno) }
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 16) == 0 else {
            let code = errno
            close(fd)
            throw .cannotListen(address: address, errno: code)
        }
        var actual = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &actual) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        self.socket = fd
        self.port = UInt16(bigEndian: actual.sin_port)
        self.render = metrics
        self.healthy = healthy
        startThread(name: "keywatch-listen") { [self] in serve() }
    }

    private func serve() {
        while true {
            let client = accept(socket, nil, nil)
            if client < 0 {
                if errno == EINTR { continue }
                return
            }
            var timeout = timeval(tv_sec: 2, tv_usec: 0)
            setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            handle(client)
            close(client)
        }
    }

    private func handle(_ client: Int32) {
        var request = [UInt8](repeating: 0, count: 8192)
        var used = 0
        while used < request.count {
            let n = request.withUnsafeMutableBytes { read(client, $0.baseAddress! + used, $0.count - used) }
            if n <= 0 { break }
            used += n
            if request[..<used].contains(0x0A) { break }
        }
        let line = String(decoding: request[..<used].prefix { $0 != 0x0D && $0 != 0x0A }, as: UTF8.self)
        let parts = line.split(separator: " ")
        let path = parts.count >= 2 ? String(parts[1]) : ""
        let status: String
        let type: String
        let body: String
        switch (parts.first.map(String.init), path) {
        case ("GET", "/healthz"):
            let ok = healthy()
            status = ok ? "200 OK" : "503 Service Unavailable"
            type = "text/plain"
            body = ok ? "ok\n" : "unhealthy\n"
        case ("GET", "/metrics"):
            status = "200 OK"
            type = "text/plain; version=0.0.4"
            body = render()
        case ("GET", _):
            status = "404 Not Found"
            type = "text/plain"
            body = "try /healthz or /metrics\n"
        default:
            status = "405 Method Not Allowed"
            type = "text/plain"
            body = "GET only\n"
        }
        let response = "HTTP/1.1 \(status)\r\nContent-Type: \(type)\r\nContent-Length: \(body.utf8.count)\r\n"
            + "Connection: close\r\n\r\n" + body
        var bytes = Array(response.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeMutableBytes { write(client, $0.baseAddress! + offset, $0.count - offset) }
            if n <= 0 { return }
            offset += n
        }
    }
}
