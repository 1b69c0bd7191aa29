import ConcordCore
import ConcordTestSupport
import Foundation
import Testing

/// A person's day on one node, through the built binary: record, query, replay, trail.
struct DomainCommandLineTests {
    let concord: ConcordExecutable
    let directory: TemporaryDirectory
    var store: String { directory.file("hub.sqlite") }

    init() throws {
        concord = try ConcordExecutable.locate()
        directory = try TemporaryDirectory("domain-cli")
        #expect(try concord.run(["init", "--node", "hub", "--store", directory.file("hub.sqlite")]).status == 0)
    }

    @discardableResult
    func ok(_ arguments: [String]) throws -> String {
        let result = try concord.run(arguments + ["--store", store], environment: ["CONCORD_ACTOR": "secretariat"])
        #expect(result.status == 0, "\(arguments) failed: \(result.stderr)")
        return result.stdout
    }

    func refused(_ arguments: [String], exit: Int32, _ message: String) throws {
        let before = try ok(["log", "--json"])
        let result = try concord.run(arguments + ["--store", store])
        #expect(result.status == exit, "\(arguments): exit \(result.status), \(result.stderr)")
        #expect(result.stderr.split(separator: "\n").count == 1 && result.stderr.hasPrefix("concord: "), "\(result.stderr)")
        #expect(result.stderr.contains(message), "stderr: \(result.stderr)")
        #expect(try ok(["log", "--json"]) == before)
    }

    func recordFirstMeeting() throws {
        try ok(["meeting", "schedule", "NATN-2016-03", "--title", "First national meeting", "--at", "2016-03-09T10:30Z", "--location", "Home Office, London", "--occurred-at", "2016-02-15"])
        try ok(["meeting", "attend", "NATN-2016-03", "PCC for West Yorkshire", "--role", "chair"])
        try ok(["meeting", "agenda", "NATN-2016-03", "Terms of reference"])
        try ok(["meeting", "decide", "NATN-2016-03", "NATN-2016-03-D2", "Greater Manchester will present its best practice in May.", "--occurred-at", "2016-03-09"])
        try ok(["meeting", "minutes", "NATN-2016-03", "Four decisions recorded."])
        try ok(["action", "raise", "NATN-2016-03-A1", "--title", "Present best practice", "--owner", "GM PCC office", "--due", "2016-05-11", "--decision", "NATN-2016-03-D2", "--occurred-at", "2016-03-16"])
        try ok(["case", "open", "WY-2016-0012", "--title", "Car wash", "--region", "West Yorkshire", "--category", "labour exploitation", "--occurred-at", "2016-03-01"])
        try ok(["case", "status", "WY-2016-0012", "charged", "--occurred-at", "2016-04-01"])
        try ok(["case", "assign", "WY-2016-0012", "DS Patel"])
        try ok(["case", "note", "WY-2016-0012", "Victims referred to the NRM"])
        try ok(["case", "link", "WY-2016-0012", "GM-2016-0101", "--relation", "same suspects"])
    }

    @Test func theMinimumFormsWorkAndTheReadModelsShowThem() throws {
        try recordFirstMeeting()
        let cases = try ok(["query", "cases", "--json"])
        let row = try JSONValue(parsing: String(cases.split(separator: "\n")[0]))
        #expect(row["case_id"] == .string("WY-2016-0012") && row["status"] == .string("charged") && row["owner"] == .string("DS Patel"))
        #expect(try ok(["query", "cases", "--region", "Elsewhere"]).contains("No cases match."))
        #expect(try ok(["query", "actions", "--overdue"]).contains("NATN-2016-03-A1"))
        #expect(try ok(["query", "decisions"]).contains("NATN-2016-03-D2"))
        #expect(try ok(["query", "meetings"]).contains("Home Office, London"))
        try ok(["action", "complete", "NATN-2016-03-A1", "--outcome", "Presented in May"])
        #expect(!(try ok(["query", "actions", "--overdue"])).contains("NATN-2016-03-A1"))
        let trail = try ok(["trail", "NATN-2016-03-D2"])
        #expect(trail.contains("First national meeting, Home Office, London"))
        #expect(trail.contains("recorded by secretariat"))
        #expect(trail.contains("NATN-2016-03-A1  completed"))
        let show = try JSONValue(parsing: try ok(["show", "case:WY-2016-0012", "--json"]))
        guard case .array(let events)? = show["events"] else { Issue.record("no events in show --json"); return }
        #expect(events.count == 5)
        #expect(try ok(["projections", "status"]).contains("current"))
        let caseLog = try ok(["log", "--stream", "case:WY-2016-0012", "--json"]).split(separator: "\n")
        #expect(caseLog.count == 5)
        let decisions = try ok(["log", "--type", "meeting.decision-recorded", "--json"]).split(separator: "\n")
        #expect(decisions.count == 1)
        let origin = try #require(try JSONValue(parsing: String(decisions[0]))["origin"]?.stringValue)
        #expect(try ok(["log", "--origin", String(origin.prefix(8)), "--json"]).split(separator: "\n").count == 12)
        #expect(try ok(["log", "--origin", "00000000", "--json"]).isEmpty)
        #expect(try ok(["log", "--stream", "case:WY-2016-0012", "--limit", "2", "--json"]).split(separator: "\n").count == 2)
    }

    @Test func asOfAndDigestReplayTheRecordAsItStood() throws {
        try recordFirstMeeting()
        let before = try ok(["digest"]).trimmingCharacters(in: .whitespacesAndNewlines)
        let moment = Timestamp.iso8601(millis: Timestamp.nowMillis())
        // Let the clock pass the captured millisecond so later events are stored strictly after it.
        let captured = try Timestamp.parse(moment)
        while Timestamp.nowMillis() <= captured {}
        try ok(["case", "close", "WY-2016-0012", "--outcome", "convicted"])
        #expect(try ok(["digest"]).trimmingCharacters(in: .whitespacesAndNewlines) != before)
        #expect(try ok(["digest", "--as-of", moment]).trimmingCharacters(in: .whitespacesAndNewlines) == before)
        #expect(try ok(["query", "cases", "--as-of", moment]).contains("charged"))
        #expect(try ok(["query", "cases", "--valid-at", "2016-03-15"]).contains("open"))
        let rebuilt = try ok(["projections", "rebuild"])
        #expect(rebuilt.contains("Rebuilt the read models from 3 stream(s)"))
    }

    @Test func badInputIsRefusedWithOneLineAndChangesNothing() throws {
        try recordFirstMeeting()
        try refused(["case", "status", "WY-9999", "charged"], exit: 67, "no case WY-9999 on this node")
        try refused(["case", "open", "WY-2016-0012", "--title", "Again", "--region", "West Yorkshire"], exit: 68, "already open")
        try refused(["case", "status", "WY-2016-0012", "arrested"], exit: 65, "is not a case status")
        try refused(["meeting", "schedule", "M2", "--title", "T", "--at", "next week", "--location", "L"], exit: 65, "not a date or time")
        try refused(["action", "raise", "A9", "--title", "T", "--owner", "O", "--due", "2016-02-30"], exit: 65, "not a due date")
        try refused(["action", "raise", "A9", "--title", "T", "--owner", "O", "--decision", "NATN-2016-03-D9"], exit: 67, "no decision NATN-2016-03-D9")
        try ok(["action", "cancel", "NATN-2016-03-A1", "--reason", "superseded"])
        try refused(["action", "complete", "NATN-2016-03-A1"], exit: 68, "is cancelled; only an open action can change")
        try ok(["meeting", "cancel", "NATN-2016-03"])
        try refused(["meeting", "decide", "NATN-2016-03", "NATN-2016-03-D5", "Too late"], exit: 68, "was cancelled")
        try refused(["trail", "NATN-2016-03-D9"], exit: 67, "no decision NATN-2016-03-D9")
        try refused(["append", "case:WY-2016-0013", "case.opened", "--data", #"{"title":"no reference or region"}"#], exit: 65, "case.opened data needs")
    }

    @Test func importNewIsAllOrNothingAndNamesTheBadLine() throws {
        let good = directory.file("good.ndjson")
        try """
            {"stream":"case:GM-2016-0101","type":"case.opened","data":{"reference":"GM-2016-0101","title":"Nail bar","region":"Greater Manchester"},"occurred_at":"2016-02-01"}
            {"stream":"case:GM-2016-0101","type":"case.status-changed","data":{"status":"investigating"},"actor":"DC Jones"}
            {"stream":"minutes:2016-03","type":"minutes.line","data":{"text":"Generic history is carried too"}}

            """.write(toFile: good, atomically: true, encoding: .utf8)
        #expect(try ok(["import", "--new", good]).contains("Recorded 3 event(s)"))
        #expect(try ok(["query", "cases"]).contains("investigating"))
        let bad = directory.file("bad.ndjson")
        try """
            {"stream":"case:GM-2016-0102","type":"case.opened","data":{"reference":"GM-2016-0102","title":"Farm","region":"Greater Manchester"}}
            {"stream":"case:GM-2016-0102","type":"case.status-changed","data":{"status":"investigating"}}
            {"stream":"case:GM-2016-0102","type":"case.note-added","data":{"note":"unterminated}

            """.write(toFile: bad, atomically: true, encoding: .utf8)
        try refused(["import", "--new", bad], exit: 65, "bad.ndjson line 3: invalid JSON")
        try "{\"stream\":\"x:1\",\"type\":\"t\",\"data\":{},\"when\":\"now\"}\n".write(toFile: bad, atomically: true, encoding: .utf8)
        try refused(["import", "--new", bad], exit: 65, "line 1: unknown field \"when\"")
    }

    @Test func anExportImportsIntoAnotherNodeVerifiedAndConverges() throws {
        try recordFirstMeeting()
        let export = directory.file("hub.ndjson")
        try ok(["export", "--out", export])
        let region = directory.file("region.sqlite")
        #expect(try concord.run(["init", "--node", "region", "--store", region]).status == 0)
        let first = try concord.run(["import", export, "--store", region])
        #expect(first.status == 0 && first.stdout.contains("Imported 11 event(s)"), "\(first.stderr)")
        let again = try concord.run(["import", export, "--store", region])
        #expect(again.stdout.contains("Imported 0 event(s)") && again.stdout.contains("(11 already held)"))
        #expect(try concord.run(["digest", "--store", region]).stdout == (try ok(["digest"])))
        #expect(try concord.run(["verify", "--store", region]).status == 0)

        // A forged export: one event's data changed without its hash.
        let lines = try String(contentsOfFile: export, encoding: .utf8).split(separator: "\n").map(String.init)
        let forged = lines.map { $0.replacingOccurrences(of: "Victims referred to the NRM", with: "Nothing happened") }.joined(separator: "\n")
        let forgedPath = directory.file("forged.ndjson")
        try forged.write(toFile: forgedPath, atomically: true, encoding: .utf8)
        let fresh = directory.file("fresh.sqlite")
        #expect(try concord.run(["init", "--node", "fresh", "--store", fresh]).status == 0)
        let refused = try concord.run(["import", forgedPath, "--store", fresh])
        #expect(refused.status == 65)
        #expect(refused.stderr.contains("does not match its hash"), "\(refused.stderr)")
        #expect(try concord.run(["log", "--json", "--store", fresh]).stdout.isEmpty)
        // A truncated export is refused whole too.
        try lines.prefix(5).joined(separator: "\n").appending("\n{\"kind\":\"ev").write(toFile: forgedPath, atomically: true, encoding: .utf8)
        let truncated = try concord.run(["import", forgedPath, "--store", fresh])
        #expect(truncated.status == 65 && truncated.stderr.contains("line 6"), "\(truncated.stderr)")
        #expect(try concord.run(["log", "--json", "--store", fresh]).stdout.isEmpty)
    }
}
