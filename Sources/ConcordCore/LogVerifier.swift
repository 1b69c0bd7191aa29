/// Verifies a whole store: every origin's chain, every seal, every key.
public enum LogVerifier {
    /// Reads the store origin by origin in batches (memory stays bounded by `batchSize`) and
    /// returns every fault found, ordered by origin then seq.
    public static func verify(_ store: some EventStore, batchSize: Int = 10_000) throws -> VerificationReport {
        var keys: [OriginID: OriginKey] = [:]
        for key in try store.originKeys() { keys[key.origin] = key }
        let origins = Set(try store.eventOrigins()).union(keys.keys).sorted()
        var report = VerificationReport(faults: [], notices: [], eventsChecked: 0, sealsChecked: 0, origins: origins.count)
        var erasures: [OriginVerifier.ErasureState] = []
        for origin in origins {
            var verifier = OriginVerifier(origin: origin, key: keys[origin], seals: try store.seals(of: origin))
            var after: UInt64 = 0
            while true {
                let batch = try store.readOrigin(origin, afterSeq: after, limit: batchSize)
                for stored in batch { verifier.check(stored) }
                // A tampered row whose seq reads no higher would otherwise be read again for ever.
                guard let last = batch.last, batch.count == batchSize, last.event.seq > after else { break }
                after = last.event.seq
            }
            report.add(&verifier)
            erasures.append(verifier.erasureState)
        }
        report.addErasureFaults(erasures)
        return report
    }
}

/// A log as a verifier reads it, from a store whose reads are async (PostgreSQL, memory).
public protocol VerifiableLog: Sendable {
    func originKeys() async throws -> [OriginKey]
    func eventOrigins() async throws -> [OriginID]
    /// An origin's seals in seq order.
    func seals(of origin: OriginID) async throws -> [Seal]
    /// An origin's events in seq order, starting after `afterSeq`.
    func readOrigin(_ origin: OriginID, afterSeq: UInt64, limit: Int) async throws -> [StoredEvent]
}

extension LogVerifier {
    /// `verify(_:)` for an async store: the same `OriginVerifier` over every origin.
    public static func verify(_ log: some VerifiableLog, batchSize: Int = 10_000) async throws -> VerificationReport {
        var keys: [OriginID: OriginKey] = [:]
        for key in try await log.originKeys() { keys[key.origin] = key }
        let origins = Set(try await log.eventOrigins()).union(keys.keys).sorted()
        var report = VerificationReport(faults: [], notices: [], eventsChecked: 0, sealsChecked: 0, origins: origins.count)
        var erasures: [OriginVerifier.ErasureState] = []
        for origin in origins {
            var verifier = OriginVerifier(origin: origin, key: keys[origin], seals: try await log.seals(of: origin))
            var after: UInt64 = 0
            while true {
                let batch = try await log.readOrigin(origin, afterSeq: after, limit: batchSize)
                for stored in batch { verifier.check(stored) }
                guard let last = batch.last, batch.count == batchSize, last.event.seq > after else { break }
                after = last.event.seq
            }
            report.add(&verifier)
            erasures.append(verifier.erasureState)
        }
        report.addErasureFaults(erasures)
        return report
    }
}

extension VerificationReport {
    /// Adds one origin's verdict, once its events have all been checked.
    mutating func add(_ verifier: inout OriginVerifier) {
        faults += verifier.finish(resolvingErasures: false)
        notices += verifier.notices
        eventsChecked += verifier.eventsChecked
        sealsChecked += verifier.sealsChecked
    }

    /// The erasure rule across origins (`ErasureAudit`), in the report's order.
    mutating func addErasureFaults(_ states: [OriginVerifier.ErasureState]) {
        guard states.contains(where: { !$0.erasedUnnamed.isEmpty || !$0.foreignTargets.isEmpty }) else { return }
        faults += ErasureAudit.faults(states)
        faults.sort { ($0.origin, $0.seq, $0.kind.rank) < ($1.origin, $1.seq, $1.kind.rank) }
    }
}
