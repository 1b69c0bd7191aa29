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
            let view = try await viewOptions.view(storeOptions)
            let listing = ReadModelListing(
                kind: ReadModelListing.Kind(rawValue: kind.rawValue)!, status: status, region: region, category: category,
                owner: owner, meeting: meeting, overdue: overdue
            )
            let (sql, bindings) = listing.query(view, now: Timestamp.nowMillis())
            let result = try await storeOptions.withHub { try await $0.queryReadModels(view, sql: sql, bindings) }
            RowPrinter.print(columns: result.columns, rows: result.rows, json: json, empty: "No \(kind.rawValue) match.")
        }
    }
}
