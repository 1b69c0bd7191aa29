import ConcordCore
import ConcordProjections
import PostgresNIO

/// The hub's sharing rules (docs/privacy.md), resolved as on SQLite (`SharingGrants`).
extension PostgresEventStore {
    public func sharingPolicy(for peer: String) async throws -> SharingPolicy {
        let settings = try await sharingSettings()
        let rules = settings.rules.filter { $0.peer == peer }.map(\.selector)
        if SharingGrants.needsReadModels(rules) { try await foldNewEvents() }
        var resolved: [StreamID: ShareSelector] = [:]
        try await read("read the sharing rules") { connection in
            for rule in rules {
                guard let (value, queries) = SharingGrants.streamQueries(for: rule) else { continue }
                for sql in queries {
                    var bindings = PostgresBindings()
                    bindings.append(value)
                    for try await stream in try await connection.query(PostgresQuery(unsafeSQL: sql, binds: bindings), logger: self.logger).decode(String.self) {
                        resolved[StreamID(unchecked: stream)] = rule
                    }
                }
            }
        }
        return SharingPolicy(peer: peer, rules: rules, defaultRule: settings.defaultRule, localStreams: Set(settings.localStreams), resolvedStreams: resolved)
    }

    /// Rules, local streams and default in one query (asked at every pull).
    public func sharingSettings() async throws -> SharingSettings {
        try await read("read the sharing rules") { connection in
            let rows = try await connection.query("""
                SELECT 'rule', peer, selector, added_at FROM share_rules
                UNION ALL SELECT 'local', stream, NULL, NULL FROM local_streams
                UNION ALL SELECT 'default', value, NULL, NULL FROM settings WHERE name = 'share_default'
                """, logger: self.logger)
            var rules: [ShareRule] = []
            var local: [StreamID] = []
            var fallback: String?
            for try await (kind, first, second, added) in rows.decode((String, String, String?, Int64?).self) {
                switch kind {
                case "rule":
                    // A rule that no longer parses (edited by hand) grants nothing.
                    guard let second, let selector = try? ShareSelector(parsing: second) else { continue }
                    rules.append(ShareRule(peer: first, selector: selector, addedAt: added ?? 0))
                case "local": local.append(StreamID(unchecked: first))
                default: fallback = first
                }
            }
            // A missing or unreadable setting withholds: never more than was chosen.
            return SharingSettings(
                rules: rules.sorted { ($0.peer, $0.selector.description) < ($1.peer, $1.selector.description) },
                defaultRule: SharingPolicy.Default(rawValue: fallback ?? "") ?? .stubs, localStreams: local.sorted { $0.rawValue < $1.rawValue }
            )
        }
    }

    /// Takes over sharing settings (`concord copy`, `init --share-default`), replacing these.
    public func restoreSharing(_ settings: SharingSettings) async throws {
        try await run("take over sharing settings") { connection in
            try await connection.query("DELETE FROM share_rules", logger: self.logger)
            try await connection.query("DELETE FROM local_streams", logger: self.logger)
            for rule in settings.rules {
                try await connection.query(
                    "INSERT INTO share_rules (peer, selector, added_at) VALUES (\(rule.peer), \(rule.selector.description), \(rule.addedAt)) ON CONFLICT DO NOTHING",
                    logger: self.logger
                )
            }
            for stream in settings.localStreams {
                try await connection.query("INSERT INTO local_streams (stream, added_at) VALUES (\(stream.rawValue), \(self.clock())) ON CONFLICT DO NOTHING", logger: self.logger)
            }
            try await connection.query("""
                INSERT INTO settings (name, value) VALUES ('share_default', \(settings.defaultRule.rawValue))
                ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value
                """, logger: self.logger)
            try await self.bumpOpeningsGeneration(connection)
        }
    }

    public func changeSharing(_ change: SharingChange) async throws -> Bool {
        try change.validate()
        let now = clock()
        return try await run("change the sharing settings") { connection in
            let changed: Bool
            switch change {
            case .addRule(let peer, let selector):
                changed = try await Self.changedRows(connection.query(
                    "INSERT INTO share_rules (peer, selector, added_at) VALUES (\(peer), \(selector.description), \(now)) ON CONFLICT DO NOTHING RETURNING 1",
                    logger: self.logger))
            case .removeRule(let peer, let selector):
                changed = try await Self.changedRows(connection.query(
                    "DELETE FROM share_rules WHERE peer = \(peer) AND selector = \(selector.description) RETURNING 1", logger: self.logger))
            case .setDefault(let value):
                try await connection.query("""
                    INSERT INTO settings (name, value) VALUES ('share_default', \(value.rawValue))
                    ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value
                    """, logger: self.logger)
                changed = true
            case .keepLocal(let stream, true):
                changed = try await Self.changedRows(connection.query(
                    "INSERT INTO local_streams (stream, added_at) VALUES (\(stream.rawValue), \(now)) ON CONFLICT DO NOTHING RETURNING 1", logger: self.logger))
            case .keepLocal(let stream, false):
                changed = try await Self.changedRows(connection.query("DELETE FROM local_streams WHERE stream = \(stream.rawValue) RETURNING 1", logger: self.logger))
            }
            if changed { try await self.bumpOpeningsGeneration(connection) }
            return changed
        }
    }

    private static func changedRows(_ rows: PostgresRowSequence) async throws -> Bool {
        var count = 0
        for try await _ in rows { count += 1 }
        return count > 0
    }

    /// Counts changes that may give a peer openings it lacks (see the SQLite store).
    func bumpOpeningsGeneration(_ connection: PostgresConnection) async throws {
        try await connection.query("""
            INSERT INTO settings (name, value) VALUES ('openings_generation', '1')
            ON CONFLICT (name) DO UPDATE SET value = (settings.value::bigint + 1)::text
            """, logger: logger)
    }
}
