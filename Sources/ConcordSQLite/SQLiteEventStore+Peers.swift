import ConcordCore
import ConcordStorage

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

    /// Issues a new token for a peer (`PeerTokens.issue`) and returns it: only its SHA-256 is
    /// stored, so the token cannot be shown again.
    public func issueToken(peer name: String, readOnly: Bool) throws -> String {
        try tokens("store the token for \(name)", writing: true) { try PeerTokens.issue(peer: name, readOnly: readOnly, at: Timestamp.nowMillis(), in: $0) }
    }

    public func issuedTokens() throws -> [IssuedToken] {
        try tokens("list the tokens") { try PeerTokens.issued(in: $0) }
    }

    /// Revokes a peer's token (`PeerTokens.revoke`). Returns false when there was none.
    @discardableResult
    public func revokeToken(peer name: String) throws -> Bool {
        try tokens("revoke the token of \(name)", writing: true) { try PeerTokens.revoke(peer: name, in: $0) }
    }

    /// The tokens as kept (digests), for `concord copy`.
    public func keptTokens() throws -> [KeptToken] {
        try tokens("list the tokens") { try $0.keptTokens() }
    }

    /// Keeps tokens copied from another store (`PeerTokens.restore`).
    public func restoreTokens(_ tokens: [KeptToken]) throws {
        try self.tokens("store copied tokens", writing: true) { try PeerTokens.restore(tokens, in: $0) }
    }

    /// The peer a presented token belongs to, or nil.
    public func authenticate(token: String) throws -> PeerAccess? {
        try tokens("check a token") { try PeerTokens.authenticate(token, in: $0) }
    }

    /// Runs `body` over the token rows: a change in one write transaction, a read (every request
    /// authenticates) as its own statements, taking no write lock.
    private func tokens<T>(_ what: String, writing: Bool = false, _ body: (SQLiteTokenTransaction) throws -> T) throws -> T {
        try withConnection(what) { state in
            guard writing else { return try body(SQLiteTokenTransaction(connection: state.connection)) }
            return try state.connection.transaction { try body(SQLiteTokenTransaction(connection: state.connection)) }
        }
    }

    /// Adds (or replaces) a peer. Its token goes to `STORE.peers` (mode 0600), not into the store.
    public func addPeer(name: String, url: String, token: String) throws {
        try Identifier.validate(name, what: "peer name", maxLength: 100)
        try PeerToken.validatePresented(token)
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

/// The SQLite driver's token rows (`peer_tokens`, `set_aside`) for `PeerTokens`.
struct SQLiteTokenTransaction: TokenTransaction {
    let connection: SQLiteConnection

    func keptTokens() throws -> [KeptToken] {
        let statement = try connection.cached("SELECT name, token_hash, read_only, created_at FROM peer_tokens ORDER BY name")
        var tokens: [KeptToken] = []
        while try statement.step() { tokens.append(Self.token(statement)) }
        return tokens
    }

    func keptToken(digest: [UInt8]) throws -> KeptToken? {
        let statement = try connection.cached("SELECT name, token_hash, read_only, created_at FROM peer_tokens WHERE token_hash = ?")
        try statement.bind(1, digest)
        return try statement.step() ? Self.token(statement) : nil
    }

    func putToken(_ token: KeptToken) throws {
        try connection.cached("INSERT OR REPLACE INTO peer_tokens (name, token_hash, read_only, created_at) VALUES (?, ?, ?, ?)")
            .run([.text(token.peer), .blob(token.digest), .integer(token.readOnly ? 1 : 0), .integer(token.createdAt)])
    }

    func deleteToken(peer: String) throws -> Bool {
        try connection.cached("DELETE FROM peer_tokens WHERE name = ?").run([.text(peer)])
        return connection.changes > 0
    }

    func deleteSetAside(peer: String) throws {
        try connection.cached("DELETE FROM set_aside WHERE peer = ?").run([.text(peer)])
    }

    private static func token(_ statement: SQLiteStatement) -> KeptToken {
        KeptToken(peer: statement.text(0), digest: statement.blob(1), readOnly: statement.int64(2) != 0, createdAt: statement.int64(3))
    }
}
