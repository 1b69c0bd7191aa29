import ConcordProjections
import Foundation

/// One step of the PostgreSQL schema. Like SQLite's, the list is append-only: a migration that
/// has shipped is never edited, only followed by another (docs/postgres.md).
package struct PostgresMigration: Sendable {
    package let name: String
    package let sql: String

    /// The statements of `sql`, one by one (the extended protocol runs one a query): split at
    /// each `;` outside quotes, `$$` bodies and `--` comments.
    package var statements: [String] {
        var statements: [String] = []
        var current = ""
        var inQuote = false
        var inBody = false
        var inComment = false
        let characters = Array(sql)
        var index = 0
        while index < characters.count {
            let character = characters[index]
            let next = index + 1 < characters.count ? characters[index + 1] : nil
            if inComment {
                if character == "\n" { inComment = false }
            } else if inBody {
                if character == "$", next == "$" { inBody = false; current += "$"; index += 1 }
            } else if inQuote {
                if character == "'" { inQuote = false }
            } else if character == "-", next == "-" {
                inComment = true
            } else if character == "$", next == "$" {
                inBody = true; current += "$"; index += 1
            } else if character == "'" {
                inQuote = true
            } else if character == ";" {
                let statement = current.trimmingCharacters(in: .whitespacesAndNewlines)
                if !statement.isEmpty { statements.append(statement) }
                current = ""
                index += 1
                continue
            }
            if !inComment { current.append(character) }
            index += 1
        }
        let last = current.trimmingCharacters(in: .whitespacesAndNewlines)
        if !last.isEmpty { statements.append(last) }
        return statements
    }
}

extension PostgresEventStore {
    package static let migrations: [PostgresMigration] = [
        PostgresMigration(name: "0001-hub", sql: """
            CREATE TABLE node (
                id         integer PRIMARY KEY CHECK (id = 1),
                name       text    NOT NULL,
                created_at bigint  NOT NULL
            );

            CREATE TABLE origins (
                origin     text   PRIMARY KEY,
                public_key bytea  NOT NULL,
                first_seen bigint NOT NULL
            );

            -- The last position given to an event. Every transaction that stores events takes this
            -- row's lock last, after verifying, and holds it to its commit: positions are handed out
            -- in commit order, so a reader paging by position never passes an event that commits
            -- later with a lower position (docs/postgres.md, "Reading in order").
            CREATE TABLE log_position (
                id   integer PRIMARY KEY CHECK (id = 1),
                last bigint  NOT NULL
            );
            INSERT INTO log_position (id, last) VALUES (1, 0);

            CREATE TABLE events (
                position       bigint   PRIMARY KEY,
                origin         text     NOT NULL,
                seq            bigint   NOT NULL CHECK (seq >= 1),
                stream         text     NOT NULL,
                stream_version bigint   NOT NULL,
                type           text     NOT NULL,
                schema_version bigint   NOT NULL,
                hlc            bigint   NOT NULL,
                recorded_at    bigint   NOT NULL,
                occurred_at    bigint   NOT NULL,
                stored_at      bigint   NOT NULL,
                actor          text     NOT NULL,
                causation_id   text,
                correlation_id text,
                prev           text     NOT NULL,
                data           text     NOT NULL,
                prev_hash      bytea    NOT NULL,
                hash           bytea    NOT NULL,
                commitment     bytea,
                salt           bytea,
                disclosure     smallint NOT NULL DEFAULT 0 CHECK (disclosure IN (0, 1, 2)),
                erased_by      text,
                UNIQUE (origin, seq),
                UNIQUE (stream, stream_version)
            );
            -- Stubs only (disclosure 1): what /v1/stubs lists, by position.
            CREATE INDEX events_withheld ON events (position) WHERE disclosure = 1;

            CREATE TABLE seals (
                origin    text   NOT NULL,
                seq       bigint NOT NULL,
                hash      bytea  NOT NULL,
                signature bytea  NOT NULL,
                sealed_at bigint NOT NULL,
                PRIMARY KEY (origin, seq)
            );

            CREATE TABLE fork_proofs (
                origin       text   NOT NULL,
                seq          bigint NOT NULL,
                held_hash    bytea  NOT NULL,
                offered_hash bytea  NOT NULL,
                proof        text   NOT NULL,
                source       text   NOT NULL,
                detected_at  bigint NOT NULL,
                PRIMARY KEY (origin, seq, offered_hash)
            );

            CREATE TABLE peer_tokens (
                name       text    PRIMARY KEY,
                token_hash bytea   NOT NULL UNIQUE,
                read_only  boolean NOT NULL,
                created_at bigint  NOT NULL
            );

            CREATE TABLE set_aside (
                peer        text   NOT NULL,
                origin      text   NOT NULL,
                seq         bigint NOT NULL,
                code        text   NOT NULL,
                message     text   NOT NULL,
                recorded_at bigint NOT NULL,
                PRIMARY KEY (peer, origin)
            );

            CREATE TABLE settings (
                name  text PRIMARY KEY,
                value text NOT NULL
            );

            CREATE TABLE peer_openings (
                peer               text   PRIMARY KEY,
                peer_openings      bigint,
                asked_through      bigint NOT NULL,
                own_openings       bigint,
                peer_stubs_through bigint NOT NULL
            );

            -- Streams whose read-model rows must be folded again although no event was added to
            -- them (an opening arrived late or was erased).
            CREATE TABLE refold_streams (
                stream text PRIMARY KEY
            );

            CREATE TABLE projection_state (
                name       text   PRIMARY KEY,
                version    bigint NOT NULL,
                position   bigint NOT NULL,
                rebuilt_at bigint NOT NULL
            );

            -- History is append-only whoever asks, the table's owner included.
            CREATE FUNCTION concord_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION 'concord: % are append-only; % is refused', TG_ARGV[0], TG_OP;
            END
            $$;
            CREATE TRIGGER events_refuse_delete BEFORE DELETE ON events FOR EACH ROW EXECUTE FUNCTION concord_refuse('events');
            CREATE TRIGGER events_refuse_truncate BEFORE TRUNCATE ON events FOR EACH STATEMENT EXECUTE FUNCTION concord_refuse('events');
            CREATE TRIGGER seals_refuse_update BEFORE UPDATE ON seals FOR EACH ROW EXECUTE FUNCTION concord_refuse('seals');
            CREATE TRIGGER seals_refuse_delete BEFORE DELETE ON seals FOR EACH ROW EXECUTE FUNCTION concord_refuse('seals');
            CREATE TRIGGER seals_refuse_truncate BEFORE TRUNCATE ON seals FOR EACH STATEMENT EXECUTE FUNCTION concord_refuse('seals');
            CREATE TRIGGER origins_refuse_update BEFORE UPDATE ON origins FOR EACH ROW EXECUTE FUNCTION concord_refuse('origin keys');
            CREATE TRIGGER origins_refuse_delete BEFORE DELETE ON origins FOR EACH ROW EXECUTE FUNCTION concord_refuse('origin keys');
            CREATE TRIGGER origins_refuse_truncate BEFORE TRUNCATE ON origins FOR EACH STATEMENT EXECUTE FUNCTION concord_refuse('origin keys');
            CREATE TRIGGER fork_proofs_refuse_update BEFORE UPDATE ON fork_proofs FOR EACH ROW EXECUTE FUNCTION concord_refuse('fork proofs');
            CREATE TRIGGER fork_proofs_refuse_delete BEFORE DELETE ON fork_proofs FOR EACH ROW EXECUTE FUNCTION concord_refuse('fork proofs');
            CREATE TRIGGER fork_proofs_refuse_truncate BEFORE TRUNCATE ON fork_proofs FOR EACH STATEMENT EXECUTE FUNCTION concord_refuse('fork proofs');

            -- An event's header and hash never change. A format-2 event's opening may only be
            -- filled in (a stub's, matching its commitment: checked before the UPDATE) or erased
            -- in the one shape an erasure leaves.
            CREATE FUNCTION concord_events_guard_update() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF OLD.commitment IS NULL
                   OR NEW.position <> OLD.position OR NEW.origin <> OLD.origin OR NEW.seq <> OLD.seq
                   OR NEW.stream <> OLD.stream OR NEW.stream_version <> OLD.stream_version OR NEW.type <> OLD.type
                   OR NEW.schema_version <> OLD.schema_version OR NEW.hlc <> OLD.hlc OR NEW.recorded_at <> OLD.recorded_at
                   OR NEW.occurred_at <> OLD.occurred_at OR NEW.stored_at <> OLD.stored_at OR NEW.prev <> OLD.prev
                   OR NEW.prev_hash <> OLD.prev_hash OR NEW.hash <> OLD.hash OR NEW.commitment IS DISTINCT FROM OLD.commitment
                   OR NOT (
                       (OLD.disclosure = 1 AND NEW.disclosure = 0 AND NEW.salt IS NOT NULL AND NEW.erased_by IS NULL)
                       OR (OLD.disclosure <> 2 AND NEW.disclosure = 2 AND NEW.actor = '' AND NEW.data = '{}' AND NEW.salt IS NULL
                           AND NEW.causation_id IS NULL AND NEW.correlation_id IS NULL AND NEW.erased_by IS NOT NULL)
                   )
                THEN
                    RAISE EXCEPTION 'concord: events are append-only; this UPDATE is refused (only a stub''s opening may be filled in, or an opening erased)';
                END IF;
                RETURN NEW;
            END
            $$;
            CREATE TRIGGER events_guard_update BEFORE UPDATE ON events FOR EACH ROW EXECUTE FUNCTION concord_events_guard_update();

            -- An origin's events are stored gap-free, whoever inserts them.
            CREATE FUNCTION concord_events_refuse_gap() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF NEW.seq <> 1 AND NOT EXISTS (SELECT 1 FROM events WHERE origin = NEW.origin AND seq = NEW.seq - 1) THEN
                    RAISE EXCEPTION 'concord: origin sequence gap; seq % of origin % is not stored', NEW.seq - 1, NEW.origin;
                END IF;
                RETURN NEW;
            END
            $$;
            CREATE TRIGGER events_refuse_gap BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION concord_events_refuse_gap();

            REVOKE ALL ON ALL TABLES IN SCHEMA public FROM PUBLIC;
            """),
        PostgresMigration(name: "0002-sharing", sql: """
            -- Need to know (docs/privacy.md): per peer, the rules granting openings; streams kept
            -- on this node; what peers without rules receive (settings.share_default).
            CREATE TABLE share_rules (
                peer     text   NOT NULL,
                selector text   NOT NULL,
                added_at bigint NOT NULL,
                PRIMARY KEY (peer, selector)
            );
            CREATE TABLE local_streams (
                stream   text   PRIMARY KEY,
                added_at bigint NOT NULL
            );
            REVOKE ALL ON share_rules, local_streams FROM PUBLIC;
            """),
        PostgresMigration(name: "0003-trust", sql: """
            -- The roster of origins a hub in strict trust mode accepts (settings.trust_mode;
            -- TrustMode in the core; docs/threat-model.md).
            CREATE TABLE trusted_origins (
                origin   text   PRIMARY KEY,
                label    text   NOT NULL,
                added_at bigint NOT NULL
            );
            REVOKE ALL ON trusted_origins FROM PUBLIC;
            """),
        PostgresMigration(name: "0004-erasure-needs-an-erasure", sql: """
            -- An opening may be erased only as a held erasure of its origin names it: after every
            -- UPDATE of events, each row now erased must name in erased_by an erasure event of the
            -- same origin, held whole, whose "events" list holds the row's id. The row trigger
            -- already refuses any change to an erased row, so every erased row in the statement
            -- was erased by it. Each erasure's list is read once a statement.
            CREATE FUNCTION concord_events_check_erasures() RETURNS trigger LANGUAGE plpgsql AS $$
            DECLARE
                unnamed text;
            BEGIN
                WITH erased AS (
                    SELECT origin, seq, erased_by, type FROM concord_new_rows WHERE disclosure = 2
                ), named AS (
                    SELECT e.origin, target.value AS target, e.origin || ':' || e.seq AS erasure,
                           jsonb_typeof(e.data::jsonb -> 'handovers') = 'array' AS hands_over
                    FROM (SELECT DISTINCT erased_by FROM erased WHERE erased_by ~ '^[0-9a-f]{32}:[0-9]{1,18}$') x
                    JOIN events e ON e.origin = split_part(x.erased_by, ':', 1) AND e.seq = split_part(x.erased_by, ':', 2)::bigint
                    CROSS JOIN LATERAL jsonb_array_elements_text(
                        CASE WHEN e.type = 'concord.erasure' AND e.disclosure = 0 AND e.schema_version = 1
                                  AND e.stream = 'erasure:' || e.origin AND jsonb_typeof(e.data::jsonb -> 'events') = 'array'
                             THEN e.data::jsonb -> 'events' ELSE '[]'::jsonb END
                    ) AS target(value)
                )
                SELECT r.origin || ':' || r.seq INTO unnamed FROM erased r
                WHERE r.type = 'concord.erasure' OR NOT EXISTS (
                    SELECT 1 FROM named n WHERE n.erasure = r.erased_by AND n.target = r.origin || ':' || r.seq
                      AND (n.origin = r.origin OR n.hands_over)
                )
                LIMIT 1;
                IF unnamed IS NOT NULL THEN
                    RAISE EXCEPTION 'concord: the opening of % may be erased only by a held erasure of its origin that names it; this UPDATE is refused', unnamed;
                END IF;
                RETURN NULL;
            END
            $$;
            CREATE TRIGGER events_check_erasures AFTER UPDATE ON events
                REFERENCING NEW TABLE AS concord_new_rows
                FOR EACH STATEMENT EXECUTE FUNCTION concord_events_check_erasures();
            """),
        PostgresMigration(name: "0005-vacuum-erased-rows", sql: """
            -- An erasure leaves the destroyed opening in a dead row version (and its TOAST) until
            -- VACUUM: autovacuum takes the log at its first dead row, within autovacuum_naptime,
            -- whichever role erased (the owner also vacuums at once: scrubAfterErasure). Rows
            -- die in events only by an erasure or a late opening. The read models are created
            -- with the same settings (readModelTablesSQL).
            ALTER TABLE events SET (
                autovacuum_vacuum_threshold = 0, autovacuum_vacuum_scale_factor = 0,
                toast.autovacuum_vacuum_threshold = 0, toast.autovacuum_vacuum_scale_factor = 0
            );
            """),
        PostgresMigration(name: "0006-pending-erasures", sql: """
            -- Events of an earlier incarnation that a held erasure names (through a handover it
            -- carries) but this hub does not hold yet: erased as they are stored. Derived from the
            -- held erasures, like the read models.
            CREATE TABLE pending_erasures (
                origin    text   NOT NULL,
                seq       bigint NOT NULL,
                erased_by text   NOT NULL,
                PRIMARY KEY (origin, seq)
            );
            REVOKE ALL ON pending_erasures FROM PUBLIC;
            """),
        PostgresMigration(name: "0007-fold-states", sql: """
            -- Each domain stream's fold state as its read-model rows were last written: a
            -- catch-up extends it with the stream's new events instead of folding the stream
            -- whole (docs/storage-format.md, "fold_states", the same bytes as on SQLite). Derived
            -- from the log, like the read models: a state that does not match the log is passed
            -- over. Vacuumed at the first dead row, as the read models are: a state folded from
            -- openings later erased is deleted by the erasure's catch-up (migration 0005).
            CREATE TABLE fold_states (
                stream text  PRIMARY KEY,
                state  bytea NOT NULL
            ) WITH (autovacuum_vacuum_threshold = 0, autovacuum_vacuum_scale_factor = 0,
                    toast.autovacuum_vacuum_threshold = 0, toast.autovacuum_vacuum_scale_factor = 0);
            REVOKE ALL ON fold_states FROM PUBLIC;
            """),
        PostgresMigration(name: "0008-checkpoints", sql: """
            -- Signed statements of what a node held (docs/audit.md): the hub's own, signed by its
            -- key (a file beside its configuration, never in the database), and those that came
            -- with sync and imports; the same columns as on SQLite. The exchange line is kept as
            -- it arrived; its signature is checked on arrival and again by concord verify.
            -- Append-only, like the log.
            CREATE TABLE checkpoints (
                signer      text   NOT NULL,
                number      bigint NOT NULL,
                node        text   NOT NULL,
                taken_at    bigint NOT NULL,
                line        text   NOT NULL,
                received_at bigint NOT NULL,
                PRIMARY KEY (signer, number)
            );
            CREATE INDEX checkpoints_by_node ON checkpoints (node, taken_at);
            REVOKE ALL ON checkpoints FROM PUBLIC;
            CREATE TRIGGER checkpoints_refuse_update BEFORE UPDATE ON checkpoints FOR EACH ROW EXECUTE FUNCTION concord_refuse('checkpoints');
            CREATE TRIGGER checkpoints_refuse_delete BEFORE DELETE ON checkpoints FOR EACH ROW EXECUTE FUNCTION concord_refuse('checkpoints');
            CREATE TRIGGER checkpoints_refuse_truncate BEFORE TRUNCATE ON checkpoints FOR EACH STATEMENT EXECUTE FUNCTION concord_refuse('checkpoints');
            """),
    ]

    /// The read-model tables, as plain PostgreSQL tables (`psql` reads them; docs/postgres.md).
    /// Like SQLite's, they are not migrated but rebuilt when `ReadModelSchema.version` changes.
    static var readModelTablesSQL: [String] {
        ["DROP VIEW IF EXISTS \(ReadModelSchema.viewNames.joined(separator: ", "))"]
        + ReadModelSchema.tables.flatMap { table -> [String] in
            let columns = columnsSQL(table)
            return [
                "DROP TABLE IF EXISTS \(table.name)",
                // Autovacuum at the first dead row: a catch-up after an erasure leaves the rows
                // folded from the erased openings dead (migration 0005, docs/postgres.md).
                "CREATE TABLE \(table.name) (\(columns), PRIMARY KEY (\(table.primaryKey.joined(separator: ", ")))) WITH (autovacuum_vacuum_threshold = 0, autovacuum_vacuum_scale_factor = 0, toast.autovacuum_vacuum_threshold = 0, toast.autovacuum_vacuum_scale_factor = 0)",
                "CREATE INDEX \(table.name)_by_stream ON \(table.name) (stream)",
            ]
        }
        // The same views as on SQLite, with PostgreSQL's spelling of today's UTC date.
        + ReadModelSchema.viewsSQL(schema: nil, today: todaySQL)
    }

    /// A read-model table's columns in PostgreSQL's types. Text compares by code point, as
    /// SQLite's BINARY does, whatever the database's locale: a query's ORDER BY gives the rows
    /// in the same order on both.
    static func columnsSQL(_ table: ReadModelSchema.Table) -> String {
        table.columns.map { "\($0.name) \($0.type == "INTEGER" ? "bigint" : "text COLLATE \"C\"")" }.joined(separator: ", ")
    }

    /// Today's UTC date as `YYYY-MM-DD`, as the views compare due dates with it.
    static let todaySQL = "to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD')"

    /// What an application role that is not the schema's owner may do (`grantApplicationRole`):
    /// read everything; add history but never change or remove it (only a stub's opening filled
    /// in, or erased, through the guarded columns); keep its own bookkeeping.
    static func applicationGrantsSQL(role: String) -> [String] {
        let quoted = quotedRole(role)
        let history = ["events", "seals", "origins", "fork_proofs", "checkpoints"]
        let bookkeeping = ["node", "log_position", "peer_tokens", "set_aside", "settings", "peer_openings", "refold_streams", "projection_state", "share_rules", "local_streams", "pending_erasures", "fold_states"]
            + ReadModelSchema.tables.map(\.name)
        return [
            "GRANT USAGE ON SCHEMA public TO \(quoted)",
            // The roster is read by ingest; only the owner changes it (concord trust).
            "GRANT SELECT ON concord_migrations, trusted_origins, \(ReadModelSchema.viewNames.joined(separator: ", ")) TO \(quoted)",
            "GRANT SELECT, INSERT ON \(history.joined(separator: ", ")) TO \(quoted)",
            "GRANT UPDATE (actor, causation_id, correlation_id, data, salt, disclosure, erased_by) ON events TO \(quoted)",
            "GRANT SELECT, INSERT, UPDATE, DELETE ON \(bookkeeping.joined(separator: ", ")) TO \(quoted)",
        ]
    }

    /// The grants of `applicationGrantsSQL` on the read-model tables and views alone, for tables
    /// recreated by a rebuild.
    static func readModelGrantsSQL(role: String) -> [String] {
        let quoted = quotedRole(role)
        return [
            "GRANT SELECT ON \(ReadModelSchema.viewNames.joined(separator: ", ")) TO \(quoted)",
            "GRANT SELECT, INSERT, UPDATE, DELETE ON \(ReadModelSchema.tables.map(\.name).joined(separator: ", ")) TO \(quoted)",
        ]
    }

    private static func quotedRole(_ role: String) -> String { "\"" + role.replacing("\"", with: "\"\"") + "\"" }
}
