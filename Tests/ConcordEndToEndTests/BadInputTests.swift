import ConcordCore
import ConcordTestSupport
import Foundation
import Testing

/// Bad input gets one line on standard error, a documented non-zero exit, and changes nothing.
struct BadInputTests {
    let concord: ConcordExecutable
    let directory: TemporaryDirectory

    init() throws {
        concord = try ConcordExecutable.locate()
        directory = try TemporaryDirectory("bad-input")
    }

    func expectOneLineError(_ result: ConcordExecutable.Result, exit: Int32, mentioning text: String) {
        #expect(result.status == exit, "exit \(result.status), stderr: \(result.stderr)")
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1, "expected one line, got: \(result.stderr)")
        #expect(result.stderr.hasPrefix("concord: "))
        #expect(result.stderr.contains(text), "stderr: \(result.stderr)")
    }

    func storeBytes(_ path: String) throws -> Data {
        try Data(contentsOf: URL(fileURLWithPath: path))
    }

    @Test(arguments: [
        (#"{"title": "unterminated"#, "invalid JSON"),
        (#"{"a":1,"a":2}"#, "duplicate key"),
        (#"["not","an","object"]"#, "must be a JSON object"),
        ("", "invalid JSON"),
    ])
    func invalidDataIsRefusedAndTheStoreIsUnchanged(data: String, message: String) throws {
        let store = directory.file("node.sqlite")
        try concord.run(["init", "--node", "wy", "--store", store])
        try concord.run(["append", "notes:A", "note.added", "--data", "{}", "--store", store])
        let before = try concord.run(["log", "--json", "--store", store]).stdout
        let result = try concord.run(["append", "notes:A", "note.added", "--data", data, "--store", store])
        expectOneLineError(result, exit: 65, mentioning: message)
        #expect(try concord.run(["log", "--json", "--store", store]).stdout == before)
    }

    @Test(arguments: [
        (["append", "case with space", "t", "--data", "{}"], "space or control character"),
        (["append", "case:A", "t", "--data", "{}", "--occurred-at", "last tuesday"], "not a date or time"),
        (["log", "--limit", "0"], "--limit must be 1 or more"),
    ])
    func invalidArgumentsAreRefused(arguments: [String], message: String) throws {
        let store = directory.file("node.sqlite")
        try concord.run(["init", "--node", "wy", "--store", store])
        let result = try concord.run(arguments + ["--store", store])
        expectOneLineError(result, exit: 65, mentioning: message)
        #expect(try concord.run(["log", "--json", "--store", store]).stdout.isEmpty)
    }

    @Test(arguments: [["log"], ["verify"], ["status"], ["append", "case:A", "t", "--data", "{}"]])
    func anUnknownStoreIsReportedAndNotCreated(command: [String]) throws {
        let path = directory.file("missing.sqlite")
        let result = try concord.run(command + ["--store", path])
        expectOneLineError(result, exit: 66, mentioning: "no store at \(path)")
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    @Test func aFileThatIsNotAStoreIsReportedAndLeftAlone() throws {
        let path = directory.file("minutes.txt")
        try Data("Minutes of the first meeting\n".utf8).write(to: URL(fileURLWithPath: path))
        let before = try storeBytes(path)
        for command in [["log"], ["verify"], ["append", "case:A", "t", "--data", "{}"]] {
            let result = try concord.run(command + ["--store", path])
            expectOneLineError(result, exit: 66, mentioning: "is not a Concord store")
        }
        #expect(try storeBytes(path) == before)
        let sidecars = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        #expect(sidecars == ["minutes.txt"])
    }

    @Test func initOverAnExistingStoreIsRefused() throws {
        let store = directory.file("node.sqlite")
        try concord.run(["init", "--node", "wy", "--store", store])
        try concord.run(["append", "notes:A", "note.added", "--data", "{}", "--store", store])
        let before = try concord.run(["log", "--json", "--store", store]).stdout
        let result = try concord.run(["init", "--node", "other", "--store", store])
        expectOneLineError(result, exit: 73, mentioning: "already exists")
        #expect(try concord.run(["log", "--json", "--store", store]).stdout == before)
    }
}
