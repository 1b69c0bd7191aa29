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

    /// Hostile files given to `concord import`: each refused with its exit code and a message
    /// naming the problem, and the store's events and read models unchanged.
    @Test func hostileImportFilesAreRefusedAndChangeNothing() throws {
        let store = directory.file("node.sqlite")
        _ = try concord.run(["init", "--node", "node", "--store", store])
        _ = try concord.run(["case", "open", "WY-1", "--title", "Held", "--region", "West Yorkshire", "--store", store])
        let before = try concord.run(["status", "--json", "--store", store]).stdout + (try concord.run(["digest", "--store", store]).stdout)
        func refuse(_ name: String, _ bytes: [UInt8], new: Bool, exit: Int32, _ text: String) throws {
            let path = directory.file(name)
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            let result = try concord.run(["import"] + (new ? ["--new"] : []) + [path, "--store", store])
            expectOneLineError(result, exit: exit, mentioning: text)
            let after = try concord.run(["status", "--json", "--store", store]).stdout + (try concord.run(["digest", "--store", store]).stdout)
            #expect(after == before, "\(name) changed the store")
        }
        let newLine = #"{"stream":"notes:a","type":"note.added","data":{"n":1}}"#
        try refuse("new-as-export.ndjson", Array(newLine.utf8), new: false, exit: 65, "is this a concord export?")
        try refuse("binary.bin", [0x1F, 0x8B, 0x08, 0x00, 0xFF, 0x00, 0x0A, 0x7F], new: true, exit: 65, "line 1")
        try refuse("empty.ndjson", [], new: true, exit: 65, "holds no events")
        try refuse("invalid-utf8.ndjson", Array((newLine + "\n").utf8) + [0x7B, 0x22, 0xC3, 0x28, 0x22, 0x3A, 0x31, 0x7D, 0x0A], new: true, exit: 65, "line 2")
        try refuse("csv.ndjson", Array("stream,type,data\nnotes:a,note.added,{}\n".utf8), new: true, exit: 65, "line 1")
        try refuse("truncated.ndjson", Array((newLine + "\n" + newLine.prefix(20)).utf8), new: true, exit: 65, "line 2")
        try refuse("deep.ndjson", Array(("{\"stream\":\"notes:a\",\"type\":\"t\",\"data\":" + String(repeating: "[", count: 500) + "\n").utf8), new: true, exit: 65, "line 1")
    }
}
