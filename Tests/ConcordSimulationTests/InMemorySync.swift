import ConcordCore
@testable import ConcordSQLite
import ConcordSyncProtocol

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

/// Runs the sync protocol (the same `SyncSession` state machine the HTTP client drives) between
/// two simulated nodes, with each message encoded to the wire format and decoded again, and the
/// faults the scheduler picks. Mirrors `SyncDriver` with the network replaced by function calls.
struct InMemorySync {
    struct Cut: Error {}

    let limits = SyncLimits()
    var maxEvents = 7

    /// Pull then push. Throws `Cut` when a fault ends the session; whatever was stored stays.
    func run(local: SimulatedNode, remote: SimulatedNode, fault: () -> WireFault) throws -> SyncSession.Summary {
        var session = SyncSession(mode: .pullThenPush, maxEvents: maxEvents)
        var action = session.start(local: try local.store.versionVector())
        var unfolded = false
        while true {
            switch action {
            case .pull(let request):
                let (missing, more) = try remote.store.missingBatch(have: request.have, maxEvents: request.maxEvents)
                let end = SyncWire.BatchEnd(more: more, vector: try remote.store.versionVector())
                let body = Array((BatchWriter.lines(missing) + end.json + "\n").utf8)
                let (batch, received) = try receivePull(try deliver(body, fault()))
                let result = batch.events.isEmpty ? IngestResult(inserted: 0, alreadyHeld: 0) : try local.store.ingest(batch, source: "peer \(remote.name)")
                unfolded = unfolded || result.inserted > 0
                if unfolded, !received.more {
                    try local.store.catchUpProjections()
                    unfolded = false
                }
                action = session.pulled(received: batch.events.count, inserted: result.inserted, more: received.more, remote: received.vector, local: try local.store.versionVector())
            case .fetchRemoteVector:
                action = session.receivedRemoteVector(try remote.store.versionVector(), local: try local.store.versionVector())
            case .push(let have):
                let (batch, _) = try local.store.missingBatch(have: have, maxEvents: maxEvents)
                var result = SyncWire.PushResult(accepted: 0, alreadyHeld: 0, vector: have)
                if !batch.events.isEmpty {
                    let chosen = fault()
                    let body = Array(BatchWriter.lines(batch).utf8)
                    for _ in 0..<(chosen == .duplicated ? 2 : 1) {
                        result = try receivePush(try deliver(body, chosen), at: remote, from: local)
                    }
                }
                action = session.pushed(sent: batch.events.count, result: result, local: try local.store.versionVector())
            case .done(let summary):
                return summary
            case .failed:
                throw Cut()
            }
        }
    }

    /// The bytes that arrive, or `Cut` when none do.
    private func deliver(_ body: [UInt8], _ fault: WireFault) throws -> [UInt8] {
        switch fault {
        case .none, .duplicated: return body
        case .refused: throw Cut()
        case .truncated:
            var generator = SeededRandom(seed: UInt64(body.count))
            return Array(body.prefix(Int.random(in: 0..<max(body.count, 1), using: &generator)))
        }
    }

    /// As the HTTP client: a pull answer without its end line was cut and is discarded whole.
    private func receivePull(_ body: [UInt8]) throws -> (IngestBatch, SyncWire.BatchEnd) {
        var reader = BatchReader(limits: limits)
        do {
            try reader.feed(body)
            let batch = try reader.finish()
            guard let end = reader.end else { throw Cut() }
            return (batch, end)
        } catch is ConcordError {
            throw Cut()
        }
    }

    /// As the server: whatever complete lines arrived are verified and stored, or refused whole.
    private func receivePush(_ body: [UInt8], at remote: SimulatedNode, from local: SimulatedNode) throws -> SyncWire.PushResult {
        var reader = BatchReader(limits: limits)
        let batch: IngestBatch
        do {
            try reader.feed(body)
            batch = try reader.finish()
            let result = try remote.store.ingest(batch, source: "peer \(local.name)")
            if result.inserted > 0 { try remote.store.catchUpProjections() }
            return SyncWire.PushResult(accepted: result.inserted, alreadyHeld: result.alreadyHeld, vector: try remote.store.versionVector())
        } catch let error as ConcordError where error.code != .fork {
            // A truncated body is malformed or lacks a seal for its last events: refused, nothing stored.
            throw Cut()
        }
    }
}
