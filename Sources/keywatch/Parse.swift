import ArgumentParser
import KeywatchCore

struct Parse: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "parse",
        abstract: "Read access logs and print each request as a normalised JSON event.",
        discussion: """
            Formats are detected per input from its first lines: combined/common (nginx, Apache), \
            Kong JSON, AWS API Gateway JSON, Envoy text and JSON, Traefik JSON, AWS ALB, other JSON \
            lines. For an nginx log_format of your own, pass it with --log-format.

            Each event has: time, ip, key_id, key_hint, key_source, method, path (query values \
            redacted), endpoint, status, bytes, latency_ms, user_agent, source. A summary goes to \
            standard error. The exit status is 1 when an input could not be read completely.
            """
    )

    enum Output: String, ExpressibleByArgument, CaseIterable {
        case jsonl, none
    }

    @OptionGroup var input: InputOptions
    @OptionGroup var stateOptions: StateOptions

    @Option(help: "jsonl prints every event; none prints only the summary.")
    var output: Output = .jsonl

    func run() throws {
        let configuration = try input.configuration()
        let (inputs, missing) = input.expandedInputs()
        let fingerprinter: KeyFingerprinter
        do {
            fingerprinter = try KeyFingerprinter(stateDirectory: stateOptions.directory)
        } catch {
            printError("keywatch: \(error)")
            throw ExitCode.failure
        }
        let job = ParseJob(inputs: inputs, configuration: configuration, fingerprinter: fingerprinter)
        var report = job.run(output: output == .jsonl ? .jsonLines(fileDescriptor: 1) : .none)
        for pattern in missing { report.diagnostics.errors.insert(.noMatch(pattern: pattern), at: 0) }
        printError(report.summary)
        if report.hadInputErrors { throw ExitCode.failure }
    }
}
