import ConcordCore

/// The demo's record: the network's first meeting (Home Office, London, March 2016) on the hub,
/// and a seeded, realistic spread of cases on each regional node.
struct DemoScenario {
    struct Entry {
        var stream: String
        var type: String
        var data: JSONValue
        var actor: String
        var occurredAt: String
    }

    struct Region {
        var node: String
        var name: String
        var prefix: String
        var actor: String
    }

    static let regions = [
        Region(node: "west-yorkshire", name: "West Yorkshire", prefix: "WY", actor: "analyst@westyorkshire.pcc"),
        Region(node: "greater-manchester", name: "Greater Manchester", prefix: "GM", actor: "analyst@greatermanchester.pcc"),
        Region(node: "west-midlands", name: "West Midlands", prefix: "WM", actor: "analyst@westmidlands.pcc"),
    ]

    static func s(_ text: String) -> JSONValue { .string(text) }

    /// The first national meeting and what it decided.
    static func hubRecord() -> [Entry] {
        let meeting = "meeting:NATN-2016-03"
        let secretariat = "secretariat@national-network"
        var entries: [Entry] = [
            Entry(stream: meeting, type: "meeting.scheduled", data: .object([
                "title": s("National anti-trafficking and modern slavery network: first meeting"),
                "at": s("2016-03-09T10:30:00Z"), "location": s("Home Office, 2 Marsham Street, London"),
                "host": s("Home Office Modern Slavery Unit"),
            ]), actor: secretariat, occurredAt: "2016-02-15T09:00:00Z"),
        ]
        let attendees: [(String, String, String)] = [
            ("PCC for West Yorkshire", "chair", "Office of the PCC for West Yorkshire"),
            ("PCC for Greater Manchester", "member", "Greater Manchester Combined Authority"),
            ("PCC for the West Midlands", "member", "Office of the PCC for the West Midlands"),
            ("Independent Anti-Slavery Commissioner", "adviser", "IASC"),
            ("Senior officer, Romanian National Police", "presenter", "Romanian National Police"),
            ("Head of Modern Slavery Unit", "secretariat", "Home Office"),
        ]
        for (name, role, organisation) in attendees {
            entries.append(Entry(stream: meeting, type: "meeting.attendee-recorded", data: .object([
                "name": s(name), "role": s(role), "organisation": s(organisation),
            ]), actor: secretariat, occurredAt: "2016-03-09T10:30:00Z"))
        }
        let agenda = [
            "Terms of reference", "Sharing best practice between regions",
            "Training for officers", "Dedicated teams and regional collaboration",
            "International work: presentation from Romania",
        ]
        for (index, item) in agenda.enumerated() {
            entries.append(Entry(stream: meeting, type: "meeting.agenda-item-added", data: .object([
                "item": .number(String(index + 1)), "title": s(item),
            ]), actor: secretariat, occurredAt: "2016-03-01T12:00:00Z"))
        }
        let decisions: [(String, String, String)] = [
            ("NATN-2016-03-D1", "The network agrees its terms of reference.", "PCC for West Yorkshire"),
            ("NATN-2016-03-D2", "Greater Manchester will present its best practice at the next meeting in May.", "PCC for West Yorkshire"),
            ("NATN-2016-03-D3", "The network supports making the College of Policing e-learning package on modern slavery mandatory for all officers.", "Independent Anti-Slavery Commissioner"),
            ("NATN-2016-03-D4", "Forces are asked to consider a dedicated human trafficking team or, for smaller forces, regional collaborations.", "PCC for the West Midlands"),
        ]
        for (id, text, proposer) in decisions {
            entries.append(Entry(stream: meeting, type: "meeting.decision-recorded", data: .object([
                "decisionId": s(id), "text": s(text), "proposedBy": s(proposer),
            ]), actor: secretariat, occurredAt: "2016-03-09T12:15:00Z"))
        }
        entries.append(Entry(stream: meeting, type: "meeting.minutes-published", data: .object([
            "summary": s("Terms of reference agreed; four decisions recorded; Romanian partners presented joint investigations."),
        ]), actor: secretariat, occurredAt: "2016-03-16T09:00:00Z"))
        let actions: [(String, String, String, String, String)] = [
            ("NATN-2016-03-A1", "Present Greater Manchester best practice", "Greater Manchester PCC office", "2016-05-11", "NATN-2016-03-D2"),
            ("NATN-2016-03-A2", "Write to the College of Policing supporting mandatory e-learning", "Home Office Modern Slavery Unit", "2016-04-08", "NATN-2016-03-D3"),
            ("NATN-2016-03-A3", "Report each force's position on dedicated teams", "Regional leads", "2016-06-30", "NATN-2016-03-D4"),
        ]
        for (id, title, owner, due, decision) in actions {
            entries.append(Entry(stream: "action:\(id)", type: "action.raised", data: .object([
                "title": s(title), "owner": s(owner), "due": s(due), "decisionId": s(decision),
            ]), actor: secretariat, occurredAt: "2016-03-16T09:30:00Z"))
        }
        entries.append(Entry(stream: "action:NATN-2016-03-A2", type: "action.completed", data: .object([
            "outcome": s("Letter sent to the College of Policing."),
        ]), actor: secretariat, occurredAt: "2016-04-05T14:00:00Z"))
        return entries
    }

    /// A seeded spread of cases for one region: opened, moved through statuses, some closed.
    static func regionRecord(_ region: Region, cases: Int, seed: UInt64) -> [Entry] {
        var random = SplitMix64(seed: seed)
        let categories = ["labour exploitation", "sexual exploitation", "criminal exploitation", "domestic servitude"]
        let settings = [
            "car wash", "nail bar", "building site", "cannabis farm", "takeaway", "private household",
            "agricultural work", "hand car wash", "food processing plant", "county lines",
        ]
        let path = ["investigating", "referred", "charged", "convicted"]
        var entries: [Entry] = []
        for number in 1...cases {
            let id = "\(region.prefix)-2016-\(String(1000 + number).suffix(4))"
            let stream = "case:\(id)"
            let category = categories[Int(random.next() % UInt64(categories.count))]
            let setting = settings[Int(random.next() % UInt64(settings.count))]
            var day = Int64(random.next() % 300)
            let opened = try! Timestamp.parse("2016-01-04T09:00:00Z")
            func at(_ day: Int64) -> String { Timestamp.iso8601(millis: opened + day * 86_400_000) }
            entries.append(Entry(stream: stream, type: "case.opened", data: .object([
                "reference": s(id), "title": s("Suspected \(category) at a \(setting)"),
                "region": s(region.name), "category": s(category),
            ]), actor: region.actor, occurredAt: at(day)))
            let steps = Int(random.next() % 5)
            for step in 0..<steps {
                day += Int64(3 + random.next() % 40)
                entries.append(Entry(stream: stream, type: "case.status-changed", data: .object([
                    "status": s(path[step]),
                ]), actor: region.actor, occurredAt: at(day)))
            }
            if steps < 2, random.next() % 3 == 0 {
                day += Int64(5 + random.next() % 30)
                entries.append(Entry(stream: stream, type: "case.closed", data: .object([
                    "outcome": s("no further action"),
                ]), actor: region.actor, occurredAt: at(day)))
            }
        }
        return entries
    }
}

/// A small, fast, seeded generator: the demo's record is the same on every run.
struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
