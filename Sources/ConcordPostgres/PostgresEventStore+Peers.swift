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

    /// Records the origins a push from `peer` had refused, at most `SyncLimits.maxSetAsidePerPeer` a peer,
    /// and forgets earlier ones whose events it has now stored.
    public func recordSetAside(peer: String, refused: [SyncWire.Refusal], stored: Set<OriginID>) async throws {
        // Most pushes refuse nothing: one statement, no transaction.
        if refused.isEmpty {
            guard !stored.isEmpty else { return }
            try await read("forget the origins set aside by the sync with \(peer)") { connection in
                try await connection.query("DELETE FROM set_aside WHERE peer = \(peer) AND origin = ANY(\(stored.map(\.hex)))", logger: self.logger)
            }
            return
        }
        try await run("record the origins set aside by the sync with \(peer)") { connection in
            if !stored.isEmpty {
                try await connection.query("DELETE FROM set_aside WHERE peer = \(peer) AND origin = ANY(\(stored.map(\.hex)))", logger: self.logger)
            }
            guard !refused.isEmpty else { return }
            let now = self.clock()
            var room = SyncLimits.maxSetAsidePerPeer - Int(try await connection.query("SELECT count(*) FROM set_aside WHERE peer = \(peer)", logger: self.logger).decode(Int64.self).first { _ in true } ?? 0)
            for refusal in refused {
                let known = try await connection.query("SELECT 1 FROM set_aside WHERE peer = \(peer) AND origin = \(refusal.origin.hex)", logger: self.logger).decode(Int32.self).first { _ in true } != nil
                guard known || room > 0 else { continue }
                if !known { room -= 1 }
                try await connection.query("""
                    INSERT INTO set_aside (peer, origin, seq, code, message, recorded_at)
                    VALUES (\(peer), \(refusal.origin.hex), \(Int64(bitPattern: refusal.seq)), \(refusal.code), \(refusal.message), \(now))
                    ON CONFLICT (peer, origin) DO UPDATE SET seq = EXCLUDED.seq, code = EXCLUDED.code, message = EXCLUDED.message, recorded_at = EXCLUDED.recorded_at
                    """, logger: self.logger)
            }
        }
    }

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
