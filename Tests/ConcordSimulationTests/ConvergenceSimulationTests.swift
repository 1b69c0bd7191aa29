import ConcordCore
import ConcordPostgres
import ConcordTestSupport
import Foundation
import Testing

/// The deterministic convergence simulation (docs/reliability.md). CI runs a handful of seeds;
/// `CONCORD_SIM_SEEDS=500` runs more (scripts/simulate.sh), `CONCORD_SIM_SEED=N` replays one.
struct ConvergenceSimulationTests {
    static var seeds: [UInt64] {
        let environment = ProcessInfo.processInfo.environment
        if let one = environment["CONCORD_SIM_SEED"].flatMap(UInt64.init) { return [one] }
        let count = environment["CONCORD_SIM_SEEDS"].flatMap(Int.init) ?? 6
        let first = environment["CONCORD_SIM_FIRST_SEED"].flatMap(UInt64.init) ?? 1
        return (0..<UInt64(count)).map { first + $0 }
    }

    @Test func sevenNodesConvergeAfterPartitionsCrashesAndFaultySyncs() async throws {
        var conflictsSeen = 0
        var totals = (edits: 0, syncs: 0, cut: 0, crashes: 0, sharing: 0, erasures: 0, erased: 0, openings: 0, healing: 0, stubs: 0)
        for seed in Self.seeds {
            let directory = try TemporaryDirectory("simulation")
            let report = try await ConvergenceSimulation(seed: seed).run(in: directory)
            let replay = "replay with CONCORD_SIM_SEED=\(seed) swift test --filter ConvergenceSimulationTests\n" + report.trace.suffix(40).joined(separator: "\n")
            #expect(Set(report.digests).count == 1, "seed \(seed): digests differ after healing: \(report.digests)\n\(replay)")
            #expect(Set(report.vectors).count == 1, "seed \(seed): version vectors differ\n\(replay)")
            #expect(Set(report.conflicts).count == 1, "seed \(seed): conflicts differ between nodes: \(report.conflicts)\n\(replay)")
            #expect(report.verificationFaults.isEmpty, "seed \(seed): \(report.verificationFaults)\n\(replay)")
            #expect(report.healRounds < 3 * ConvergenceSimulation.nodeCount + 2, "seed \(seed): still moving after every heal round\n\(replay)")
            #expect(Set(report.vectorsUnderRules).count == 1, "seed \(seed): vectors differ while rules withheld openings\n\(replay)")
            #expect(report.stubsLeft == 0, "seed \(seed): \(report.stubsLeft) stub(s) left after every rule was widened\n\(replay)")
            #expect(report.erasureFaults.isEmpty, "seed \(seed): \(report.erasureFaults)\n\(replay)")
            if ProcessInfo.processInfo.environment["CONCORD_SIM_TRACE"] != nil { print(report.trace.joined(separator: "\n")) }
            conflictsSeen += report.conflicts.first?.count ?? 0
            totals.edits += report.edits - report.refusedEdits
            totals.syncs += report.syncs
            totals.cut += report.cutSyncs
            totals.crashes += report.crashes
            totals.sharing += report.sharingChanges
            totals.erasures += report.erasures
            totals.erased += report.erasedEvents
            totals.openings += report.openingsMoved
            totals.healing += report.openingsMovedHealing
            totals.stubs += report.stubsUnderRules
        }
        print("simulation: \(Self.seeds.count) seed(s) converged; \(totals.edits) edits, \(totals.syncs) syncs (\(totals.cut) cut by faults), \(totals.crashes) crashes, \(conflictsSeen) conflicts listed on every node; \(totals.sharing) sharing changes, \(totals.erasures) erasures (\(totals.erased) events erased on every node), \(totals.stubs) stubs held under the rules, \(totals.openings) late openings moved under them and \(totals.healing) once every rule was widened")
        // The runs must exercise what they claim: concurrent edits that conflict, and faults.
        #expect(conflictsSeen > 0)
        #expect(totals.cut > 0 && totals.crashes > 0)
        #expect(totals.erased > 0 && totals.stubs > 0 && totals.healing > 0 && totals.sharing > 0)
    }

    @Test func aSeedReplaysExactly() async throws {
        let first = try await ConvergenceSimulation(seed: 42, steps: 80).run(in: try TemporaryDirectory("replay-a"))
        let second = try await ConvergenceSimulation(seed: 42, steps: 80).run(in: try TemporaryDirectory("replay-b"))
        #expect(first.trace == second.trace)
        #expect(first.digests == second.digests)
        #expect(first.vectors == second.vectors)
    }

    /// The same runs with the regions syncing only through a hub on PostgreSQL: what it relays,
    /// folds and verifies must leave it, and every region, with one digest.
    @Test(arguments: PostgresTestDatabase.server == nil ? [] : [HubSeeds.count])
    func regionsConvergeThroughAPostgreSQLHub(_ count: Int) async throws {
        var totals = (syncs: 0, cut: 0, crashes: 0, erased: 0, stubs: 0)
        for seed in (0..<UInt64(count)).map({ 1_000 + $0 }) {
            try await PostgresTestDatabase.with { location in
                let store = try await PostgresEventStore.create(location, nodeName: "hub", logger: StoreFixtures.quietLogger)
                let hub = SimulatedHub(name: "hub", store: store)
                let report = try await ConvergenceSimulation(seed: seed, hub: hub).run(in: try TemporaryDirectory("simulation-hub"))
                await store.close()
                let replay = "replay with CONCORD_SIM_HUB_SEEDS: seed \(seed)\n" + report.trace.suffix(40).joined(separator: "\n")
                #expect(report.digests.count == ConvergenceSimulation.nodeCount + 1)
                #expect(Set(report.digests).count == 1, "seed \(seed): digests differ after healing (the hub's last): \(report.digests)\n\(replay)")
                #expect(Set(report.vectors).count == 1, "seed \(seed): version vectors differ\n\(replay)")
                #expect(Set(report.conflicts).count == 1, "seed \(seed): conflicts differ between regions\n\(replay)")
                #expect(report.verificationFaults.isEmpty, "seed \(seed): \(report.verificationFaults)\n\(replay)")
                #expect(Set(report.vectorsUnderRules).count == 1, "seed \(seed): vectors differ while rules withheld openings\n\(replay)")
                #expect(report.stubsLeft == 0 && report.erasureFaults.isEmpty, "seed \(seed): \(report.stubsLeft) stubs left, \(report.erasureFaults)\n\(replay)")
                totals.syncs += report.syncs
                totals.cut += report.cutSyncs
                totals.crashes += report.crashes
                totals.erased += report.erasedEvents
                totals.stubs += report.stubsUnderRules
            }
        }
        print("simulation through a PostgreSQL hub: \(count) seed(s) converged; \(totals.syncs) syncs (\(totals.cut) cut by faults), \(totals.crashes) region crashes, \(totals.erased) events erased, \(totals.stubs) stubs held under the rules")
        #expect(totals.cut > 0 && totals.crashes > 0 && totals.stubs > 0)
    }
}

enum HubSeeds {
    static var count: Int { ProcessInfo.processInfo.environment["CONCORD_SIM_HUB_SEEDS"].flatMap(Int.init) ?? 3 }
}
