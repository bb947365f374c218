import ArgumentParser
import KeywatchCore

@main
struct Keywatch: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keywatch",
        abstract: "Watch how each API key is used, from gateway access logs, and flag changes.",
        discussion: """
            keywatch never prints or stores a raw key: keys are identified by a keyed fingerprint \
            (HMAC-SHA256 under a secret kept in the state directory) and shown as a masked hint.
            """,
        version: KeywatchVersion.string,
        subcommands: [Analyze.self, Watch.self, Keys.self, BaselineCommand.self, Parse.self, KeyID.self]
    )
}
