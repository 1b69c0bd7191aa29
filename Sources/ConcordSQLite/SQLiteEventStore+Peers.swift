import ConcordCore

/// Tokens this node's server accepts, and the peers this node syncs with.
extension SQLiteEventStore {
    public struct Peer: Sendable {
        public var name: String
        public var url: String
        /// The token this node presents to the peer, from `STORE.peers` (nil when it is missing there).
        public var token: String?
        public var lastSync: Int64?
        /// The peer's version vector as of the last sync.
        public var lastVector: VersionVector?
    }

    /// Issues a new token for a peer (replacing any earlier one of that name) and returns it.
    /// Only its SHA-256 is stored: the token cannot be shown again.
    public func issueToken(peer name: String, readOnly: Bool) throws -> String {
        try PeerToken.validatePeerName(name)
        let token = PeerToken.generate()
        try withConnection("store the token for \(name)") { state in
            try state.connection.cached("INSERT OR REPLACE INTO peer_tokens (name, token_hash, read_only, created_at) VALUES (?, ?, ?, ?)")
                .run([.text(name), .blob(PeerToken.digest(token)), .integer(readOnly ? 1 : 0), .integer(Timestamp.nowMillis())])
        }
        return token
    }

    public func issuedTokens() throws -> [IssuedToken] {
        try withConnection("list the tokens") { state in
            let statement = try state.connection.prepare("SELECT name, read_only, created_at FROM peer_tokens ORDER BY name")
            var tokens: [IssuedToken] = []
            while try statement.step() {
                tokens.append(IssuedToken(peer: statement.text(0), readOnly: statement.int64(1) != 0, createdAt: statement.int64(2)))
            }
            return tokens
        }
    }

    /// Revokes a peer's token: its next request is refused (401). Returns false when there was none.
    @discardableResult
    public func revokeToken(peer name: String) throws -> Bool {
        try withConnection("revoke the token of \(name)") { state in
            let connection = state.connection
            return try connection.transaction {
                try connection.cached("DELETE FROM peer_tokens WHERE name = ?").run([.text(name)])
                let revoked = connection.changes > 0
                // What it pushed and this node refused is no longer a matter for an operator.
                if revoked { try connection.cached("DELETE FROM set_aside WHERE peer = ?").run([.text(name)]) }
                return revoked
            }
        }
    }

    /// The tokens as kept (digests), for `concord copy`.
    public func keptTokens() throws -> [KeptToken] {
        try withConnection("list the tokens") { state in
            let statement = try state.connection.prepare("SELECT name, token_hash, read_only, created_at FROM peer_tokens ORDER BY name")
            var tokens: [KeptToken] = []
            while try statement.step() {
                tokens.append(KeptToken(peer: statement.text(0), digest: statement.blob(1), readOnly: statement.int64(2) != 0, createdAt: statement.int64(3)))
            }
            return tokens
        }
    }

    /// Keeps tokens copied from another store, replacing any of the same peers.
    public func restoreTokens(_ tokens: [KeptToken]) throws {
        try withConnection("store copied tokens") { state in
            try state.connection.transaction {
                for token in tokens {
                    try state.connection.cached("INSERT OR REPLACE INTO peer_tokens (name, token_hash, read_only, created_at) VALUES (?, ?, ?, ?)")
                        .run([.text(token.peer), .blob(token.digest), .integer(token.readOnly ? 1 : 0), .integer(token.createdAt)])
                }
            }
        }
    }

    /// The peer a presented token belongs to, or nil.
    public func authenticate(token: String) throws -> PeerAccess? {
        try withConnection("check a token") { state in
            let statement = try state.connection.cached("SELECT name, read_only FROM peer_tokens WHERE token_hash = ?")
            try statement.bind(1, PeerToken.digest(token))
            guard try statement.step() else { return nil }
            return PeerAccess(name: statement.text(0), readOnly: statement.int64(1) != 0)
        }
    }

    /// Adds (or replaces) a peer. Its token goes to `STORE.peers` (mode 0600), not into the store.
    public func addPeer(name: String, url: String, token: String) throws {
        try Identifier.validate(name, what: "peer name", maxLength: 100)
        try PeerTokenFile.validate(token)
        guard url.hasPrefix("http://") || url.hasPrefix("https://") else {
            throw ConcordError(.invalidArgument, "peer URL '\(url.prefix(80))' must start with http:// or https://")
        }
        try withConnection("add peer \(name)") { state in
            let tokenPath = PeerTokenFile.path(forStore: path)
            var tokens = try PeerTokenFile.read(at: tokenPath)
            tokens[name] = token
            try PeerTokenFile.write(tokens, to: tokenPath, storePath: path)
            try state.connection.cached("INSERT OR REPLACE INTO peers (name, url, token, added_at) VALUES (?, ?, '', ?)")
                .run([.text(name), .text(url), .integer(Timestamp.nowMillis())])
        }
    }

    public func peers() throws -> [Peer] {
        try withConnection("list peers") { state in
            let tokens = try PeerTokenFile.read(at: PeerTokenFile.path(forStore: path))
            let statement = try state.connection.prepare("SELECT name, url, last_sync, last_vector, token FROM peers ORDER BY name")
            var peers: [Peer] = []
            while try statement.step() {
                var vector: VersionVector?
                if let text = statement.optionalText(3), case .object(let entries)? = try? JSONValue(parsing: text) {
                    var decoded = VersionVector()
                    for (origin, seq) in entries {
                        if case .number(let number) = seq, let value = UInt64(number), EventLimits.seqRange.contains(value), let id = try? OriginID(hex: origin) { decoded[id] = value }
                    }
                    vector = decoded
                }
                let name = statement.text(0)
                // A token still in the store (moving it out failed) is used until it moves.
                let legacy = statement.text(4)
                peers.append(Peer(
                    name: name, url: statement.text(1), token: tokens[name] ?? (legacy.isEmpty ? nil : legacy),
                    lastSync: statement.isNull(2) ? nil : statement.int64(2), lastVector: vector
                ))
            }
            return peers
        }
    }

    /// Moves tokens an earlier release kept in the store's `peers` table into `STORE.peers`, and
    /// blanks them in the store with `secure_delete` on, so the file holds no copy of them.
    static func moveTokensOutOfStore(_ connection: SQLiteConnection, path: String) throws {
        let statement = try connection.prepare("SELECT name, token FROM peers WHERE token <> ''")
        var legacy: [String: String] = [:]
        while try statement.step() { legacy[statement.text(0)] = statement.text(1) }
        guard !legacy.isEmpty else { return }
        let tokenPath = PeerTokenFile.path(forStore: path)
        var tokens = try PeerTokenFile.read(at: tokenPath)
        for (name, token) in legacy where tokens[name] == nil { tokens[name] = token }
        try PeerTokenFile.write(tokens, to: tokenPath, storePath: path)
        try connection.execute("PRAGMA secure_delete=ON")
        try connection.transaction { try connection.execute("UPDATE peers SET token = ''") }
        // Old page images with the tokens may linger in the WAL: checkpoint it into the (now
        // blanked) file and truncate it. Busy readers only postpone this; it is not an error.
        _ = try? connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    }

    public func recordSync(peer name: String, vector: VersionVector, vectorJSON: String) throws {
        try withConnection("record the sync with \(name)") { state in
            try state.connection.cached("UPDATE peers SET last_sync = ?, last_vector = ? WHERE name = ?")
                .run([.integer(Timestamp.nowMillis()), .text(vectorJSON), .text(name)])
        }
    }
}
