import ConcordCore
import ConcordDomain
import Testing

struct DomainRuleTests {
    let caseStream = try! StreamKind.case.stream("WY-2016-0012")
    let meetingStream = try! StreamKind.meeting.stream("NATN-2016-03")
    let actionStream = try! StreamKind.action.stream("NATN-2016-03-A1")

    func caseRecord(_ node: TestNode) -> CaseRecord? {
        StreamFolder.fold(caseStream, events: node.held)?.caseRecord
    }

    func openedCase() throws -> TestNode {
        var node = TestNode()
        try node.record(caseStream, CaseCommand.open(title: "Car wash", region: "West Yorkshire", category: "labour exploitation", reference: nil).decide(caseID: "WY-2016-0012", current: nil))
        return node
    }

    func expectRefusal(_ code: ConcordError.Code, mentioning text: String, _ body: () throws -> Void) {
        let error = #expect(throws: ConcordError.self) { try body() }
        #expect(error?.code == code)
        #expect(error?.message.contains(text) == true, "message: \(error?.message ?? "")")
    }

    /// `expectRefusal` for a rule that asks the node about other streams (`DomainLookup`).
    func expectRefusal(_ code: ConcordError.Code, mentioning text: String, _ body: () async throws -> Void) async {
        let error = await #expect(throws: ConcordError.self) { try await body() }
        #expect(error?.code == code)
        #expect(error?.message.contains(text) == true, "message: \(error?.message ?? "")")
    }

    @Test func aCaseIsOpenedOnce() throws {
        let node = try openedCase()
        let record = try #require(caseRecord(node))
        #expect(record.status == .open && record.title == "Car wash" && record.reference == "WY-2016-0012")
        expectRefusal(.ruleViolation, mentioning: "already open") {
            _ = try CaseCommand.open(title: "Again", region: "West Yorkshire", category: nil, reference: nil).decide(caseID: "WY-2016-0012", current: record)
        }
    }

    @Test func commandsOnAnUnknownCaseAreRefused() {
        expectRefusal(.unknownID, mentioning: "no case WY-9") {
            _ = try CaseCommand.changeStatus(.charged).decide(caseID: "WY-9", current: nil)
        }
    }

    @Test func aClosedCaseCannotChangeButCanBeNoted() throws {
        var node = try openedCase()
        try node.record(caseStream, CaseCommand.close(outcome: "no further action").decide(caseID: "WY-2016-0012", current: caseRecord(node)))
        let record = try #require(caseRecord(node))
        #expect(record.status == .closed && record.outcome == "no further action")
        expectRefusal(.ruleViolation, mentioning: "is closed") {
            _ = try CaseCommand.changeStatus(.charged).decide(caseID: "WY-2016-0012", current: record)
        }
        expectRefusal(.ruleViolation, mentioning: "is closed") {
            _ = try CaseCommand.assign(owner: "DS Patel").decide(caseID: "WY-2016-0012", current: record)
        }
        #expect(throws: Never.self) { try CaseCommand.note("File archived").decide(caseID: "WY-2016-0012", current: record) }
    }

    @Test func statusRules() throws {
        var node = try openedCase()
        let record = try #require(caseRecord(node))
        expectRefusal(.ruleViolation, mentioning: "concord case close") {
            _ = try CaseCommand.changeStatus(.closed).decide(caseID: "WY-2016-0012", current: record)
        }
        expectRefusal(.ruleViolation, mentioning: "already open") {
            _ = try CaseCommand.changeStatus(.open).decide(caseID: "WY-2016-0012", current: record)
        }
        try node.record(caseStream, CaseCommand.changeStatus(.charged).decide(caseID: "WY-2016-0012", current: record))
        #expect(caseRecord(node)?.status == .charged)
        #expect(throws: ConcordError.self) { try CaseStatus(parsing: "arrested") }
    }

    @Test func linksAreToOtherCasesAndOnlyOnce() throws {
        var node = try openedCase()
        expectRefusal(.ruleViolation, mentioning: "to itself") {
            _ = try CaseCommand.link(otherCase: "WY-2016-0012", relation: nil).decide(caseID: "WY-2016-0012", current: caseRecord(node))
        }
        try node.record(caseStream, CaseCommand.link(otherCase: "GM-2016-0101", relation: "same suspects").decide(caseID: "WY-2016-0012", current: caseRecord(node)))
        #expect(caseRecord(node)?.links.map(\.otherCase) == ["GM-2016-0101"])
        expectRefusal(.ruleViolation, mentioning: "already linked") {
            _ = try CaseCommand.link(otherCase: "GM-2016-0101", relation: nil).decide(caseID: "WY-2016-0012", current: caseRecord(node))
        }
    }

    @Test func noDecisionOnACancelledMeetingAndDecisionIdsAreUnique() async throws {
        var node = TestNode()
        let lookup = FixedLookup(decisions: ["OTHER-D1": "NATN-2016-01"])
        func meeting() -> MeetingRecord? { StreamFolder.fold(meetingStream, events: node.held)?.meetingRecord }
        try await node.record(meetingStream, MeetingCommand.schedule(title: "First meeting", at: 1_457_519_400_000, location: "Home Office, London", host: nil).decide(meetingID: "NATN-2016-03", current: nil, lookup: lookup))
        try await node.record(meetingStream, MeetingCommand.decide(decisionID: "NATN-2016-03-D1", text: "Terms of reference agreed", proposedBy: nil).decide(meetingID: "NATN-2016-03", current: meeting(), lookup: lookup))
        await expectRefusal(.ruleViolation, mentioning: "already recorded") {
            _ = try await MeetingCommand.decide(decisionID: "NATN-2016-03-D1", text: "again", proposedBy: nil).decide(meetingID: "NATN-2016-03", current: meeting(), lookup: lookup)
        }
        await expectRefusal(.ruleViolation, mentioning: "already used by meeting NATN-2016-01") {
            _ = try await MeetingCommand.decide(decisionID: "OTHER-D1", text: "clash", proposedBy: nil).decide(meetingID: "NATN-2016-03", current: meeting(), lookup: lookup)
        }
        try await node.record(meetingStream, MeetingCommand.cancel(reason: "venue closed").decide(meetingID: "NATN-2016-03", current: meeting(), lookup: lookup))
        await expectRefusal(.ruleViolation, mentioning: "was cancelled") {
            _ = try await MeetingCommand.decide(decisionID: "NATN-2016-03-D2", text: "late", proposedBy: nil).decide(meetingID: "NATN-2016-03", current: meeting(), lookup: lookup)
        }
        #expect(meeting()?.decisionText("NATN-2016-03-D1") == "Terms of reference agreed")
        await expectRefusal(.unknownID, mentioning: "no meeting NATN-9") {
            _ = try await MeetingCommand.minutes(summary: "x").decide(meetingID: "NATN-9", current: nil, lookup: lookup)
        }
    }

    @Test func noCompletingACancelledActionAndRaisingNeedsAKnownDecision() async throws {
        var node = TestNode()
        let lookup = FixedLookup(decisions: ["NATN-2016-03-D2": "NATN-2016-03"], cases: ["WY-1"])
        func action() -> ActionRecord? { StreamFolder.fold(actionStream, events: node.held)?.actionRecord }
        await expectRefusal(.unknownID, mentioning: "no decision NATN-2016-03-D9") {
            _ = try await ActionCommand.raise(title: "Present", owner: "GM", due: nil, decisionID: "NATN-2016-03-D9", caseID: nil).decide(actionID: "A1", current: nil, lookup: lookup)
        }
        await expectRefusal(.unknownID, mentioning: "no case WY-2") {
            _ = try await ActionCommand.raise(title: "Present", owner: "GM", due: nil, decisionID: nil, caseID: "WY-2").decide(actionID: "A1", current: nil, lookup: lookup)
        }
        await expectRefusal(.invalidArgument, mentioning: "not a due date") {
            _ = try await ActionCommand.raise(title: "Present", owner: "GM", due: "11/05/2016", decisionID: nil, caseID: nil).decide(actionID: "A1", current: nil, lookup: lookup)
        }
        try await node.record(actionStream, ActionCommand.raise(title: "Present best practice", owner: "GM PCC office", due: "2016-05-11", decisionID: "NATN-2016-03-D2", caseID: nil).decide(actionID: "A1", current: nil, lookup: lookup))
        await expectRefusal(.ruleViolation, mentioning: "already owned") {
            _ = try await ActionCommand.reassign(owner: "GM PCC office").decide(actionID: "A1", current: action(), lookup: lookup)
        }
        try await node.record(actionStream, ActionCommand.cancel(reason: "superseded").decide(actionID: "A1", current: action(), lookup: lookup))
        #expect(action()?.status == .cancelled)
        await expectRefusal(.ruleViolation, mentioning: "is cancelled") {
            _ = try await ActionCommand.complete(outcome: nil).decide(actionID: "A1", current: action(), lookup: lookup)
        }
    }
}
