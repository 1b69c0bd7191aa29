/// Verifies a whole store: every origin's chain, every seal, every key.
public enum LogVerifier {
    /// Reads the store origin by origin in batches (memory stays bounded by `batchSize`) and
    /// returns every fault found, ordered by origin then seq.
    public static func verify(_ store: some EventStore, batchSize: Int = 10_000) throws -> VerificationReport {
        var keys: [OriginID: OriginKey] = [:]
        for key in try store.originKeys() { keys[key.origin] = key }
        let origins = Set(try store.eventOrigins()).union(keys.keys).sorted()
        var faults: [VerificationFault] = []
        var notices: [VerificationFault] = []
        var events: UInt64 = 0
        var seals: UInt64 = 0
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
            faults += verifier.finish()
            notices += verifier.notices
            events += verifier.eventsChecked
            seals += verifier.sealsChecked
        }
        return VerificationReport(faults: faults, notices: notices, eventsChecked: events, sealsChecked: seals, origins: origins.count)
    }
}
