/// One named schema change. The list in `SQLiteEventStore.migrations` is append-only: a migration
/// is never edited or removed once it has shipped, so every store's history replays the same way.
package struct Migration: Sendable {
    package let name: String
    package let sql: String
}

extension SQLiteEventStore {
    /// Identifies a Concord store in the SQLite header (`PRAGMA application_id`): "Conc".
    package static let applicationID: Int32 = 0x436F_6E63

    package static let migrations: [Migration] = [
        Migration(name: "0001-event-log", sql: """
            CREATE TABLE node (
                id          INTEGER PRIMARY KEY CHECK (id = 1),
                name        TEXT    NOT NULL,
                origin      TEXT    NOT NULL,
                file_device INTEGER NOT NULL,
                file_inode  INTEGER NOT NULL,
                created_at  INTEGER NOT NULL
            );

            CREATE TABLE origins (
                origin     TEXT    PRIMARY KEY,
                public_key BLOB    NOT NULL,
                first_seen INTEGER NOT NULL
            ) WITHOUT ROWID;

            CREATE TABLE incarnations (
                origin     TEXT    PRIMARY KEY,
                node_name  TEXT    NOT NULL,
                started_at INTEGER NOT NULL,
                reason     TEXT    NOT NULL
            ) WITHOUT ROWID;

            CREATE TABLE events (
                position       INTEGER PRIMARY KEY,
                origin         TEXT    NOT NULL,
                seq            INTEGER NOT NULL,
                stream         TEXT    NOT NULL,
                stream_version INTEGER NOT NULL,
                type           TEXT    NOT NULL,
                schema_version INTEGER NOT NULL,
                hlc            INTEGER NOT NULL,
                recorded_at    INTEGER NOT NULL,
                occurred_at    INTEGER NOT NULL,
                stored_at      INTEGER NOT NULL,
                actor          TEXT    NOT NULL,
                causation_id   TEXT,
                correlation_id TEXT,
                prev           TEXT    NOT NULL,
                data           TEXT    NOT NULL,
                prev_hash      BLOB    NOT NULL,
                hash           BLOB    NOT NULL
            );
            CREATE UNIQUE INDEX events_by_origin ON events (origin, seq);
            CREATE UNIQUE INDEX events_by_stream ON events (stream, stream_version);
            CREATE INDEX events_by_hlc ON events (hlc, origin, seq);

            CREATE TABLE seals (
                origin    TEXT    NOT NULL,
                seq       INTEGER NOT NULL,
                hash      BLOB    NOT NULL,
                signature BLOB    NOT NULL,
                sealed_at INTEGER NOT NULL,
                PRIMARY KEY (origin, seq)
            ) WITHOUT ROWID;

            -- Derived from events (the heads of each stream), kept for cheap appends.
            CREATE TABLE stream_heads (
                stream TEXT    NOT NULL,
                origin TEXT    NOT NULL,
                seq    INTEGER NOT NULL,
                PRIMARY KEY (stream, origin, seq)
            ) WITHOUT ROWID;

            -- The storage itself refuses to rewrite history, whoever asks.
            CREATE TRIGGER events_refuse_update BEFORE UPDATE ON events
            BEGIN SELECT RAISE(ABORT, 'concord: events are append-only; UPDATE is refused'); END;
            CREATE TRIGGER events_refuse_delete BEFORE DELETE ON events
            BEGIN SELECT RAISE(ABORT, 'concord: events are append-only; DELETE is refused'); END;
            -- INSERT OR REPLACE deletes without firing delete triggers; refuse the insert instead.
            -- A new event must also continue its origin's run with no gap.
            CREATE TRIGGER events_refuse_replace_or_gap BEFORE INSERT ON events
            BEGIN
                SELECT RAISE(ABORT, 'concord: an event with this origin and seq is already stored')
                WHERE EXISTS (SELECT 1 FROM events WHERE origin = NEW.origin AND seq = NEW.seq);
                SELECT RAISE(ABORT, 'concord: an event with this position is already stored')
                WHERE NEW.position IS NOT NULL AND EXISTS (SELECT 1 FROM events WHERE position = NEW.position);
                SELECT RAISE(ABORT, 'concord: origin sequence gap; the previous seq is not stored')
                WHERE NEW.seq <> 1 AND NOT EXISTS (SELECT 1 FROM events WHERE origin = NEW.origin AND seq = NEW.seq - 1);
            END;
            CREATE TRIGGER seals_refuse_update BEFORE UPDATE ON seals
            BEGIN SELECT RAISE(ABORT, 'concord: seals are append-only; UPDATE is refused'); END;
            CREATE TRIGGER seals_refuse_delete BEFORE DELETE ON seals
            BEGIN SELECT RAISE(ABORT, 'concord: seals are append-only; DELETE is refused'); END;
            CREATE TRIGGER origins_refuse_update BEFORE UPDATE ON origins
            BEGIN SELECT RAISE(ABORT, 'concord: origin keys are append-only; UPDATE is refused'); END;
            CREATE TRIGGER origins_refuse_delete BEFORE DELETE ON origins
            BEGIN SELECT RAISE(ABORT, 'concord: origin keys are append-only; DELETE is refused'); END;
            CREATE TRIGGER incarnations_refuse_update BEFORE UPDATE ON incarnations
            BEGIN SELECT RAISE(ABORT, 'concord: incarnations are append-only; UPDATE is refused'); END;
            CREATE TRIGGER incarnations_refuse_delete BEFORE DELETE ON incarnations
            BEGIN SELECT RAISE(ABORT, 'concord: incarnations are append-only; DELETE is refused'); END;
            """),
        Migration(name: "0002-projection-state", sql: """
            -- Where the read models stand. The read-model tables themselves are rebuilt from the log
            -- whenever the projection version changes, so they are not created by migrations.
            CREATE TABLE projection_state (
                name       TEXT    PRIMARY KEY,
                version    INTEGER NOT NULL,
                position   INTEGER NOT NULL,
                rebuilt_at INTEGER NOT NULL
            );
            """),
        Migration(name: "0003-peers-tokens-forks", sql: """
            -- Bearer tokens peers present to this node's server; only their SHA-256 is kept.
            CREATE TABLE peer_tokens (
                name       TEXT    PRIMARY KEY,
                token_hash BLOB    NOT NULL UNIQUE,
                read_only  INTEGER NOT NULL,
                created_at INTEGER NOT NULL
            );
            -- Peers this node syncs with, and the token it presents to each.
            CREATE TABLE peers (
                name        TEXT    PRIMARY KEY,
                url         TEXT    NOT NULL,
                token       TEXT    NOT NULL,
                added_at    INTEGER NOT NULL,
                last_sync   INTEGER,
                last_vector TEXT
            );
            -- Evidence of forks: an offered event that differs from the one held for its (origin, seq).
            CREATE TABLE forks (
                origin       TEXT    NOT NULL,
                seq          INTEGER NOT NULL,
                held_hash    BLOB    NOT NULL,
                offered_hash BLOB    NOT NULL,
                offered      TEXT    NOT NULL,
                source       TEXT    NOT NULL,
                detected_at  INTEGER NOT NULL,
                PRIMARY KEY (origin, seq, offered_hash)
            ) WITHOUT ROWID;
            CREATE TRIGGER forks_refuse_update BEFORE UPDATE ON forks
            BEGIN SELECT RAISE(ABORT, 'concord: fork evidence is append-only; UPDATE is refused'); END;
            CREATE TRIGGER forks_refuse_delete BEFORE DELETE ON forks
            BEGIN SELECT RAISE(ABORT, 'concord: fork evidence is append-only; DELETE is refused'); END;
            """),
        Migration(name: "0004-awaited-parents", sql: """
            -- Events named in a stored event's prev list but not held yet (they arrive out of order
            -- through sync). When one arrives it must not become a stream head: a stored event
            -- already succeeds it. Derived from events; kept so ingest need not scan prev lists.
            CREATE TABLE awaited_parents (
                origin TEXT    NOT NULL,
                seq    INTEGER NOT NULL,
                stream TEXT    NOT NULL,
                PRIMARY KEY (origin, seq)
            ) WITHOUT ROWID;
            WITH RECURSIVE split(stream, rest, item) AS (
                SELECT stream, prev || ' ', '' FROM events WHERE prev <> ''
                UNION ALL
                SELECT stream, substr(rest, instr(rest, ' ') + 1), substr(rest, 1, instr(rest, ' ') - 1)
                FROM split WHERE rest <> ''
            ),
            named(stream, origin, seq) AS (
                SELECT stream, substr(item, 1, instr(item, ':') - 1), CAST(substr(item, instr(item, ':') + 1) AS INTEGER)
                FROM split WHERE item <> ''
            )
            INSERT OR IGNORE INTO awaited_parents (origin, seq, stream)
            SELECT origin, seq, stream FROM named
            WHERE NOT EXISTS (SELECT 1 FROM events WHERE events.origin = named.origin AND events.seq = named.seq);
            """),
        Migration(name: "0005-trust-roster", sql: """
            -- Origins an operator vouched for. In strict trust mode only these, and this node's own
            -- origins, are accepted from peers and imports.
            CREATE TABLE trusted_origins (
                origin   TEXT    PRIMARY KEY,
                label    TEXT    NOT NULL,
                added_at INTEGER NOT NULL
            ) WITHOUT ROWID;
            -- Node settings, by name (trust_mode: first-sight or strict).
            CREATE TABLE settings (
                name  TEXT PRIMARY KEY,
                value TEXT NOT NULL
            ) WITHOUT ROWID;
            """),
        Migration(name: "0006-fork-proofs", sql: """
            -- Proof of forks: the offered history of an origin that differs from the held one at
            -- (origin, seq), from that seq (or the next) up to a seal of the origin's key, as exchange
            -- NDJSON (key, events, seal). Rows in the older `forks` table have no seal: not proof.
            CREATE TABLE fork_proofs (
                origin       TEXT    NOT NULL,
                seq          INTEGER NOT NULL,
                held_hash    BLOB    NOT NULL,
                offered_hash BLOB    NOT NULL,
                proof        TEXT    NOT NULL,
                source       TEXT    NOT NULL,
                detected_at  INTEGER NOT NULL,
                PRIMARY KEY (origin, seq, offered_hash)
            ) WITHOUT ROWID;
            CREATE TRIGGER fork_proofs_refuse_update BEFORE UPDATE ON fork_proofs
            BEGIN SELECT RAISE(ABORT, 'concord: fork evidence is append-only; UPDATE is refused'); END;
            CREATE TRIGGER fork_proofs_refuse_delete BEFORE DELETE ON fork_proofs
            BEGIN SELECT RAISE(ABORT, 'concord: fork evidence is append-only; DELETE is refused'); END;
            """),
        Migration(name: "0007-set-aside-origins", sql: """
            -- Origins the last sync with a peer set aside (refused, forked or too large to send), one
            -- row per peer and origin, replaced at each sync: what status and verify report.
            CREATE TABLE set_aside (
                peer        TEXT    NOT NULL,
                origin      TEXT    NOT NULL,
                seq         INTEGER NOT NULL,
                code        TEXT    NOT NULL,
                message     TEXT    NOT NULL,
                recorded_at INTEGER NOT NULL,
                PRIMARY KEY (peer, origin)
            ) WITHOUT ROWID;
            """),
        Migration(name: "0008-need-to-know", sql: """
            -- Format 2 events (docs/storage-format.md): the hash covers a commitment to the opening
            -- (salt, actor, causation and correlation ids, data), which a node may hold or not.
            -- commitment is NULL for format 1. disclosure: 0 the opening is held, 1 withheld (a stub:
            -- actor '' and data '{}' are placeholders), 2 erased (erased_by names the erasure event).
            ALTER TABLE events ADD COLUMN commitment BLOB;
            ALTER TABLE events ADD COLUMN salt BLOB;
            ALTER TABLE events ADD COLUMN disclosure INTEGER NOT NULL DEFAULT 0;
            ALTER TABLE events ADD COLUMN erased_by TEXT;
            -- Other SQLite clients may still not rewrite history; an erasure or a late opening only
            -- changes a format-2 event's opening columns, never its header or hash.
            DROP TRIGGER events_refuse_update;
            CREATE TRIGGER events_refuse_update BEFORE UPDATE ON events
            WHEN OLD.commitment IS NULL
              OR NEW.origin IS NOT OLD.origin OR NEW.seq IS NOT OLD.seq OR NEW.stream IS NOT OLD.stream
              OR NEW.type IS NOT OLD.type OR NEW.hlc IS NOT OLD.hlc OR NEW.prev IS NOT OLD.prev
              OR NEW.schema_version IS NOT OLD.schema_version OR NEW.recorded_at IS NOT OLD.recorded_at
              OR NEW.occurred_at IS NOT OLD.occurred_at OR NEW.stream_version IS NOT OLD.stream_version
              OR NEW.stored_at IS NOT OLD.stored_at
              OR (NEW.disclosure = 0 AND NEW.erased_by IS NOT NULL)
              OR NEW.hash IS NOT OLD.hash OR NEW.prev_hash IS NOT OLD.prev_hash OR NEW.commitment IS NOT OLD.commitment
              OR NEW.position IS NOT OLD.position OR OLD.disclosure = 2
              -- Only two changes: a stub's opening arrives (1 -> 0), or an erasure blanks it (-> 2).
              OR NOT ((OLD.disclosure = 1 AND NEW.disclosure = 0)
                      OR (NEW.disclosure = 2 AND NEW.actor = '' AND NEW.data = '{}' AND NEW.salt IS NULL
                          AND NEW.causation_id IS NULL AND NEW.correlation_id IS NULL))
            BEGIN SELECT RAISE(ABORT, 'concord: events are append-only; UPDATE is refused'); END;
            -- Sharing rules: what each peer receives with openings (docs/privacy.md).
            CREATE TABLE share_rules (
                peer     TEXT    NOT NULL,
                selector TEXT    NOT NULL,
                added_at INTEGER NOT NULL,
                PRIMARY KEY (peer, selector)
            ) WITHOUT ROWID;
            -- Streams whose openings never leave this node, whatever a rule grants.
            CREATE TABLE local_streams (
                stream   TEXT    PRIMARY KEY,
                added_at INTEGER NOT NULL
            ) WITHOUT ROWID;
            -- Streams whose read-model rows must be refolded though no event was added to them
            -- (an opening arrived or was erased). Drained by the projections' catch-up.
            CREATE TABLE refold_streams (
                stream TEXT PRIMARY KEY
            ) WITHOUT ROWID;
            -- The stubs a node holds, for the peers that may give their openings.
            CREATE INDEX events_withheld ON events (position) WHERE disclosure = 1;
            -- Per peer, where the last reconciliation of openings left off (OpeningsState).
            CREATE TABLE peer_openings (
                peer               TEXT    PRIMARY KEY,
                peer_openings      INTEGER,
                asked_through      INTEGER NOT NULL,
                own_openings       INTEGER,
                peer_stubs_through INTEGER NOT NULL
            ) WITHOUT ROWID;
            -- Stores made before need-to-know shared everything with every peer: they keep doing so.
            INSERT OR IGNORE INTO settings (name, value) VALUES ('share_default', 'full');
            -- A store that never held an event has no old copies in free pages: no vacuum needed
            -- before its first erasure.
            INSERT OR IGNORE INTO settings (name, value) SELECT 'free_pages_zeroed', '1' WHERE NOT EXISTS (SELECT 1 FROM events);
            """),
        Migration(name: "0009-checkpoints", sql: """
            -- Signed statements of what a node held (docs/audit.md): this node's own and those that
            -- came with sync and imports. The exchange line is kept as it arrived; its signature
            -- is checked on arrival and again by concord verify.
            CREATE TABLE checkpoints (
                signer      TEXT    NOT NULL,
                number      INTEGER NOT NULL,
                node        TEXT    NOT NULL,
                taken_at    INTEGER NOT NULL,
                line        TEXT    NOT NULL,
                received_at INTEGER NOT NULL,
                PRIMARY KEY (signer, number)
            ) WITHOUT ROWID;
            CREATE INDEX checkpoints_by_node ON checkpoints (node, taken_at);
            CREATE TRIGGER checkpoints_refuse_update BEFORE UPDATE ON checkpoints
            BEGIN SELECT RAISE(ABORT, 'concord: checkpoints are append-only; UPDATE is refused'); END;
            CREATE TRIGGER checkpoints_refuse_delete BEFORE DELETE ON checkpoints
            BEGIN SELECT RAISE(ABORT, 'concord: checkpoints are append-only; DELETE is refused'); END;
            """),
        Migration(name: "0010-fold-states", sql: """
            -- Each domain stream's fold state as the read models' checkpoint stands (StreamFold's
            -- encoding), so that a catch-up folds only the events stored since. Derived, like
            -- the read models: rebuilt with them, checked by concord verify. A stream holding
            -- withheld or erased events has none (it is always folded whole).
            CREATE TABLE fold_states (
                stream TEXT PRIMARY KEY,
                state  BLOB NOT NULL
            );
            """),
        Migration(name: "0011-erasure-needs-an-erasure", sql: """
            -- An opening may be erased only as a held erasure names it: erased_by must name an
            -- erasure event whose opening is held and whose "events" list holds this event's id (of
            -- its origin, or of a later incarnation that carries a handover from it: Erasure).
            -- (Another SQLite client can drop a trigger; concord verify checks the whole rule from
            -- the log alone.)
            DROP TRIGGER events_refuse_update;
            CREATE TRIGGER events_refuse_update BEFORE UPDATE ON events
            WHEN OLD.commitment IS NULL
              OR NEW.origin IS NOT OLD.origin OR NEW.seq IS NOT OLD.seq OR NEW.stream IS NOT OLD.stream
              OR NEW.type IS NOT OLD.type OR NEW.hlc IS NOT OLD.hlc OR NEW.prev IS NOT OLD.prev
              OR NEW.schema_version IS NOT OLD.schema_version OR NEW.recorded_at IS NOT OLD.recorded_at
              OR NEW.occurred_at IS NOT OLD.occurred_at OR NEW.stream_version IS NOT OLD.stream_version
              OR NEW.stored_at IS NOT OLD.stored_at
              OR (NEW.disclosure = 0 AND NEW.erased_by IS NOT NULL)
              OR NEW.hash IS NOT OLD.hash OR NEW.prev_hash IS NOT OLD.prev_hash OR NEW.commitment IS NOT OLD.commitment
              OR NEW.position IS NOT OLD.position OR OLD.disclosure = 2
              OR NOT ((OLD.disclosure = 1 AND NEW.disclosure = 0)
                      OR (NEW.disclosure = 2 AND NEW.actor = '' AND NEW.data = '{}' AND NEW.salt IS NULL
                          AND NEW.causation_id IS NULL AND NEW.correlation_id IS NULL))
              OR (NEW.disclosure = 2 AND (OLD.type = 'concord.erasure' OR NOT EXISTS (
                      SELECT 1 FROM events e, json_each(e.data, '$.events') j
                      WHERE length(NEW.erased_by) > 33 AND substr(NEW.erased_by, 33, 1) = ':'
                        AND e.origin = substr(NEW.erased_by, 1, 32) AND e.seq = CAST(substr(NEW.erased_by, 34) AS INTEGER)
                        AND e.type = 'concord.erasure' AND e.disclosure = 0 AND e.schema_version = 1
                        AND e.stream = 'erasure:' || e.origin
                        AND (e.origin = NEW.origin OR json_type(e.data, '$.handovers') = 'array')
                        AND json_valid(e.data) AND j.value = NEW.origin || ':' || NEW.seq)))
            BEGIN SELECT RAISE(ABORT, 'concord: events are append-only; UPDATE is refused (an opening is erased only by a held erasure of its origin naming it)'); END;
            """),
        Migration(name: "0012-fold-states-name-stream-and-tail", sql: """
            -- Kept fold states now name their stream and their tail event's hash (StreamFold's
            -- encoding, format 2), and are used only when both match the log. States of format 1
            -- are never used again: they are dropped, and each stream's next catch-up folds it
            -- whole and keeps a new one.
            DELETE FROM fold_states;
            """),
        Migration(name: "0013-handovers", sql: """
            -- Signed handovers between this node's incarnations (Handover): the earlier key signs
            -- the next origin when a new incarnation starts while that key is at hand. An erasure
            -- carries the chain that links an earlier incarnation's events to the erasing origin.
            CREATE TABLE handovers (
                from_origin TEXT    NOT NULL,
                from_key    BLOB    NOT NULL,
                to_origin   TEXT    NOT NULL,
                through     INTEGER NOT NULL,
                signature   BLOB    NOT NULL,
                signed_at   INTEGER NOT NULL,
                PRIMARY KEY (from_origin, to_origin)
            ) WITHOUT ROWID;
            CREATE TRIGGER handovers_refuse_update BEFORE UPDATE ON handovers
            BEGIN SELECT RAISE(ABORT, 'concord: handovers are append-only; UPDATE is refused'); END;
            CREATE TRIGGER handovers_refuse_delete BEFORE DELETE ON handovers
            BEGIN SELECT RAISE(ABORT, 'concord: handovers are append-only; DELETE is refused'); END;
            -- Events of an earlier incarnation that a held erasure names but this node does not
            -- hold yet (they may arrive after the erasure, from another peer): erased as they are
            -- stored. Derived from the held erasures.
            CREATE TABLE pending_erasures (
                origin    TEXT    NOT NULL,
                seq       INTEGER NOT NULL,
                erased_by TEXT    NOT NULL,
                PRIMARY KEY (origin, seq)
            ) WITHOUT ROWID;
            """),
    ]
}
