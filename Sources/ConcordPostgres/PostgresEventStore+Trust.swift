import ConcordCore
import ConcordSyncProtocol
import PostgresNIO

/// Which origins the hub accepts (`TrustMode`, in the core): the roster and the mode as this
/// store keeps them (`trusted_origins`, `settings.trust_mode`). A hub records nothing of its own,
/// so in strict mode only the roster's origins are accepted.
extension PostgresEventStore {
    public func trustMode() async throws -> TrustMode {
        try await read("read the trust mode") { connection in
            TrustMode(stored: try await connection.query("SELECT value FROM settings WHERE name = 'trust_mode'", logger: self.logger)
                .decode(String.self).first { _ in true })
        }
    }

    public func setTrustMode(_ mode: TrustMode) async throws {
        try await run("set the trust mode") { connection in
            try await connection.query("""
                INSERT INTO settings (name, value) VALUES ('trust_mode', \(mode.rawValue)) ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value
                """, logger: self.logger)
        }
    }

    public func trust(_ origin: OriginID, label: String) async throws {
        try Identifier.validate(label, what: "label", maxLength: 100)
        let now = clock()
        try await run("trust origin \(origin)") { connection in
            try await connection.query("""
                INSERT INTO trusted_origins (origin, label, added_at) VALUES (\(origin.hex), \(label), \(now))
                ON CONFLICT (origin) DO UPDATE SET label = EXCLUDED.label, added_at = EXCLUDED.added_at
                """, logger: self.logger)
        }
    }

    public func distrust(_ origin: OriginID) async throws -> Bool {
        try await run("remove origin \(origin) from the roster") { connection in
            var removed = false
            for try await _ in try await connection.query("DELETE FROM trusted_origins WHERE origin = \(origin.hex) RETURNING 1", logger: self.logger) {
                removed = true
            }
            return removed
        }
    }

    public func trustedOrigins() async throws -> [TrustedOrigin] {
        try await read("read the roster") { connection in
            var roster: [TrustedOrigin] = []
            let rows = try await connection.query("SELECT origin, label, added_at FROM trusted_origins ORDER BY label COLLATE \"C\", origin COLLATE \"C\"", logger: self.logger)
            for try await (origin, label, added) in rows.decode((String, String, Int64).self) {
                roster.append(TrustedOrigin(origin: OriginID(unchecked: origin), label: label, addedAt: added))
            }
            return roster
        }
    }

    /// A hub on PostgreSQL writes no events; its one origin is the key it signs checkpoints with.
    public func ownOrigins() async throws -> [OriginID] { checkpointSigner.map { [$0] } ?? [] }

    /// A hub on PostgreSQL only serves: it syncs with no peer of its own.
    public func syncPeers() async throws -> [SyncPeerSummary] { [] }

    /// PostgreSQL has no check like SQLite's `PRAGMA integrity_check` (its page checksums, when
    /// the cluster was made with them, are checked as pages are read).
    public func storageIntegrityProblem() async throws -> String? { nil }
}
