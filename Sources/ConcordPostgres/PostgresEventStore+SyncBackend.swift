import ConcordCore
import ConcordStorage
import NIOCore
import ConcordSyncProtocol

/// The PostgreSQL store as what sync needs from a node: `concord serve --store postgres://…`.
///
extension PostgresEventStore: HubBackend {
    public func ingest(_ batch: IngestBatch, from peer: String) async throws -> IngestResult {
        try await ingest(batch, source: "peer \(peer)", policy: .setAside)
    }

    public func catchUpReadModels() async throws {
        try await foldNewEvents()
    }

    public func authenticate(token: String) async throws -> (peer: String, readOnly: Bool)? {
        try await authenticate(token: token).map { ($0.name, $0.readOnly) }
    }

    public func storeOpenings(_ events: [Event], from peer: String) async throws -> SyncWire.OpeningsResult {
        let (stored, ignored) = try await storeLateOpenings(events)
        return SyncWire.OpeningsResult(stored: stored, ignored: ignored)
    }

    public func forkedOrigins() async throws -> [OriginID] {
        Array(Set(try await forkProofs().map(\.origin))).sorted()
    }

    public func keptForkProofs() async throws -> [KeptForkProof] {
        try await read("read fork evidence") { connection in
            var kept: [KeptForkProof] = []
            let rows = try await connection.query(
                "SELECT origin, seq, held_hash, proof, source, detected_at FROM fork_proofs ORDER BY origin, seq", logger: self.logger
            ).decode((String, Int64, ByteBuffer, String, String, Int64).self)
            for try await (origin, seq, held, text, source, detected) in rows {
                guard let proof = ForkProof(
                    exchangeLines: text, origin: OriginID(unchecked: origin), seq: UInt64(bitPattern: seq), heldHash: EventHash(bytes: Array(held.readableBytesView))
                ) else { continue }
                kept.append(KeptForkProof(proof: proof, source: source, detectedAt: detected))
            }
            return kept
        }
    }

    public func restoreForkProofs(_ proofs: [KeptForkProof]) async throws -> Int {
        try await run("keep fork evidence") { connection in
            var kept = 0
            for entry in proofs {
                let proof = entry.proof
                let held = try await connection.query(
                    "SELECT hash FROM events WHERE origin = \(proof.origin.hex) AND seq = \(Int64(bitPattern: proof.seq))", logger: self.logger
                ).decode(ByteBuffer.self).first { _ in true }.map { EventHash(bytes: Array($0.readableBytesView)) }
                let already = try await connection.query("SELECT 1 FROM fork_proofs WHERE origin = \(proof.origin.hex) LIMIT 1", logger: self.logger)
                    .decode(Int32.self).first { _ in true }
                guard already == nil, entry.holds(key: try await Self.storedKey(connection, proof.origin, logger: self.logger), heldHash: held) else { continue }
                try await self.runBlocking {
                    try Ingest.keepForkProof(proof, source: entry.source, at: entry.detectedAt, in: PostgresIngestTransaction(store: self, connection: connection))
                }
                kept += 1
            }
            return kept
        }
    }

    public func setAsideOrigins() async throws -> [(peer: String, refusal: SyncWire.Refusal)] {
        try await setAside()
    }
}
