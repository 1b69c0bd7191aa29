import ConcordCore
import ConcordSyncProtocol
import NIOCore
import PostgresNIO

/// Tokens this hub's server accepts, and what it set aside of each peer's pushes.
extension PostgresEventStore {
    /// Issues a new token for a peer (replacing any earlier one of that name) and returns it.
    public func issueToken(peer name: String, readOnly: Bool) async throws -> String {
        try PeerToken.validatePeerName(name)
        let token = PeerToken.generate()
        try await run("store the token for \(name)") { connection in
            try await connection.query("""
                INSERT INTO peer_tokens (name, token_hash, read_only, created_at) VALUES (\(name), \(ByteBuffer(bytes: PeerToken.digest(token))), \(readOnly), \(self.clock()))
                ON CONFLICT (name) DO UPDATE SET token_hash = EXCLUDED.token_hash, read_only = EXCLUDED.read_only, created_at = EXCLUDED.created_at
                """, logger: self.logger)
        }
        return token
    }

    public func issuedTokens() async throws -> [IssuedToken] {
        try await read("list the tokens") { connection in
            var tokens: [IssuedToken] = []
            for try await (name, readOnly, created) in try await connection.query("SELECT name, read_only, created_at FROM peer_tokens ORDER BY name", logger: self.logger).decode((String, Bool, Int64).self) {
                tokens.append(IssuedToken(peer: name, readOnly: readOnly, createdAt: created))
            }
            return tokens
        }
    }

    /// Revokes a peer's token (and forgets what was set aside of its pushes). False when none.
    @discardableResult
    public func revokeToken(peer name: String) async throws -> Bool {
        try await run("revoke the token of \(name)") { connection in
            let revoked = try await connection.query("DELETE FROM peer_tokens WHERE name = \(name) RETURNING name", logger: self.logger).decode(String.self).first { _ in true } != nil
            if revoked { try await connection.query("DELETE FROM set_aside WHERE peer = \(name)", logger: self.logger) }
            return revoked
        }
    }

    public func keptTokens() async throws -> [KeptToken] {
        try await read("list the tokens") { connection in
            var tokens: [KeptToken] = []
            for try await (name, digest, readOnly, created) in try await connection.query(
                "SELECT name, token_hash, read_only, created_at FROM peer_tokens ORDER BY name", logger: self.logger
            ).decode((String, ByteBuffer, Bool, Int64).self) {
                tokens.append(KeptToken(peer: name, digest: Array(digest.readableBytesView), readOnly: readOnly, createdAt: created))
            }
            return tokens
        }
    }

    public func restoreTokens(_ tokens: [KeptToken]) async throws {
        try await run("store copied tokens") { connection in
            for token in tokens {
                try await connection.query("""
                    INSERT INTO peer_tokens (name, token_hash, read_only, created_at) VALUES (\(token.peer), \(ByteBuffer(bytes: token.digest)), \(token.readOnly), \(token.createdAt))
                    ON CONFLICT (name) DO UPDATE SET token_hash = EXCLUDED.token_hash, read_only = EXCLUDED.read_only, created_at = EXCLUDED.created_at
                    """, logger: self.logger)
            }
        }
    }

    public func authenticate(token: String) async throws -> PeerAccess? {
        try await read("check a token") { connection in
            let rows = try await connection.query("SELECT name, read_only FROM peer_tokens WHERE token_hash = \(ByteBuffer(bytes: PeerToken.digest(token)))", logger: self.logger)
            return try await rows.decode((String, Bool).self).first { _ in true }.map { PeerAccess(name: $0.0, readOnly: $0.1) }
        }
    }

    /// Records what a push from `peer` leaves set aside (`SetAsideChange`, the rule every
    /// backend applies).
    public func recordSetAside(peer: String, refused: [SyncWire.Refusal], stored: Set<OriginID>) async throws {
        // Most pushes refuse nothing, and the peer has nothing set aside: one read, no transaction.
        if refused.isEmpty {
            let held = try await read("read the origins set aside for \(peer)") { connection in try await self.setAsideOrigins(of: peer, connection) }
            guard !SetAsideChange.of(held: held, refused: refused, stored: stored, replacing: false).isEmpty else { return }
        }
        try await run("record the origins set aside by the sync with \(peer)") { connection in
            // The peer's rows locked: two pushes of one peer keep to the limit together.
            let held = try await self.setAsideOrigins(of: peer, connection, locking: true)
            let change = SetAsideChange.of(held: held, refused: refused, stored: stored, replacing: false)
            if !change.forgotten.isEmpty {
                try await connection.query("DELETE FROM set_aside WHERE peer = \(peer) AND origin = ANY(\(change.forgotten.map(\.hex)))", logger: self.logger)
            }
            let now = self.clock()
            for refusal in change.kept {
                try await connection.query("""
                    INSERT INTO set_aside (peer, origin, seq, code, message, recorded_at)
                    VALUES (\(peer), \(refusal.origin.hex), \(Int64(bitPattern: refusal.seq)), \(refusal.code), \(refusal.message), \(now))
                    ON CONFLICT (peer, origin) DO UPDATE SET seq = EXCLUDED.seq, code = EXCLUDED.code, message = EXCLUDED.message, recorded_at = EXCLUDED.recorded_at
                    """, logger: self.logger)
            }
        }
    }

    private func setAsideOrigins(of peer: String, _ connection: PostgresConnection, locking: Bool = false) async throws -> Set<OriginID> {
        var held: Set<OriginID> = []
        let query: PostgresQuery = locking
            ? "SELECT origin FROM set_aside WHERE peer = \(peer) FOR UPDATE"
            : "SELECT origin FROM set_aside WHERE peer = \(peer)"
        for try await origin in try await connection.query(query, logger: logger).decode(String.self) { held.insert(OriginID(unchecked: origin)) }
        return held
    }

    /// A PostgreSQL hub keeps no checkpoints yet: no signer asserts a name here.
    public func checkpointSignerNames() async throws -> [OriginID: String] { [:] }

    /// The origins set aside, per peer (what `status` and `verify` report).
    public func setAside() async throws -> [(peer: String, refusal: SyncWire.Refusal)] {
        try await read("read the origins set aside") { connection in
            var rows: [(peer: String, refusal: SyncWire.Refusal)] = []
            for try await (peer, origin, seq, code, message) in try await connection.query(
                "SELECT peer, origin, seq, code, message FROM set_aside ORDER BY peer, origin", logger: self.logger
            ).decode((String, String, Int64, String, String).self) {
                rows.append((peer, SyncWire.Refusal(origin: OriginID(unchecked: origin), seq: UInt64(bitPattern: seq), code: code, message: message)))
            }
            return rows
        }
    }
}
