import ConcordCore

/// The node's sharing rules (docs/privacy.md): per peer, what it receives with openings.
extension SQLiteEventStore {
    /// One rule as listed.
    public struct ShareRule: Sendable, Hashable {
        public var peer: String
        public var selector: ShareSelector
        public var addedAt: Int64
    }

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

    /// Whether storing `event`, the `version`th of its stream here, may change what a region or
    /// meeting rule grants of events already held: a case's region or an action's case or
    /// decision learnt after some of its stream's events, or a decision (which grants the actions
    /// raised from it). Then peers must ask again about their stubs (the openings number moves).
    static func mayWidenGrants(_ event: Event, version: Int) -> Bool {
        switch event.type.rawValue {
        case "case.opened", "action.raised": version > 1
        case "meeting.decision-recorded": true
        default: false
        }
    }

    /// Moves the openings number when the node has region or meeting rules (the only ones whose
    /// grants depend on what the node holds).
    static func noteGrantsMayWiden(_ connection: SQLiteConnection) throws {
        let resolved = try connection.scalarInt("SELECT 1 FROM share_rules WHERE selector LIKE 'region:%' OR selector LIKE 'meeting:%' LIMIT 1")
        if resolved != nil { try bumpOpeningsGeneration(connection) }
    }

    /// The rules for `peer`, with its region and meeting rules resolved to streams through the
    /// read models (brought up to date first).
    public func sharingPolicy(for peer: String) throws -> SharingPolicy {
        let rules = try shareRules(peer: peer).map(\.selector)
        let needsReadModels = rules.contains { if case .region = $0 { true } else if case .meeting = $0 { true } else { false } }
        if needsReadModels { try catchUpProjections() }
        return try withConnection("read the sharing rules") { state in
            let connection = state.connection
            var resolved: [StreamID: ShareSelector] = [:]
            func grant(_ sql: String, _ value: String, by rule: ShareSelector) throws {
                let statement = try connection.prepare(sql)
                try statement.bind([.text(value)])
                while try statement.step() { resolved[StreamID(unchecked: statement.text(0))] = rule }
            }
            for rule in rules {
                switch rule {
                case .region(let region):
                    // Only cases every `case.opened` of which names the region (regions_named = 1).
                    try grant("SELECT stream FROM cases WHERE region = ? AND regions_named = 1", region, by: rule)
                    try grant("SELECT a.stream FROM actions a JOIN cases c ON c.case_id = a.case_id WHERE c.region = ? AND c.regions_named = 1", region, by: rule)
                case .meeting(let meeting):
                    try grant("SELECT a.stream FROM actions a JOIN decisions d ON d.decision_id = a.decision_id WHERE d.meeting_id = ?", meeting, by: rule)
                default: break
                }
            }
            var local: Set<StreamID> = []
            let statement = try connection.prepare("SELECT stream FROM local_streams")
            while try statement.step() { local.insert(StreamID(unchecked: statement.text(0))) }
            return SharingPolicy(peer: peer, rules: rules, defaultRule: try Self.shareDefault(connection), localStreams: local, resolvedStreams: resolved)
        }
    }
}
