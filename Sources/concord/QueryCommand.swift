import ArgumentParser
import ConcordCore
import ConcordProjections

struct QueryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "query",
        abstract: "List cases, meetings, decisions, actions or conflicts from the read models.",
        discussion: """
            The read models are plain SQL tables in the store (docs/read-models.md); this command is a convenient way to read them. Filters combine with AND.

              concord query cases --region "West Yorkshire" --status charged
              concord query actions --overdue
              concord query decisions --as-of 2016-04-01
              concord query conflicts --json
            """
    )

    enum Kind: String, ExpressibleByArgument, CaseIterable {
        case cases, meetings, decisions, actions, conflicts
    }

    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var viewOptions: ViewOptions

    @Argument(help: "What to list: cases, meetings, decisions, actions or conflicts.")
    var kind: Kind

    @Option(help: "Only this status (cases: open, investigating, referred, charged, convicted, closed; actions: open, completed, cancelled; meetings: scheduled, cancelled).")
    var status: String?

    @Option(help: "Cases of this region.") var region: String?
    @Option(help: "Cases of this category.") var category: String?
    @Option(help: "Cases or actions owned by this person or office.") var owner: String?
    @Option(help: "Decisions of this meeting.") var meeting: String?
    @Flag(help: "Open actions whose due date has passed (as of --as-of or --valid-at, else today).") var overdue = false
    @Flag(help: "One JSON object per row (NDJSON).") var json = false

    func run() async throws {
        try await CommandFailure.reporting {
            let view = try viewOptions.view(storeOptions)
            var conditions: [String] = []
            var bindings: [SQLValue] = []
            func filter(_ column: String, _ value: String?) {
                guard let value else { return }
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
                    bindings.append(.text(String(Timestamp.iso8601(millis: referenceTime(view)).prefix(10))))
                    conditions.append("status = 'open' AND due_date IS NOT NULL AND due_date < $\(bindings.count)")
                }
                sql = "SELECT action_id, status, owner, due_date, decision_id, case_id, title FROM {schema}.actions"
            case .conflicts:
                sql = "SELECT stream, field, chosen, candidates FROM {schema}.conflicts"
            }
            let whereClause = conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND ")
            let result = try await storeOptions.withHub { try await $0.queryReadModels(view, sql: sql + whereClause + " ORDER BY 1, 2", bindings) }
            RowPrinter.print(columns: result.columns, rows: result.rows, json: json, empty: "No \(kind.rawValue) match.")
        }
    }

    private func referenceTime(_ view: ReadModelView) -> Int64 {
        view.referenceTime ?? Timestamp.nowMillis()
    }
}
