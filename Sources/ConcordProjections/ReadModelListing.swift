import ConcordCore

/// The lists `concord query` prints and the web view shows: one query per kind and filter, so
/// the two always give the same rows.
public struct ReadModelListing: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        case cases, meetings, decisions, actions, conflicts
    }

    public var kind: Kind
    public var status: String?
    public var region: String?
    public var category: String?
    public var owner: String?
    public var meeting: String?
    /// Open actions whose due date is before the view's moment (today for the live view).
    public var overdue = false

    public init(kind: Kind, status: String? = nil, region: String? = nil, category: String? = nil, owner: String? = nil, meeting: String? = nil, overdue: Bool = false) {
        self.kind = kind
        self.status = status
        self.region = region
        self.category = category
        self.owner = owner
        self.meeting = meeting
        self.overdue = overdue
    }

    /// The SQL (`{schema}` and `$N` placeholders, `ReadModelReader`) and its bindings.
    /// - Parameter now: the moment "overdue" is measured at when the view has none of its own.
    public func query(_ view: ReadModelView, now: Int64) -> (sql: String, bindings: [SQLValue]) {
        var conditions: [String] = []
        var bindings: [SQLValue] = []
        func filter(_ column: String, _ value: String?) {
            guard let value, !value.isEmpty else { return }
            bindings.append(.text(value))
            conditions.append("\(column) = $\(bindings.count)")
        }
        let sql: String
        switch kind {
        case .cases:
            filter("status", status?.lowercased()); filter("region", region); filter("category", category); filter("owner", owner)
            sql = "SELECT case_id, status, region, category, owner, title, opened_at FROM {schema}.cases"
        case .meetings:
            filter("status", status?.lowercased())
            sql = "SELECT meeting_id, at, title, location, status, attendee_count AS attendees, decision_count AS decisions FROM {schema}.meetings"
        case .decisions:
            filter("meeting_id", meeting)
            sql = "SELECT decision_id, meeting_id, decided_at, recorded_by, text FROM {schema}.decisions"
        case .actions:
            filter("status", status?.lowercased()); filter("owner", owner)
            if overdue {
                bindings.append(.text(String(Timestamp.iso8601(millis: view.referenceTime ?? now).prefix(10))))
                conditions.append("status = 'open' AND due_date IS NOT NULL AND due_date < $\(bindings.count)")
            }
            sql = "SELECT action_id, status, owner, due_date, decision_id, case_id, title FROM {schema}.actions"
        case .conflicts:
            sql = "SELECT stream, field, chosen, candidates FROM {schema}.conflicts"
        }
        let whereClause = conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND ")
        return (sql + whereClause + " ORDER BY 1, 2", bindings)
    }
}
