import ArgumentParser
import KeywatchCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Flags shared by every command that reads logs.
struct InputOptions: ParsableArguments {
    @Argument(help: "Log files, directories or globs; '-' reads standard input. Gzip is detected by content.")
    var inputs: [String] = []

    @Option(
        help: "Force a format for every input: \(FormatSpec.names.joined(separator: ", ")). Default: detect per input."
    )
    var format: String?

    @Option(
        name: .customLong("log-format"),
        help: ArgumentHelp(
            "Your nginx log_format string (or @FILE to read it from a file); tried first on every input.",
            valueName: "log_format"
        )
    )
    var logFormat: String?

    @Option(
        name: .customLong("field"),
        help: ArgumentHelp(
            "Map a JSON field: ROLE=PATH[:UNIT], e.g. key=request.headers.x-api-key or latency=duration:ns.",
            valueName: "role=path"
        )
    )
    var fields: [String] = []

    @Option(
        name: .customLong("key-field"),
        help: "Where the key lives: a JSON path, header name, nginx variable or query parameter."
    )
    var keyField: String?

    @Option(
        name: .customLong("trusted-proxy"),
        help: "A proxy network (CIDR) whose X-Forwarded-For is believed; repeat. Default: loopback and private ranges."
    )
    var trustedProxies: [String] = []

    @Option(
        name: .customLong("endpoint-template"),
        help: "Your own endpoint template, e.g. /v1/users/{user}/avatar; repeat."
    )
    var endpointTemplates: [String] = []

    @Option(name: .customLong("max-line"), help: "Skip and count lines longer than this many bytes.")
    var maxLine: Int = 64 << 10

    @Option(help: "Gzip inflate backend: zlib (default) or isal (Intel ISA-L, faster on x86-64).")
    var inflate: InflateBackend = .zlib

    func validate() throws {
        if inputs.isEmpty { throw ValidationError("give at least one input file, directory, glob or '-'") }
        if maxLine < 256 { throw ValidationError("--max-line must be at least 256 bytes") }
        for cidr in trustedProxies where CIDR(cidr) == nil {
            throw ValidationError("--trusted-proxy '\(cidr)' is not a CIDR such as 10.0.0.0/8 or 2001:db8::/32")
        }
        for template in endpointTemplates where EndpointPattern(template) == nil {
            throw ValidationError("--endpoint-template '\(template)' must start with '/'")
        }
        _ = try configuration()
    }

    /// The ingest configuration these flags describe.
    func configuration() throws -> IngestConfiguration {
        try Self.makeConfiguration(
            format: format, logFormat: logFormat, fields: fields, keyField: keyField, trustedProxies: trustedProxies,
            endpointTemplates: endpointTemplates, maxLine: maxLine, inflate: inflate)
    }

    /// Builds an ingest configuration from flag values (shared with `watch`).
    static func makeConfiguration(
        format: String?, logFormat: String?, fields: [String], keyField: String?, trustedProxies: [String],
        endpointTemplates: [String], maxLine: Int, inflate: InflateBackend
    ) throws -> IngestConfiguration {
        var config = IngestConfiguration()
        var template = logFormat
        if let text = logFormat, text.hasPrefix("@") {
            let path = String(text.dropFirst())
            guard let contents = readSmallFile(path) else {
                throw ValidationError("--log-format \(text): cannot read \(path)")
            }
            template = contents
        }
        config.logFormat = template
        do {
            config.formatOptions = FormatOptions(
                fieldMappings: try fields.map { text throws(FormatError) in try FieldMapping(parsing: text) },
                keyField: keyField
            )
            if let format { config.format = try FormatSpec(name: format, logFormat: template) }
            try config.validate()
        } catch {
            throw ValidationError(error.description)
        }
        config.maxLineLength = maxLine
        config.inflateBackend = inflate
        for cidr in trustedProxies where CIDR(cidr) == nil {
            throw ValidationError("--trusted-proxy '\(cidr)' is not a CIDR such as 10.0.0.0/8 or 2001:db8::/32")
        }
        if !trustedProxies.isEmpty { config.trustedProxies = trustedProxies.compactMap { CIDR($0) } }
        config.endpointPatterns = endpointTemplates.compactMap { EndpointPattern($0) }
        return config
    }

    /// The inputs with globs and directories expanded, and patterns that matched nothing.
    func expandedInputs() -> (inputs: [InputSource], missing: [String]) {
        let expansion = InputExpansion.expand(inputs)
        return (expansion.inputs, expansion.unmatched)
    }
}

/// The state directory flag.
struct StateOptions: ParsableArguments {
    @Option(help: "State directory: fingerprint secret and baselines. Default: $KEYWATCH_STATE or ./baselines.")
    var state: String?

    var directory: String {
        if let state { return state }
        if let env = getenv("KEYWATCH_STATE") { return String(cString: env) }
        return "baselines"
    }
}

func readSmallFile(_ path: String) -> String? {
    guard let file = fopen(path, "r") else { return nil }
    defer { fclose(file) }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 4096)
    while true {
        let n = fread(&buffer, 1, buffer.count, file)
        if n <= 0 { break }
        bytes += buffer[0..<n]
        if bytes.count > 1 << 20 { return nil }
    }
    return String(decoding: bytes, as: UTF8.self)
}

/// `text` padded with spaces to `width` characters, or followed by one space when it is longer:
/// a column of the commands' tables.
func padded(_ text: String, to width: Int) -> String {
    let count = text.count
    return count >= width ? text + " " : text + String(repeating: " ", count: width - count)
}

/// Writes a line to standard error.
func printError(_ text: String) {
    writeAll(2, text + "\n")
}

/// Writes all of `text` to a file descriptor.
func writeAll(_ fd: Int32, _ text: String) {
    var bytes = Array(text.utf8)
    var offset = 0
    while offset < bytes.count {
        let n = bytes.withUnsafeMutableBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
        if n < 0 && errno == EINTR { continue }
        if n <= 0 { return }
        offset += n
    }
}

extension InflateBackend: ExpressibleByArgument {}
