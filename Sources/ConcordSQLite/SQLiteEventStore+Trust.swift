import ConcordCore

/// Which origins this node accepts events from (`TrustMode`, in the core): the roster and the
/// mode as this store keeps them.
extension SQLiteEventStore {
    public func trustMode() throws -> TrustMode {
        try withConnection("read the trust mode") { state in try Self.trustMode(state.connection) }
    }

    public func setTrustMode(_ mode: TrustMode) throws {
        try withConnection("set the trust mode") { state in
            try state.connection.cached("INSERT OR REPLACE INTO settings (name, value) VALUES ('trust_mode', ?)").run([.text(mode.rawValue)])
        }
    }

    /// Adds an origin to the roster (or relabels it).
    public func trust(_ origin: OriginID, label: String) throws {
        try Identifier.validate(label, what: "label", maxLength: 100)
        try withConnection("trust origin \(origin)") { state in
            try state.connection.cached("INSERT OR REPLACE INTO trusted_origins (origin, label, added_at) VALUES (?, ?, ?)")
                .run([.text(origin.hex), .text(label), .integer(Timestamp.nowMillis())])
        }
    }

    /// Takes an origin off the roster. Its events already held stay; in strict mode new ones are refused.
    /// Returns false when it was not on the roster.
    @discardableResult
    public func distrust(_ origin: OriginID) throws -> Bool {
        try withConnection("remove origin \(origin) from the roster") { state in
            try state.connection.cached("DELETE FROM trusted_origins WHERE origin = ?").run([.text(origin.hex)])
            return state.connection.changes > 0
        }
    }

    public func trustedOrigins() throws -> [TrustedOrigin] {
        try withConnection("read the roster") { state in
            let statement = try state.connection.prepare("SELECT origin, label, added_at FROM trusted_origins ORDER BY label, origin")
            var result: [TrustedOrigin] = []
            while try statement.step() {
                result.append(TrustedOrigin(origin: OriginID(unchecked: statement.text(0)), label: statement.text(1), addedAt: statement.int64(2)))
            }
            return result
        }
    }

    static func trustMode(_ connection: SQLiteConnection) throws -> TrustMode {
        let statement = try connection.cached("SELECT value FROM settings WHERE name = 'trust_mode'")
        defer { statement.reset() }
        return TrustMode(stored: try statement.step() ? statement.text(0) : nil)
    }

}

/// The trust mode and roster as one ingest transaction sees them.
struct TrustPolicy {
    private let connection: SQLiteConnection
    let mode: TrustMode

    init(_ connection: SQLiteConnection) throws {
        self.connection = connection
        mode = try SQLiteEventStore.trustMode(connection)
    }

    /// Whether events of this origin may be stored: always in first-sight mode; in strict mode
    /// when it is on the roster or one of this node's own origins.
    func accepts(_ origin: OriginID) throws -> Bool {
        guard mode == .strict else { return true }
        func held(_ sql: String) throws -> Bool {
            let statement = try connection.cached(sql)
            defer { statement.reset() }
            try statement.bind(1, origin.hex)
            return try statement.step()
        }
        return mode.accepts(
            onRoster: try held("SELECT 1 FROM trusted_origins WHERE origin = ?"), ownOrigin: try held("SELECT 1 FROM incarnations WHERE origin = ?")
        )
    }

    /// Refuses, naming the first origin not accepted.
    func check(_ origins: some Collection<OriginID>) throws {
        for origin in origins.sorted() where try !accepts(origin) {
            throw ConcordError(
                .untrustedOrigin,
                "origin \(origin) is not on this node's roster and the node is in strict trust mode; nothing was stored. If it is a partner's node, add it: concord trust add \(origin) --label NAME"
            )
        }
    }
}
