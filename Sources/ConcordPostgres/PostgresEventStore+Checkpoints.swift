import ConcordCore
import ConcordStorage
import ConcordSyncProtocol
import Logging
import NIOCore
import PostgresNIO

/// Signed checkpoints on a PostgreSQL hub (`Checkpoint`, docs/audit.md): the hub's own, signed
/// with the key its operator keeps beside its configuration (`useSigningKey`), and those that
/// arrived with sync and imports. The rules are the engine's (`Checkpoints`, `Ingest`).
extension PostgresEventStore {
    /// Signs this hub's checkpoints with `key` from now on. Without one the hub keeps the
    /// checkpoints it is sent but signs none (`takeCheckpoint` says so).
    public func useSigningKey(_ key: NodeKey) {
        signingKey.withLock { $0 = key }
    }

    /// The key this hub signs its checkpoints with, if it was given one.
    public var checkpointSigner: OriginID? { signingKey.withLock { $0?.origin } }

    /// Signs what the hub holds now (`Checkpoints.take`), unless its last checkpoint already says
    /// exactly that or (with `unlessWithin`) it signed one less than that many milliseconds ago.
    /// Several processes serving the database sign one checkpoint a number: the signer is
    /// locked in the transaction. Returns the checkpoint that stands for now.
    @discardableResult
    public func takeCheckpoint(unlessWithin interval: Int64?) async throws -> Checkpoint? {
        guard let key = signingKey.withLock({ $0 }) else {
            throw ConcordError(.nodeKey, "this hub has no signing key: checkpoints are signed with the key in its key file (docs/postgres.md, \"Checkpoints\")")
        }
        let now = clock()
        // The throttle is looked at before a transaction is begun: a hub taking many pushes a
        // second asks this after each, and most of the time the answer is no.
        // What this process last saw of the signer's newest is enough to say "not yet" without a
        // query (a newer one, signed by another process, only makes it later).
        if let interval {
            guard Checkpoints.due(lastTakenAt: newestCheckpointSeen.withLock { $0 }, now: now, interval: interval) else { return nil }
            let newest = try await read("read the checkpoints") { connection in
                try await connection.query("SELECT max(taken_at) FROM checkpoints WHERE signer = \(key.origin.hex)", logger: self.logger).decode(Int64?.self).first { _ in true } ?? nil
            }
            if let newest { noteCheckpoint(takenAt: newest) }
            guard Checkpoints.due(lastTakenAt: newest, now: now, interval: interval) else { return nil }
        }
        let name = try await nodeName()
        let checkpoint = try await run("take a checkpoint") { connection in
            try await self.runBlocking {
                try Checkpoints.take(key: key, node: name, now: now, unlessWithin: interval, in: PostgresIngestTransaction(store: self, connection: connection))
            }
        }
        if let checkpoint { noteCheckpoint(takenAt: checkpoint.takenAt) }
        return checkpoint
    }

    private func noteCheckpoint(takenAt: Int64) {
        newestCheckpointSeen.withLock { $0 = max($0 ?? .min, takenAt) }
    }

    public func heldCheckpoints() async throws -> [Checkpoint] { try await checkpoints() }

    public func takeCheckpoint() async throws -> Checkpoint? { try await takeCheckpoint(unlessWithin: nil) }

    /// Every checkpoint held, by signer and number; with `signer`, only that signer's.
    public func checkpoints(signedBy signer: OriginID? = nil) async throws -> [Checkpoint] {
        try await read("read the checkpoints") { connection in
            let query: PostgresQuery = if let signer {
                "SELECT line FROM checkpoints WHERE signer = \(signer.hex) ORDER BY number"
            } else {
                "SELECT line FROM checkpoints ORDER BY signer, number"
            }
            var result: [Checkpoint] = []
            for try await line in try await connection.query(query, logger: self.logger).decode(String.self) {
                result.append(try Checkpoint(storedLine: line))
            }
            return result
        }
    }

    /// The newest checkpoint taken at or before `time` by the node `node` names
    /// (`Checkpoints.newest`: a name, or an origin id or its first 8 or more digits).
    public func checkpoint(of node: String, atOrBefore time: Int64) async throws -> Checkpoint? {
        try await read("read the checkpoints") { connection in
            try await self.runBlocking { try Checkpoints.newest(of: node, takenAtOrBefore: time, in: PostgresIngestTransaction(store: self, connection: connection)) }
        }
    }

    /// What the hub's checkpoints, and another copy's (with the keys it offers), say about it
    /// (`Checkpoints.faults`), read in one transaction.
    public func checkpointFaults(extra: [Checkpoint], extraKeys: [OriginKey]) async throws -> [VerificationFault] {
        try await run("check the checkpoints") { connection in
            try await self.runBlocking { try Checkpoints.faults(extra: extra, extraKeys: extraKeys, in: PostgresIngestTransaction(store: self, connection: connection)) }
        }
    }

    /// The highest checkpoint number held of each signer.
    static func checkpointNumbers(_ connection: PostgresConnection, logger: Logger) async throws -> [OriginID: UInt64] {
        Dictionary(uniqueKeysWithValues: try await newestOfEachSigner(connection, logger: logger).map { ($0.signer, $0.number) })
    }

    /// Each signer's newest checkpoint, its number and the node name it gives: a skip scan along
    /// the `(signer, number)` key, one lookup a signer, not a read of every checkpoint kept (every
    /// pull answer's end line and every web-view page ask this).
    static func newestOfEachSigner(_ connection: PostgresConnection, logger: Logger) async throws -> [(signer: OriginID, number: UInt64, node: String)] {
        var newest: [(signer: OriginID, number: UInt64, node: String)] = []
        for try await (signer, number, node) in try await connection.query("""
            WITH RECURSIVE signers(signer) AS (
                (SELECT signer FROM checkpoints ORDER BY signer LIMIT 1)
                UNION ALL
                SELECT (SELECT c.signer FROM checkpoints c WHERE c.signer > s.signer ORDER BY c.signer LIMIT 1) FROM signers s WHERE s.signer IS NOT NULL
            )
            SELECT s.signer, n.number, n.node FROM signers s
            CROSS JOIN LATERAL (SELECT number, node FROM checkpoints c WHERE c.signer = s.signer ORDER BY number DESC LIMIT 1) n
            WHERE s.signer IS NOT NULL
            """, logger: logger
        ).decode((String, Int64, String).self) {
            newest.append((OriginID(unchecked: signer), UInt64(clamping: number), node))
        }
        return newest
    }

    // MARK: SyncBackend

    public func checkpointNumbers() async throws -> VersionVector? {
        VersionVector(try await read("read the checkpoints") { connection in try await Self.checkpointNumbers(connection, logger: self.logger) })
    }

    public func heldCheckpoints(after numbers: [OriginID: UInt64], limit: Int) async throws -> [Checkpoint] {
        try await read("read the checkpoints") { connection in
            try await self.runBlocking {
                try Checkpoints.page(
                    after: numbers, limit: limit, maxBytes: SyncLimits.maxCheckpointBytesPerBatch, in: PostgresIngestTransaction(store: self, connection: connection)
                )
            }
        }
    }

    /// Signs a checkpoint when this hub has a signing key (a hub without one signs none).
    public func signCheckpoint() async throws {
        guard checkpointSigner != nil else { return }
        _ = try await takeCheckpoint()
    }

    /// The node name each signer's newest held checkpoint gives itself, as signed.
    public func checkpointSignerNames() async throws -> [OriginID: String] {
        try await read("read the checkpoints") { connection in
            Dictionary(uniqueKeysWithValues: try await Self.newestOfEachSigner(connection, logger: self.logger).map { ($0.signer, $0.node) })
        }
    }
}
