import Foundation
import KeywatchCore
import Logging

/// A swift-log handler writing one structured line per message to standard error:
/// `2026-11-23T14:17:39.426Z info keywatch.watch: delivered alert=a_… webhook=… status=200`.
///
/// Metadata is sorted by key, so lines are stable for grep and log shippers. Values never hold a
/// raw key: callers log key ids and hints only.
struct KeyValueLogHandler: LogHandler {
    let label: String
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]

    init(label: String) { self.label = label }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var merged = metadata
        if let extra = event.metadata { merged.merge(extra) { $1 } }
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        var line = "\(Timestamps.rfc3339(now)) \(event.level) \(label): \(event.message)"
        for (key, value) in merged.sorted(by: { $0.key < $1.key }) {
            let text = "\(value)"
            line += text.contains(" ") ? " \(key)=\"\(text)\"" : " \(key)=\(text)"
        }
        printError(line)
    }
}

/// Installs ``KeyValueLogHandler`` once per process.
enum Logs {
    private static let installed: Void = LoggingSystem.bootstrap { KeyValueLogHandler(label: $0) }

    /// A logger for `label`, with the handler installed.
    static func logger(_ label: String) -> Logger {
        _ = installed
        return Logger(label: label)
    }
}
