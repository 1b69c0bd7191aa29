import AsyncHTTPClient
import ConcordCore
@testable import ConcordSQLite
import ConcordTestSupport
import Foundation
import NIOCore
import Testing

/// The gates, tried from outside with the real binary, the real store and real rules, as a
/// partner, an insider with sqlite3 and an auditor would (docs/threat-model.md): the one
/// disclosure decision in front of every reader, and a verify that trusts only the log and what
/// is signed, and changes nothing.
struct GateTests {
    let concord: ConcordExecutable
    let directory: TemporaryDirectory
    static let victim = "Ana Popescu"

    init() throws {
        concord = try ConcordExecutable.locate()
        directory = try TemporaryDirectory("gates")
    }

    func store(_ node: String) -> String { directory.file("\(node).sqlite") }

    @discardableResult
    func run(_ node: String, _ arguments: [String], expect status: Int32 = 0, sourceLocation: SourceLocation = #_sourceLocation) throws -> ConcordExecutable.Result {
        let result = try concord.run(arguments + ["--store", store(node)], environment: ["CONCORD_ACTOR": "officer@\(node)"])
        #expect(result.status == status, "\(node) \(arguments): \(result.stdout)\(result.stderr)", sourceLocation: sourceLocation)
        return result
    }

    /// A hub whose default gives everything, holding a case with a victim's name in its note and
    /// a meeting; west-yorkshire has a rule of its own, meetings only.
    func hubWithAWithholdingRule() throws {
        try run("hub", ["init", "--node", "hub"])
        try run("hub", ["case", "open", "WY-2016-0012", "--title", "Car wash", "--region", "West Yorkshire"])
        try run("hub", ["case", "note", "WY-2016-0012", "Victim: \(Self.victim)"])
        try run("hub", ["meeting", "schedule", "NATN-2016-03", "--title", "First national meeting", "--at", "2016-03-09T10:30Z", "--location", "Home Office, London"])
        try run("hub", ["share", "default", "full"])
        try run("hub", ["share", "add", "west-yorkshire", "kind:meeting"])
    }

    /// The SHA-256 of a file's content; a missing file reads as empty (a reader may create a
    /// store's empty `-wal` companion, as any SQLite reader does: no content changes).
    func sha256(_ path: String) -> String {
        EventHash.sha256(Array(FileManager.default.contents(atPath: path) ?? Data())).hex
    }

    // MARK: One disclosure decision

    @Test func theWebViewLetsInNoPeerWhoseOwnRulesWithholdCasesAndShowsItNothing() async throws {
        try hubWithAWithholdingRule()
        let limited = String(try run("hub", ["token", "issue", "west-yorkshire", "--read-only"]).stdout.split(separator: "\n").last ?? "")
        let auditor = String(try run("hub", ["token", "issue", "auditor", "--read-only"]).stdout.split(separator: "\n").last ?? "")
        let server = try ServerProcess(concord, store: store("hub"))
        defer { server.stop() }
        let http = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: .init(redirectConfiguration: .disallow))
        do {
            func get(_ path: String, token: String) async throws -> (status: UInt, cacheControl: String?, body: String) {
                var request = HTTPClientRequest(url: server.url + path)
                request.headers.add(name: "Cookie", value: "concord_view=\(token)")
                let response = try await http.execute(request, timeout: .seconds(60))
                let body = try await response.body.collect(upTo: 16 << 20)
                return (response.status.code, response.headers.first(name: "Cache-Control"), String(buffer: body))
            }
            // Sign-in: the form's CSRF token, then the post with the limited peer's token.
            let form = try await http.execute(HTTPClientRequest(url: server.url + "/view/login"), timeout: .seconds(60))
            let csrfCookie = form.headers.first(name: "Set-Cookie")?.split(separator: ";").first.map(String.init) ?? ""
            let page = String(buffer: try await form.body.collect(upTo: 1 << 20))
            let csrf = page.firstRange(of: #"name="csrf" value=""#).map { String(page[$0.upperBound...].prefix(32)) } ?? ""
            var login = HTTPClientRequest(url: server.url + "/view/login")
            login.method = .POST
            login.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
            login.headers.add(name: "Cookie", value: csrfCookie)
            login.body = .bytes(ByteBuffer(string: "token=\(limited)&csrf=\(csrf)"))
            let refused = try await http.execute(login, timeout: .seconds(60))
            #expect(refused.status.code == 403)
            #expect(!(refused.headers.first(name: "Set-Cookie") ?? "").contains("concord_view="))
            #expect(String(buffer: try await refused.body.collect(upTo: 1 << 20)).contains("sharing rules withhold"))

            // Its token in a cookie opens no page, list, CSV or bundle, and none carries the case.
            for path in ["/view", "/view/cases", "/view/cases.csv", "/view/stream/case:WY-2016-0012", "/view/bundle", "/view/changes"] {
                let answer = try await get(path, token: limited)
                #expect(answer.status == 303, "\(path)")
                #expect(!answer.body.contains(Self.victim) && !answer.body.contains("Car wash"), "\(path)")
            }
            // A peer given everything sees the case, in pages no cache keeps.
            for path in ["/view/cases", "/view/cases.csv", "/view/stream/case:WY-2016-0012", "/view/bundle"] {
                let answer = try await get(path, token: auditor)
                #expect(answer.status == 200, "\(path)")
                #expect(answer.cacheControl == "no-store", "\(path)")
                #expect(answer.body.contains("Car wash"), "\(path)")
            }
            // Rules narrowed while the auditor is signed in (by another process): the next page is refused.
            try run("hub", ["share", "add", "auditor", "kind:meeting"])
            #expect(try await get("/view/cases", token: auditor).status == 303)
        } catch {
            try? await http.shutdown()
            throw error
        }
        try await http.shutdown()
    }

    @Test func anAuditBundleWrittenForAPeerHoldsNoWithheldTextAndVerifies() throws {
        try hubWithAWithholdingRule()
        let bundle = directory.file("for-wy.ndjson")
        try run("hub", ["export", "--audit", "--for", "west-yorkshire", "--out", bundle])
        let text = try String(contentsOfFile: bundle, encoding: .utf8)
        #expect(!text.contains(Self.victim) && !text.contains("Car wash"))
        #expect(text.contains("First national meeting"))
        #expect(text.contains(#""kind":"read-models""#))
        // Its digests are of the read models west-yorkshire folds from what it was given.
        let verify = try concord.run(["verify", bundle])
        #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
        #expect(verify.stdout.contains("read-model digest(s) refolded and equal"), "\(verify.stdout)")
        // The whole record's bundle verifies too, and its digests differ from the peer's.
        let whole = directory.file("whole.ndjson")
        try run("hub", ["export", "--audit", "--out", whole])
        #expect(try concord.run(["verify", whole]).status == 0)
        func digests(_ path: String) throws -> [String] {
            try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").filter { $0.contains(#""kind":"read-models""#) }.map(String.init)
        }
        #expect(try digests(bundle).last != digests(whole).last)
    }

    /// An export for no peer in particular goes through the gate too: a stream kept local leaves
    /// this node for no one, in a file no more than in a sync, and the bundle still verifies.
    @Test func anExportForNoPeerKeepsTheStreamsKeptLocal() throws {
        try hubWithAWithholdingRule()
        try run("hub", ["share", "local", "case:WY-2016-0012"])
        for arguments in [["export"], ["export", "--audit"]] {
            let file = directory.file("\(arguments.count).ndjson")
            try run("hub", arguments + ["--out", file])
            let text = try String(contentsOfFile: file, encoding: .utf8)
            #expect(!text.contains(Self.victim) && !text.contains("Car wash"), "\(arguments)")
            #expect(text.contains("First national meeting"))
            #expect(try concord.run(["verify", file]).status == 0, "\(arguments)")
        }
    }

    // MARK: Erasure: only by a signed erasure of the recording origin

    /// A region that recorded a case with a victim's name in two notes, and erased one of them
    /// properly (`concord erase`): event ids of the case's events in seq order.
    func regionWithAnErasure() throws -> (origin: String, note1: UInt64, note2: UInt64) {
        try run("wy", ["init", "--node", "wy"])
        try run("wy", ["case", "open", "WY-1", "--title", "Car wash", "--region", "West Yorkshire"])
        try run("wy", ["case", "note", "WY-1", "Victim: \(Self.victim)"])
        try run("wy", ["case", "note", "WY-1", "Second victim: Ion Ionescu"])
        let lines = try run("wy", ["log", "--json"]).stdout.split(separator: "\n").map { try JSONValue(parsing: String($0)) }
        let origin = lines[0]["origin"]?.stringValue ?? ""
        let seqs = lines.compactMap { line -> UInt64? in if case .number(let n)? = line["seq"] { UInt64(n) } else { nil } }
        try run("wy", ["erase", "\(origin):\(seqs[2])", "--reason", "retention review"])
        #expect(try run("wy", ["verify"]).stdout.hasPrefix("OK: "))
        return (origin, seqs[1], seqs[2])
    }

    @Test func anErasureMadeWithSQLiteIsRefusedByTheFileAndNamedByVerify() throws {
        let (origin, note1, note2) = try regionWithAnErasure()
        let erasure = try #require(try run("wy", ["log", "--json", "--type", "concord.erasure"]).stdout.split(separator: "\n").first.map { try JSONValue(parsing: String($0)) })
        let erasureID = "\(origin):\(erasure["seq"].flatMap { if case .number(let n) = $0 { n } else { nil } } ?? "")"
        let blank = "UPDATE events SET actor = '', causation_id = NULL, correlation_id = NULL, data = '{}', salt = NULL, disclosure = 2"
        let raw = try SQLiteConnection(path: store("wy"), flags: [.readWrite])
        // With the file's triggers standing: refused, whatever erased_by names.
        for erasedBy in [erasureID, "\(origin):\(note2)", "\(origin):1", "x:1", ""] {
            #expect(throws: SQLiteError.self, "erased_by \(erasedBy)") { try raw.execute("\(blank), erased_by = '\(erasedBy)' WHERE origin = '\(origin)' AND seq = \(note1)") }
        }
        #expect(try run("wy", ["verify"]).stdout.hasPrefix("OK: "))
        // An insider drops the trigger and blanks the first note, naming the real erasure (of
        // the second): the hash and chain still verify, the log says no erasure names it.
        try raw.execute("DROP TRIGGER events_refuse_update; \(blank), erased_by = '\(erasureID)' WHERE origin = '\(origin)' AND seq = \(note1)")
        let verify = try run("wy", ["verify"], expect: 1)
        #expect(verify.stdout.contains("FAULT origin \(origin) seq \(note1): erased-without-erasure"), "\(verify.stdout)")
        // And an erasure whose target holds an opening again (a stub put back in its place).
        try raw.execute("UPDATE events SET disclosure = 1, erased_by = NULL WHERE origin = '\(origin)' AND seq = \(note2)")
        let again = try run("wy", ["verify", "--json"], expect: 1)
        #expect(again.stdout.contains(#""seq":\#(note2),"kind":"erasure-not-applied""#), "\(again.stdout)")
    }

    /// A region's store restored from a backup (a new file: a new incarnation) can still erase
    /// what it recorded before, because the key beside it signed a handover; every node that
    /// syncs applies it. Without the key, the new incarnation says so and cannot.
    @Test func aStoreRestoredWithItsKeyCanStillEraseWhatItRecordedBefore() async throws {
        try run("hub", ["init", "--node", "hub"])
        try run("wy", ["init", "--node", "wy"])
        let token = directory.file("wy.token")
        try run("hub", ["token", "issue", "wy", "--out", token])
        let server = try ServerProcess(concord, store: store("hub"))
        defer { server.stop() }
        try run("wy", ["peer", "add", "hub", server.url, "--token-file", token])
        try run("wy", ["case", "open", "WY-1", "--title", "Car wash", "--region", "West Yorkshire"])
        try run("wy", ["case", "note", "WY-1", "Victim: \(Self.victim)"])
        try run("wy", ["sync", "hub"])
        let before = try JSONValue(parsing: try run("wy", ["status", "--json"]).stdout)["origin"]?.stringValue ?? ""

        // Restored from a backup: the same bytes in a new file, with the key file and peers beside it.
        for (suffix, node) in [("", "restored"), (".key", "restored"), (".peers", "restored"), ("", "keyless")] {
            try FileManager.default.copyItem(atPath: store("wy") + suffix, toPath: store(node) + suffix)
        }
        let erased = try run("restored", ["erase", "case:WY-1", "--reason", "retention review"])
        #expect(erased.stderr.contains("starts a new incarnation") && erased.stderr.contains("signed a handover"), "\(erased.stderr)")
        #expect(erased.stdout.contains("Erased the data of 2 event(s)"), "\(erased.stdout)")
        let after = try JSONValue(parsing: try run("restored", ["status", "--json"]).stdout)["origin"]?.stringValue ?? ""
        #expect(after != before && !after.isEmpty)
        #expect(try run("restored", ["verify"]).stdout.hasPrefix("OK: "))
        try run("restored", ["sync", "hub"])
        #expect(!(try run("hub", ["log", "--json"]).stdout.contains(Self.victim)), "the hub applied the later incarnation's erasure")
        #expect(try run("hub", ["verify"]).stdout.hasPrefix("OK: "))
        try run("wy", ["sync", "hub"])
        #expect(!(try run("wy", ["log", "--json"]).stdout.contains(Self.victim)), "the original store applied it too")

        // Without its key the new incarnation cannot erase what the earlier one recorded, and says why.
        let keyless = try run("keyless", ["case", "note", "WY-1", "a later note"])
        #expect(keyless.stderr.contains("starts a new incarnation") && keyless.stderr.contains("no longer erase"), "\(keyless.stderr)")
        let refused = try run("keyless", ["erase", "\(before):2", "--reason", "retention review"], expect: 65)
        #expect(refused.stderr.contains("earlier incarnation of this node") && refused.stderr.contains("no signed handover"), "\(refused.stderr)")
    }

    // MARK: verify derives, never trusts
    // MARK: verify derives, never trusts

    /// A row edited behind the log's back, hidden behind each bookkeeping table the read models
    /// keep: verify folds every stream again and names the row all the same.
    @Test(arguments: ["refold mark", "stale version", "lowered position", "position past the log", "no record", "swapped fold state"])
    func anEditHiddenBehindABookkeepingTableFailsVerify(hiding: String) throws {
        try run("wy", ["init", "--node", "wy"])
        try run("wy", ["case", "open", "WY-1", "--title", "Car wash", "--region", "West Yorkshire"])
        try run("wy", ["case", "status", "WY-1", "charged"])
        try run("wy", ["case", "open", "WY-2", "--title", "Nail bar", "--region", "West Yorkshire"])
        #expect(try run("wy", ["verify"]).stdout.hasPrefix("OK: "))
        let raw = try SQLiteConnection(path: store("wy"), flags: [.readWrite])
        try raw.execute("UPDATE cases SET status = 'closed' WHERE case_id = 'WY-1'")
        switch hiding {
        case "refold mark": try raw.execute("INSERT INTO refold_streams (stream) VALUES ('case:WY-1')")
        case "stale version": try raw.execute("UPDATE projection_state SET version = 1")
        case "lowered position": try raw.execute("UPDATE projection_state SET position = 1")
        case "position past the log": try raw.execute("UPDATE projection_state SET position = 1000000")
        case "no record": try raw.execute("DELETE FROM projection_state")
        default:
            // Each case's kept state put in the other's place (the row edit undone: the states
            // alone are wrong).
            try raw.execute("""
                UPDATE cases SET status = 'charged' WHERE case_id = 'WY-1';
                CREATE TEMP TABLE kept AS SELECT stream, state FROM fold_states;
                UPDATE fold_states SET state = (SELECT state FROM kept WHERE kept.stream = 'case:WY-2') WHERE stream = 'case:WY-1';
                UPDATE fold_states SET state = (SELECT state FROM kept WHERE kept.stream = 'case:WY-1') WHERE stream = 'case:WY-2';
                """)
        }
        let verify = try run("wy", ["verify"], expect: 1)
        #expect(verify.stdout.contains("FAULT read model table "), "\(hiding): \(verify.stdout)")
        if hiding == "swapped fold state" {
            // A swapped state is never used: the next event folds the stream whole, rightly.
            try run("wy", ["case", "note", "WY-1", "a note"])
            let cases = try run("wy", ["query", "cases", "--json"]).stdout
            #expect(cases.contains(#""case_id":"WY-1""#) && cases.contains("Car wash") && cases.contains("Nail bar"))
            let digest = try run("wy", ["digest"]).stdout
            try run("wy", ["projections", "rebuild"])
            #expect(try run("wy", ["digest"]).stdout == digest, "the catch-up after a swapped state wrote what a rebuild writes")
        }
    }

    @Test func verifyLeavesEveryCopyItChecksByteIdentical() throws {
        try run("wy", ["init", "--node", "wy"])
        try run("wy", ["case", "open", "WY-1", "--title", "Car wash", "--region", "West Yorkshire"])
        try run("wy", ["export", "--out", directory.file("wy.ndjson")])
        try run("other", ["init", "--node", "other"])
        try run("other", ["import", directory.file("wy.ndjson")])
        // What a normal open would change: a scrub left pending (it vacuums a store whose free
        // pages were never zeroed, and truncates the WAL) and a peer token still in the file.
        let raw = try SQLiteConnection(path: store("wy"), flags: [.readWrite])
        try raw.execute("""
            INSERT OR REPLACE INTO settings (name, value) VALUES ('scrub_pending', '1');
            DELETE FROM settings WHERE name = 'free_pages_zeroed';
            INSERT INTO peers (name, url, token, added_at) VALUES ('hub', 'http://127.0.0.1:1', 'concord_secret_in_the_file', 0);
            """)
        let files = [store("wy"), store("wy") + "-wal", store("other"), store("other") + "-wal", store("wy") + ".peers"]
        let before = files.map(sha256)
        for arguments in [["verify"], ["verify", "--json"], ["verify", "--against", store("other")], ["verify", store("other")]] {
            let result = try concord.run(arguments + ["--store", store("wy")])
            #expect(result.status == 0, "\(arguments): \(result.stdout)\(result.stderr)")
            #expect(files.map(sha256) == before, "\(arguments) changed a file it checked")
        }
        #expect(try run("wy", ["verify"]).stdout.hasPrefix("OK: "))
    }

    // MARK: The protocol as documented

    /// `concord import` takes compact lines as sync does (docs/sync-protocol.md#compact-lines):
    /// `hash`, `commitment` beside an opening, and `prevHash` after the origin's previous event
    /// line left out; a line whose `prevHash` cannot be known from the lines before it is refused.
    @Test func importTakesCompactLinesAsSyncDoes() throws {
        try run("wy", ["init", "--node", "wy"])
        for index in 1...3 { try run("wy", ["case", "open", "WY-\(index)", "--title", "Case \(index)", "--region", "West Yorkshire"]) }
        let export = directory.file("wy.ndjson")
        try run("wy", ["export", "--out", export])
        func compact(dropping: Set<UInt64> = []) throws -> String {
            try String(contentsOfFile: export, encoding: .utf8).split(separator: "\n").compactMap { text -> String? in
                var object = try JSONValue(parsing: String(text))
                guard object["kind"] == .string("event"), case .object(var fields) = object, case .number(let seqText)? = fields["seq"], let seq = UInt64(seqText) else { return String(text) }
                if dropping.contains(seq) { return nil }
                fields["hash"] = nil
                fields["commitment"] = nil
                if seq > 1 { fields["prevHash"] = nil }
                object = .object(fields)
                return object.canonicalText
            }.joined(separator: "\n") + "\n"
        }
        let file = directory.file("compact.ndjson")
        try compact().write(toFile: file, atomically: true, encoding: .utf8)
        try run("hub", ["init", "--node", "hub"])
        #expect(try run("hub", ["import", file]).stdout.hasPrefix("Imported 3 event(s)"))
        #expect(try run("hub", ["digest"]).stdout == run("wy", ["digest"]).stdout)
        // Event 3's line left without prevHash, after a file from which event 2 was dropped.
        try run("other", ["init", "--node", "other"])
        try compact(dropping: [2]).write(toFile: file, atomically: true, encoding: .utf8)
        let refused = try run("other", ["import", file], expect: 65)
        #expect(refused.stderr.contains("has no field \"prevHash\""), "\(refused.stderr)")
    }

    /// A checkpoint line may be as long in a file as in a sync body (a checkpoint of 10,000
    /// origins passes an event line's limit): what a node can sync and export, it can import.
    @Test func anImportTakesACheckpointLineAsLongAsASyncDoes() throws {
        try run("wy", ["init", "--node", "wy"])
        try run("wy", ["case", "open", "WY-1", "--title", "Car wash", "--region", "West Yorkshire"])
        let export = directory.file("wy.ndjson")
        try run("wy", ["export", "--out", export])
        let signer = NodeKey()
        let heads = (0..<EventLimits.maxOrigins).map { _ in
            Checkpoint.Head(origin: NodeKey().origin, seq: UInt64(Int64.max), hash: EventHash(bytes: (0..<32).map { _ in UInt8.random(in: 0...255) }))
        }.sorted { $0.origin < $1.origin }
        let line = Checkpoint.sign(key: signer, node: "far-hub", number: 1, takenAt: 1_700_000_000_000, heads: heads).exchangeJSON
        #expect(line.utf8.count > EventLimits.maxEventLineBytes)
        let file = directory.file("long.ndjson")
        try (String(contentsOfFile: export, encoding: .utf8) + signer.originKey.exchangeJSON + "\n" + line + "\n").write(toFile: file, atomically: true, encoding: .utf8)
        try run("hub", ["init", "--node", "hub"])
        #expect(try run("hub", ["import", file]).stdout.hasPrefix("Imported 1 event(s)"))
        // Any other kind of line over the limit is refused, naming it.
        let long = directory.file("long-event.ndjson")
        try (#"{"kind":"origin","pad":""# + String(repeating: "x", count: EventLimits.maxEventLineBytes) + "\"}\n").write(toFile: long, atomically: true, encoding: .utf8)
        let refused = try run("hub", ["import", long], expect: 65)
        #expect(refused.stderr.contains("the limit for all but checkpoint lines"), "\(refused.stderr)")
    }
}
