import AsyncHTTPClient
import ConcordCore
import ConcordPostgres
import ConcordProjections
import ConcordTestSupport
import Foundation
import NIOCore
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
            let firstVerify = try ok(["verify"], store: hub)
            #expect(firstVerify.hasPrefix("OK: 33 events from 3 origin(s)"), "two regions' and the hub's checkpoint key: \(firstVerify)")

            // The hub signs checkpoints with the key init --hub made (a file under
            // $XDG_CONFIG_HOME, never in the database) after the syncs it took; a region receives
            // them with its next sync, and the record as the hub held it (--seen-by) reads the
            // same on the hub and on the region. verify checks them on the hub.
            let held = try ok(["checkpoint", "--list", "--json"], store: hub).split(separator: "\n").map { try JSONValue(parsing: String($0)) }
            let hubs = held.filter { $0["node"] == .string("national-hub") }
            #expect(!hubs.isEmpty && Set(held.compactMap { $0["node"]?.stringValue }) == ["national-hub", "wy", "gm"], "\(held)")
            let taken = try JSONValue(parsing: try ok(["checkpoint", "--json"], store: hub))
            #expect(taken["node"] == .string("national-hub") && taken["signer"] == hubs[0]["signer"], "\(taken)")
            _ = try ok(["sync", "hub"], store: region("gm"))
            let atRegion = try ok(["checkpoint", "--list", "--json"], store: region("gm"))
            #expect(atRegion.contains(#""signer":"\#(taken["signer"]?.stringValue ?? "-")","node":"national-hub","number":\#(taken["number"].flatMap { if case .number(let n) = $0 { n } else { nil } } ?? "-")"#), "\(atRegion)")
            let seen = try ok(["digest", "--seen-by", "national-hub"], store: hub)
            #expect(try ok(["digest", "--seen-by", "national-hub"], store: region("gm")) == seen)
            #expect(seen == digests[0], "the hub's newest checkpoint names all it holds")
            let verified = try ok(["verify"], store: hub)
            let total = try ok(["checkpoint", "--list", "--json"], store: hub).split(separator: "\n").count
            #expect(verified.contains("seal(s), \(total) checkpoint(s) verified"), "\(verified)")
            // An audit bundle of the PostgreSQL hub verifies offline, its read-model digests folded
            // again from what the hub's checkpoints name.
            let bundle = directory.file("hub-audit.ndjson")
            _ = try ok(["export", "--audit", "--out", bundle], store: hub)
            let bundleText = try String(contentsOfFile: bundle, encoding: .utf8)
            #expect(bundleText.contains(#""kind":"read-models","signer":"\#(taken["signer"]?.stringValue ?? "-")""#), "no read-models line of the hub's checkpoints")
            let offline = try concord.run(["verify", bundle])
            #expect(offline.status == 0 && offline.stdout.hasPrefix("OK: "), "\(offline.stdout) \(offline.stderr)")
            let status = try JSONValue(parsing: try ok(["status", "--json"], store: hub))
            #expect(status["events"] == .number("33") && status["backend"] == .string("postgresql") && status["peersWithTokens"] == .number("2"), "\(status)")
            // Its origin is its key file's, the checkpoints' signer; it starts no new one.
            #expect(status["streams"] == .number("3") && status["origin"] == taken["signer"] && status["nextWriteStartsNewOrigin"] == .bool(false), "\(status)")
            // One JSON shape on every backend: the same keys as a region's store file.
            let regionStatus = try JSONValue(parsing: try ok(["status", "--json"], store: region("wy")))
            guard case .object(let hubKeys) = status, case .object(let regionKeys) = regionStatus else { Issue.record("status is not an object"); return }
            #expect(hubKeys.map(\.key).sorted() == regionKeys.map(\.key).sorted())
            #expect(regionStatus["backend"] == .string("sqlite") && regionStatus["origin"] != .null && regionStatus["peersWithTokens"] == .number("0"), "\(regionStatus)")
            // A token the hub did not issue is refused by the PostgreSQL hub too.
            let refused = try concord.run(["sync", server.url, "--store", region("wy")], environment: ["CONCORD_PEER_TOKEN": "concord_" + String(repeating: "0", count: 64)])
            #expect(refused.status == 69, "\(refused.stderr)")

            // Strict trust on the PostgreSQL hub: a region off its roster is set aside (exit 76,
            // naming the origin) and stores nothing there, until the roster lists it.
            _ = try ok(["init", "--node", "nw"], store: region("nw"))
            _ = try ok(["token", "issue", "nw", "--out", directory.file("nw.token")], store: hub)
            _ = try ok(["peer", "add", "hub", server.url, "--token-file", directory.file("nw.token")], store: region("nw"))
            _ = try ok(["case", "open", "NW-1", "--title", "Farm", "--region", "North West"], store: region("nw"))
            _ = try ok(["trust", "mode", "strict"], store: hub)
            #expect(try ok(["trust", "mode"], store: hub) == "strict\n")
            let nw = try #require(try JSONValue(parsing: try ok(["status", "--json"], store: region("nw")))["origin"]?.stringValue)
            let untrusted = try concord.run(["sync", "hub", "--store", region("nw")])
            #expect(untrusted.status == 76 && untrusted.stderr.contains(nw), "\(untrusted.status) \(untrusted.stderr)")
            #expect(try ok(["log", "--origin", nw], store: hub) == "No events yet.\n")
            let unlisted = try ok(["trust", "list", "--json"], store: hub)
            #expect(unlisted.split(separator: "\n").count == 2 && !unlisted.contains(#""onRoster":true"#), "\(unlisted)")
            _ = try ok(["trust", "add", nw, "--label", "north-west"], store: hub)
            _ = try ok(["sync", "hub"], store: region("nw"))
            #expect(try ok(["log", "--origin", nw, "--json"], store: hub).split(separator: "\n").count == 1)
            #expect(try ok(["trust", "list", "--json"], store: hub).contains(#"{"origin":"\#(nw)","label":"north-west","onRoster":true"#))
            _ = try ok(["trust", "mode", "first-sight"], store: hub)

            // Moving the hub back to a file keeps its record, its digest and its tokens.
            let copy = directory.file("hub-copy.sqlite")
            let copied = try concord.run(["copy", "--from", hub, "--to", copy])
            #expect(copied.status == 0 && copied.stdout.contains("verify OK on the copy"), "\(copied.stdout) \(copied.stderr)")
            #expect(try ok(["digest"], store: copy) == (try ok(["digest"], store: hub)))
            #expect(try ok(["token", "list", "--json"], store: copy).split(separator: "\n").count == 3)
        }
    }

    /// The demo's hub (sharing rules, stubs, an erasure, a conflict) moved to PostgreSQL and back.
    /// An erasure made at the region reaches a PostgreSQL hub by sync, and the erased text leaves
    /// every file of the hub's database once the server has written its pages (CHECKPOINT): the
    /// dead row versions of the log and of the read models folded from it are vacuumed. (What
    /// stays in WAL segments until they are recycled is in docs/privacy.md.)
    @Test(arguments: servers)
    func anErasureSyncedToAPostgreSQLHubLeavesNoErasedByteInItsTableFiles(_ server: String) async throws {
        let concord = try ConcordExecutable.locate()
        let directory = try TemporaryDirectory("pg-erasure")
        let marker = "Victim Ana Popescu " + UUID().uuidString
        try await PostgresTestDatabase.with { location in
            let hub = location.description
            func ok(_ arguments: [String], store: String) throws -> String {
                let result = try concord.run(arguments + ["--store", store], environment: ["CONCORD_ACTOR": "officer"])
                #expect(result.status == 0, "\(arguments) on \(store): \(result.stderr)")
                return result.stdout
            }
            let region = directory.file("wy.sqlite")
            _ = try ok(["init", "--hub", "--node", "national-hub", "--share-default", "full"], store: hub)
            _ = try ok(["init", "--node", "wy"], store: region)
            _ = try ok(["token", "issue", "wy", "--out", directory.file("wy.token")], store: hub)
            let server = try ServerProcess(concord, store: hub)
            defer { server.stop() }
            _ = try ok(["peer", "add", "hub", server.url, "--token-file", directory.file("wy.token")], store: region)
            _ = try ok(["case", "open", "WY-1", "--title", "Car wash", "--region", "West Yorkshire"], store: region)
            _ = try ok(["case", "note", "WY-1", marker], store: region)
            _ = try ok(["sync", "hub"], store: region)
            #expect(try ok(["log", "--json"], store: hub).contains(marker))

            // The database's own files, as the server wrote them.
            let dataDirectory = try #require(try await PostgresAdmin.values("SHOW data_directory", on: location).first ?? nil)
            let databaseOID = try #require(try await PostgresAdmin.values("SELECT oid::text FROM pg_database WHERE datname = current_database()", on: location).first ?? nil)
            func filesHolding(_ text: String) throws -> [String] {
                let base = "\(dataDirectory)/base/\(databaseOID)"
                return try FileManager.default.contentsOfDirectory(atPath: base).filter { name in
                    (FileManager.default.contents(atPath: "\(base)/\(name)") ?? Data()).range(of: Data(text.utf8)) != nil
                }
            }
            try await PostgresAdmin.execute(["CHECKPOINT"], on: location)
            #expect(try !filesHolding(marker).isEmpty, "the test must see the text in the table files before the erasure")

            _ = try ok(["erase", "case:WY-1", "--reason", "retention review"], store: region)
            _ = try ok(["sync", "hub"], store: region)
            #expect(try !ok(["log", "--json"], store: hub).contains(marker))
            try await PostgresAdmin.execute(["CHECKPOINT"], on: location)
            #expect(try filesHolding(marker) == [], "the erased text is still in the hub's table files")
            #expect(try ok(["verify"], store: hub).hasPrefix("OK: "))
        }
    }

    /// A hub that scales out: two `concord serve` processes on one PostgreSQL database, each
    /// region syncing with its own. Events, late openings, an erasure and the hub's checkpoints
    /// reach every region through whichever process it talks to, and every copy ends with the
    /// same digest.
    @Test(arguments: servers)
    func twoServeProcessesOnOneDatabaseServeOneNetwork(_ server: String) async throws {
        let concord = try ConcordExecutable.locate()
        let directory = try TemporaryDirectory("pg-two-hubs")
        let victim = "Victim Ion Popescu " + UUID().uuidString
        try await PostgresTestDatabase.with { location in
            let hub = location.description
            func ok(_ arguments: [String], store: String) throws -> String {
                let result = try concord.run(arguments + ["--store", store], environment: ["CONCORD_ACTOR": "officer"])
                #expect(result.status == 0, "\(arguments) on \(store): \(result.stderr)")
                return result.stdout
            }
            func region(_ name: String) -> String { directory.file("\(name).sqlite") }
            // Need to know: the hub gives each region stubs of the other's cases until a rule grants them.
            _ = try ok(["init", "--hub", "--node", "national-hub", "--share-default", "stubs"], store: hub)
            let first = try ServerProcess(concord, store: hub)
            defer { first.stop() }
            let second = try ServerProcess(concord, store: hub)
            defer { second.stop() }
            for (name, process) in [("wy", first), ("gm", second)] {
                _ = try ok(["init", "--node", name], store: region(name))
                _ = try ok(["token", "issue", name, "--out", directory.file("\(name).token")], store: hub)
                _ = try ok(["peer", "add", "hub", process.url, "--token-file", directory.file("\(name).token")], store: region(name))
            }
            _ = try ok(["case", "open", "WY-1", "--title", "Car wash", "--region", "West Yorkshire"], store: region("wy"))
            _ = try ok(["case", "note", "WY-1", victim], store: region("wy"))
            _ = try ok(["case", "open", "GM-1", "--title", "Nail bar", "--region", "Greater Manchester"], store: region("gm"))
            for name in ["wy", "gm", "wy", "gm"] { _ = try ok(["sync", "hub"], store: region(name)) }
            func log(_ name: String) throws -> String { try ok(["log", "--json"], store: region(name)) }
            let gmLog = try log("gm")
            #expect(gmLog.contains("case:WY-1") && !gmLog.contains(victim), "gm holds West Yorkshire's case as stubs")

            // A rule widened on the hub (by a third process): the openings reach gm through the
            // second process, though wy pushed them to the first.
            _ = try ok(["share", "add", "gm", "region:West Yorkshire"], store: hub)
            _ = try ok(["sync", "hub"], store: region("gm"))
            #expect(try log("gm").contains(victim), "the late openings reached gm through the other process")

            // An erasure made at wy, pushed to the first process, reaches gm through the second.
            _ = try ok(["erase", "case:WY-1", "--reason", "retention review"], store: region("wy"))
            for name in ["wy", "gm", "wy"] { _ = try ok(["sync", "hub"], store: region(name)) }
            let (gmAfter, hubAfter) = (try log("gm"), try ok(["log", "--json"], store: hub))
            #expect(!gmAfter.contains(victim) && !hubAfter.contains(victim))
            // gm holds what the hub holds, openings included (wy holds Greater Manchester's case as
            // stubs, so its read models differ, as need to know means them to).
            let digests = try [hub, region("gm")].map { try ok(["digest"], store: $0) }
            #expect(Set(digests).count == 1, "digests differ: \(digests)")

            // Both processes sign with the hub's one key. Two checkpoint commands at once after
            // new events: the signer is locked, so both print the one checkpoint stored, not two
            // of one number; the hub's checkpoints are numbered 1, 2, … each saying something new,
            // and reach gm through the second process.
            _ = try ok(["case", "note", "GM-1", "a note"], store: region("gm"))
            _ = try ok(["sync", "hub"], store: region("gm"))
            let racers = try (0..<2).map { _ in try concord.start(["checkpoint", "--json", "--store", hub]) }
            let printed = racers.map { process, output in
                let text = String(decoding: output.readDataToEndOfFile(), as: UTF8.self)
                process.waitUntilExit()
                return text
            }
            #expect(printed[0] == printed[1] && printed[0].hasPrefix(#"{"kind":"checkpoint""#), "\(printed)")
            let ours = try ok(["checkpoint", "--list", "--json"], store: hub).split(separator: "\n").map { try JSONValue(parsing: String($0)) }
                .filter { $0["node"] == .string("national-hub") }
            #expect(ours.map { $0["number"] } == (1...max(1, ours.count)).map { .number(String($0)) }, "\(ours)")
            #expect(Set(ours.map { $0["heads"] }).count == ours.count, "each of the hub's checkpoints says something new")
            _ = try ok(["sync", "hub"], store: region("gm"))
            #expect(try ok(["checkpoint", "--list", "--json"], store: region("gm")).contains(printed[0]), "the hub's newest checkpoint reached gm")
            for store in [hub, region("wy"), region("gm")] { #expect(try ok(["verify"], store: store).hasPrefix("OK: ")) }
        }
    }

    @Test(arguments: servers)
    func theDemoHubMovesToPostgreSQLAndBackWithEqualDigestsCheckpointsAndWebView(_ server: String) async throws {
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
            // The checkpoints went with the record both ways, each checked again by the copy.
            let checkpoints = try [hub, location.description, back].map { try concord.run(["checkpoint", "--list", "--json", "--store", $0]).stdout }
            #expect(checkpoints[0] == checkpoints[1] && checkpoints[1] == checkpoints[2] && checkpoints[0].contains(#""node":"national-hub""#))
            // The copies (each a node of its own, holding the demo hub's record and checkpoints)
            // show the same web view; the demo's own hub names its events' node as its own.
            try await Self.theWebViewShowsTheSame(concord, on: [back, location.description])

            // verify --against compares a PostgreSQL hub with another copy as it does a file: the
            // same record agrees, the other copy's checkpoints counted too; a copy holding more
            // (an event recorded on the copy back) is named BEHIND (exit 3), nothing a fault.
            let agreed = try concord.run(["verify", "--store", location.description, "--against", hub])
            #expect(agreed.status == 0 && agreed.stdout.hasPrefix("OK: "), "\(agreed.stdout) \(agreed.stderr)")
            let appended = try concord.run(["append", "notes:pg-against", "note.added", "--data", #"{"note":"after the copy"}"#, "--store", back])
            #expect(appended.status == 0, "\(appended.stderr)")
            let behind = try concord.run(["verify", "--store", location.description, "--against", back])
            #expect(behind.status == 3 && behind.stdout.contains("BEHIND origin ") && behind.stdout.contains("this copy holds none, the other 1…1") && !behind.stdout.contains("FAULT"), "\(behind.stdout) \(behind.stderr)")
        }
    }

    /// The web view served from each store (a file and PostgreSQL, holding the same record)
    /// shows the same pages to the same peer: every list and its CSV, a stream's timeline, what
    /// changed, a past view; and each overview verifies its store and finds no fault.
    static func theWebViewShowsTheSame(_ concord: ConcordExecutable, on stores: [String]) async throws {
        // Redirects not followed: a page that sends the reader to sign in fails the test.
        let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(redirectConfiguration: .disallow))
        do {
            var pages: [[String: String]] = []
            for store in stores {
                // A peer given everything, its read-only token issued by each store.
                let token = try #require(try concord.run(["token", "issue", "web-auditor", "--read-only", "--store", store]).stdout.split(separator: "\n").last.map(String.init))
                #expect(try concord.run(["share", "add", "web-auditor", "all", "--store", store]).status == 0)
                let server = try ServerProcess(concord, store: store)
                defer { server.stop() }
                var got: [String: String] = [:]
                let paths = ReadModelListing.Kind.allCases.flatMap { ["/view/\($0.rawValue)", "/view/\($0.rawValue).csv"] }
                    + ["/view/stream/meeting:NATN-2016-03", "/view/changes", "/view/cases?as_of=2016-04-01", "/view/cases?seen_by=national-hub", "/view"]
                for path in paths {
                    var request = HTTPClientRequest(url: server.url + path)
                    request.headers.add(name: "Cookie", value: "concord_view=\(token)")
                    let response = try await http.execute(request, timeout: .seconds(60))
                    let body = String(buffer: try await response.body.collect(upTo: 32 << 20))
                    #expect(response.status.code == 200, "\(path) on \(store): \(response.status) \(body.prefix(300))")
                    got[path] = body
                }
                let overview = got.removeValue(forKey: "/view") ?? ""
                #expect(overview.contains("Origin") && !overview.contains("FAULT"), "overview on \(store): \(overview.prefix(600))")
                pages.append(got)
            }
            for (path, body) in pages[0].sorted(by: { $0.key < $1.key }) {
                #expect(body == pages[1][path], "\(path) differs between \(stores[0]) and \(stores[1])")
                #expect(body.count > 30, "\(path) is nearly empty")
            }
        } catch {
            try? await http.shutdown()
            throw error
        }
        try await http.shutdown()
    }

    /// `concord demo --hub-store postgres://…` tells the whole story with its hub in PostgreSQL:
    /// the hub records its meeting there, the regions sync with a real `serve` process on it,
    /// every node ends with one digest and verifies after the erasure, and what is left in the
    /// database is a hub `verify` passes, whose origin is the key the demo left in its directory.
    @Test(arguments: servers)
    func theDemoTellsItsStoryWithItsHubInPostgreSQL(_ server: String) async throws {
        let concord = try ConcordExecutable.locate()
        let directory = try TemporaryDirectory("pg-demo")
        try await PostgresTestDatabase.with { location in
            let demo = try concord.run(["demo", "--dir", directory.file("demo"), "--cases", "10", "--hub-store", location.description])
            #expect(demo.status == 0, "\(demo.stderr)")
            let lines = demo.stdout.split(separator: "\n")
            #expect(lines.contains { $0.hasPrefix("national-hub ") && $0.contains("(in \(location))") }, "\(demo.stdout.prefix(600))")
            // Section 6: the same read models on all four nodes.
            let section6 = lines.filter { $0.contains(" digest ") && !$0.contains("verifies") && !$0.hasPrefix("concord") }
            #expect(Set(section6.map { $0.split(separator: " ").last! }).count == 1 && section6.count == 4, "\(section6)")
            // After the erasure every node verifies, shows it erased, and agrees.
            let after = lines.filter { $0.contains("verifies: yes") && $0.contains("title: [erased]") }
            #expect(after.count == 4 && Set(after.map { $0.split(separator: " ").last! }).count == 1, "\(after)")
            #expect(demo.stdout.contains("The edit is caught") && demo.stdout.contains("CONCORD_HUB_KEY_FILE=\(directory.file("demo/national-hub.key")) concord serve --store \(location)"))

            #expect(try concord.run(["verify", "--store", location.description]).status == 0)
            let status = try concord.run(["status", "--json", "--store", location.description], environment: ["CONCORD_HUB_KEY_FILE": directory.file("demo/national-hub.key")])
            let hub = try JSONValue(parsing: status.stdout)
            let checkpoints = try concord.run(["checkpoint", "--list", "--json", "--store", location.description]).stdout
            #expect(hub["events"] != .number("0") && hub["origin"]?.stringValue.map { checkpoints.contains($0) } == true, "\(status.stdout) \(status.stderr)")
            let mode = try FileManager.default.attributesOfItem(atPath: directory.file("demo/national-hub.key"))[.posixPermissions] as? Int
            #expect(mode == 0o600)

            // --hub-store names a database, or nothing is made.
            let notADatabase = try concord.run(["demo", "--dir", directory.file("other"), "--hub-store", directory.file("hub.sqlite")])
            #expect(notADatabase.status == 64 && notADatabase.stderr.contains("--hub-store is a PostgreSQL database"), "\(notADatabase.stderr)")
            #expect(!FileManager.default.fileExists(atPath: directory.file("other")) && !FileManager.default.fileExists(atPath: directory.file("hub.sqlite")))
        }
    }

    /// A hub's log, export, import and read-model commands work on a PostgreSQL store as on a
    /// file: the demo hub's export imported into both gives the same log, digest, queries, shown
    /// streams and decision trails, and exports (whole and for one peer) byte for byte equal to
    /// it; a tampered file stores nothing.
    @Test(arguments: servers)
    func hubCommandsWorkOnAPostgreSQLStoreAsOnAFile(_ server: String) async throws {
        let concord = try ConcordExecutable.locate()
        let directory = try TemporaryDirectory("pg-exchange")
        #expect(try concord.run(["demo", "--dir", directory.file("demo"), "--cases", "40"]).status == 0)
        let original = directory.file("hub.ndjson")
        #expect(try concord.run(["export", "--out", original, "--store", directory.file("demo/national-hub.sqlite")]).status == 0)
        let exported = try String(contentsOfFile: original, encoding: .utf8)
        try await PostgresTestDatabase.with { location in
            let file = directory.file("fresh.sqlite")
            let stores = [location.description, file]
            func ok(_ arguments: [String], _ store: String, stdin: String? = nil) throws -> String {
                let result = try concord.run(arguments + ["--store", store], stdin: stdin)
                #expect(result.status == 0, "\(arguments) on \(store): \(result.stderr)")
                return result.stdout
            }
            // What a backend cannot make is refused before anything is made: a PostgreSQL store
            // is a hub's; --app-role is a PostgreSQL role.
            let notAHub = try concord.run(["init", "--node", "national-hub", "--share-default", "stubs", "--store", location.description])
            #expect(notAHub.status == 64 && notAHub.stderr.contains("a PostgreSQL store is a hub's: add --hub"), "\(notAHub.stderr)")
            let roleOnAFile = try concord.run(["init", "--hub", "--node", "national-hub", "--share-default", "stubs", "--app-role", "concord_app", "--store", file])
            #expect(roleOnAFile.status == 64 && roleOnAFile.stderr.contains("--app-role is for a PostgreSQL store"), "\(roleOnAFile.stderr)")
            #expect(!FileManager.default.fileExists(atPath: file))
            #expect(try concord.run(["status", "--store", location.description]).status != 0, "no hub was made in the database")

            let made = try stores.map { try ok(["init", "--hub", "--node", "national-hub", "--share-default", "stubs"], $0) }
            #expect(made[0].contains("Created hub 'national-hub' in \(location)") && made[0].contains("Its checkpoints are signed with the key in "), "\(made[0])")
            #expect(made[1].contains("Created node 'national-hub' in \(file)") && made[1].contains("key     \(file).key"), "\(made[1])")
            for output in made { #expect(output.contains("Peers without sharing rules of their own receive: only stubs"), "\(output)") }
            // What only a region's file does is refused on the hub's database, saying so, and
            // changes nothing there.
            let before = try ok(["status", "--json"], location.description)
            for arguments in [["sync", "http://127.0.0.1:9", "--token", "concord_x"], ["peer", "add", "hub", "http://127.0.0.1:9", "--token", "concord_x"], ["peer", "list"], ["reseal"]] {
                let refused = try concord.run(arguments + ["--store", location.description])
                #expect(refused.status == 65 && refused.stderr.contains("syncs out to none: every command runs on it but sync, peer and reseal"), "\(arguments): \(refused.stderr)")
            }
            #expect(try ok(["status", "--json"], location.description) == before)

            // One changed byte in an event's data: refused, naming the fault, and nothing stored.
            let tampered = directory.file("tampered.ndjson")
            let line = try #require(exported.split(separator: "\n").firstIndex { $0.contains(#""kind":"event""#) && $0.contains("West Yorkshire") })
            var lines = exported.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            lines[line] = lines[line].replacing("West Yorkshire", with: "West Yorkshira")
            try lines.joined(separator: "\n").write(toFile: tampered, atomically: true, encoding: .utf8)
            let refused = try concord.run(["import", tampered, "--store", location.description])
            #expect(refused.status != 0 && refused.stderr.contains("does not match its hash"), "\(refused.stderr)")
            #expect(try ok(["log"], location.description) == "No events yet.\n")

            let imported = try stores.map { try ok(["import", original], $0) }
            #expect(imported[0] == imported[1] && imported[0].hasPrefix("Imported "), "\(imported)")
            #expect(try ok(["digest"], stores[0]) == (try ok(["digest"], stores[1])))
            let prefix = String(try #require(exported.firstRange(of: #""origin":""#).map { exported[$0.upperBound...].prefix(6) }))
            for arguments in [["log", "--json"], ["log", "--json", "--limit", "7", "--type", "case.note-added"], ["log", "--origin", prefix, "--limit", "20"]] {
                let logs = try stores.map { try ok(arguments, $0) }
                #expect(logs[0] == logs[1] && logs[0].count > 100, "\(arguments)")
            }
            // The events alike; both keep the demo's checkpoints and sign their own after the
            // import, each with its own key (PostgreSQL's from the key file init --hub made).
            for store in stores {
                let export = try ok(["export"], store)
                #expect(ExportText.eventPart(export) == ExportText.eventPart(exported), "export of \(store)")
                #expect(ExportText.checkpoints(export).count == ExportText.checkpoints(exported).count + 1, "checkpoints of \(store)")
            }
            let forWY = try stores.map { ExportText.eventPart(try ok(["export", "--for", "west-yorkshire"], $0)) }
            #expect(forWY[0] == forWY[1] && forWY[0] != ExportText.eventPart(exported) && forWY[0].split(separator: "\n").count == ExportText.eventPart(exported).split(separator: "\n").count)

            // Sharing rules are set on either store by the same commands, with the same effect.
            for store in stores {
                _ = try ok(["share", "add", "west-yorkshire", "kind:meeting", "region:West Yorkshire"], store)
                _ = try ok(["share", "local", "meeting:NATN-2016-03"], store)
                _ = try ok(["share", "remove", "west-yorkshire", "kind:meeting"], store)
            }
            for arguments in [["share", "list", "--json"], ["share", "explain", "west-yorkshire", "meeting:NATN-2016-03"], ["export", "--for", "west-yorkshire"]] {
                let answers = try stores.map { ExportText.eventPart(try ok(arguments, $0)).isEmpty ? try ok(arguments, $0) : ExportText.eventPart(try ok(arguments, $0)) }
                #expect(answers[0] == answers[1] && answers[0].count > 40, "\(arguments): \(answers[0].prefix(300)) | \(answers[1].prefix(300))")
            }
            #expect(try ok(["share", "list"], stores[0]).contains("west-yorkshire: region:West Yorkshire"))
            #expect(try ok(["export", "--for", "west-yorkshire"], stores[0]) != forWY[0], "the rules changed what goes")
            let unknown = try concord.run(["share", "remove", "west-yorkshire", "kind:case", "--store", location.description])
            #expect(unknown.status != 0 && unknown.stderr.contains("has no rule kind:case"), "\(unknown.stderr)")

            // The read models answer alike: the same rows in the same order (text by code point).
            let cases = try ok(["query", "cases", "--json"], file)
            let firstLine = try #require(cases.split(separator: "\n").first)
            let firstCase = try #require(try JSONValue(parsing: String(firstLine))["case_id"]?.stringValue)
            for arguments in [
                ["query", "cases", "--json"], ["query", "cases", "--region", "West Yorkshire"], ["query", "meetings", "--json"],
                ["query", "decisions", "--json"], ["query", "actions", "--json"], ["query", "actions", "--overdue"], ["query", "conflicts", "--json"],
                ["show", "case:\(firstCase)", "--json"], ["show", "meeting:NATN-2016-03"], ["trail", "NATN-2016-03-D2", "--json"], ["trail", "NATN-2016-03-D2"],
            ] {
                let answers = try stores.map { try ok(arguments, $0) }
                #expect(answers[0] == answers[1] && (answers[0].count > 40 || arguments[1] == "conflicts"), "\(arguments): \(answers[0].prefix(300)) | \(answers[1].prefix(300))")
            }
            // Rebuilt from the log, the read models are what they were, on either store.
            let digest = try ok(["digest"], stores[0])
            let rebuilt = try stores.map { try ok(["projections", "rebuild"], $0).replacing(/in \d+ ms/, with: "") }
            #expect(rebuilt[0] == rebuilt[1] && rebuilt[0].hasPrefix("Rebuilt the read models from "), "\(rebuilt)")
            #expect(try stores.map { try ok(["digest"], $0) } == [digest, digest])
            let status = try ok(["projections", "status"], stores[0])
            #expect(status.contains("state     current") && status.contains("version   \(ReadModelSchema.version)"), "\(status)")

            // Past views are replays by the same engine on either store: the same answers.
            for arguments in [
                ["query", "cases", "--valid-at", "2016-03-10", "--json"], ["query", "decisions", "--valid-at", "2016-03-10"],
                ["query", "cases", "--as-of", "2016-04-01"], ["query", "cases", "--as-of", "2100-01-01", "--json"],
                ["show", "meeting:NATN-2016-03", "--valid-at", "2016-03-31"], ["trail", "NATN-2016-03-D2", "--valid-at", "2016-03-10"],
                ["digest", "--valid-at", "2016-03-10"], ["digest", "--as-of", "2016-04-01"], ["digest", "--as-of", "2100-01-01"],
            ] {
                let answers = try stores.map { try ok(arguments, $0) }
                #expect(answers[0] == answers[1], "\(arguments): \(answers[0].prefix(300)) | \(answers[1].prefix(300))")
            }
            #expect(try ok(["digest", "--as-of", "2100-01-01"], stores[0]) == digest)
            // replay names each step's node by the same rule on either store (from the same
            // checkpoints, so the same names, self-asserted alike).
            let replayed = try stores.map { try ok(["replay", "meeting:NATN-2016-03"], $0) }
            #expect(replayed[0] == replayed[1] && replayed[0].contains("meeting.scheduled"), "\(replayed[0].prefix(400)) | \(replayed[1].prefix(400))")
            #expect(try ok(["digest", "--valid-at", "2016-03-10"], stores[0]) != digest)

            // verify checks the read models on a PostgreSQL store as on a file: a row edited with
            // psql is named by table and key, and a rebuild makes them the fold of the log again.
            #expect(try concord.run(["verify", "--store", location.description]).status == 0)
            try await PostgresAdmin.execute(["UPDATE cases SET title = 'Edited' WHERE case_id = '\(firstCase)'"], on: location)
            let edited = try concord.run(["verify", "--store", location.description])
            #expect(edited.status == 1 && edited.stdout.contains("FAULT read model table cases row (case_id=\(firstCase)): changed"), "\(edited.stdout)")
            _ = try ok(["projections", "rebuild"], location.description)
            #expect(try concord.run(["verify", "--store", location.description]).status == 0)

            // append records on either, as the store's own origin (the hub's: its key file), and
            // what it recorded verifies; a stale --expected-version stores nothing (exit 75).
            for store in stores {
                let recorded = try ok(["append", "notes:secretariat", "note.added", "--data", #"{"text":"minutes published"}"#, "--actor", "secretariat", "--expected-version", "0", "--json"], store)
                #expect(recorded.contains(#""stream":"notes:secretariat""#) && recorded.contains(#""seq":1"#), "\(recorded)")
                let stale = try concord.run(["append", "notes:secretariat", "note.added", "--data", "{}", "--actor", "secretariat", "--expected-version", "0", "--store", store])
                #expect(stale.status == 75 && stale.stderr.contains("is at version 1"), "\(stale.stderr)")
                #expect(try concord.run(["verify", "--store", store]).status == 0)
                #expect(try ok(["log", "--type", "note.added", "--json"], store).split(separator: "\n").count == 1)
            }
            // The national secretariat keeps its meetings on the hub it runs: case, meeting and
            // action record on either store through one recorder, the same rules refuse the same
            // commands with the same words, what they recorded reads back alike and verifies.
            let recording = ["--actor", "secretariat", "--occurred-at", "2016-09-14T11:00Z"]
            for store in stores {
                _ = try ok(["meeting", "schedule", "NATN-2016-09", "--title", "Autumn meeting", "--at", "2016-09-14T10:00Z", "--location", "Home Office, London"] + recording, store)
                _ = try ok(["meeting", "decide", "NATN-2016-09", "NATN-2016-09-D1", "Every region reports quarterly"] + recording, store)
                _ = try ok(["action", "raise", "NATN-2016-09-A1", "--title", "First quarterly report", "--owner", "West Yorkshire", "--decision", "NATN-2016-09-D1"] + recording, store)
                _ = try ok(["case", "open", "HUB-2016-0001", "--title", "Referral received by the hub", "--region", "West Yorkshire"] + recording, store)
                _ = try ok(["case", "status", "HUB-2016-0001", "referred"] + recording, store)
            }
            for (arguments, code, words) in [
                (["meeting", "decide", "NATN-2016-09", "NATN-2016-09-D1", "again"], Int32(68), "decision NATN-2016-09-D1 is already recorded on meeting NATN-2016-09"),
                (["action", "raise", "NATN-2016-09-A2", "--title", "t", "--owner", "o", "--decision", "NATN-2016-09-D9"], 67, "no decision NATN-2016-09-D9"),
                (["case", "note", "HUB-2016-0002", "a note"], 67, "no case HUB-2016-0002"),
            ] {
                for store in stores {
                    let refused = try concord.run(arguments + ["--store", store], environment: ["CONCORD_ACTOR": "officer"])
                    #expect(refused.status == code && refused.stderr.contains(words), "\(arguments) on \(store): \(refused.status) \(refused.stderr)")
                }
            }
            for arguments in [["query", "decisions", "--meeting", "NATN-2016-09"], ["query", "actions", "--json"], ["query", "cases", "--region", "West Yorkshire"]] {
                let answers = try stores.map { try ok(arguments, $0) }
                #expect(answers[0] == answers[1] && answers[0].contains("2016-09"), "\(arguments): \(answers[0].prefix(300)) | \(answers[1].prefix(300))")
            }
            for store in stores {
                #expect(try concord.run(["verify", "--store", store]).status == 0)
                #expect(try ok(["log", "--stream", "case:HUB-2016-0001", "--json"], store).split(separator: "\n").count == 2)
            }
            // import --new records a file's events on either, in one commit: a bad line stores
            // nothing (the same words on both), a good file is recorded whole and verifies.
            let minuteLines = (1...3).map { #"{"stream":"minutes:NATN-2016-09","type":"minutes.line","data":{"n":\#($0)},"actor":"secretariat","occurred_at":"2016-09-14T12:00Z"}"# }
            for store in stores {
                let before = try ok(["status", "--json"], store)
                let bad = try concord.run(["import", "--new", "-", "--store", store], stdin: minuteLines[0] + "\n" + #"{"stream":"minutes:NATN-2016-09","data":{}}"# + "\n")
                #expect(bad.status == 65 && bad.stderr.contains("line 2"), "\(store): \(bad.status) \(bad.stderr)")
                #expect(try ok(["status", "--json"], store) == before, "\(store): a refused file changed the store")
                #expect(try ok(["import", "--new", "-"], store, stdin: minuteLines.joined(separator: "\n") + "\n").hasPrefix("Recorded 3 event(s)"))
                #expect(try concord.run(["verify", "--store", store]).status == 0)
            }
            let minutes = try stores.map { try ok(["log", "--stream", "minutes:NATN-2016-09", "--json"], $0).split(separator: "\n").map { try JSONValue(parsing: String($0))["data"] } }
            #expect(minutes[0] == minutes[1] && minutes[0].count == 3, "\(minutes)")

            // erase on either, by one rule: what this store's origin recorded is erased (and
            // leaves its log), what another origin recorded is refused with the same words.
            let regionEvent = try JSONValue(parsing: String(try ok(["log", "--stream", "case:\(firstCase)", "--json"], stores[0]).split(separator: "\n")[0]))
            guard case .number(let regionSeq)? = regionEvent["seq"], let regionOrigin = regionEvent["origin"]?.stringValue else { Issue.record("\(regionEvent)"); return }
            let regionEventID = "\(regionOrigin):\(regionSeq)"
            for store in stores {
                let erased = try ok(["erase", "case:HUB-2016-0001", "--reason", "recorded in error", "--actor", "dpo"], store)
                #expect(erased.hasPrefix("Erased the data of 2 event(s)"), "\(store): \(erased)")
                #expect(try !ok(["log", "--json"], store).contains("Referral received by the hub"))
                let theirs = try concord.run(["erase", "case:\(firstCase)", "--reason", "r", "--store", store])
                #expect(theirs.status == 65 && theirs.stderr.contains("nothing to erase") && theirs.stderr.contains("recorded by other origins"), "\(store): \(theirs.stderr)")
                let theirEvent = try concord.run(["erase", regionEventID, "--reason", "r", "--store", store])
                #expect(theirEvent.status == 65 && theirEvent.stderr.contains("only the node that recorded an event may erase it"), "\(store): \(theirEvent.stderr)")
                #expect(try concord.run(["verify", "--store", store]).status == 0)
            }
            let erasedCase = try stores.map { try ok(["query", "cases", "--json"], $0).split(separator: "\n").filter { $0.contains("HUB-2016-0001") }.joined() }
            #expect(erasedCase[0] == erasedCase[1] && erasedCase[0].contains("[erased]") && !erasedCase[0].contains("Referral received"), "\(erasedCase[0].prefix(400))")
        }
    }
}
