import ArgumentParser
import ConcordCore
import ConcordProjections
import ConcordSyncProtocol

struct ReplayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Step through a stream's history, event by event, showing what each changed.",
        discussion: """
            STREAM is a stream id such as case:WY-2016-0012, meeting:NATN-2016-03 or action:NATN-2016-03-A1; --region NAME replays every case of a region instead, with --from and --to bounding when the steps happened. Events come in the projections' order (the order every node folds them in, whatever order they arrived in). Each step shows who recorded the event, on which node (the origin, and the node name its checkpoints give), when it was recorded and when it happened, and the read-model rows it added, removed or changed (before → after).

            With --as-of, --seen-by or --valid-at, only the events of that view are replayed (concord query --help explains the three). With --json, one JSON object a step:
              {"stream":"case:WY-1","step":1,"event":{…the event as concord log --json prints it…},"node":"hub","changes":[{"table":"cases","row":"case_id=WY-1","kind":"added","columns":[],"values":["case_id=WY-1",…]}]}

            Examples:
              concord replay case:WY-2016-0012
              concord replay meeting:NATN-2016-03 --as-of 2016-04-01 --seen-by national-hub
              concord replay --region "West Yorkshire" --from 2016-03-01 --to 2016-03-31
            """
    )

    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var viewOptions: ViewOptions
    @Argument(help: "The stream, such as case:WY-2016-0012.") var stream: String?
    @Option(help: ArgumentHelp("Instead of one stream: every case of this region, their steps interleaved in the projections' order.", valueName: "region")) var region: String?
    @Option(help: ArgumentHelp("With --region: only steps that happened (occurred-at) at or after this time.", valueName: "time")) var from: String?
    @Option(help: ArgumentHelp("With --region: only steps that happened at or before this time.", valueName: "time")) var to: String?
    @Flag(help: "One JSON object a step (NDJSON).") var json = false

    func validate() throws {
        guard (stream == nil) != (region == nil) else { throw ValidationError("give a STREAM, or --region NAME, not both") }
        if stream != nil, from != nil || to != nil { throw ValidationError("--from and --to go with --region") }
    }

    func run() async throws {
        try await CommandFailure.reporting {
            let view = try await viewOptions.view(storeOptions)
            let (start, end) = (try from.map(Timestamp.parse) ?? .min, try to.map(Timestamp.parse) ?? .max)
            let (steps, names) = try await storeOptions.withHub { store -> ([(stream: StreamID, step: StreamReplay.Step)], [OriginID: String]) in
                let streams: [StreamID]
                if let stream {
                    streams = [try StreamID(stream)]
                } else {
                    let rows = try await store.queryReadModels(view, sql: "SELECT stream FROM {schema}.cases WHERE region = $1 ORDER BY 1", [.text(region!)])
                    streams = try rows.rows.map { try StreamID("\($0[0])") }
                }
                var steps: [(stream: StreamID, step: StreamReplay.Step)] = []
                for stream in streams {
                    let events = try await store.streamEvents(stream, view)
                    steps += StreamReplay.steps(stream: stream, events: events)
                        .filter { $0.event.event.occurredAt >= start && $0.event.event.occurredAt <= end }
                        .map { (stream, $0) }
                }
                return (steps.sorted { Event.projectionOrder($0.step.event.event, $1.step.event.event) }, try await store.nodeNames())
            }
            guard !steps.isEmpty else {
                let what = stream.map { "stream \($0)" } ?? "cases of \(region!)"
                throw ConcordError(.unknownID, "no events of \(what)\(view == .live ? "" : " in that view")\(from != nil || to != nil ? " between those times" : "") on this node")
            }
            for (stream, step) in steps {
                let event = step.event.event
                let node = names[event.origin]
                if json {
                    var object = JSONObjectWriter()
                    object.field("stream", stream.rawValue)
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
                print("\(region == nil ? "" : "\(stream)  ")step \(step.number)  \(event.type.rawValue)  by \(event.actor) on \(node ?? "node") \(event.origin.short):\(event.seq)")
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
