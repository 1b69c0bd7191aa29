import ConcordCore
import ConcordProjections
import ConcordSQLite
import ConcordTestSupport
import Foundation
import Testing

/// The web view in a real browser: headless Chromium driven by Selenium (Browser/view_check.py)
/// against a real `concord serve` of the demo's hub, every figure checked against what the CLI
/// prints with --json. Runs where Chromium, chromedriver and python3-selenium are installed
/// (`.ci/run` installs them and sets CONCORD_TEST_BROWSER=1, which makes their absence a
/// failure rather than a skip). Screenshots go to $CONCORD_SCREENSHOTS, or a temporary directory.
struct WebViewBrowserTests {
    static let python = "/usr/bin/python3"
    static let browserInstalled = ["/usr/bin/chromium", "/usr/bin/chromedriver", python].allSatisfy { FileManager.default.isExecutableFile(atPath: $0) }
        && FileManager.default.fileExists(atPath: "/usr/lib/python3/dist-packages/selenium")
    static let required = ProcessInfo.processInfo.environment["CONCORD_TEST_BROWSER"] == "1"

    @Test func theBrowserInstallationIsPresentWhereItIsRequired() {
        if Self.required { #expect(Self.browserInstalled, "CONCORD_TEST_BROWSER=1 but chromium, chromedriver or python3-selenium is missing") }
    }

    @Test(.enabled(if: browserInstalled), .timeLimit(.minutes(5)))
    func everyPageShowsWhatTheCommandLineShows() throws {
        let concord = try ConcordExecutable.locate()
        let directory = try TemporaryDirectory("browser")
        let demo = directory.file("demo")
        let made = try concord.run(["demo", "--dir", demo, "--cases", "30"])
        #expect(made.status == 0, "\(made.stderr)")
        let hub = "\(demo)/national-hub.sqlite"
        func cli(_ arguments: [String]) throws -> String {
            let result = try concord.run(arguments + ["--store", hub])
            #expect(result.status == 0, "\(arguments): \(result.stderr)")
            return result.stdout
        }
        func lines(_ arguments: [String]) throws -> [JSONValue] {
            try cli(arguments + ["--json"]).split(separator: "\n").map { try JSONValue(parsing: String($0)) }
        }
        let status = try JSONValue(parsing: try cli(["status", "--json"]))
        guard case .object(let vector)? = status["versionVector"], case .number(let events)? = status["events"] else {
            Issue.record("status: \(status)")
            return
        }
        let cases = try lines(["query", "cases"])
        let charged = try lines(["query", "cases", "--status", "charged"])
        let region = try #require(charged.first?["region"]?.stringValue)
        let firstCase = try #require(cases.first?["case_id"]?.stringValue)
        let shown = try JSONValue(parsing: try cli(["show", "case:\(firstCase)", "--json"]))
        guard case .array(let firstCaseEvents)? = shown["events"] else { Issue.record("show: \(shown)"); return }
        let meeting = try #require(try lines(["query", "meetings"]).first?["meeting_id"]?.stringValue)
        let hubCheckpoints = try lines(["checkpoint", "--list"]).filter { $0["node"]?.stringValue == "national-hub" }
        guard case .number(let firstAt)? = hubCheckpoints.first?["takenAt"], let firstMillis = Int64(firstAt) else { Issue.record("no checkpoint of the hub"); return }
        let firstCheckpointAt = Timestamp.iso8601(millis: firstMillis)
        let store = try SQLiteEventStore.open(at: hub, logger: StoreFixtures.quietLogger)
        let trail = try store.queryReadModels(.live, sql: "SELECT count(*) FROM {schema}.decision_trail WHERE meeting_id = ?", [.text(meeting)]).rows.first?.first
        let expected: [String: Any] = [
            "node": "national-hub",
            "events": Int(events) ?? -1,
            "digest": try cli(["digest"]).trimmingCharacters(in: .whitespacesAndNewlines),
            "origins": vector.count,
            "cases": cases.count,
            "charged": charged.count,
            "region": region,
            "chargedInRegion": try lines(["query", "cases", "--status", "charged", "--region", region]).count,
            "firstCaseEvents": firstCaseEvents.count,
            "meeting": meeting,
            "trailRows": Int(trail.map { "\($0)" } ?? "") ?? -1,
            "decisions": try lines(["query", "decisions"]).count,
            "overdue": try lines(["query", "actions", "--overdue"]).count,
            "firstCheckpointAt": firstCheckpointAt,
            "meetingsSeenByHubFirst": try lines(["query", "meetings", "--as-of", firstCheckpointAt, "--seen-by", "national-hub"]).count,
            "casesSeenByHubFirst": try lines(["query", "cases", "--as-of", firstCheckpointAt, "--seen-by", "national-hub"]).count,
            "changesFrom": "2000-01-01",
            "changesTo": "2100-01-01",
        ]
        // The figures the pages are held to are not all empty: the checks compare something.
        #expect((expected["trailRows"] as? Int ?? 0) > 0 && charged.count > 0 && cases.count > charged.count)
        let expectedFile = directory.file("expected.json")
        try JSONSerialization.data(withJSONObject: expected, options: [.sortedKeys]).write(to: URL(fileURLWithPath: expectedFile))

        let server = try ServerProcess(concord, store: hub)
        defer { server.stop() }
        let token = try String(contentsOfFile: "\(demo)/auditor.token", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let screenshots = ProcessInfo.processInfo.environment["CONCORD_SCREENSHOTS"] ?? directory.file("screenshots")
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Browser/view_check.py").path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.python)
        process.arguments = [script, "--url", server.url, "--token", token, "--expected", expectedFile, "--screenshots", screenshots]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "the browser checks failed:\n\(text)")
        #expect(text.contains("all checks hold"), "\(text)")
        print(text)
    }
}
