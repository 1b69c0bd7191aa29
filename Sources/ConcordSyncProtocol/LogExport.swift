import ConcordCore

/// A store's whole log as batches that each verify on their own, whatever backend holds it:
/// what `concord export` writes and `concord import` (or `IngestBatch` in tests) reads back.
///
/// Origins come in origin order, each origin's events in seq order, its key with its first
/// batch, and each batch with the seals over its events. A batch holds at most `batchSize`
/// events and, when it is cut short, ends on a seal, so that it verifies alone (a run between
/// seals is far shorter than a batch). A damaged log is written as it is, unsealed tail last: an
/// export is evidence, and the importer's verification names what is wrong with it.
public enum LogExport {
    public static func forEachBatch(of source: some BatchSource, batchSize: Int = 10_000, _ body: (IngestBatch) async throws -> Void) async throws {
        precondition(batchSize > 0)
        let vector = try await source.versionVector()
        for (origin, head) in vector.sorted {
            var key = try await source.originKey(origin)
            var after: UInt64 = 0
            while after < head {
                let through = head - after > UInt64(batchSize) ? after + UInt64(batchSize) : head
                // A tampered row may read with a seq outside the range asked for: kept out, so no
                // event is written twice and the walk always moves on.
                var events = try await source.events(of: origin, after: after, through: through).filter { $0.seq > after && $0.seq <= through }
                let seals = try await source.seals(of: origin, after: after, through: through)
                var next = through
                if through < head, let sealed = seals.last?.seq, sealed < through, events.contains(where: { $0.seq <= sealed }) {
                    events.removeAll { $0.seq > sealed }
                    next = sealed
                }
                // Nothing held in the range (a damaged log: a gap, or a seq far out): jump to the
                // next held event rather than step through empty ranges.
                if events.isEmpty, seals.isEmpty, through < head {
                    next = max(through, (try await source.nextHeldSeq(of: origin, after: through)).map { $0 - 1 } ?? head)
                }
                if key != nil || !events.isEmpty || !seals.isEmpty { try await body(IngestBatch(keys: key.map { [$0] } ?? [], events: events, seals: seals.filter { $0.seq <= next })) }
                key = nil
                after = next
            }
        }
        // Checkpoints last, after every event they name, with the keys of signers that wrote no
        // event (a hub that only relays, an auditor's copy).
        var numbers: [OriginID: UInt64] = [:]
        var keysWritten = Set(vector.entries.keys)
        while true {
            let checkpoints = try await source.heldCheckpoints(after: numbers, limit: SyncLimits.maxCheckpointsPerBatch)
            guard !checkpoints.isEmpty else { break }
            var keys: [OriginKey] = []
            for signer in Set(checkpoints.map(\.signer)).subtracting(keysWritten).sorted() {
                if let key = try await source.originKey(signer) { keys.append(key) }
                keysWritten.insert(signer)
            }
            try await body(IngestBatch(keys: keys, checkpoints: checkpoints))
            for checkpoint in checkpoints { numbers[checkpoint.signer] = max(numbers[checkpoint.signer] ?? 0, checkpoint.number) }
        }
    }
}
