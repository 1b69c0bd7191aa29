import ConcordDomain
/// The read-model tables: plain SQL any SQLite tool can read (docs/read-models.md).
///
/// The tables are disposable: they are rebuilt from the log whenever `version` changes, so their
/// layout is not managed by the store's migrations.
public enum ReadModelSchema {
    /// Bump whenever a table's layout or the folding rules change: stores rebuild on next use.
    public static let version = 3

    public struct Column: Sendable {
        public var name: String
        public var type: String  // "TEXT" or "INTEGER"
    }

    public struct Table: Sendable {
        public var name: String
        public var columns: [Column]
        public var primaryKey: [String]

        public var columnNames: [String] { columns.map(\.name) }

        /// Indexes of the primary-key columns, for sorting rows as SQL orders them.
        public var primaryKeyIndexes: [Int] { primaryKey.map { key in columns.firstIndex { $0.name == key }! } }

        public func createSQL(schema: String = "main", suffix: String = "") -> String {
            let columnsSQL = columns.map { "\($0.name) \($0.type)" }.joined(separator: ", ")
            return "CREATE TABLE \(schema).\(name)\(suffix) (\(columnsSQL), PRIMARY KEY (\(primaryKey.joined(separator: ", "))))"
        }
    }

    /// The kept fold states (`fold_states`), as `concord verify` compares them: not a read model
    /// (no digest covers it, nothing queries it), but derived like one. `state` is the SHA-256
    /// of the state's bytes, in hex, and their length.
    public static let foldStates = table("fold_states", "stream, state", key: "stream")

    private static func table(_ name: String, _ columns: String, key: String) -> Table {
        let parsed = columns.split(separator: ",").map { part -> Column in
            let words = part.split(separator: " ")
            return Column(name: String(words[0]), type: words.count > 1 ? String(words[1]) : "TEXT")
        }
        return Table(name: name, columns: parsed, primaryKey: key.split(separator: ",").map(String.init))
    }

    /// Every table, in digest order. Each has a `stream` column: a stream's rows are replaced
    /// together whenever the stream is refolded.
    public static let tables: [Table] = [
        table("cases", "case_id,stream,reference,title,region,category,status,owner,outcome,opened_at,opened_by,opened_event,closed_at,last_activity_at,note_count INTEGER,link_count INTEGER,regions_named INTEGER", key: "case_id"),
        table("case_notes", "case_id,event_id,stream,noted_at,actor,note", key: "case_id,event_id"),
        table("case_links", "case_id,other_case_id,stream,relation,linked_at,actor,event_id", key: "case_id,other_case_id"),
        table("meetings", "meeting_id,stream,title,at,location,host,status,minutes,cancel_reason,scheduled_by,scheduled_event,attendee_count INTEGER,decision_count INTEGER", key: "meeting_id"),
        table("attendees", "meeting_id,name,stream,role,organisation", key: "meeting_id,name"),
        table("agenda_items", "meeting_id,item_no INTEGER,stream,title,added_by,event_id", key: "meeting_id,item_no"),
        table("decisions", "meeting_id,decision_id,stream,text,proposed_by,decided_at,recorded_by,origin,event_id", key: "meeting_id,decision_id"),
        table("actions", "action_id,stream,title,owner,due_date,status,decision_id,case_id,outcome,raised_at,raised_by,finished_at,progress_count INTEGER,links_named INTEGER", key: "action_id"),
        table("action_progress", "action_id,event_id,stream,noted_at,actor,note", key: "action_id,event_id"),
        table("conflicts", "stream,field,chosen,candidates", key: "stream,field"),
        // Events whose openings this node does not hold: `withheld` (a stub) or `erased`.
        table("undisclosed", "stream,event_id,state,type,occurred_at", key: "stream,event_id"),
    ]

    public static func table(named name: String) -> Table? { tables.first { $0.name == name } }

    /// The tables a stream of this kind can have rows in, so a refold clears only those.
    public static func tableNames(for kind: StreamKind) -> [String] {
        switch kind {
        case .case: ["cases", "case_notes", "case_links", "conflicts", "undisclosed"]
        case .meeting: ["meetings", "attendees", "agenda_items", "decisions", "conflicts", "undisclosed"]
        case .action: ["actions", "action_progress", "conflicts", "undisclosed"]
        }
    }

    /// Views over the per-stream rows: cross-stream answers are SQL, never counters kept in place.
    /// `schema` qualifies the views' names (nil: the connection's default schema); `today` is the
    /// dialect's expression for the current UTC date as `YYYY-MM-DD` text.
    public static func viewsSQL(schema: String? = "main", today: String = "date('now')") -> [String] {
        let prefix = schema.map { "\($0)." } ?? ""
        return [
            """
            CREATE VIEW \(prefix)decision_trail AS
            SELECT d.decision_id, d.meeting_id, m.title AS meeting_title, m.location, d.text, d.proposed_by,
                   d.decided_at, d.recorded_by, d.origin, a.action_id, a.title AS action_title, a.owner,
                   a.due_date, a.status AS action_status, a.outcome, a.finished_at
            FROM decisions d
            LEFT JOIN meetings m ON m.meeting_id = d.meeting_id
            LEFT JOIN actions a ON a.decision_id = d.decision_id
            """,
            """
            CREATE VIEW \(prefix)overdue_actions AS
            SELECT * FROM actions WHERE status = 'open' AND due_date IS NOT NULL AND due_date < \(today)
            """,
        ]
    }

    public static let viewNames = ["decision_trail", "overdue_actions"]
}
