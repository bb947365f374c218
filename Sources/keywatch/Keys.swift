import ArgumentParser
import KeywatchCore

/// Loads the state for the read-only commands.
struct StoredState {
    let store: StateStore
    let watermark: Int64
    let endpointNames: [UInt64: String]

    init(directory: String) throws {
        do {
            store = try StateStore(directory: directory, access: .readOnly)
            watermark = Int64(try store.meta(StateStore.Meta.watermarkMs) ?? "") ?? 0
            var names: [UInt64: String] = [:]
            for endpoint in try store.loadEndpoints() {
                names[UInt64(bitPattern: endpoint.hash)] = endpoint.methodTemplate
            }
            endpointNames = names
        } catch {
            printError("keywatch: \(error)")
            throw ExitCode.failure
        }
    }

    func summary(_ key: StoredKey) throws -> KeySummary {
        do {
            return KeySummary(
                id: key.id, hint: key.hint, state: try KeyState(decoding: key.baseline), endpointNames: endpointNames,
                watermark: watermark
            )
        } catch {
            printError("keywatch: key \(key.hint) (\(key.id)): \(error)")
            throw ExitCode.failure
        }
    }
}

struct Keys: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "List every key the state knows: hint, id, first and last seen, requests, geography, status.",
        discussion: """
            Status is relative to the newest event learned: new (inside the learning period), \
            active, or dormant (silent for the dormancy period).
            """
    )

    enum Output: String, ExpressibleByArgument, CaseIterable {
        case table, json
    }

    @OptionGroup var stateOptions: StateOptions

    @Option(help: "table or json (one object per key per line).")
    var output: Output = .table

    @Option(help: "Sort by: requests, last-seen, first-seen or hint.")
    var sort: String = "requests"

    func validate() throws {
        guard ["requests", "last-seen", "first-seen", "hint"].contains(sort) else {
            throw ValidationError("--sort must be requests, last-seen, first-seen or hint")
        }
    }

    func run() throws {
        let state = try StoredState(directory: stateOptions.directory)
        let stored: [StoredKey]
        do { stored = try state.store.loadKeys() } catch {
            printError("keywatch: \(error)")
            throw ExitCode.failure
        }
        var keys = try stored.map { try state.summary($0) }
        switch sort {
        case "last-seen": keys.sort { $0.lastSeen > $1.lastSeen }
        case "first-seen": keys.sort { $0.firstSeen < $1.firstSeen }
        case "hint": keys.sort { $0.hint < $1.hint }
        default: keys.sort { ($0.requests, $0.id) > ($1.requests, $1.id) }
        }
        var out = ""
        switch output {
        case .json:
            for key in keys { out += key.json + "\n" }
        case .table:
            out += row("KEY", "ID", "STATUS", "FIRST SEEN", "LAST SEEN", "REQUESTS", "COUNTRIES", "ASNS", "ENDPOINTS")
            for key in keys {
                out += row(
                    key.hint, key.id, key.status.rawValue, day(key.firstSeen), day(key.lastSeen), String(key.requests),
                    key.countries.prefix(4).map(\.0).joined(separator: ",") + (key.countries.count > 4 ? ",…" : ""),
                    String(key.asns.count), String(key.endpoints.count)
                )
            }
            out += "\(keys.count) keys; state as of \(Timestamps.rfc3339(state.watermark))\n"
        }
        writeAll(1, out)
    }

    private func day(_ millis: Int64) -> String {
        let stamp = Timestamps.rfc3339(millis)
        return String(stamp.prefix(10) + " " + stamp.dropFirst(11).prefix(5))
    }

    private func row(_ columns: String...) -> String {
        let widths = [16, 28, 8, 18, 18, 10, 16, 6, 9]
        var line = ""
        for (i, column) in columns.enumerated() {
            let width = widths[i]
            line += padded(column, to: width)
        }
        while line.hasSuffix(" ") { line.removeLast() }
        return line + "\n"
    }
}

struct BaselineCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "baseline",
        abstract: "Explain what keywatch has learned about keys.",
        subcommands: [Show.self]
    )

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "show",
            abstract: "Explain one key's baseline. KEY is a key id (k_…, or its start) or a masked hint (ak_live_Q7…nD)."
        )

        @OptionGroup var stateOptions: StateOptions

        @Argument(help: "A key id or hint; never the raw key.")
        var key: String

        @Flag(help: "Print JSON instead of text.")
        var json = false

        func run() throws {
            let state = try StoredState(directory: stateOptions.directory)
            let matches: [StoredKey]
            do { matches = try state.store.findKeys(hintOrIDPrefix: key) } catch {
                printError("keywatch: \(error)")
                throw ExitCode.failure
            }
            guard !matches.isEmpty else {
                printError(
                    "keywatch: no key matches '\(key)' in \(stateOptions.directory); "
                        + "list keys with `keywatch keys`, or get an id with `keywatch key-id`"
                )
                throw ExitCode.failure
            }
            if matches.count > 1 && !json {
                printError("keywatch: '\(key)' matches \(matches.count) keys; showing all (use the key id to pick one)")
            }
            var out = ""
            for stored in matches {
                let summary = try state.summary(stored)
                out += (json ? summary.json : summary.explanation) + "\n"
            }
            writeAll(1, out)
        }
    }
}
