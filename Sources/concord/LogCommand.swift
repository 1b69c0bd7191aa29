import ArgumentParser
import ConcordCore
import ConcordSyncProtocol

struct LogCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "log",
        abstract: "Show the events this node holds, in the order it stored them.",
        discussion: """
            The table shows each event's position, when it was recorded, its id (origin:seq, the origin shortened), stream, type, actor and data. With --json every event is printed in full, one JSON object per line (docs/storage-format.md lists the fields).
            """
    )

    @OptionGroup var storeOptions: StoreOptions

    @Option(name: .long, help: ArgumentHelp("Show only the last N events.", valueName: "n"))
    var limit: Int?

    @Option(name: .long, help: ArgumentHelp("Only this stream, such as case:WY-2016-0012.", valueName: "stream"))
    var stream: String?

    @Option(name: .long, help: ArgumentHelp("Only events of this type, such as meeting.decision-recorded.", valueName: "type"))
    var type: String?

    @Option(name: .long, help: ArgumentHelp("Only events of this origin (its first hex digits are enough).", valueName: "origin"))
    var origin: String?

    @Flag(name: .long, help: "One JSON object per event and line (NDJSON), with hashes.")
    var json = false

    func run() async throws {
        try await CommandFailure.reporting {
            if let limit, limit < 1 { throw ConcordError(.invalidArgument, "--limit must be 1 or more") }
            if let origin, origin.isEmpty || !origin.allSatisfy(\.isHexDigit) || origin != origin.lowercased() {
                throw ConcordError(.invalidArgument, "--origin takes lowercase hex digits, such as 1f2e3d4c")
            }
            let filter = LogFilter(stream: stream, type: type, originPrefix: origin)
            var table = TextTable("POS", "RECORDED", "EVENT", "STREAM", "TYPE", "ACTOR", "DATA")
            func emit(_ stored: StoredEvent) {
                if json {
                    print(stored.jsonLine)
                } else {
                    let event = stored.event
                    table.add(
                        String(stored.position), Timestamp.iso8601(millis: event.recordedAt),
                        "\(event.origin.short):\(event.seq)", event.stream.rawValue, event.type.rawValue,
                        event.actor, event.payload.count > 60 ? String(event.payload.prefix(59)) + "…" : event.payload
                    )
                }
            }
            try await storeOptions.withHub { store in
                if let limit {
                    try await store.readLog(afterPosition: 0, limit: limit, matching: filter, newestFirst: true).forEach(emit)
                } else {
                    var after: Int64 = 0
                    while true {
                        let batch = try await store.readLog(afterPosition: after, limit: 1000, matching: filter, newestFirst: false)
                        batch.forEach(emit)
                        guard let last = batch.last else { break }
                        after = last.position
                    }
                }
            }
            if !json {
                print(table.rows.isEmpty ? "No events yet." : table.render())
            }
        }
    }
}
