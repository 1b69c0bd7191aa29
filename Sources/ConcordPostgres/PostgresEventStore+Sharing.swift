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

    public func sharingSettings() async throws -> SharingSettings {
        try await read("read the sharing rules") { connection in
            var rules: [ShareRule] = []
            for try await (peer, selector, added) in try await connection.query("SELECT peer, selector, added_at FROM share_rules ORDER BY peer, selector", logger: self.logger).decode((String, String, Int64).self) {
                // A rule that no longer parses (edited by hand) grants nothing.
                guard let selector = try? ShareSelector(parsing: selector) else { continue }
                rules.append(ShareRule(peer: peer, selector: selector, addedAt: added))
            }
            var local: [StreamID] = []
            for try await stream in try await connection.query("SELECT stream FROM local_streams ORDER BY stream", logger: self.logger).decode(String.self) {
                local.append(StreamID(unchecked: stream))
            }
            let value = try await connection.query("SELECT value FROM settings WHERE name = 'share_default'", logger: self.logger).decode(String.self).first { _ in true }
            // A missing or unreadable setting withholds: never more than was chosen.
            return SharingSettings(rules: rules, defaultRule: SharingPolicy.Default(rawValue: value ?? "") ?? .stubs, localStreams: local)
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

    /// Counts changes that may give a peer openings it lacks (see the SQLite store).
    func bumpOpeningsGeneration(_ connection: PostgresConnection) async throws {
        try await connection.query("""
            INSERT INTO settings (name, value) VALUES ('openings_generation', '1')
            ON CONFLICT (name) DO UPDATE SET value = (settings.value::bigint + 1)::text
            """, logger: logger)
    }

    /// Moves the openings number when the hub has region or meeting rules.
    func noteGrantsMayWiden(_ connection: PostgresConnection) async throws {
        let resolved = try await connection.query(PostgresQuery(unsafeSQL: "SELECT 1 FROM share_rules WHERE \(SharingGrants.resolvedRulesFilter) LIMIT 1"), logger: logger)
            .decode(Int32.self).first { _ in true }
        if resolved != nil { try await bumpOpeningsGeneration(connection) }
    }
}
