import ConcordCore

/// Tokens this node's server accepts, and the peers this node syncs with.
extension SQLiteEventStore {
    public struct PeerAccess: Sendable, Equatable {
        public var name: String
        public var readOnly: Bool
    }

    public struct Peer: Sendable {
        public var name: String
        public var url: String
        public var token: String
        public var lastSync: Int64?
        /// The peer's version vector as of the last sync.
        public var lastVector: VersionVector?
    }

    /// Issues a new token for a peer (replacing any earlier one of that name) and returns it.
    /// Only its SHA-256 is stored: the token cannot be shown again.
    public func issueToken(peer name: String, readOnly: Bool) throws -> String {
        try Identifier.validate(name, what: "peer name", maxLength: 100)
        var random = SystemRandomNumberGenerator()
        let token = "concord_" + Hex.encode((0..<32).map { _ in UInt8.random(in: 0...255, using: &random) })
        try withConnection("store the token for \(name)") { state in
            try state.connection.cached("INSERT OR REPLACE INTO peer_tokens (name, token_hash, read_only, created_at) VALUES (?, ?, ?, ?)")
                .run([.text(name), .blob(EventHash.sha256(Array(token.utf8)).bytes), .integer(readOnly ? 1 : 0), .integer(Timestamp.nowMillis())])
        }
        return token
    }

    /// The peer a presented token belongs to, or nil.
    public func authenticate(token: String) throws -> PeerAccess? {
        try withConnection("check a token") { state in
            let statement = try state.connection.cached("SELECT name, read_only FROM peer_tokens WHERE token_hash = ?")
            try statement.bind(1, EventHash.sha256(Array(token.utf8)).bytes)
            guard try statement.step() else { return nil }
            return PeerAccess(name: statement.text(0), readOnly: statement.int64(1) != 0)
        }
    }

    public func addPeer(name: String, url: String, token: String) throws {
        try Identifier.validate(name, what: "peer name", maxLength: 100)
        guard url.hasPrefix("http://") || url.hasPrefix("https://") else {
            throw ConcordError(.invalidArgument, "peer URL '\(url.prefix(80))' must start with http:// or https://")
        }
        try withConnection("add peer \(name)") { state in
            try state.connection.cached("INSERT OR REPLACE INTO peers (name, url, token, added_at) VALUES (?, ?, ?, ?)")
                .run([.text(name), .text(url), .text(token), .integer(Timestamp.nowMillis())])
        }
    }

    public func peers() throws -> [Peer] {
        try withConnection("list peers") { state in
            let statement = try state.connection.prepare("SELECT name, url, token, last_sync, last_vector FROM peers ORDER BY name")
            var peers: [Peer] = []
            while try statement.step() {
                var vector: VersionVector?
                if let text = statement.optionalText(4), case .object(let entries)? = try? JSONValue(parsing: text) {
                    var decoded = VersionVector()
                    for (origin, seq) in entries {
                        if case .number(let number) = seq, let value = UInt64(number), let id = try? OriginID(hex: origin) { decoded[id] = value }
                    }
                    vector = decoded
                }
                peers.append(Peer(
                    name: statement.text(0), url: statement.text(1), token: statement.text(2),
                    lastSync: statement.isNull(3) ? nil : statement.int64(3), lastVector: vector
                ))
            }
            return peers
        }
    }

    public func recordSync(peer name: String, vector: VersionVector, vectorJSON: String) throws {
        try withConnection("record the sync with \(name)") { state in
            try state.connection.cached("UPDATE peers SET last_sync = ?, last_vector = ? WHERE name = ?")
                .run([.integer(Timestamp.nowMillis()), .text(vectorJSON), .text(name)])
        }
    }
}
