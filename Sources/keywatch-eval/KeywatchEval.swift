import ArgumentParser
import Foundation
import KeywatchCore

/// One analysed data set: `labels=FILE,alerts=FILE,state=DIR` (and optionally `name=TEXT`).
struct RunSpec: ExpressibleByArgument {
    var labels: String
    var alerts: String
    var state: String
    var name: String?

    init(labels: String, alerts: String, state: String, name: String? = nil) {
        self.labels = labels
        self.alerts = alerts
        self.state = state
        self.name = name
    }

    init?(argument: String) {
        var fields: [String: String] = [:]
        for part in argument.split(separator: ",") {
            guard let eq = part.firstIndex(of: "=") else { return nil }
            let key = String(part[..<eq])
            guard ["labels", "alerts", "state", "name"].contains(key), fields[key] == nil else { return nil }
            fields[key] = String(part[part.index(after: eq)...])
        }
        guard let labels = fields["labels"], let alerts = fields["alerts"], let state = fields["state"] else {
            return nil
        }
        self.init(labels: labels, alerts: alerts, state: state, name: fields["name"])
    }

    static var defaultValueDescription: String { "labels=FILE,alerts=FILE,state=DIR[,name=TEXT]" }
}

/// `keywatch-eval`: scores `keywatch analyze` alerts against `keywatch-sim` labels.
@main
struct KeywatchEval: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keywatch-eval",
        abstract: "Score keywatch alerts (JSON lines) against keywatch-sim labels.",
        usage: """
            keywatch-eval --labels FILE --alerts FILE --state DIR [options]
              keywatch-eval --run labels=FILE,alerts=FILE,state=DIR [--run ...] [options]
            """,
        discussion: """
            Scoring rules:
            - An alert matches an incident when its key_id is the incident's key and its time is in \
            [incident start - 60 s, incident end + 2 h], both ends included.
            - Recall of a kind: incidents with a matching alert of the same kind at severity medium or \
            higher, over incidents of that kind. "recall (any sev)" accepts any severity.
            - Only alerts at or after the labels' learning_end are scored; earlier ones are reported as \
            alerts during learning.
            - Precision (medium+): medium+ alerts that match any incident (of any kind) over all medium+ \
            alerts. Kinds without incidents (ip_fanout, ...) count here.
            - False alerts per 1,000 key-days: unmatched alerts x 1000 / (keys x days from learning_end \
            to end), for medium+ and for any severity.
            - Delay: first matching same-kind medium+ alert - the incident's detail.first_request (its \
            start when absent); median and max in minutes.

            Raw keys in the labels are turned into key ids with the fingerprint secret of --state, the \
            state directory the analyze run used; only key hints are printed. In the alert file, JSON \
            objects without severity, key_id or an a_ id (a run summary) are ignored; other bad lines \
            are counted as malformed and skipped.

            With several runs the report has a combined table, then one per run. --verbose lists, per \
            run, every unmatched medium+ alert and every missed incident with the legitimate episodes \
            (labels' legitimate[] naming the key, or all keys) around it.

            Exit status: 0, or 1 when --min-recall or --min-precision is not met (overall, all runs \
            combined) or an input cannot be read.
            """
    )

    @Option(
        help: ArgumentHelp("labels.json written by keywatch-sim (one run; use --run for several).", valueName: "file")
    )
    var labels: String?

    @Option(help: ArgumentHelp("Alerts from `keywatch analyze --output jsonl` (one run).", valueName: "file"))
    var alerts: String?

    @Option(help: ArgumentHelp("The state directory the analyze run used (one run).", valueName: "dir"))
    var state: String?

    @Option(
        name: .customLong("run"),
        help: ArgumentHelp(
            "One run's labels, alerts and state directory, and an optional report name; repeat for several seeds.",
            valueName: "labels=FILE,alerts=FILE,state=DIR[,name=TEXT]"
        )
    )
    var runs: [RunSpec] = []

    @Flag(help: "List unmatched medium+ alerts and missed incidents with overlapping legitimate episodes.")
    var verbose = false

    @Flag(help: "Print the results as JSON instead of markdown.")
    var json = false

    @Option(help: "Exit 1 if the overall medium+ recall (0-1) is below this.")
    var minRecall: Double?

    @Option(help: "Exit 1 if the overall medium+ precision (0-1) is below this, or undefined (no medium+ alerts).")
    var minPrecision: Double?

    var allRuns: [RunSpec] {
        var list = runs
        if let labels, let alerts, let state {
            list.insert(RunSpec(labels: labels, alerts: alerts, state: state), at: 0)
        }
        return list
    }

    func validate() throws {
        let single = [labels, alerts, state].compactMap { $0 }.count
        guard single == 0 || single == 3 else {
            throw ValidationError("--labels, --alerts and --state go together; use --run for several runs")
        }
        guard !allRuns.isEmpty else {
            throw ValidationError("give --labels, --alerts and --state, or one or more --run")
        }
        for run in allRuns {
            var isDirectory: ObjCBool = false
            // KeyFingerprinter creates a missing state directory with a new secret; no key would ever match.
            guard FileManager.default.fileExists(atPath: run.state, isDirectory: &isDirectory), isDirectory.boolValue
            else {
                throw ValidationError("state directory \(run.state) does not exist; pass the one analyze used")
            }
        }
        for (name, value) in [("--min-recall", minRecall), ("--min-precision", minPrecision)] {
            if let value, !(0...1).contains(value) { throw ValidationError("\(name) must be between 0 and 1") }
        }
    }

    func run() throws {
        var scores: [EvaluationScore] = []
        for spec in allRuns {
            do {
                scores.append(try score(spec))
            } catch {
                FileHandle.standardError.write(Data("keywatch-eval: \(error)\n".utf8))
                throw ExitCode.failure
            }
        }
        let combined = scores.count == 1 ? scores[0] : EvaluationScore.combining(scores)
        var gates: [String: Bool] = [:]
        if let minRecall { gates["min_recall"] = (combined.recall ?? 0) >= minRecall }
        if let minPrecision { gates["min_precision"] = combined.precision.map { $0 >= minPrecision } ?? false }

        if json {
            print(EvaluationReport.json(scores, gates: gates))
        } else {
            print(EvaluationReport.markdown(scores, verbose: verbose), terminator: "")
        }
        fflush(nil)  // the report before the gate messages on a shared terminal
        var failed = false
        if gates["min_recall"] == false, let minRecall {
            warn("recall \(format(combined.recall)) is below --min-recall \(minRecall)")
            failed = true
        }
        if gates["min_precision"] == false, let minPrecision {
            warn("precision \(format(combined.precision)) is below --min-precision \(minPrecision)")
            failed = true
        }
        if failed { throw ExitCode.failure }
    }

    private func score(_ spec: RunSpec) throws -> EvaluationScore {
        let fingerprinter = try KeyFingerprinter(stateDirectory: spec.state)
        let labels = try EvaluationLabels(contentsOf: spec.labels) { fingerprinter.keyID(for: $0) }
        let alertFile = try AlertFile(contentsOf: spec.alerts)
        let name = spec.name ?? labels.seed.map { "seed \($0)" } ?? spec.labels
        for sample in alertFile.malformedSamples {
            warn("\(spec.alerts):\(sample.line): malformed alert line skipped: \(sample.reason)")
        }
        if alertFile.malformedLines > alertFile.malformedSamples.count {
            warn("\(spec.alerts): \(alertFile.malformedLines) malformed lines in all")
        }
        let score = Evaluation.score(EvaluationRun(name: name, labels: labels, alerts: alertFile))
        if let mismatch = Evaluation.keyIDMismatch(labels: labels, alerts: alertFile.alerts) {
            warn(
                "\(name): \(mismatch) alerts carry the hint of a labelled key but none of its key ids; "
                    + "is \(spec.state) the state directory analyze used?"
            )
        }
        return score
    }

    private func warn(_ message: String) {
        FileHandle.standardError.write(Data("keywatch-eval: \(message)\n".utf8))
    }

    private func format(_ value: Double?) -> String { value.map { String(format: "%.3f", $0) } ?? "undefined" }
}
