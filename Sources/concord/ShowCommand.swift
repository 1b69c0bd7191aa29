import ArgumentParser
import Foundation
import ConcordCore
import ConcordDomain
import ConcordProjections

struct ShowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Show one stream: its read-model rows and its events.",
        discussion: """
            STREAM is a stream id such as case:WY-2016-0012, meeting:NATN-2016-03 or action:NATN-2016-03-A1. With --as-of, both the rows and the events are as this node held them then.
            """
    )

    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var viewOptions: ViewOptions

    @Argument(help: "The stream, such as case:WY-2016-0012.") var stream: String
    @Flag(help: "Print one JSON document.") var json = false

    func run() async throws {
        try await CommandFailure.reporting {
            let stream = try StreamID(self.stream)
            let view = try await viewOptions.view(storeOptions)
            let (events, sections) = try await storeOptions.withHub { store in
                let events = try await store.streamEvents(stream, view)
                guard !events.isEmpty else {
                    throw ConcordError(.unknownID, "no events on stream \(stream)\(view == .live ? "" : " at that time") on this node")
                }
                var sections: [(String, [String], [[SQLValue]])] = []
                for table in ReadModelSchema.tables {
                    let result = try await store.queryReadModels(view, sql: "SELECT * FROM {schema}.\(table.name) WHERE stream = $1 ORDER BY 1, 2", [.text(stream.rawValue)])
                    if !result.rows.isEmpty {
                        let keep = result.columns.indices.filter { result.columns[$0] != "stream" }
                        sections.append((table.name, keep.map { result.columns[$0] }, result.rows.map { row in keep.map { row[$0] } }))
                    }
                }
                return (events, sections)
            }
            if json {
                var document = JSONObjectWriter()
                document.field("stream", stream.rawValue)
                var tables = JSONObjectWriter()
                for (name, columns, rows) in sections {
                    tables.field(name, rawJSON: "[" + rows.map { RowPrinter.jsonObject(columns: columns, row: $0) }.joined(separator: ",") + "]")
                }
                document.field("readModels", rawJSON: tables.finish())
                document.field("events", rawJSON: "[" + events.map(\.jsonLine).joined(separator: ",") + "]")
                print(document.finish())
                return
            }
            print("\(stream): \(events.count) event(s)")
            for (name, columns, rows) in sections {
                print("\n\(name):")
                if rows.count == 1 {
                    // One row reads better down the page than across it.
                    let width = columns.map(\.count).max() ?? 0
                    for (column, value) in zip(columns, rows[0]) where value != .null {
                        print("  \(column.padding(toLength: width, withPad: " ", startingAt: 0))  \(value)")
                    }
                } else {
                    RowPrinter.print(columns: columns, rows: rows, json: false, empty: "")
                }
            }
            print("\nevents:")
            var table = TextTable("VERSION", "OCCURRED", "EVENT", "TYPE", "ACTOR", "DATA")
            for stored in events {
                let event = stored.event
                table.add(String(stored.streamVersion), Timestamp.iso8601(millis: event.occurredAt), "\(event.origin.short):\(event.seq)", event.type.rawValue, event.actor, event.payload.count > 60 ? String(event.payload.prefix(59)) + "…" : event.payload)
            }
            print(table.render())
        }
    }
}
