/// What signed checkpoints say about a copy of the log: the rule `concord verify` applies on
/// every backend (docs/audit.md).
///
/// A copy holds, for each origin, the run 1…held. A checkpoint naming seq s with hash h of that
/// origin proves the signer held that run up to s. So s > held means events were lost from this
/// copy's tail (`tailCut`), and a different hash at s ≤ held means the copy holds another history
/// (`otherHistory`): hash chains make one comparison at s cover every event before it.
public enum CheckpointAudit {
    /// - Parameters:
    ///   - keys: the public keys the copy holds (a checkpoint whose signer has none is a fault).
    ///   - held: how far the copy holds each origin's run.
    ///   - hashAt: the hash of the copy's event (origin, seq), nil when it holds none.
    public static func faults(
        of checkpoints: [Checkpoint], keys: [OriginID: OriginKey], held: VersionVector,
        hashAt: (OriginID, UInt64) throws -> EventHash?
    ) rethrows -> [VerificationFault] {
        var faults: [VerificationFault] = []
        // The longest claim beyond the held run, per origin: one tail-cut fault an origin.
        var furthest: [OriginID: (head: Checkpoint.Head, checkpoint: Checkpoint)] = [:]
        var comparedHashes: [EventID: EventHash?] = [:]
        var otherHistory: Set<OriginID> = []
        for checkpoint in checkpoints {
            guard let key = keys[checkpoint.signer] else {
                faults.append(VerificationFault(origin: checkpoint.signer, seq: 0, kind: .badCheckpoint, detail: "checkpoint \(checkpoint.number) names a signer whose key this copy does not hold"))
                continue
            }
            do {
                try checkpoint.validate(key: key)
            } catch let error as ConcordError {
                faults.append(VerificationFault(origin: checkpoint.signer, seq: 0, kind: .badCheckpoint, detail: error.message))
                continue
            } catch {
                continue
            }
            for head in checkpoint.heads {
                let heldSeq = held[head.origin]
                if head.seq > heldSeq {
                    if head.seq > furthest[head.origin]?.head.seq ?? 0 { furthest[head.origin] = (head, checkpoint) }
                    continue
                }
                guard !otherHistory.contains(head.origin) else { continue }
                let id = EventID(origin: head.origin, seq: head.seq)
                let stored: EventHash?
                if let known = comparedHashes[id] { stored = known } else {
                    stored = try hashAt(head.origin, head.seq)
                    comparedHashes[id] = stored
                }
                if let stored, stored != head.hash {
                    otherHistory.insert(head.origin)
                    faults.append(VerificationFault(
                        origin: head.origin, seq: head.seq, kind: .otherHistory,
                        detail: "checkpoint \(checkpoint.number) signed by \(checkpoint.signer.short) at \(Timestamp.iso8601(millis: checkpoint.takenAt)) names hash \(head.hash.hex.prefix(16))…, this copy holds \(stored.hex.prefix(16))…"
                    ))
                }
            }
        }
        for (origin, claim) in furthest.sorted(by: { $0.key < $1.key }) {
            let heldSeq = held[origin]
            faults.append(VerificationFault(
                origin: origin, seq: heldSeq + 1, kind: .tailCut,
                detail: "checkpoint \(claim.checkpoint.number) signed by \(claim.checkpoint.signer.short) at \(Timestamp.iso8601(millis: claim.checkpoint.takenAt)) names seq \(claim.head.seq), this copy holds \(heldSeq == 0 ? "none" : "1…\(heldSeq)")"
            ))
        }
        return faults
    }

    /// Compares two copies' runs of the origins both hold: at the shorter run's end the hashes
    /// must be equal (the chain makes that one comparison cover the run).
    public static func differences(
        held: VersionVector, other: VersionVector,
        hashAt: (OriginID, UInt64) async throws -> EventHash?, otherHashAt: (OriginID, UInt64) async throws -> EventHash?
    ) async rethrows -> [VerificationFault] {
        var faults: [VerificationFault] = []
        for (origin, seq) in held.sorted {
            let common = min(seq, other[origin])
            guard common > 0 else { continue }
            let mine = try await hashAt(origin, common), theirs = try await otherHashAt(origin, common)
            if let mine, let theirs, mine != theirs {
                faults.append(VerificationFault(
                    origin: origin, seq: common, kind: .otherHistory,
                    detail: "the other copy holds another event here (hash \(theirs.hex.prefix(16))…, this copy \(mine.hex.prefix(16))…)"
                ))
            }
        }
        return faults
    }
}
