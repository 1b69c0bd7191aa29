import ConcordCore
import ConcordStorage
import ConcordSyncProtocol
import Logging
import NIOCore
import PostgresNIO

/// Tokens this hub's server accepts, and what it set aside of each peer's pushes.
extension PostgresEventStore {
    /// Issues a new token for a peer (`PeerTokens.issue`) and returns it.
    public func issueToken(peer name: String, readOnly: Bool) async throws -> String {
        let now = clock()
        return try await tokens("store the token for \(name)") { try PeerTokens.issue(peer: name, readOnly: readOnly, at: now, in: $0) }
    }

    public func issuedTokens() async throws -> [IssuedToken] {
        try await tokens("list the tokens") { try PeerTokens.issued(in: $0) }
    }

    /// Revokes a peer's token (`PeerTokens.revoke`). False when none.
    @discardableResult
    public func revokeToken(peer name: String) async throws -> Bool {
        try await tokens("revoke the token of \(name)") { try PeerTokens.revoke(peer: name, in: $0) }
    }

    public func keptTokens() async throws -> [KeptToken] {
        try await tokens("list the tokens") { try $0.keptTokens() }
    }

    public func restoreTokens(_ tokens: [KeptToken]) async throws {
        try await self.tokens("store copied tokens") { try PeerTokens.restore(tokens, in: $0) }
    }

    /// The peer a presented token belongs to (as `PeerTokens.authenticate` finds it): one query
    /// on a pooled connection, with no hop to a transaction thread, since every request of a
    /// peer asks it.
    public func authenticate(token: String) async throws -> PeerAccess? {
        try await read("check a token") { connection in
            try await PostgresTokenTransaction.keptToken(digest: PeerToken.digest(token), on: connection, logger: self.logger)?.access
        }
    }

    /// Runs `body` over the token rows in one transaction.
    private func tokens<T: Sendable>(_ what: String, _ body: @escaping @Sendable (PostgresTokenTransaction) throws -> T) async throws -> T {
        try await run(what) { connection in
            try await self.runBlocking { try body(PostgresTokenTransaction(store: self, connection: connection)) }
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

/// The PostgreSQL driver's token rows (`peer_tokens`, `set_aside`) for `PeerTokens`.
struct PostgresTokenTransaction: TokenTransaction, PostgresTransactionDriver {
    let store: PostgresEventStore
    let connection: PostgresConnection

    func keptTokens() throws -> [KeptToken] {
        try wait { connection, logger in
            var tokens: [KeptToken] = []
            for try await (name, digest, readOnly, created) in try await connection.query(
                "SELECT name, token_hash, read_only, created_at FROM peer_tokens ORDER BY name", logger: logger
            ).decode((String, ByteBuffer, Bool, Int64).self) {
                tokens.append(KeptToken(peer: name, digest: Array(digest.readableBytesView), readOnly: readOnly, createdAt: created))
            }
            return tokens
        }
    }

    func keptToken(digest: [UInt8]) throws -> KeptToken? {
        try wait { connection, logger in try await Self.keptToken(digest: digest, on: connection, logger: logger) }
    }

    static func keptToken(digest: [UInt8], on connection: PostgresConnection, logger: Logger) async throws -> KeptToken? {
        try await connection.query(
            "SELECT name, read_only, created_at FROM peer_tokens WHERE token_hash = \(ByteBuffer(bytes: digest))", logger: logger
        ).decode((String, Bool, Int64).self).first { _ in true }.map { KeptToken(peer: $0.0, digest: digest, readOnly: $0.1, createdAt: $0.2) }
    }

    func putToken(_ token: KeptToken) throws {
        try wait { connection, logger in
            try await connection.query("""
                INSERT INTO peer_tokens (name, token_hash, read_only, created_at) VALUES (\(token.peer), \(ByteBuffer(bytes: token.digest)), \(token.readOnly), \(token.createdAt))
                ON CONFLICT (name) DO UPDATE SET token_hash = EXCLUDED.token_hash, read_only = EXCLUDED.read_only, created_at = EXCLUDED.created_at
                """, logger: logger)
        }
    }

    func deleteToken(peer: String) throws -> Bool {
        try wait { connection, logger in
            try await connection.query("DELETE FROM peer_tokens WHERE name = \(peer) RETURNING name", logger: logger).decode(String.self).first { _ in true } != nil
        }
    }

    func deleteSetAside(peer: String) throws {
        try wait { connection, logger in try await connection.query("DELETE FROM set_aside WHERE peer = \(peer)", logger: logger) }
    }
}
