import ConcordCore

/// What the engine asks of a store to sign checkpoints and hand them on (`Checkpoints`), beyond
/// the rows ingest reads and writes: rows only, no rule.
public protocol CheckpointTransaction: IngestTransaction {
    /// Each origin's highest held event, its seq and hash (an origin with no event held is left
    /// out), in any order.
    func heads() throws -> [Checkpoint.Head]
    /// The highest checkpoint number held of each signer.
    func checkpointNumbers() throws -> [OriginID: UInt64]
    /// A signer's checkpoints whose stored number is above `after`, in number order, at most
    /// `limit`: each row's number, the exchange line it is kept as, and that line read.
    func checkpoints(of signer: OriginID, after: UInt64, limit: Int) throws -> [(number: UInt64, line: String, checkpoint: Checkpoint)]
    /// The signers of held checkpoints that give `node` as their node's name.
    func checkpointSigners(named node: String) throws -> [OriginID]
    /// The signers of held checkpoints whose origin id starts with `prefix` (lowercase hex).
    func checkpointSigners(withPrefix prefix: String) throws -> [OriginID]
    /// The signer's checkpoint with the latest `takenAt` at or before `time` (the highest number
    /// among equals).
    func newestCheckpoint(of signer: OriginID, takenAtOrBefore time: Int64) throws -> Checkpoint?
}

/// Signed checkpoints (`Checkpoint`, docs/audit.md), written once over any backend's
/// `CheckpointTransaction`: when a node signs one and what it says, and which a peer is sent.
/// Keeping the checkpoints that arrive with a batch is `Ingest`'s.
public enum Checkpoints {
    /// Whether a node whose newest own checkpoint was taken at `lastTakenAt` signs again at
    /// `now`, when it signs at most one every `interval` milliseconds (nil: whenever asked).
    public static func due(lastTakenAt: Int64?, now: Int64, interval: Int64?) -> Bool {
        guard let interval, let lastTakenAt else { return true }
        return now - lastTakenAt >= interval
    }

    /// Signs, with `key`, what the store holds now, inside `tx`: every origin's head. Returns
    /// the checkpoint that stands for now: the signer's newest when it already says exactly
    /// that, none when the store holds no event or (with `interval`) the newest is more recent
    /// than that. The signer is locked first, so two processes on one store sign one checkpoint
    /// a number, and its key is kept with the origins' (a peer checks the checkpoint with it).
    public static func take(key: NodeKey, node: String, now: Int64, unlessWithin interval: Int64? = nil, in tx: some CheckpointTransaction) throws -> Checkpoint? {
        try tx.lock([key.origin])
        let last = try tx.newestCheckpoint(of: key.origin)
        guard due(lastTakenAt: last?.takenAt, now: now, interval: interval) else { return nil }
        let heads = try tx.heads().filter { $0.seq > 0 }.sorted { $0.origin < $1.origin }
        if let last, last.heads == heads { return last }
        // A store that holds nothing has nothing to state.
        guard !heads.isEmpty else { return nil }
        if try tx.key(of: key.origin) == nil { try tx.insertKey(key.originKey, at: now) }
        let checkpoint = Checkpoint.sign(
            key: key, node: node, number: (last?.number ?? 0) + 1, takenAt: max(now, last?.takenAt ?? .min), heads: heads
        )
        // Under the signer's lock the number is free; a driver without such a lock may find it
        // taken, and the checkpoint stored under it is the one that stands.
        guard try tx.insertCheckpoint(checkpoint, at: now) else { return try tx.newestCheckpoint(of: key.origin) }
        return checkpoint
    }

    /// The newest checkpoint taken at or before `time` by the node `node` names: a node name, or
    /// a signer's origin id (or its first 8 or more hex digits). A name that several signers use
    /// is refused unless they are all this node's own incarnations: a peer may call itself
    /// anything, so an auditor names a remote node by origin id when its name is taken twice.
    public static func newest(of node: String, takenAtOrBefore time: Int64, in tx: some CheckpointTransaction) throws -> Checkpoint? {
        let byName = try tx.checkpointSigners(named: node)
        let signers: [OriginID]
        if !byName.isEmpty {
            guard try byName.count == 1 || byName.allSatisfy(tx.isOwnOrigin) else {
                throw ConcordError(.invalidArgument, "\(byName.count) signers call themselves \(node) (\(byName.map(\.short).joined(separator: ", "))): name the one you mean by its origin id")
            }
            signers = byName
        } else if node.count >= 8, node.count <= 32, node.allSatisfy(\.isHexDigit) {
            signers = try tx.checkpointSigners(withPrefix: node.lowercased())
            guard signers.count <= 1 else { throw ConcordError(.invalidArgument, "\(node) starts \(signers.count) signers' origin ids: give more of it") }
        } else {
            signers = []
        }
        var newest: Checkpoint?
        for signer in signers {
            let found = try tx.newestCheckpoint(of: signer, takenAtOrBefore: time)
            if let found, newest.map({ ($0.takenAt, $0.number) < (found.takenAt, found.number) }) ?? true { newest = found }
        }
        return newest
    }

    /// What the store's checkpoints say about it (`CheckpointAudit`), plus `extra` checkpoints
    /// (another copy's), checked with the keys the store holds and `extraKeys`: a signature that
    /// does not verify, a tail cut from this copy, another history of an origin. Reads only the
    /// log and the checkpoints' signed lines.
    public static func faults(extra: [Checkpoint] = [], extraKeys: [OriginKey] = [], in tx: some CheckpointTransaction) throws -> [VerificationFault] {
        let checkpoints = try page(after: [:], limit: .max, maxBytes: .max, in: tx) + extra
        guard !checkpoints.isEmpty else { return [] }
        var keys: [OriginID: OriginKey] = [:]
        for signer in Set(checkpoints.map(\.signer)) {
            if let key = try tx.key(of: signer) ?? extraKeys.first(where: { $0.origin == signer }) { keys[signer] = key }
        }
        let held = VersionVector(Dictionary(try tx.heads().map { ($0.origin, $0.seq) }, uniquingKeysWith: max))
        // Every hash a checkpoint names within the held run, read an origin at a time.
        var named: [OriginID: Set<UInt64>] = [:]
        for checkpoint in checkpoints {
            for head in checkpoint.heads where head.seq <= held[head.origin] { named[head.origin, default: []].insert(head.seq) }
        }
        var hashes: [EventID: EventHash] = [:]
        for (origin, seqs) in named {
            for (seq, hash) in try tx.hashes(of: origin, seqs: seqs.sorted()) { hashes[EventID(origin: origin, seq: seq)] = hash }
        }
        return CheckpointAudit.faults(of: checkpoints, keys: keys, held: held) { origin, seq in hashes[EventID(origin: origin, seq: seq)] }
    }

    /// The checkpoints of each signer numbered above `numbers` names (all of a signer it does not
    /// name), oldest first within a signer, at most `limit` and (but for the first) `maxBytes` of
    /// lines in all. Signers take turns, a few checkpoints each, so that no signer's backlog holds
    /// the others back.
    public static func page(after numbers: [OriginID: UInt64], limit: Int, maxBytes: Int, in tx: some CheckpointTransaction) throws -> [Checkpoint] {
        var cursors = try tx.checkpointNumbers().keys.sorted().map { ($0, numbers[$0] ?? 0) }
        var result: [Checkpoint] = []
        var bytes = 0
        while !cursors.isEmpty, result.count < limit {
            var next: [(OriginID, UInt64)] = []
            for (signer, after) in cursors {
                for (number, line, checkpoint) in try tx.checkpoints(of: signer, after: after, limit: 8) {
                    // The cursor moves by the stored number, which the read asked to be above it:
                    // every round moves on, whatever the rows hold.
                    guard number > after, checkpoint.signer == signer, checkpoint.number == number else {
                        throw ConcordError(.storage, "the checkpoint stored as \(signer.short) number \(number) holds \(checkpoint.signer.short) number \(checkpoint.number): the checkpoints table was changed outside Concord")
                    }
                    guard result.count < limit, result.isEmpty || bytes + line.utf8.count <= maxBytes else { return result }
                    result.append(checkpoint)
                    bytes += line.utf8.count
                    next.append((signer, number))
                }
            }
            // Only the signers that still had some go round again, from where they stopped.
            var furthest: [OriginID: UInt64] = [:]
            for (signer, number) in next { furthest[signer] = max(furthest[signer] ?? 0, number) }
            cursors = furthest.keys.sorted().map { ($0, furthest[$0]!) }
        }
        return result
    }
}
