import ArgumentParser
import ConcordCore
import ConcordProjections
import ConcordSQLite

struct ReplayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Step through a stream's history, event by event, showing what each changed.",
        discussion: """
            STREAM is a stream id such as case:WY-2016-0012, meeting:NATN-2016-03 or action:NATN-2016-03-A1. Events come in the projections' order (the order every node folds them in, whatever order they arrived in). Each step shows who recorded the event, on which node (the origin, and the node name its checkpoints give), when it was recorded and when it happened, and the read-model rows it added, removed or changed (before → after).

            With --as-of, --seen-by or --valid-at, only the events of that view are replayed (concord query --help explains the three). With --json, one JSON object a step:
              {"step":1,"event":{…the event as concord log --json prints it…},"node":"hub","changes":[{"table":"cases","row":"case_id=WY-1","kind":"added","columns":[],"values":["case_id=WY-1",…]}]}

            Examples:
              concord replay case:WY-2016-0012
              concord replay meeting:NATN-2016-03 --as-of 2016-04-01 --seen-by national-hub
            """
    )

    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var viewOptions: ViewOptions
    @Argument(help: "The stream, such as case:WY-2016-0012.") var stream: String
    @Flag(help: "One JSON object a step (NDJSON).") var json = false

    func run() async throws {
        try await CommandFailure.reporting {
            let stream = try StreamID(self.stream)
            let view = try viewOptions.view(storeOptions)
            let events = try await storeOptions.withHub { try await $0.streamEvents(stream, view) }
            guard !events.isEmpty else {
                throw ConcordError(.unknownID, "no events on stream \(stream)\(view == .live ? "" : " in that view") on this node")
            }
            let names = storeOptions.isPostgres ? [:] : try storeOptions.openStore().nodeNames()
            for step in StreamReplay.steps(stream: stream, events: events) {
                let event = step.event.event
                let node = names[event.origin]
                if json {
                    var object = JSONObjectWriter()
                    object.field("step", step.number)
                    object.field("event", rawJSON: step.event.jsonLine)
                    object.field("node", node)
                    object.field("changes", rawJSON: "[" + step.changes.map { change in
                        var item = JSONObjectWriter()
                        item.field("table", change.table)
                        item.field("row", change.key)
                        item.field("kind", change.kind.rawValue)
                        item.field("columns", strings: change.columns)
                        item.field("values", strings: change.row)
                        return item.finish()
                    }.joined(separator: ",") + "]")
                    print(object.finish())
                    continue
                }
                print("step \(step.number)  \(event.type.rawValue)  by \(event.actor) on \(node ?? "node") \(event.origin.short):\(event.seq)")
                print("  recorded \(Timestamp.iso8601(millis: event.recordedAt)), happened \(Timestamp.iso8601(millis: event.occurredAt))")
                if step.changes.isEmpty { print("  (no read-model row changed)") }
                for change in step.changes {
                    switch change.kind {
                    case .changed: print("  \(change.table) (\(change.key)) changed: \(change.columns.joined(separator: "; "))")
                    case .added: print("  \(change.table) (\(change.key)) added")
                    case .removed: print("  \(change.table) (\(change.key)) removed")
                    }
                }
            }
        }
    }
}
