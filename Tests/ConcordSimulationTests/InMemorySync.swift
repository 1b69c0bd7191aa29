import ConcordCore
@testable import ConcordSQLite
import ConcordSyncProtocol

/// The node a simulated sync is made with: another region (`SimulatedNode`) or a hub on any
/// backend (`SimulatedHub`, PostgreSQL in `ConvergenceSimulation`'s hub mode).
protocol SimulationRemote {
    var name: String { get }
    var backend: any SyncBackend { get }
}

extension SimulatedNode: SimulationRemote {
    var backend: any SyncBackend { SQLiteSyncBackend(store: store) }
}

struct SimulatedHub: SimulationRemote {
    let name: String
    let store: any HubBackend
    var backend: any SyncBackend { store }
}

/// What the simulated network does to one message.
enum WireFault: String, CaseIterable {
    case none
    /// The connection fails before anything arrives.
    case refused
    /// The body stops part-way, at any byte.
    case truncated
    /// The same push arrives twice (a retry after a lost answer).
    case duplicated
}

/// Runs the sync protocol between two simulated nodes: the same `SyncSession` state machine the
/// HTTP client drives, the same `SyncResponder` the HTTP server answers with and the same
/// `MissingRuns` its pushes are made of, with every message encoded to the wire format and decoded
/// again, and the faults the scheduler picks. Only the transport is replaced by function calls.
///
/// A network fault ends the session (`Cut`): it is expected, and what was stored stays. A refusal
/// is not a network fault: honest nodes never refuse each other's events, so any refusal (of a
/// pull answer's origins by the puller, of a push by the pushed-to node, of a run the sender
/// cannot send) is thrown as `Refused`, and the simulation fails on it.
struct InMemorySync {
    struct Cut: Error {}

    struct Refused: Error, CustomStringConvertible {
        var description: String
    }

    let limits = SyncLimits()
    /// The protocol's smallest batch: the simulation's syncs take as many rounds as they can.
    var budget = BatchBudget(maxEvents: SyncLimits.minimumBatchEvents, maxBytes: SyncLimits.minimumBatchBytes)

    /// Pull then push, then late openings both ways (`OpeningsReconciler`, as `SyncDriver` does).
    /// Throws `Cut` when a fault ends the session; whatever was stored stays.
    func run(local: SimulatedNode, remote: any SimulationRemote, fault: () -> WireFault) async throws -> SyncSession.Summary {
        let here = SQLiteSyncBackend(store: local.store)
        let there = SyncResponder(backend: remote.backend, limits: limits)
        var session = SyncSession(mode: .pullThenPush, budget: budget)
        var action = session.start(local: try await here.versionVector())
        var unfolded = false
        var remoteOpenings: UInt64?
        var remoteStubs: Int64?
        while true {
            switch action {
            case .pull(var request):
                request.heads = try await here.heads(at: request.have)
                let received = try SyncWire.PullRequest(json: request.json, limits: limits)
                let (body, _) = try await there.pullAnswer(received, peer: local.name)
                let (batch, end) = try receivePull(try Self.deliver(body, fault()))
                remoteOpenings = end.openings ?? remoteOpenings
                remoteStubs = end.stubs ?? remoteStubs
                let result = batch.events.isEmpty && batch.seals.isEmpty ? IngestResult(inserted: 0, alreadyHeld: 0) : try await here.ingest(batch, from: remote.name)
                guard result.refused.isEmpty, end.setAside.isEmpty else {
                    throw Refused(description: "\(local.name) pulling from \(remote.name): refused \(result.refused), set aside by the sender \(end.setAside)")
                }
                unfolded = unfolded || result.inserted > 0
                if unfolded, !end.more {
                    try local.store.catchUpProjections()
                    unfolded = false
                }
                action = session.pulled(received: batch.events.count, result: result, end: end, local: try await here.versionVector())
            case .fetchRemoteVector:
                let remoteVector = try await remote.backend.versionVector()
                action = session.receivedRemoteVector(remoteVector, limits: limits.advertised, local: try await here.versionVector())
            case .push(let have, let exclude, let proofRuns, let budget):
                let shared = SharedView(source: here, policy: try await here.sharingPolicy(for: remote.name))
                var runs = try await MissingRuns(source: shared, have: have, exclude: exclude, proofRuns: proofRuns, budget: budget)
                let batch = try await runs.batch()
                guard runs.setAside.isEmpty else { throw Refused(description: "\(local.name) cannot send \(runs.setAside)") }
                var result = SyncWire.PushResult(accepted: 0, alreadyHeld: 0, vector: have)
                if !batch.events.isEmpty {
                    let chosen = fault()
                    // HTTP's framing shows the server a body cut short: it stores nothing of it.
                    guard chosen != .truncated else { throw Cut() }
                    let body = Array(BatchWriter.lines(batch).utf8)
                    for _ in 0..<(chosen == .duplicated ? 2 : 1) {
                        result = try await receivePush(try Self.deliver(body, chosen), at: remote, by: there, from: local)
                    }
                }
                action = session.pushed(sent: batch.events.count, proofs: Set(proofRuns.keys), result: result, local: try await here.versionVector())
            case .done(var summary):
                let peer = InMemoryOpeningsPeer(remote: remote.backend, responder: there, asking: local.name, budget: budget, fault: fault())
                let openings = try await OpeningsReconciler(local: here, peerName: remote.name, budget: budget).run(with: peer, remoteOpenings: remoteOpenings, remoteStubs: remoteStubs, ask: true, offer: true)
                summary.openingsReceived = openings.received
                summary.openingsSent = openings.sent
                return summary
            case .failed(let reason):
                throw Refused(description: "\(local.name) with \(remote.name): \(reason)")
            }
        }
    }

    /// The bytes that arrive, or `Cut` when none do.
    fileprivate static func deliver(_ body: [UInt8], _ fault: WireFault) throws -> [UInt8] {
        switch fault {
        case .none, .duplicated: return body
        case .refused: throw Cut()
        case .truncated:
            var generator = SeededRandom(seed: UInt64(body.count))
            return Array(body.prefix(Int.random(in: 0..<max(body.count, 1), using: &generator)))
        }
    }

    /// As the HTTP client: an answer without its end line was cut and is discarded whole.
    private func receivePull(_ body: [UInt8]) throws -> (IngestBatch, SyncWire.BatchEnd) {
        var reader = BatchReader(budget: budget)
        do {
            try reader.feed(body)
            let batch = try reader.finish()
            guard let end = reader.end else { throw Cut() }
            return (batch, end)
        } catch is ConcordError {
            throw Cut()
        }
    }

    /// As the server: the whole body decoded and answered by the responder.
    private func receivePush(_ body: [UInt8], at remote: any SimulationRemote, by responder: SyncResponder, from local: SimulatedNode) async throws -> SyncWire.PushResult {
        var reader = BatchReader(limits: limits)
        try reader.feed(body)
        switch try await responder.push(try reader.finish(), from: local.name) {
        case .stored(let result, let inserted):
            if inserted > 0 { try await remote.backend.catchUpReadModels() }
            return result
        case .refused(let error, let origins):
            throw Refused(description: "\(remote.name) refused a push from \(local.name): \(error.message) \(origins)")
        }
    }
}

/// The late-openings calls answered by the remote node's responder, each message encoded to the
/// wire format and decoded again; one fault, picked by the scheduler, applies to every answer of
/// the reconciliation (an answer cut short has no end line and is discarded, as by HTTP).
struct InMemoryOpeningsPeer: OpeningsPeer {
    let remote: any SyncBackend
    let responder: SyncResponder
    let asking: String
    let budget: BatchBudget
    let fault: WireFault

    func stubs(since: Int64) async throws -> SyncWire.StubsPage {
        let body = Array(try await responder.stubs(since: since).json.utf8)
        do {
            return try SyncWire.StubsPage(json: String(decoding: try InMemorySync.deliver(body, fault), as: UTF8.self))
        } catch is ConcordError {
            throw InMemorySync.Cut()
        }
    }

    func pullOpenings(_ request: SyncWire.OpeningsRequest) async throws -> (events: [Event], end: SyncWire.BatchEnd) {
        let received = try SyncWire.OpeningsRequest(json: request.json, limits: responder.limits)
        let (events, more) = try await responder.openings(received, peer: asking)
        var body: [UInt8] = []
        BatchWriter.append(IngestBatch(events: events), to: &body)
        let end = SyncWire.BatchEnd(
            more: more, vector: try await responder.backend.versionVector(), openings: try await responder.backend.openingsGeneration(),
            stubs: try await responder.backend.stubsCursor()
        )
        body += Array((end.json + "\n").utf8)
        var reader = BatchReader(budget: budget)
        do {
            try reader.feed(try InMemorySync.deliver(body, fault))
            let batch = try reader.finish()
            guard let end = reader.end else { throw InMemorySync.Cut() }
            return (batch.events, end)
        } catch is ConcordError {
            throw InMemorySync.Cut()
        }
    }

    func pushOpenings(_ events: [Event]) async throws -> SyncWire.OpeningsResult {
        guard fault != .truncated else { throw InMemorySync.Cut() }
        var reader = BatchReader(limits: responder.limits)
        try reader.feed(try InMemorySync.deliver(Array(BatchWriter.lines(IngestBatch(events: events)).utf8), fault))
        let result = try await responder.backend.storeOpenings(try reader.finish().events, from: asking)
        if result.stored > 0 { try await remote.catchUpReadModels() }
        return result
    }
}
