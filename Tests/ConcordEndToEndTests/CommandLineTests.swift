import ConcordCore
import ConcordTestSupport
import Foundation
import Testing

/// Runs the built `concord` binary as a person would, in a temporary directory.
struct CommandLineTests {
    let concord: ConcordExecutable
    let directory: TemporaryDirectory

    init() throws {
        concord = try ConcordExecutable.locate()
        directory = try TemporaryDirectory("cli")
    }

    var store: String { directory.file("node.sqlite") }

    func initialised() throws {
        let result = try concord.run(["init", "--node", "west-yorkshire", "--store", store])
        #expect(result.status == 0, "init failed: \(result.stderr)")
    }

    /// A command that exits before reading its input (here `--help`, given 4 MiB it never
    /// reads) must not take the test process with it: CI once died of SIGPIPE this way.
    @Test func aCommandThatLeavesItsInputUnreadEndsWithItsOwnStatus() throws {
        let result = try concord.run(["--help"], stdin: String(repeating: "x", count: 4 << 20))
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("USAGE"))
    }

    @Test func initAppendLogVerifyStatusRoundTrip() throws {
        try initialised()
        let opened = try concord.run([
            "append", "case:WY-2016-0012", "case.opened", "--store", store,
            "--data", #"{"reference":"WY-2016-0012","title":"Car wash labour","region":"West Yorkshire"}"#,
            "--actor", "analyst@wy", "--occurred-at", "2016-03-01T09:00:00Z",
        ])
        #expect(opened.status == 0, "\(opened.stderr)")
        #expect(opened.stdout.contains("Recorded case.opened on case:WY-2016-0012 (version 1)"))
        let charged = try concord.run([
            "append", "case:WY-2016-0012", "case.status-changed", "--store", store,
            "--data", #"{"status":"charged"}"#, "--expected-version", "1",
        ], environment: ["CONCORD_ACTOR": "officer@wy"])
        #expect(charged.status == 0, "\(charged.stderr)")

        let log = try concord.run(["log", "--json", "--store", store])
        #expect(log.status == 0)
        let lines = log.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == 2)
        let first = try JSONValue(parsing: lines[0])
        #expect(first["stream"] == .string("case:WY-2016-0012"))
        #expect(first["seq"] == .number("1"))
        #expect(first["actor"] == .string("analyst@wy"))
        #expect(first["occurredAt"] == .string("2016-03-01T09:00:00.000Z"))
        #expect(first["data"] == (try JSONValue(parsing: #"{"reference":"WY-2016-0012","region":"West Yorkshire","title":"Car wash labour"}"#)))
        #expect(try JSONValue(parsing: lines[1])["actor"] == .string("officer@wy"))

        let table = try concord.run(["log", "--store", store])
        #expect(table.stdout.hasPrefix("POS"))
        #expect(table.stdout.contains("case.status-changed"))

        let verify = try concord.run(["verify", "--store", store])
        #expect(verify.status == 0)
        #expect(verify.stdout.contains("OK: 2 events from 1 origin(s), 2 seal(s), 2 checkpoint(s) verified, read models refolded and compared"), "\(verify.stdout)")

        let status = try concord.run(["status", "--json", "--store", store])
        let document = try JSONValue(parsing: status.stdout)
        #expect(document["node"] == .string("west-yorkshire"))
        #expect(document["events"] == .number("2"))
        guard case .string(let origin) = document["origin"], case .object(let vector) = document["versionVector"] else {
            Issue.record("status --json lacks origin or versionVector: \(status.stdout)")
            return
        }
        #expect(vector == [origin: .number("2")])
    }

    @Test func theStoreDefaultsToTheEnvironmentThenTheWorkingDirectory() throws {
        let fromEnvironment = try concord.run(["init", "--node", "hub"], environment: ["CONCORD_STORE": store])
        #expect(fromEnvironment.status == 0)
        #expect(FileManager.default.fileExists(atPath: store))
        let inWorkingDirectory = try concord.run(["init", "--node", "hub"], in: directory.path)
        #expect(inWorkingDirectory.status == 0)
        #expect(FileManager.default.fileExists(atPath: directory.file("concord.sqlite")))
    }

    @Test func aStaleExpectedVersionExits75AndStoresNothing() throws {
        try initialised()
        try concord.run(["append", "notes:A", "note.added", "--data", "{}", "--store", store])
        let stale = try concord.run(["append", "notes:A", "note.added", "--data", "{}", "--expected-version", "0", "--store", store])
        #expect(stale.status == 75)
        #expect(stale.stderr.contains("stream notes:A is at version 1, but version 0 (a new stream) was expected") || stale.stderr.contains("is at version 1"))
        #expect(try eventCount() == 1)
    }

    func eventCount() throws -> Int {
        let status = try concord.run(["status", "--json", "--store", store])
        guard case .number(let count) = try JSONValue(parsing: status.stdout)["events"] else { return -1 }
        return Int(count) ?? -1
    }
}
