import Foundation
import Testing

/// Runs the built `keywatch` binary, as users do, and checks its output and exit status.
enum Binary {
    /// The directory holding the built products (next to the test bundle).
    static let productsDirectory: URL = {
        var url = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        while url.pathComponents.count > 1 {
            url.deleteLastPathComponent()
            if FileManager.default.isExecutableFile(atPath: url.appendingPathComponent("keywatch").path) { return url }
        }
        return URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent(".build/debug")
    }()

    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures").path

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Runs `keywatch` with `arguments` and `stdin`.
    static func run(_ arguments: [String], stdin: String? = nil) throws -> Result {
        let process = Process()
        process.executableURL = productsDirectory.appendingPathComponent("keywatch")
        process.arguments = arguments
        // Output goes to files so a full pipe can never block the child.
        let dir = temporaryDirectory()
        try #require(FileManager.default.createFile(atPath: dir + "/out", contents: nil))
        try #require(FileManager.default.createFile(atPath: dir + "/err", contents: nil))
        let out = try FileHandle(forWritingTo: URL(fileURLWithPath: dir + "/out"))
        let err = try FileHandle(forWritingTo: URL(fileURLWithPath: dir + "/err"))
        process.standardOutput = out
        process.standardError = err
        let input = Pipe()
        process.standardInput = input
        try process.run()
        if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
        try input.fileHandleForWriting.close()
        process.waitUntilExit()
        try out.close()
        try err.close()
        let outData = try Data(contentsOf: URL(fileURLWithPath: dir + "/out"))
        let errData = try Data(contentsOf: URL(fileURLWithPath: dir + "/err"))
        try? FileManager.default.removeItem(atPath: dir)
        return Result(
            status: process.terminationStatus,
            stdout: String(decoding: outData, as: UTF8.self),
            stderr: String(decoding: errData, as: UTF8.self)
        )
    }

    static func temporaryDirectory() -> String {
        let path = NSTemporaryDirectory() + "keywatch-e2e-" + UUID().uuidString
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }
}

@Suite(.serialized) struct ParseCommandTests {
    static let rawKeys = [
        "ak_live_Q7xYzW3kLmN8pR2sT5uVnD", "sk_test_ZZZZ9999888877776666", "ak_live_QUERYKEY0000000000001",
    ]

    @Test func parsePrintsNormalisedEventsAndNoRawKey() throws {
        let state = Binary.temporaryDirectory()
        let log = Binary.fixtures + "/formats/nginx-custom.log"
        let result = try Binary.run([
            "parse", "--state", state, "--log-format", "@" + Binary.fixtures + "/formats/nginx-custom.log_format", log,
        ])
        #expect(result.status == 0)
        let lines = result.stdout.split(separator: "\n")
        #expect(lines.count == 5)
        let first = try #require(
            JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any]
        )
        #expect(first["time"] as? String == "2026-10-26T13:55:36.000Z")
        #expect(first["ip"] as? String == "203.0.113.7")
        #expect(first["key_hint"] as? String == "ak_live_Q7…nD")
        #expect(first["method"] as? String == "GET")
        #expect(first["path"] as? String == "/v1/orders/48213377?expand=…")
        #expect(first["endpoint"] as? String == "/v1/orders/{id}")
        #expect(first["status"] as? Int == 200)
        #expect(first["bytes"] as? Int == 512)
        #expect(first["latency_ms"] as? Double == 43)
        #expect(first["user_agent"] as? String == "acme-sdk/2.3 (python)")
        #expect(first["source"] as? String == log + ":1")
        let third = try #require(JSONSerialization.jsonObject(with: Data(lines[2].utf8)) as? [String: Any])
        #expect(third["ip"] as? String == "2001:db8::44")
        #expect(third["endpoint"] as? String == "/v1/customers/{uuid}/cards")
        let health = try #require(JSONSerialization.jsonObject(with: Data(lines[4].utf8)) as? [String: Any])
        #expect(health["key_id"] is NSNull)
        // The summary names the bad line, and nothing anywhere shows a raw key.
        #expect(result.stderr.contains("rejected: malformed=1"))
        #expect(result.stderr.contains("nginx-custom.log:5"))
        for key in Self.rawKeys {
            #expect(!result.stdout.contains(key))
            #expect(!result.stderr.contains(key))
        }
        // key-id gives the same ids for the same state directory.
        let ids = try Binary.run(["key-id", "--state", state], stdin: Self.rawKeys.joined(separator: "\n") + "\n")
        #expect(ids.status == 0)
        let idLines = ids.stdout.split(separator: "\n").map(String.init)
        #expect(idLines.count == 3)
        #expect(first["key_id"] as? String == idLines[0])
        #expect(result.stdout.contains(idLines[2]))  // the query-string key
        #expect(!ids.stdout.contains("ak_live_Q7xY"))
        let attributes = try FileManager.default.attributesOfItem(atPath: state + "/keywatch.sqlite")
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
    }

    @Test func truncatedGzipExitsNonZeroNamingFileAndOffset() throws {
        let dir = Binary.temporaryDirectory()
        let whole = try Data(
            contentsOf: URL(fileURLWithPath: Binary.fixtures + "/realworld/elastic-examples_apache_logs.log.gz")
        )
        let cut = dir + "/cut.log.gz"
        try #require(FileManager.default.createFile(atPath: cut, contents: whole.prefix(100_000)))
        let result = try Binary.run(["parse", "--state", dir, "--output", "none", cut])
        #expect(result.status == 1)
        #expect(result.stdout.isEmpty)
        #expect(result.stderr.contains("cut.log.gz: gzip data ends early at compressed byte 100000"))
        // Thousands of lines before the damage were still read.
        let events = result.stderr.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
        #expect(events > 3000)
    }

    @Test func readsStandardInput() throws {
        let dir = Binary.temporaryDirectory()
        let line = "198.51.100.4 - - [26/Oct/2026:13:55:36 +0000] \"GET /v1/x HTTP/1.1\" 200 10 \"-\" \"ua\"\n"
        let result = try Binary.run(["parse", "--state", dir, "-"], stdin: line + line)
        #expect(result.status == 0)
        #expect(result.stdout.split(separator: "\n").count == 2)
        #expect(result.stdout.contains("\"source\":\"<stdin>:2\""))
    }

    @Test func badFlagsAreExplained() throws {
        let dir = Binary.temporaryDirectory()
        let format = try Binary.run(["parse", "--state", dir, "--format", "bogus", "x.log"])
        #expect(format.status == 64)
        #expect(format.stderr.contains("unknown --format 'bogus'"))
        let field = try Binary.run(["parse", "--state", dir, "--field", "colour=a.b", "x.log"])
        #expect(field.status == 64)
        #expect(field.stderr.contains("unknown role 'colour'"))
        let missing = try Binary.run(["parse", "--state", dir, dir + "/does-not-exist.log"])
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("does-not-exist.log"))
    }
}
