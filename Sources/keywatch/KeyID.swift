import ArgumentParser
import KeywatchCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

struct KeyID: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "key-id",
        abstract: "Read raw keys on standard input, one per line, and print their key ids, one per line.",
        discussion: """
            Use it to look a key up without writing it anywhere: \
            `printf '%s\\n' "$KEY" | keywatch key-id --state baselines`. The ids match those in \
            events, alerts and baselines made with the same state directory. Blank lines print blank \
            lines, so output lines match input lines.
            """
    )

    @OptionGroup var stateOptions: StateOptions

    @Flag(help: "Also print the masked hint after each id.")
    var hints = false

    func run() throws {
        let fingerprinter: KeyFingerprinter
        do {
            fingerprinter = try KeyFingerprinter(stateDirectory: stateOptions.directory)
        } catch {
            printError("keywatch: \(error)")
            throw ExitCode.failure
        }
        var out = ""
        while let line = readLine(strippingNewline: true) {
            var key = line
            if key.hasSuffix("\r") { key.removeLast() }
            key = key.trimmingCharacters(in: " \t")
            if key.isEmpty {
                out += "\n"
            } else {
                out += fingerprinter.keyID(for: key)
                if hints {
                    var bytes = Array(key.utf8)
                    let hint = bytes.withUnsafeMutableBufferPointer {
                        KeyHint.make(for: ByteView(base: UnsafePointer($0.baseAddress), count: $0.count))
                    }
                    out += "\t" + hint
                }
                out += "\n"
            }
            if out.utf8.count > 1 << 16 {
                writeAll(1, out)
                out = ""
            }
        }
        writeAll(1, out)
    }
}

extension String {
    func trimmingCharacters(in set: String) -> String {
        var s = Substring(self)
        while let f = s.first, set.contains(f) { s.removeFirst() }
        while let l = s.last, set.contains(l) { s.removeLast() }
        return String(s)
    }
}
