import ArgumentParser
import ConcordCore
import ConcordProjections

struct TrailCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trail",
        abstract: "Follow a decision: who took it, where and when, and what the actions that followed came to.",
        discussion: "The auditor's view of one decision. With --as-of, as this node knew it at that time."
    )

    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var viewOptions: ViewOptions
    @Argument(help: "The decision id, such as NATN-2016-03-D2.") var decisionID: String
    @Flag(help: "One JSON object per decision and action (NDJSON).") var json = false

    func run() async throws {
        try await CommandFailure.reporting {
            let view = try await viewOptions.view(storeOptions)
            let result = try await storeOptions.withHub { store in try await store.queryReadModels(view, sql: """
                SELECT decision_id, meeting_id, meeting_title, location, text, proposed_by, decided_at, recorded_by, origin,
                       action_id, action_title, owner, due_date, action_status, outcome, finished_at
                FROM {schema}.decision_trail WHERE decision_id = $1 ORDER BY meeting_id, action_id
                """, [.text(decisionID)]) }
            guard let first = result.rows.first else {
                throw ConcordError(.unknownID, "no decision \(decisionID) on this node; list them with: concord query decisions")
            }
            if json {
                RowPrinter.print(columns: result.columns, rows: result.rows, json: true, empty: "")
                return
            }
            let value = { (row: [SQLValue], column: String) -> String in row[result.columns.firstIndex(of: column)!].description }
            print("Decision \(decisionID)")
            print("  meeting     \(value(first, "meeting_id")): \(value(first, "meeting_title")), \(value(first, "location"))")
            print("  decided     \(value(first, "decided_at"))")
            print("  recorded by \(value(first, "recorded_by")) on origin \(value(first, "origin"))")
            if !value(first, "proposed_by").isEmpty { print("  proposed by \(value(first, "proposed_by"))") }
            print("  text        \(value(first, "text"))")
            let actions = result.rows.filter { !value($0, "action_id").isEmpty }
            guard !actions.isEmpty else {
                print("\nNo actions follow from it yet.")
                return
            }
            print("\nActions that followed:")
            var table = TextTable("ACTION", "STATUS", "OWNER", "DUE", "FINISHED", "OUTCOME", "TITLE")
            for row in actions {
                table.add(value(row, "action_id"), value(row, "action_status"), value(row, "owner"), value(row, "due_date"),
                          String(value(row, "finished_at").prefix(10)), value(row, "outcome"), value(row, "action_title"))
            }
            print(table.render())
        }
    }
}
