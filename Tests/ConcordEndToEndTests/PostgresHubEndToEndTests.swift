import ConcordCore
import ConcordTestSupport
import Foundation
import Testing

/// A mixed network of real processes: regions on SQLite files, their hub on PostgreSQL
/// (`concord serve --store postgres://…`). Runs when `$CONCORD_TEST_POSTGRES_URL` names a
/// server (always in CI).
struct PostgresHubEndToEndTests {
    static var servers: [String] { PostgresTestDatabase.server.map { [$0.description] } ?? [] }

    @Test(arguments: servers)
    func sqliteRegionsConvergeThroughAPostgreSQLHubAndItsCopyBack(_ server: String) async throws {
        let concord = try ConcordExecutable.locate()
        let directory = try TemporaryDirectory("pg-hub")
        try await PostgresTestDatabase.with { location in
            let hub = location.description
            func ok(_ arguments: [String], store: String) throws -> String {
                let result = try concord.run(arguments + ["--store", store], environment: ["CONCORD_ACTOR": "officer"])
                #expect(result.status == 0, "\(arguments) on \(store): \(result.stderr)")
                return result.stdout
            }
            func region(_ name: String) -> String { directory.file("\(name).sqlite") }
            _ = try ok(["init", "--hub", "--node", "national-hub", "--share-default", "full"], store: hub)
            for name in ["wy", "gm"] {
                _ = try ok(["init", "--node", name], store: region(name))
                _ = try ok(["token", "issue", name, "--out", directory.file("\(name).token")], store: hub)
            }
            let tokens = try ok(["token", "list", "--json"], store: hub).split(separator: "\n")
            #expect(tokens.count == 2)
            let server = try ServerProcess(concord, store: hub)
            defer { server.stop() }
            for name in ["wy", "gm"] {
                _ = try ok(["peer", "add", "hub", server.url, "--token-file", directory.file("\(name).token")], store: region(name))
            }
            _ = try ok(["case", "open", "WY-1", "--title", "Car wash", "--region", "West Yorkshire"], store: region("wy"))
            for index in 1...30 { _ = try ok(["case", "note", "WY-1", "note \(index)"], store: region("wy")) }
            _ = try ok(["case", "open", "GM-1", "--title", "Nail bar", "--region", "Greater Manchester"], store: region("gm"))
            _ = try ok(["meeting", "schedule", "GM-M1", "--title", "Regional meeting", "--at", "2016-04-01T10:00Z", "--location", "Manchester"], store: region("gm"))
            let pushed = try ok(["sync", "hub"], store: region("wy"))
            #expect(pushed.contains("pushed 31"), "\(pushed)")
            _ = try ok(["sync", "hub"], store: region("gm"))
            _ = try ok(["sync", "hub"], store: region("wy"))

            let digests = [try ok(["digest"], store: hub)] + (try ["wy", "gm"].map { try ok(["digest"], store: region($0)) })
            #expect(Set(digests).count == 1, "digests differ: \(digests)")
            #expect(try ok(["verify"], store: hub).hasPrefix("OK: 33 events from 2 origin(s)"))
            let status = try JSONValue(parsing: try ok(["status", "--json"], store: hub))
            #expect(status["events"] == .number("33") && status["backend"] == .string("postgresql") && status["peersWithTokens"] == .number("2"), "\(status)")
            // A token the hub did not issue is refused by the PostgreSQL hub too.
            let refused = try concord.run(["sync", server.url, "--store", region("wy")], environment: ["CONCORD_PEER_TOKEN": "concord_" + String(repeating: "0", count: 64)])
            #expect(refused.status == 69, "\(refused.stderr)")

            // Moving the hub back to a file keeps its record, its digest and its tokens.
            let copy = directory.file("hub-copy.sqlite")
            let copied = try concord.run(["copy", "--from", hub, "--to", copy])
            #expect(copied.status == 0 && copied.stdout.contains("verify OK on the copy"), "\(copied.stdout) \(copied.stderr)")
            #expect(try ok(["digest"], store: copy) == digests[0])
            #expect(try ok(["token", "list", "--json"], store: copy).split(separator: "\n").count == 2)
        }
    }

    /// The demo's hub (sharing rules, stubs, an erasure, a conflict) moved to PostgreSQL and back.
    @Test(arguments: servers)
    func theDemoHubMovesToPostgreSQLAndBackWithEqualDigests(_ server: String) async throws {
        let concord = try ConcordExecutable.locate()
        let directory = try TemporaryDirectory("pg-demo")
        let demo = try concord.run(["demo", "--dir", directory.file("demo"), "--cases", "60"])
        #expect(demo.status == 0, "\(demo.stderr)")
        let hub = directory.file("demo/national-hub.sqlite")
        try await PostgresTestDatabase.with { location in
            let there = try concord.run(["copy", "--from", hub, "--to", location.description])
            #expect(there.status == 0, "\(there.stdout) \(there.stderr)")
            let back = directory.file("back.sqlite")
            let again = try concord.run(["copy", "--from", location.description, "--to", back])
            #expect(again.status == 0, "\(again.stdout) \(again.stderr)")
            let digests = try [hub, location.description, back].map { try concord.run(["digest", "--store", $0]).stdout }
            #expect(Set(digests).count == 1 && digests[0].count == 65, "\(digests)")
            for store in [hub, location.description, back] {
                #expect(try concord.run(["verify", "--store", store]).status == 0, "verify \(store)")
            }
        }
    }
}
