import ConcordCore
@testable import ConcordSQLite
import ConcordSyncProtocol
import ConcordTestSupport
import Foundation
import Testing

/// What an auditor can prove with checkpoints (docs/audit.md), through real `concord` processes:
/// a tail cut together with its seals, equal-length forks on two nodes, read-model rows edited
/// behind the log's back, and "as seen by the hub at T" on an imported copy.
struct AuditTests {
    let concord: ConcordExecutable
    let directory: TemporaryDirectory

    init() throws {
        concord = try ConcordExecutable.locate()
        directory = try TemporaryDirectory("audit")
    }

    func store(_ node: String) -> String { directory.file("\(node).sqlite") }

    @discardableResult
    func run(_ node: String, _ arguments: [String], expect status: Int32 = 0, sourceLocation: SourceLocation = #_sourceLocation) throws -> ConcordExecutable.Result {
        let result = try concord.run(arguments + ["--store", store(node)], environment: ["CONCORD_ACTOR": "officer@\(node)"])
        #expect(result.status == status, "\(node) \(arguments.prefix(4)): exit \(result.status), expected \(status): \(result.stdout) \(result.stderr)", sourceLocation: sourceLocation)
        return result
    }

    func origin(of node: String) throws -> OriginID {
        try OriginID(hex: try JSONValue(parsing: try run(node, ["status", "--json"]).stdout)["origin"]?.stringValue ?? "")
    }

    /// Removes the last events of `node`'s own origin from `seq` on, their seals, and (with
    /// `checkpoints`) every checkpoint: what someone with the file and sqlite3 can do.
    func cutTail(of node: String, from seq: Int, checkpoints: Bool = false) throws {
        let raw = try SQLiteConnection(path: store(node), flags: [.readWrite])
        try raw.execute("""
            DROP TRIGGER IF EXISTS events_refuse_delete; DROP TRIGGER IF EXISTS seals_refuse_delete;
            DELETE FROM events WHERE seq >= \(seq); DELETE FROM seals WHERE seq >= \(seq); DELETE FROM stream_heads WHERE seq >= \(seq);
            """)
        if checkpoints { try raw.execute("DROP TRIGGER IF EXISTS checkpoints_refuse_delete; DELETE FROM checkpoints") }
    }

    func recordCases(on node: String, count: Int) throws {
        for index in 1...count {
            try run(node, ["case", "open", "WY-\(index)", "--title", "Case \(index)", "--region", "West Yorkshire"])
        }
    }

    @Test func aTailCutTogetherWithItsSealsIsNamedByTheCheckpointsAndByTheOtherCopy() throws {
        try run("hub", ["init", "--node", "hub"])
        try recordCases(on: "hub", count: 4)
        try run("hub", ["export", "--out", directory.file("hub.ndjson")])
        let origin = try origin(of: "hub")
        for file in ["hub.sqlite", "hub.sqlite.key"] {
            try FileManager.default.copyItem(atPath: directory.file(file), toPath: directory.file(file.replacingOccurrences(of: "hub", with: "cut")))
        }
        try cutTail(of: "cut", from: 3)
        // The read models are made again from the cut log, so only the log's own evidence is left.
        try run("cut", ["projections", "rebuild"])

        let verify = try run("cut", ["verify"], expect: 1)
        #expect(verify.stdout.contains("FAULT origin \(origin) seq 3: tail-cut"), "\(verify.stdout)")
        #expect(verify.stdout.contains("names seq 4, this copy holds 1…2"), "\(verify.stdout)")
        let json = try JSONValue(parsing: try run("cut", ["verify", "--json"], expect: 1).stdout)
        guard case .array(let faults)? = json["faults"] else { Issue.record("no faults: \(json)"); return }
        #expect(faults.map { $0["kind"]?.stringValue } == ["tail-cut"])

        // Without the checkpoints the cut copy verifies: seals alone cannot show it.
        try cutTail(of: "cut", from: 3, checkpoints: true)
        let alone = try run("cut", ["verify"])
        #expect(alone.stdout.hasPrefix("OK: 2 events"), "\(alone.stdout)")
        // The other copy's checkpoints name it, whether it is an export or a store file.
        for other in [directory.file("hub.ndjson"), store("hub")] {
            let against = try run("cut", ["verify", "--against", other], expect: 1)
            #expect(against.stdout.contains("FAULT origin \(origin) seq 3: tail-cut"), "\(other): \(against.stdout)")
            #expect(against.stdout.contains("BEHIND origin \(origin): this copy holds 1…2, the other 1…4"), "\(against.stdout)")
        }
        // Nor does deleting the record of the node's incarnations hide it: the other copy's
        // checkpoints signed in this node's name still name the cut, for an operator (exit 3).
        let raw = try SQLiteConnection(path: store("cut"), flags: [.readWrite])
        try raw.execute("DROP TRIGGER incarnations_refuse_delete; DELETE FROM incarnations")
        let hidden = try run("cut", ["verify", "--against", directory.file("hub.ndjson")], expect: 3)
        #expect(hidden.stdout.contains("NOTE origin \(origin) seq 3: tail-cut") && hidden.stdout.contains("signed in this node's name (hub, self-asserted)"), "\(hidden.stdout)")
        // The whole copy compared with itself finds nothing.
        #expect(try run("hub", ["verify", "--against", directory.file("hub.ndjson")]).stdout.hasPrefix("OK: 4 events"))
    }

    @Test func anOriginForkedIntoTwoEqualLengthHistoriesOnTwoNodesIsNamedAgainstTheOtherCopy() throws {
        try run("wy", ["init", "--node", "wy"])
        for index in 1...3 { try run("wy", ["append", "notes:wy", "note.added", "--data", #"{"n":\#(index)}"#]) }
        let wy = try SQLiteEventStore.open(at: store("wy"), logger: StoreFixtures.quietLogger)
        let origin = try wy.origin
        let key = try #require(try NodeKeyFile.read(at: store("wy") + ".key"))
        var thief = ForgedOrigin(key: key, events: try wy.readOrigin(origin, afterSeq: 0, limit: 2).map(\.event), seals: try wy.seals(of: origin).filter { $0.seq <= 2 })
        thief.append(stream: "notes:wy", payload: #"{"stolen":1}"#)
        thief.seal()
        try run("thief", ["init", "--node", "thief"])
        try (thief.lines() + "\n").write(toFile: directory.file("stolen.ndjson"), atomically: true, encoding: .utf8)
        try run("thief", ["import", directory.file("stolen.ndjson")])
        try run("thief", ["export", "--out", directory.file("thief.ndjson")])

        // Each copy alone is sound: both hold wy 1…3, and each third event is signed by wy's key.
        #expect(try run("wy", ["verify"]).stdout.hasPrefix("OK: 3 events"))
        #expect(try run("thief", ["verify"]).stdout.hasPrefix("OK: 3 events"))
        for other in [store("thief"), directory.file("thief.ndjson")] {
            let against = try run("wy", ["verify", "--against", other], expect: 1)
            #expect(against.stdout.contains("FAULT origin \(origin) seq 3: other-history"), "\(against.stdout)")
            #expect(!against.stdout.contains("seq 2: other-history"), "the shared events are the same: \(against.stdout)")
        }
        let reverse = try run("thief", ["verify", "--against", store("wy")], expect: 1)
        #expect(reverse.stdout.contains("FAULT origin \(origin) seq 3: other-history"), "\(reverse.stdout)")
    }

    @Test func aReadModelRowEditedBehindTheLogsBackFailsVerifyNamingTheTableAndRow() throws {
        try run("hub", ["init", "--node", "hub"])
        try recordCases(on: "hub", count: 2)
        try run("hub", ["case", "status", "WY-1", "charged"])
        #expect(try run("hub", ["verify"]).stdout.contains("read models refolded and compared"))

        let raw = try SQLiteConnection(path: store("hub"), flags: [.readWrite])
        try raw.execute("UPDATE cases SET status = 'closed' WHERE case_id = 'WY-1'")
        let changed = try run("hub", ["verify"], expect: 1)
        #expect(changed.stdout.contains("FAULT read model table cases row (case_id=WY-1): changed (stored → folded: status: closed → charged)"), "\(changed.stdout)")

        try raw.execute("UPDATE cases SET status = 'charged' WHERE case_id = 'WY-1'; DELETE FROM cases WHERE case_id = 'WY-2'")
        let missing = try run("hub", ["verify", "--json"], expect: 1)
        let json = try JSONValue(parsing: missing.stdout)
        guard case .array(let rows)? = json["readModels"], let first = rows.first else { Issue.record("no read-model faults: \(missing.stdout)"); return }
        #expect(rows.count == 1)
        #expect(first["table"] == .string("cases"))
        #expect(first["row"] == .string("case_id=WY-2"))
        #expect(first["kind"] == .string("missing"))

        // A rebuild makes them the fold again.
        try run("hub", ["projections", "rebuild"])
        try run("hub", ["verify"])
    }

    @Test func anAuditorsImportedCopySeenByTheHubGivesTheHubsOwnDigestAtEachCheckpoint() throws {
        try run("hub", ["init", "--node", "hub"])
        try run("wy", ["init", "--node", "wy"])
        // Several moments: after each, the hub's digest and the checkpoint it signed then.
        var moments: [(digest: String, number: UInt64)] = []
        func moment() throws {
            let digest = try run("hub", ["digest"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            let checkpoint = try JSONValue(parsing: try run("hub", ["checkpoint", "--json"]).stdout)
            guard case .number(let number)? = checkpoint["number"], let value = UInt64(number) else { Issue.record("no number: \(checkpoint)"); return }
            moments.append((digest, value))
        }
        try run("hub", ["case", "open", "WY-1", "--title", "First", "--region", "West Yorkshire"])
        try moment()
        try run("hub", ["case", "status", "WY-1", "charged"])
        try run("hub", ["meeting", "schedule", "NATN-1", "--title", "National meeting", "--at", "2016-03-09T10:30Z", "--location", "London"])
        try moment()
        // A region's events reach the hub by import: the hub's next checkpoint names them too.
        try run("wy", ["case", "open", "WY-2", "--title", "The region's", "--region", "West Yorkshire"])
        try run("wy", ["export", "--out", directory.file("wy.ndjson")])
        try run("hub", ["import", directory.file("wy.ndjson")])
        try run("hub", ["case", "status", "WY-2", "charged"])
        try moment()
        #expect(Set(moments.map(\.digest)).count == 3, "each moment holds more: \(moments)")

        try run("hub", ["export", "--out", directory.file("hub.ndjson")])
        try run("auditor", ["init", "--node", "auditor"])
        try run("auditor", ["import", directory.file("hub.ndjson")])
        let held = try SQLiteEventStore.open(at: store("auditor"), logger: StoreFixtures.quietLogger).checkpoints()
        for (digest, number) in moments {
            let checkpoint = try #require(held.first { $0.node == "hub" && $0.number == number })
            let at = Timestamp.iso8601(millis: checkpoint.takenAt)
            let seen = try run("auditor", ["digest", "--as-of", at, "--seen-by", "hub"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(seen == digest, "checkpoint \(number) at \(at)")
            // By origin id too.
            #expect(try run("auditor", ["digest", "--as-of", at, "--seen-by", checkpoint.signer.hex]).stdout.trimmingCharacters(in: .whitespacesAndNewlines) == digest)
            // --as-of alone means this copy's own storing: the auditor stored nothing by then.
            let local = try run("auditor", ["digest", "--as-of", at]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(local != digest)
        }
        // The query commands take the same view: as the hub held it at the first moment, one case, open.
        let first = try #require(held.first { $0.node == "hub" && $0.number == moments[0].number })
        let cases = try run("auditor", ["query", "cases", "--json", "--as-of", Timestamp.iso8601(millis: first.takenAt), "--seen-by", "hub"]).stdout
        #expect(cases.contains("\"WY-1\"") && cases.contains("\"open\"") && !cases.contains("WY-2"), "\(cases)")
        // A node with no checkpoint by then is refused, naming it.
        let none = try run("auditor", ["digest", "--as-of", "2016-01-01", "--seen-by", "hub"], expect: 67)
        #expect(none.stderr.contains("no checkpoint of hub taken at or before 2016-01-01"), "\(none.stderr)")
    }

    @Test func aCheckpointThatDoesNotVerifyRefusesTheImportAndStoresNothing() throws {
        try run("hub", ["init", "--node", "hub"])
        try recordCases(on: "hub", count: 1)
        try run("hub", ["export", "--out", directory.file("hub.ndjson")])
        let text = try String(contentsOfFile: directory.file("hub.ndjson"), encoding: .utf8)
        let lines = text.split(separator: "\n").map(String.init)
        let checkpointLine = try #require(lines.last { $0.contains("\"kind\":\"checkpoint\"") })
        let cases: [(String, String)] = [
            // Another time under the same signature.
            ("changed", checkpointLine.replacingOccurrences(of: "\"takenAt\":", with: "\"takenAt\":1")),
            // Numbers at the edges of their ranges.
            ("number 2^63", checkpointLine.replacingOccurrences(of: #""number":1"#, with: #""number":9223372036854775808"#)),
            ("number 0", checkpointLine.replacingOccurrences(of: #""number":1"#, with: #""number":0"#)),
            ("seq Int64.min", checkpointLine.replacing(#/",1,"/#, with: "\",-9223372036854775808,\"")),
            ("no heads", checkpointLine.replacing(#/"heads":\[.*\],"signature"/#, with: #""heads":[],"signature""#)),
            ("an unknown signer", checkpointLine.replacing(#/"signer":"[0-9a-f]{32}"/#, with: #""signer":"00000000000000000000000000000000""#)),
        ]
        try run("auditor", ["init", "--node", "auditor"])
        for (name, line) in cases {
            #expect(line != checkpointLine, "\(name): the line was not changed")
            let file = directory.file("bad.ndjson")
            try (lines.filter { !$0.contains("\"kind\":\"checkpoint\"") }.joined(separator: "\n") + "\n" + line + "\n").write(toFile: file, atomically: true, encoding: .utf8)
            let result = try run("auditor", ["import", file], expect: 65)
            #expect(result.stderr.contains("checkpoint"), "\(name): \(result.stderr)")
            let held = try SQLiteEventStore.open(at: store("auditor"), logger: StoreFixtures.quietLogger)
            #expect(try held.eventCount() == 0, "\(name): events were stored")
            #expect(try held.checkpoints().isEmpty, "\(name): a checkpoint was stored")
        }
    }

    @Test func anAuditBundleVerifiesOfflineAndItsReadModelDigestsAreFoldedAgain() throws {
        try run("hub", ["init", "--node", "hub"])
        try recordCases(on: "hub", count: 3)
        try run("hub", ["case", "status", "WY-2", "charged"])
        let bundle = directory.file("bundle.ndjson")
        try run("hub", ["export", "--audit", "--out", bundle])
        let text = try String(contentsOfFile: bundle, encoding: .utf8)
        let digests = text.split(separator: "\n").filter { $0.contains(#""kind":"read-models""#) }
        // One a checkpoint of the hub: after each of its four commands (the export's own adds none).
        #expect(digests.count == 4, "\(digests)")
        let verified = try concord.run(["verify", bundle])
        #expect(verified.status == 0, "\(verified.stdout) \(verified.stderr)")
        #expect(verified.stdout.contains("the bundle's 4 read-model digest(s) refolded and equal"), "\(verified.stdout)")
        // The bundle is an export too: an import skips the digests.
        try run("auditor", ["init", "--node", "auditor"])
        try run("auditor", ["import", bundle])

        // A changed digest is named, with its checkpoint.
        let lastDigest = try #require(digests.last)
        let changedDigest = lastDigest.replacing(#/"digest":"[0-9a-f]/#, with: #""digest":"x"#)
        let changed = directory.file("changed.ndjson")
        try text.replacingOccurrences(of: lastDigest, with: changedDigest).write(toFile: changed, atomically: true, encoding: .utf8)
        let refused = try concord.run(["verify", changed])
        #expect(refused.status == 1, "\(refused.stdout) \(refused.stderr)")
        #expect(refused.stdout.contains("FAULT read models at checkpoint 4 of"), "\(refused.stdout)")
        // A changed event does not load at all.
        let tampered = directory.file("tampered.ndjson")
        try text.replacingOccurrences(of: "Case 2", with: "Case 9").write(toFile: tampered, atomically: true, encoding: .utf8)
        let broken = try concord.run(["verify", tampered])
        #expect(broken.status == 65 && broken.stderr.contains("does not load as a copy"), "\(broken.stdout) \(broken.stderr)")
    }

    @Test func checkpointsTravelBothWaysInASyncAndAForgedOneIsLeftOut() async throws {
        try run("hub", ["init", "--node", "hub"])
        try run("wy", ["init", "--node", "wy"])
        try recordCases(on: "wy", count: 2)
        try run("hub", ["meeting", "schedule", "NATN-1", "--title", "National meeting", "--at", "2016-03-09T10:30Z", "--location", "London"])
        try run("hub", ["token", "issue", "wy", "--out", directory.file("wy.token")])
        let server = try ServerProcess(concord, store: store("hub"))
        defer { server.stop() }
        try run("wy", ["sync", server.url, "--token-file", directory.file("wy.token")])
        server.stop()
        func signers(_ node: String) throws -> Set<String> {
            Set(try SQLiteEventStore.open(at: store(node), logger: StoreFixtures.quietLogger).checkpoints().map(\.node))
        }
        #expect(try signers("wy") == ["hub", "wy"])
        #expect(try signers("hub") == ["hub", "wy"])
        // Each holds the other's newest, naming everything both now hold.
        let hub = try SQLiteEventStore.open(at: store("hub"), logger: StoreFixtures.quietLogger)
        let newestOfWY = try #require(try hub.checkpoints().last { $0.node == "wy" })
        #expect(newestOfWY.vector == (try hub.versionVector()))

        // A synced batch whose checkpoint does not verify: the events are stored, the checkpoint is not.
        var forger = ForgedOrigin()
        forger.append(stream: "notes:forged", payload: #"{"n":1}"#)
        forger.seal()
        let honest = Checkpoint.sign(key: forger.key, node: "forger", number: 1, takenAt: 1_000, heads: [Checkpoint.Head(origin: forger.origin, seq: 1, hash: forger.events[0].hash)])
        var forged = honest
        forged.takenAt = 2_000
        let backend = SQLiteSyncBackend(store: hub)
        let result = try await backend.ingest(IngestBatch(keys: [forger.originKey], events: forger.events, seals: forger.seals, checkpoints: [forged]), from: "forger")
        #expect(result.inserted == 1 && result.checkpointsRefused == 1 && result.checkpointsStored == 0)
        #expect(try !hub.checkpoints().contains { $0.node == "forger" })
        // The honest one is kept.
        let again = try await backend.ingest(IngestBatch(checkpoints: [honest]), from: "forger")
        #expect(again.checkpointsStored == 1)
        // Correctly signed, and false of this copy: another hash for wy's event 1, or more of wy
        // than the hub holds. A peer could plant either on an honest copy: neither is kept.
        let wy = try #require(try hub.eventOrigins().first { $0 != (try hub.origin) && $0 != forger.origin })
        let held = try #require(try hub.eventHash(wy, seq: 1))
        let lies = [
            Checkpoint.Head(origin: wy, seq: 1, hash: EventHash(bytes: [UInt8](repeating: 7, count: 32))),
            Checkpoint.Head(origin: wy, seq: 99, hash: held),
        ]
        for (index, lie) in lies.enumerated() {
            let claim = Checkpoint.sign(key: forger.key, node: "forger", number: UInt64(2 + index), takenAt: 3_000, heads: [lie])
            let kept = try await backend.ingest(IngestBatch(checkpoints: [claim]), from: "forger")
            #expect(kept.checkpointsStored == 0, "\(lie)")
        }
        // One dated beyond the clock allowance is not kept either.
        let future = Checkpoint.sign(key: forger.key, node: "forger", number: 9, takenAt: Timestamp.nowMillis() + 3_600_000, heads: [Checkpoint.Head(origin: forger.origin, seq: 1, hash: forger.events[0].hash)])
        #expect(try await backend.ingest(IngestBatch(checkpoints: [future]), from: "forger").checkpointsRefused == 1)
        #expect(try hub.checkpoints(signedBy: forger.origin).map(\.number) == [1])
        let verify = try run("hub", ["verify"])
        #expect(verify.stdout.hasPrefix("OK: "), "\(verify.stdout)")
    }

    /// "On which node" is what vouches for it: this node's own name, the label the operator gave
    /// an origin on the trust roster, or else the name a signer's checkpoint gives itself, marked
    /// as self-asserted (a forger may call itself national-hub).
    @Test func nodeNamesShownToPeopleComeFromTheRosterOrAreMarkedSelfAsserted() throws {
        try run("wy", ["init", "--node", "national-hub"])
        try run("wy", ["case", "open", "WY-1", "--title", "First", "--region", "West Yorkshire"])
        try run("wy", ["export", "--out", directory.file("wy.ndjson")])
        try run("hub", ["init", "--node", "hub"])
        try run("hub", ["import", directory.file("wy.ndjson")])
        func node() throws -> JSONValue? {
            try JSONValue(parsing: String(try run("hub", ["replay", "case:WY-1", "--json"]).stdout.split(separator: "\n").first ?? ""))["node"]
        }
        #expect(try node() == .string("national-hub (self-asserted)"))
        #expect(try run("hub", ["replay", "case:WY-1"]).stdout.contains("on national-hub (self-asserted)"))
        try run("hub", ["trust", "add", try origin(of: "wy").hex, "--label", "west-yorkshire"])
        #expect(try node() == .string("west-yorkshire"))
        // The region's own events, on its own node: its own name.
        #expect(try JSONValue(parsing: String(try run("wy", ["replay", "case:WY-1", "--json"]).stdout.split(separator: "\n").first ?? ""))["node"] == .string("national-hub"))
    }

    @Test func replayStepsThroughAStreamAndARegionShowingWhatEachEventChanged() throws {
        try run("hub", ["init", "--node", "hub"])
        try run("hub", ["case", "open", "WY-1", "--title", "First", "--region", "West Yorkshire", "--occurred-at", "2016-03-01"])
        try run("hub", ["case", "open", "GM-1", "--title", "Elsewhere", "--region", "Greater Manchester", "--occurred-at", "2016-03-02"])
        try run("hub", ["case", "status", "WY-1", "charged", "--occurred-at", "2016-03-05"])
        try run("hub", ["case", "open", "WY-2", "--title", "Second", "--region", "West Yorkshire", "--occurred-at", "2016-04-01"])

        let text = try run("hub", ["replay", "case:WY-1"]).stdout
        #expect(text.contains("step 1  case.opened  by officer@hub on hub"), "\(text)")
        #expect(text.contains("happened 2016-03-01T00:00:00.000Z"))
        #expect(text.contains("cases (case_id=WY-1) added"))
        #expect(text.contains("step 2  case.status-changed") && text.contains("status: open → charged"), "\(text)")

        let steps = try run("hub", ["replay", "case:WY-1", "--json"]).stdout.split(separator: "\n").map { try JSONValue(parsing: String($0)) }
        #expect(steps.count == 2)
        #expect(steps.map { $0["step"] } == [.number("1"), .number("2")])
        #expect(steps[1]["event"]?["type"] == .string("case.status-changed"))
        #expect(steps[1]["node"] == .string("hub"))
        guard case .array(let changes)? = steps[1]["changes"], let change = changes.first else { Issue.record("no changes: \(steps[1])"); return }
        #expect(change["table"] == .string("cases") && change["kind"] == .string("changed"))
        guard case .array(let columns)? = change["columns"] else { Issue.record("no columns: \(change)"); return }
        #expect(columns.contains { $0.stringValue?.hasPrefix("status: open → charged") == true }, "\(change)")

        // A region between two dates: its cases' steps only, in the projections' order.
        let march = try run("hub", ["replay", "--region", "West Yorkshire", "--from", "2016-03-01", "--to", "2016-03-31", "--json"]).stdout
            .split(separator: "\n").map { try JSONValue(parsing: String($0)) }
        #expect(march.map { $0["stream"]?.stringValue } == ["case:WY-1", "case:WY-1"])
        let all = try run("hub", ["replay", "--region", "West Yorkshire"]).stdout
        #expect(all.contains("case:WY-2  step 1  case.opened") && !all.contains("GM-1"), "\(all)")
        // As the hub held it after its first command: one step.
        let first = try #require(try SQLiteEventStore.open(at: store("hub"), logger: StoreFixtures.quietLogger).checkpoints().first)
        #expect(try run("hub", ["replay", "case:WY-1", "--json", "--as-of", Timestamp.iso8601(millis: first.takenAt), "--seen-by", "hub"]).stdout.split(separator: "\n").count == 1)
        let none = try run("hub", ["replay", "--region", "Nowhere"], expect: 67)
        #expect(none.stderr.contains("no events of cases of Nowhere"))
        try run("hub", ["replay", "case:WY-1", "--region", "West Yorkshire"], expect: 64)
    }

    @Test func anOlderCopyIsBehindNotCutAndSeenByRefusesWhatACopyCannotShow() throws {
        try run("hub", ["init", "--node", "hub"])
        try recordCases(on: "hub", count: 2)
        try run("hub", ["export", "--out", directory.file("early.ndjson")])
        try run("auditor", ["init", "--node", "auditor"])
        try run("auditor", ["import", directory.file("early.ndjson")])
        try run("hub", ["case", "status", "WY-1", "charged"])
        try run("hub", ["export", "--out", directory.file("later.ndjson")])
        let hubOrigin = try origin(of: "hub")
        // The auditor's copy is older than the hub's later export: BEHIND (exit 3), not a cut tail.
        let behind = try run("auditor", ["verify", "--against", directory.file("later.ndjson")], expect: 3)
        #expect(behind.stdout.contains("BEHIND origin \(hubOrigin): this copy holds 1…2, the other 1…3"), "\(behind.stdout)")
        #expect(!behind.stdout.contains("FAULT"), "\(behind.stdout)")
        // verify FILE on a store file checks that store, and leaves the file as it was.
        let before = try Data(contentsOf: URL(fileURLWithPath: store("hub")))
        let checked = try concord.run(["verify", store("hub")])
        #expect(checked.status == 0 && checked.stdout.hasPrefix("OK: 3 events"), "\(checked.stdout) \(checked.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: store("hub"))) == before)

        // A copy made from the later export without its last event and seal keeps the hub's
        // checkpoint naming that event: seen-by refuses to call the fold what the hub held.
        let later = try String(contentsOfFile: directory.file("later.ndjson"), encoding: .utf8)
        let cut = later.split(separator: "\n").filter { line in
            !((line.contains(#""kind":"event""#) || line.contains(#""kind":"seal""#)) && line.contains(#""seq":3,"#))
        }.joined(separator: "\n") + "\n"
        #expect(cut.count < later.count)
        try cut.write(toFile: directory.file("cut.ndjson"), atomically: true, encoding: .utf8)
        try run("cut-copy", ["init", "--node", "cut-copy"])
        try run("cut-copy", ["import", directory.file("cut.ndjson")])
        let refused = try run("cut-copy", ["digest", "--seen-by", "hub"], expect: 65)
        #expect(refused.stderr.contains("lacks event \(hubOrigin):3"), "\(refused.stderr)")
        #expect(try run("cut-copy", ["verify"], expect: 1).stdout.contains("FAULT origin \(hubOrigin) seq 3: tail-cut"))
        // The auditor's older copy shows the hub as its newest checkpoint there names it.
        #expect(try run("auditor", ["digest", "--seen-by", "hub"]).stdout != (try run("hub", ["digest"]).stdout))
        try run("auditor", ["import", directory.file("later.ndjson")])
        #expect(try run("auditor", ["digest", "--seen-by", "hub"]).stdout == (try run("hub", ["digest"]).stdout))

        // Two signers calling themselves "hub": the name is refused, an origin id is not.
        var impostor = ForgedOrigin()
        impostor.append(stream: "notes:elsewhere", payload: #"{"n":1}"#)
        impostor.seal()
        let claim = Checkpoint.sign(key: impostor.key, node: "hub", number: 1, takenAt: Timestamp.nowMillis(), heads: [Checkpoint.Head(origin: impostor.origin, seq: 1, hash: impostor.events[0].hash)])
        try (impostor.lines() + "\n" + claim.exchangeJSON + "\n").write(toFile: directory.file("impostor.ndjson"), atomically: true, encoding: .utf8)
        try run("auditor", ["import", directory.file("impostor.ndjson")])
        let ambiguous = try run("auditor", ["digest", "--seen-by", "hub"], expect: 65)
        #expect(ambiguous.stderr.contains("2 signers call themselves hub"), "\(ambiguous.stderr)")
        #expect(try run("auditor", ["digest", "--seen-by", hubOrigin.hex]).stdout == (try run("hub", ["digest"]).stdout))
    }
}
