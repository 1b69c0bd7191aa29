import ArgumentParser
import ConcordCore
import ConcordProjections
import ConcordRecording
import ConcordSQLite

/// `--actor` and `--occurred-at`, shared by every command that records an event.
struct RecordingOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Who is recording it. Defaults to $CONCORD_ACTOR, else your user name.", valueName: "name"))
    var actor: String?

    @Option(name: .long, help: ArgumentHelp("When it happened in the world (ISO 8601, such as 2016-03-09 or 2016-03-09T10:30Z). Defaults to now.", valueName: "time"))
    var occurredAt: String?

    func context() throws -> DomainRecorder<SQLiteEventStore>.Context {
        .init(actor: Actor.resolve(actor), occurredAt: try occurredAt.map(Timestamp.parse) ?? Timestamp.nowMillis())
    }
}

/// `--as-of` and `--valid-at`, shared by the reading commands.
struct ViewOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Show the read models as they stood at this time: only what this node had recorded by then.", valueName: "time"))
    var asOf: String?

    @Option(name: .long, help: ArgumentHelp("Show only what had happened in the world by this time (by occurred-at).", valueName: "time"))
    var validAt: String?

    func view() throws -> ReadModelView {
        switch (asOf, validAt) {
        case (nil, nil): return .live
        case (let time?, nil): return .asOf(try Timestamp.parse(time))
        case (nil, let time?): return .validAt(try Timestamp.parse(time))
        case (_?, _?): throw ConcordError(.invalidArgument, "give --as-of or --valid-at, not both")
        }
    }
}

/// Opens the store, runs a domain command, prints what was recorded.
enum DomainCommandRunner {
    static func run(
        _ storeOptions: StoreOptions, _ recording: RecordingOptions,
        _ body: (DomainRecorder<SQLiteEventStore>, DomainRecorder<SQLiteEventStore>.Context) throws -> StoredEvent,
        describe: (StoredEvent) -> String
    ) throws {
        try CommandFailure.reporting {
            let context = try recording.context()
            let store = try storeOptions.openStore()
            let stored = try body(DomainRecorder(store: store), context)
            print("\(describe(stored)) (event \(stored.event.origin.short):\(stored.event.seq))")
        }
    }
}
