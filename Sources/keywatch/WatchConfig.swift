import ArgumentParser
import Foundation
import Yams

/// `keywatch watch --config keywatch.yml`: the same settings as the flags, in YAML. Flags given on
/// the command line override the file (a repeated flag replaces the file's whole list).
///
/// ```yaml
/// sources: ["/var/log/nginx/access.log", "/var/log/kong/*.log"]
/// log_format: "@/etc/keywatch/nginx.log_format"
/// state: /var/lib/keywatch
/// geoip: [/var/lib/GeoIP/GeoLite2-City.mmdb, /var/lib/GeoIP/GeoLite2-ASN.mmdb]
/// networks: /etc/keywatch/networks.csv
/// webhooks:
///   - url: https://hooks.example.com/keywatch
///     format: json            # or slack
///     secret_file: /etc/keywatch/webhook.secret
/// alerts_file: /var/lib/keywatch/alerts.jsonl
/// listen: 127.0.0.1:9464
/// thresholds: { learning_days: 7, dormancy_days: 7, forget_days: 30 }
/// ```
struct WatchConfig: Decodable, Equatable {
    struct Webhook: Decodable, Equatable {
        var url: String
        var format: String?
        var secretFile: String?

        enum CodingKeys: String, CodingKey {
            case url, format
            case secretFile = "secret_file"
        }
    }

    struct Thresholds: Decodable, Equatable {
        var learningDays: Double?
        var dormancyDays: Double?
        var forgetDays: Double?

        enum CodingKeys: String, CodingKey {
            case learningDays = "learning_days"
            case dormancyDays = "dormancy_days"
            case forgetDays = "forget_days"
        }
    }

    var sources: [String]?
    var format: String?
    var logFormat: String?
    var state: String?
    var geoip: [String]?
    var networks: String?
    var webhooks: [Webhook]?
    var alertsFile: String?
    var listen: String?
    var thresholds: Thresholds?

    enum CodingKeys: String, CodingKey {
        case sources, format, state, geoip, networks, webhooks, listen, thresholds
        case logFormat = "log_format"
        case alertsFile = "alerts_file"
    }

    /// Reads and decodes a config file; errors name the file and what was wrong.
    static func load(_ path: String) throws -> WatchConfig {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw ValidationError("--config \(path): cannot read the file")
        }
        do {
            return try YAMLDecoder().decode(WatchConfig.self, from: text)
        } catch let DecodingError.keyNotFound(key, context) {
            throw ValidationError("--config \(path): missing '\(key.stringValue)' at \(describe(context))")
        } catch let DecodingError.typeMismatch(_, context) {
            throw ValidationError("--config \(path): wrong type at \(describe(context)): \(context.debugDescription)")
        } catch {
            throw ValidationError("--config \(path): \(error)")
        }
    }

    private static func describe(_ context: DecodingError.Context) -> String {
        let path = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
        return path.isEmpty ? "the top level" : path
    }
}
