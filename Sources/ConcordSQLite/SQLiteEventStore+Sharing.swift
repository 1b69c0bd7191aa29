import ConcordCore
import ConcordProjections

/// The node's sharing rules (docs/privacy.md): per peer, what it receives with openings.
extension SQLiteEventStore {
    public func shareRules(peer: String? = nil) throws -> [ShareRule] {
        try withConnection("read the sharing rules") { state in
            let statement = try state.connection.prepare(
                "SELECT peer, selector, added_at FROM share_rules \(peer == nil ? "" : "WHERE peer = ?") ORDER BY peer, selector"
            )
            if let peer { try statement.bind(1, peer) }
            var rules: [ShareRule] = []
            while try statement.step() {
                // Rules are checked when added; one that no longer parses (edited by hand) grants nothing.
                guard let selector = try? ShareSelector(parsing: statement.text(1)) else { continue }
                rules.append(ShareRule(peer: statement.text(0), selector: selector, addedAt: statement.int64(2)))
            }
            return rules
        }
    }

    /// Adds a rule; returns false when the peer already had it.
    @discardableResult
    public func addShareRule(peer: String, _ selector: ShareSelector) throws -> Bool {
        try Identifier.validate(peer, what: "peer name", maxLength: 100)
        return try changeSharing("add a sharing rule") { connection in
            try connection.cached("INSERT OR IGNORE INTO share_rules (peer, selector, added_at) VALUES (?, ?, ?)")
                .run([.text(peer), .text(selector.description), .integer(options.clock())])
            return connection.changes > 0
        }
    }

    /// Removes a rule; returns false when the peer did not have it.
    @discardableResult
    public func removeShareRule(peer: String, _ selector: ShareSelector) throws -> Bool {
        try changeSharing("remove a sharing rule") { connection in
            try connection.cached("DELETE FROM share_rules WHERE peer = ? AND selector = ?").run([.text(peer), .text(selector.description)])
            return connection.changes > 0
        }
    }

    public func shareDefault() throws -> SharingPolicy.Default {
        try withConnection("read the settings") { state in
            try Self.shareDefault(state.connection)
        }
    }

    static func shareDefault(_ connection: SQLiteConnection) throws -> SharingPolicy.Default {
        // A store whose setting is missing or unreadable withholds: never more than was chosen.
        SharingPolicy.Default(rawValue: try connection.scalarText("SELECT value FROM settings WHERE name = 'share_default'") ?? "") ?? .stubs
    }

    public func setShareDefault(_ value: SharingPolicy.Default) throws {
        _ = try changeSharing("set the sharing default") { connection in
            try connection.cached("INSERT OR REPLACE INTO settings (name, value) VALUES ('share_default', ?)").run([.text(value.rawValue)])
            return true
        }
    }

    public func localStreams() throws -> [StreamID] {
        try withConnection("read the local streams") { state in
            let statement = try state.connection.prepare("SELECT stream FROM local_streams ORDER BY stream")
            var streams: [StreamID] = []
            while try statement.step() { streams.append(StreamID(unchecked: statement.text(0))) }
            return streams
        }
    }

    /// Keeps a stream's openings on this node (`local`), or lets its rules apply again.
    @discardableResult
    public func setLocal(_ stream: StreamID, _ local: Bool) throws -> Bool {
        try changeSharing(local ? "keep a stream local" : "share a local stream") { connection in
            if local {
                try connection.cached("INSERT OR IGNORE INTO local_streams (stream, added_at) VALUES (?, ?)").run([.text(stream.rawValue), .integer(options.clock())])
            } else {
                try connection.cached("DELETE FROM local_streams WHERE stream = ?").run([.text(stream.rawValue)])
            }
            return connection.changes > 0
        }
    }

    /// A change to what peers may receive: peers ask again for the openings of their stubs.
    private func changeSharing(_ what: String, _ body: (SQLiteConnection) throws -> Bool) throws -> Bool {
        try withConnection(what) { state in
            try state.connection.transaction {
                let changed = try body(state.connection)
                if changed { try Self.bumpOpeningsGeneration(state.connection) }
                return changed
            }
        }
    }

    /// The rules for `peer`, with its region and meeting rules resolved to streams through the
    /// read models (brought up to date first).
    public func sharingPolicy(for peer: String) throws -> SharingPolicy {
        let rules = try shareRules(peer: peer).map(\.selector)
        if SharingGrants.needsReadModels(rules) { try catchUpProjections() }
        return try withConnection("read the sharing rules") { state in
            let connection = state.connection
            var resolved: [StreamID: ShareSelector] = [:]
            for rule in rules {
                guard let (value, queries) = SharingGrants.streamQueries(for: rule) else { continue }
                for sql in queries {
                    let statement = try connection.prepare(sql)
                    try statement.bind([.text(value)])
                    while try statement.step() { resolved[StreamID(unchecked: statement.text(0))] = rule }
                }
            }
            var local: Set<StreamID> = []
            let statement = try connection.prepare("SELECT stream FROM local_streams")
            while try statement.step() { local.insert(StreamID(unchecked: statement.text(0))) }
            return SharingPolicy(peer: peer, rules: rules, defaultRule: try Self.shareDefault(connection), localStreams: local, resolvedStreams: resolved)
        }
    }

    /// Every rule, the default and the local streams, for `concord copy`.
    public func sharingSettings() throws -> SharingSettings {
        SharingSettings(rules: try shareRules(), defaultRule: try shareDefault(), localStreams: try localStreams())
    }

    /// Takes over another store's sharing settings, replacing this one's.
    public func restoreSharing(_ settings: SharingSettings) throws {
        _ = try changeSharing("take over sharing settings") { connection in
            try connection.execute("DELETE FROM share_rules")
            try connection.execute("DELETE FROM local_streams")
            for rule in settings.rules {
                try connection.cached("INSERT OR IGNORE INTO share_rules (peer, selector, added_at) VALUES (?, ?, ?)")
                    .run([.text(rule.peer), .text(rule.selector.description), .integer(rule.addedAt)])
            }
            for stream in settings.localStreams {
                try connection.cached("INSERT OR IGNORE INTO local_streams (stream, added_at) VALUES (?, ?)").run([.text(stream.rawValue), .integer(options.clock())])
            }
            try connection.cached("INSERT OR REPLACE INTO settings (name, value) VALUES ('share_default', ?)").run([.text(settings.defaultRule.rawValue)])
            return true
        }
    }
}
