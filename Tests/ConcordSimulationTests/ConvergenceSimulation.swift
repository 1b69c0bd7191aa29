import ConcordCore
import ConcordDomain
import ConcordProjections
import ConcordRecording
@testable import ConcordSQLite
import ConcordTestSupport

/// Seven regional nodes in one process, driven by one seeded scheduler: a random topology,
/// partitions, nodes offline for a while, concurrent edits of the same cases and meeting, crashes
/// and restarts, and faulty syncs. Then the network heals and every link syncs until nothing moves.
///
/// Everything random comes from the seed (the node keys and the clock too), so a seed replays the
/// same run: `trace` lists every step.
struct ConvergenceSimulation {
    struct Report {
        var seed: UInt64
        var trace: [String] = []
        var edits = 0
        var refusedEdits = 0
        var syncs = 0
        var cutSyncs = 0
        var crashes = 0
        var healRounds = 0
        var digests: [String] = []
        var vectors: [VersionVector] = []
        var conflicts: [[String]] = []
        var verificationFaults: [String] = []
        var sharingChanges = 0
        var erasures = 0
        var erasedEvents = 0
        var openingsMoved = 0
        var openingsMovedHealing = 0
        var vectorsUnderRules: [VersionVector] = []
        var stubsUnderRules = 0
        var stubsLeft = 0
        var erasureFaults: [String] = []

        var converged: Bool { Set(digests).count == 1 && Set(vectors).count == 1 && Set(conflicts).count == 1 }
    }

    static let nodeCount = 7
    static let sharedCases = ["SIM-1", "SIM-2", "SIM-3"]
    static let sharedMeeting = "SIM-M1"

    let seed: UInt64
    var steps = 160
    /// Hub mode: every region syncs only with this hub (a star; the hub never goes offline or
    /// crashes), which relays between them, on whatever backend it is given.
    var hub: SimulatedHub? = nil

    func run(in directory: TemporaryDirectory) async throws -> Report {
        var random = SeededRandom(seed: seed)
        var report = Report(seed: seed)
        let clock = SimulatedClock()
        let nodes = try (0..<Self.nodeCount).map { index in
            try SimulatedNode(
                name: "region-\(index)", directory: directory,
                keySeed: (0..<32).map { _ in UInt8.random(in: 0...255, using: &random) }, clock: clock
            )
        }
        let hubIndex = Self.nodeCount
        let links = hub == nil ? Self.randomTopology(&random) : (0..<Self.nodeCount).map { ($0, hubIndex) }
        func remote(_ index: Int) -> any SimulationRemote { index == hubIndex ? hub! : nodes[index] }
        func isOnline(_ index: Int) -> Bool { index == hubIndex || nodes[index].online }
        report.trace.append("topology \(links.map { "\($0.0)-\($0.1)" }.joined(separator: " "))")
        var down = Set<Int>()  // indices into links
        let sync = InMemorySync()

        // The first region opens the shared records; the others learn of them through sync.
        let opening = DomainRecorder.Context(actor: "officer@region-0", occurredAt: clock.read())
        for id in Self.sharedCases {
            try await nodes[0].recorder.run(.open(title: "Shared case \(id)", region: "Region 0", category: nil, reference: nil), caseID: id, opening)
        }
        try await nodes[0].recorder.run(.schedule(title: "Regional meeting", at: 1_460_000_000_000, location: "Leeds", host: nil), meetingID: Self.sharedMeeting, opening)

        for step in 0..<steps {
            clock.advance(by: Int64.random(in: 0...2_000, using: &random))
            let roll = Int.random(in: 0..<100, using: &random)
            switch roll {
            case 0..<45:
                let node = Int.random(in: 0..<Self.nodeCount, using: &random)
                let roll = Int.random(in: 0..<10, using: &random)
                if roll == 0 {
                    let change = try changeSharing(nodes[node], &random)
                    report.sharingChanges += 1
                    report.trace.append("\(step) region-\(node) sharing: \(change)")
                } else if roll == 1 {
                    let erased = try erase(nodes[node], step: step, &random)
                    if erased > 0 { report.erasures += 1 }
                    report.trace.append("\(step) region-\(node) erases \(erased) event(s)")
                } else {
                    let done = try await edit(nodes[node], step: step, &random)
                    report.edits += 1
                    if !done { report.refusedEdits += 1 }
                    report.trace.append("\(step) edit region-\(node)\(done ? "" : " (refused by the rules)")")
                }
            case 45..<80:
                let link = Int.random(in: 0..<links.count, using: &random)
                var (a, b) = Int.random(in: 0..<2, using: &random) == 0 ? links[link] : (links[link].1, links[link].0)
                // A hub is synced with by the regions; it does not call them.
                if a == hubIndex { (a, b) = (b, a) }
                guard !down.contains(link), isOnline(a), isOnline(b) else {
                    report.trace.append("\(step) sync region-\(a) with region-\(b): unreachable")
                    continue
                }
                report.syncs += 1
                do {
                    let summary = try await sync.run(local: nodes[a], remote: remote(b)) {
                        let fault = Int.random(in: 0..<100, using: &random)
                        return fault < 80 ? .none : fault < 87 ? .refused : fault < 95 ? .truncated : .duplicated
                    }
                    report.trace.append("\(step) sync region-\(a) with region-\(b): pulled \(summary.pulled), pushed \(summary.pushed), openings \(summary.openingsReceived) in, \(summary.openingsSent) out")
                    report.openingsMoved += summary.openingsReceived + summary.openingsSent
                } catch is InMemorySync.Cut {
                    report.cutSyncs += 1
                    report.trace.append("\(step) sync region-\(a) with region-\(b): cut")
                }
            case 80..<88:
                let link = Int.random(in: 0..<links.count, using: &random)
                if down.remove(link) == nil { down.insert(link) }
                report.trace.append("\(step) link \(links[link].0)-\(links[link].1) \(down.contains(link) ? "partitioned" : "restored")")
            case 88..<94:
                let node = Int.random(in: 0..<Self.nodeCount, using: &random)
                nodes[node].online.toggle()
                report.trace.append("\(step) region-\(node) \(nodes[node].online ? "back online" : "offline")")
            default:
                let node = Int.random(in: 0..<Self.nodeCount, using: &random)
                try nodes[node].crashAndRestart()
                report.crashes += 1
                report.trace.append("\(step) region-\(node) crashed and restarted")
            }
        }

        // Heal with the rules as they stand: every event reaches every node, whole or as a stub,
        // so every vector is the same whatever the rules withhold.
        for node in nodes { node.online = true }
        for _ in 1...(3 * Self.nodeCount + 2) {
            var moved = 0
            for (a, b) in links {
                let summary = try await sync.run(local: nodes[a], remote: remote(b)) { .none }
                moved += summary.pulled + summary.pushed + summary.openingsReceived + summary.openingsSent
                report.openingsMoved += summary.openingsReceived + summary.openingsSent
            }
            if moved == 0 { break }
        }
        if let hub { report.vectorsUnderRules.append(try await hub.store.versionVector()) }
        for node in nodes {
            report.vectorsUnderRules.append(try node.store.versionVector())
            report.stubsUnderRules += try node.store.readLog(afterPosition: 0, limit: Int.max).filter { $0.event.disclosure == .withheld }.count
        }

        // Then every node shares everything (a widening of every rule: the stubs' openings must
        // follow), and faultless syncs run until quiet.
        for node in nodes {
            try node.store.setShareDefault(.full)
            for rule in try node.store.shareRules() { try node.store.removeShareRule(peer: rule.peer, rule.selector) }
            for stream in try node.store.localStreams() { try node.store.setLocal(stream, false) }
        }
        for round in 1...(3 * Self.nodeCount + 2) {
            var moved: UInt64 = 0
            for (a, b) in links {
                let summary = try await sync.run(local: nodes[a], remote: remote(b)) { .none }
                moved += UInt64(summary.pulled + summary.pushed + summary.openingsReceived + summary.openingsSent)
                report.openingsMovedHealing += summary.openingsReceived + summary.openingsSent
            }
            report.healRounds = round
            if moved == 0 { break }
        }

        for node in nodes {
            report.digests.append(try node.store.readModelDigest(.live))
            report.vectors.append(try node.store.versionVector())
            let rows = try node.store.queryReadModels(.live, sql: "SELECT stream, field, chosen, candidates FROM {schema}.conflicts ORDER BY stream, field")
            report.conflicts.append(rows.rows.map { $0.map(\.description).joined(separator: " | ") })
            let verification = try LogVerifier.verify(node.store)
            report.verificationFaults += verification.faults.map { "\(node.name): \($0.origin):\($0.seq) \($0.kind.rawValue)" }
            // Everything shared now: no stub is left, and every event an erasure names is erased
            // (its text in no row of the log).
            let events = try node.store.readLog(afterPosition: 0, limit: Int.max).map(\.event)
            report.stubsLeft += events.filter { $0.disclosure == .withheld }.count
            var named: Set<EventID> = []
            for event in events { if let erasure = try Erasure.recorded(by: event) { named.formUnion(erasure.targets) } }
            report.erasedEvents = max(report.erasedEvents, named.count)
            for event in events where named.contains(event.id) && event.disclosure != .erased {
                report.erasureFaults.append("\(node.name): \(event.id) is named by an erasure but not erased")
            }
        }
        if let hub {
            report.digests.append(try await hub.store.readModelDigest())
            report.vectors.append(try await hub.store.versionVector())
            if let log = hub.store as? any VerifiableLog {
                report.verificationFaults += try await LogVerifier.verify(log).faults.map { "\(hub.name): \($0.origin):\($0.seq) \($0.kind.rawValue)" }
            }
        }
        return report
    }

    /// A random spanning tree (so the network is connected once healed) plus a few extra links.
    static func randomTopology(_ random: inout SeededRandom) -> [(Int, Int)] {
        var links: [(Int, Int)] = []
        for node in 1..<nodeCount { links.append((Int.random(in: 0..<node, using: &random), node)) }
        for _ in 0..<Int.random(in: 0...3, using: &random) {
            let a = Int.random(in: 0..<nodeCount, using: &random)
            let b = Int.random(in: 0..<nodeCount, using: &random)
            if a != b, !links.contains(where: { ($0 == (a, b)) || ($0 == (b, a)) }) { links.append((a, b)) }
        }
        return links
    }

    /// A change to what a node shares: its default, a rule for a peer, or a case kept local. The
    /// rules decide openings only; every event still reaches every node.
    private func changeSharing(_ node: SimulatedNode, _ random: inout SeededRandom) throws -> String {
        let peer = "region-\(Int.random(in: 0..<Self.nodeCount, using: &random))"
        let own = try StreamID("case:\(node.name.uppercased())-\(Int.random(in: 1...3, using: &random))")
        switch Int.random(in: 0..<5, using: &random) {
        case 0:
            let value: SharingPolicy.Default = Bool.random(using: &random) ? .full : .stubs
            try node.store.setShareDefault(value)
            return "default \(value.rawValue)"
        case 1:
            try node.store.addShareRule(peer: peer, .kind("meeting"))
            return "\(peer) gets kind:meeting"
        case 2:
            try node.store.addShareRule(peer: peer, .stream(own))
            return "\(peer) gets \(own)"
        case 3:
            for rule in try node.store.shareRules(peer: peer) { try node.store.removeShareRule(peer: peer, rule.selector) }
            return "\(peer)'s rules removed"
        default:
            let local = Bool.random(using: &random)
            try node.store.setLocal(own, local)
            return "\(own) \(local ? "kept local" : "shared again")"
        }
    }

    /// The node erases what it recorded on one of its own cases (nothing when it has none yet).
    private func erase(_ node: SimulatedNode, step: Int, _ random: inout SeededRandom) throws -> Int {
        let own = try StreamID("case:\(node.name.uppercased())-\(Int.random(in: 1...3, using: &random))")
        let origin = try node.store.origin
        let targets = try node.store.readStream(own, afterVersion: 0, limit: Int.max).map(\.event)
            .filter { $0.origin == origin && $0.commitment != nil && $0.disclosure != .erased }.map(\.id)
        guard !targets.isEmpty else { return 0 }
        let draft = try Erasure(targets: targets, reason: "simulated retention review, step \(step)")
            .draft(actor: "dpo@\(node.name)", occurredAt: 1_457_519_400_000 + Int64(step) * 60_000, origin: origin)
        try node.store.append([draft], expecting: [:])
        return targets.count
    }

    /// One command on a shared record or the node's own case; false when the rules refused it
    /// (such as a note on a case this node has not heard of yet).
    private func edit(_ node: SimulatedNode, step: Int, _ random: inout SeededRandom) async throws -> Bool {
        let context = DomainRecorder.Context(actor: "officer@\(node.name)", occurredAt: 1_457_519_400_000 + Int64(step) * 60_000)
        let recorder = node.recorder
        let caseID = Self.sharedCases[Int.random(in: 0..<Self.sharedCases.count, using: &random)]
        let statuses: [CaseStatus] = [.investigating, .referred, .charged, .convicted]
        do {
            switch Int.random(in: 0..<7, using: &random) {
            case 0: try await recorder.run(.changeStatus(statuses[Int.random(in: 0..<statuses.count, using: &random)]), caseID: caseID, context)
            case 1: try await recorder.run(.assign(owner: "officer-\(Int.random(in: 0..<5, using: &random))"), caseID: caseID, context)
            case 2: try await recorder.run(.note("Step \(step) at \(node.name)"), caseID: caseID, context)
            case 3: try await recorder.run(.attend(name: "Officer \(node.name)", role: nil, organisation: nil), meetingID: Self.sharedMeeting, context)
            case 4: try await recorder.run(.decide(decisionID: "D\(Int.random(in: 1...3, using: &random))", text: "Decided at \(node.name) step \(step)", proposedBy: nil), meetingID: Self.sharedMeeting, context)
            case 5:
                let own = "\(node.name.uppercased())-\(Int.random(in: 1...3, using: &random))"
                try await recorder.run(.note("Private note \(step) at \(node.name)"), caseID: own, context)
            default:
                let own = "\(node.name.uppercased())-\(Int.random(in: 1...3, using: &random))"
                try await recorder.run(.open(title: "Own case \(own)", region: node.name, category: nil, reference: nil), caseID: own, context)
            }
            return true
        } catch let error as ConcordError where [.ruleViolation, .unknownID].contains(error.code) {
            return false
        }
    }
}
