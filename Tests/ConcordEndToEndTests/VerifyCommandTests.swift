import ConcordCore
@testable import ConcordSQLite
import ConcordTestSupport
import Foundation
import Testing

struct VerifyCommandTests {
    @Test func verifyExitsNonZeroNamingOriginSeqAndKind() throws {
        let concord = try ConcordExecutable.locate()
        let directory = try TemporaryDirectory("verify")
        let store = directory.file("node.sqlite")
        try concord.run(["init", "--node", "hub", "--store", store])
        for index in 1...4 {
            try concord.run(["append", "minutes:NATN-2016-03", "minutes.paragraph-added", "--data", #"{"text":"decision \#(index)"}"#, "--store", store])
        }
        let origin = try JSONValue(parsing: try concord.run(["status", "--json", "--store", store]).stdout)["origin"]?.stringValue ?? ""
        do {
            let raw = try SQLiteConnection(path: store, flags: [.readWrite])
            try raw.execute("DROP TRIGGER events_refuse_update; UPDATE events SET data = '{\"text\":\"decision 9\"}' WHERE seq = 3")
        }
        let result = try concord.run(["verify", "--store", store])
        #expect(result.status == 1)
        let firstLine = result.stdout.split(separator: "\n").first.map(String.init) ?? ""
        #expect(firstLine.hasPrefix("FAULT origin \(origin) seq 3: hash-mismatch"), "got: \(result.stdout)")

        let json = try JSONValue(parsing: try concord.run(["verify", "--json", "--store", store]).stdout)
        #expect(json["valid"] == .bool(false))
        guard case .array(let faults) = json["faults"], let first = faults.first else {
            Issue.record("no faults in \(json)")
            return
        }
        #expect(first["seq"] == .number("3"))
        #expect(first["kind"] == .string("hash-mismatch"))
    }
}
