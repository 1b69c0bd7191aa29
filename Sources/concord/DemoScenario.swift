import ConcordCore
import ConcordDomain

/// The demo's record: the network's first meeting (Home Office, London, March 2016), what it
/// decided and the actions that followed, on the hub; and a seeded, realistic spread of cases on
/// each regional node. The same on every run.
struct DemoScenario {
    enum Step {
        case meeting(String, MeetingCommand)
        case `case`(String, CaseCommand)
        case action(String, ActionCommand)
    }

    struct Entry {
        var step: Step
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

    static let meetingID = "NATN-2016-03"

    /// The first national meeting and what it decided.
    static func hubRecord() -> [Entry] {
        let secretariat = "secretariat@national-network"
        func meeting(_ command: MeetingCommand, _ at: String) -> Entry { Entry(step: .meeting(meetingID, command), actor: secretariat, occurredAt: at) }
        var entries = [
            meeting(.schedule(
                title: "National anti-trafficking and modern slavery network: first meeting",
                at: try! Timestamp.parse("2016-03-09T10:30:00Z"), location: "Home Office, 2 Marsham Street, London",
                host: "Home Office Modern Slavery Unit"
            ), "2016-02-15T09:00:00Z"),
        ]
        let agenda = [
            "Terms of reference", "Sharing best practice between regions", "Training for officers",
            "Dedicated teams and regional collaboration", "International work: presentation from Romania",
        ]
        entries += agenda.map { meeting(.agenda(title: $0), "2016-03-01T12:00:00Z") }
        let attendees: [(String, String, String)] = [
            ("PCC for West Yorkshire", "chair", "Office of the PCC for West Yorkshire"),
            ("PCC for Greater Manchester", "member", "Greater Manchester Combined Authority"),
            ("PCC for the West Midlands", "member", "Office of the PCC for the West Midlands"),
            ("Independent Anti-Slavery Commissioner", "adviser", "IASC"),
            ("Senior officer, Romanian National Police", "presenter", "Romanian National Police"),
            ("Head of Modern Slavery Unit", "secretariat", "Home Office"),
        ]
        entries += attendees.map { meeting(.attend(name: $0.0, role: $0.1, organisation: $0.2), "2016-03-09T10:30:00Z") }
        let decisions: [(String, String, String)] = [
            ("NATN-2016-03-D1", "The network agrees its terms of reference.", "PCC for West Yorkshire"),
            ("NATN-2016-03-D2", "Greater Manchester will present its best practice at the next meeting in May.", "PCC for West Yorkshire"),
            ("NATN-2016-03-D3", "The network supports making the College of Policing e-learning package on modern slavery mandatory for all officers.", "Independent Anti-Slavery Commissioner"),
            ("NATN-2016-03-D4", "Forces are asked to consider a dedicated human trafficking team or, for smaller forces, regional collaborations.", "PCC for the West Midlands"),
        ]
        entries += decisions.map { meeting(.decide(decisionID: $0.0, text: $0.1, proposedBy: $0.2), "2016-03-09T12:15:00Z") }
        entries.append(meeting(.minutes(summary: "Terms of reference agreed; four decisions recorded; Romanian partners presented joint investigations."), "2016-03-16T09:00:00Z"))
        let actions: [(String, String, String, String, String)] = [
            ("NATN-2016-03-A1", "Present Greater Manchester best practice", "Greater Manchester PCC office", "2016-05-11", "NATN-2016-03-D2"),
            ("NATN-2016-03-A2", "Write to the College of Policing supporting mandatory e-learning", "Home Office Modern Slavery Unit", "2016-04-08", "NATN-2016-03-D3"),
            ("NATN-2016-03-A3", "Report each force's position on dedicated teams", "Regional leads", "2016-06-30", "NATN-2016-03-D4"),
        ]
        for (id, title, owner, due, decision) in actions {
            entries.append(Entry(step: .action(id, .raise(title: title, owner: owner, due: due, decisionID: decision, caseID: nil)), actor: secretariat, occurredAt: "2016-03-16T09:30:00Z"))
        }
        entries.append(Entry(step: .action("NATN-2016-03-A2", .complete(outcome: "Letter sent to the College of Policing.")), actor: secretariat, occurredAt: "2016-04-05T14:00:00Z"))
        entries.append(Entry(step: .action("NATN-2016-03-A1", .progress(note: "Slides circulated to the network.")), actor: "gm-office@greatermanchester.pcc", occurredAt: "2016-05-03T10:00:00Z"))
        entries.append(Entry(step: .action("NATN-2016-03-A1", .complete(outcome: "Presented at the May meeting in Manchester.")), actor: "gm-office@greatermanchester.pcc", occurredAt: "2016-05-11T15:00:00Z"))
        return entries
    }

    /// A seeded spread of cases for one region: opened, assigned, moved through statuses, some closed.
    static func regionRecord(_ region: Region, cases: Int, seed: UInt64) -> [Entry] {
        var random = SeededRandom(seed: seed)
        let categories = ["labour exploitation", "sexual exploitation", "criminal exploitation", "domestic servitude"]
        let settings = [
            "car wash", "nail bar", "building site", "cannabis farm", "takeaway", "private household",
            "farm", "hand car wash", "food processing plant", "county lines network",
        ]
        let officers = ["DS Patel", "DC Jones", "DI Okafor", "DS Walsh", "DC Novak"]
        let path: [CaseStatus] = [.investigating, .referred, .charged, .convicted]
        let start = try! Timestamp.parse("2016-01-04T09:00:00Z")
        var entries: [Entry] = []
        for number in 1...cases {
            let id = "\(region.prefix)-2016-\(String(1000 + number).suffix(4))"
            func pick<T>(_ items: [T]) -> T { items[Int(random.next() % UInt64(items.count))] }
            var day = Int64(random.next() % 300)
            func at() -> String { Timestamp.iso8601(millis: start + day * 86_400_000 + Int64(random.next() % 28_800_000)) }
            func add(_ command: CaseCommand) { entries.append(Entry(step: .case(id, command), actor: region.actor, occurredAt: at())) }
            add(.open(title: "Suspected \(pick(categories)) at a \(pick(settings))", region: region.name, category: pick(categories), reference: nil))
            day += 1
            add(.assign(owner: pick(officers)))
            let steps = Int(random.next() % 5)
            for step in 0..<steps {
                day += Int64(3 + random.next() % 40)
                add(.changeStatus(path[step]))
            }
            if random.next() % 4 == 0 {
                day += 2
                add(.note("Victims referred to the National Referral Mechanism."))
            }
            if number % 17 == 0 {
                let other = regions[Int(random.next() % UInt64(regions.count))]
                if other.prefix != region.prefix {
                    add(.link(otherCase: "\(other.prefix)-2016-\(String(1000 + number).suffix(4))", relation: "same suspects"))
                }
            }
            if steps < 2, random.next() % 3 == 0 {
                day += Int64(5 + random.next() % 30)
                add(.close(outcome: "no further action"))
            } else if steps == 4 {
                day += Int64(10 + random.next() % 30)
                add(.close(outcome: "convicted"))
            }
        }
        return entries
    }
}
