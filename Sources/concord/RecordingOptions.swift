import ArgumentParser
import ConcordCore
import ConcordProjections
import ConcordRecording
import ConcordSyncProtocol

/// `--actor` and `--occurred-at`, shared by every command that records an event.
struct RecordingOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Who is recording it. Defaults to $CONCORD_ACTOR, else your user name.", valueName: "name"))
    var actor: String?

    @Option(name: .long, help: ArgumentHelp("When it happened in the world (ISO 8601, such as 2016-03-09 or 2016-03-09T10:30Z). Defaults to now.", valueName: "time"))
    var occurredAt: String?

    func context() throws -> DomainRecorder.Context {
        .init(actor: Actor.resolve(actor), occurredAt: try occurredAt.map(Timestamp.parse) ?? Timestamp.nowMillis())
    }
}

/// `--as-of`, `--seen-by` and `--valid-at`, shared by the reading commands. Each answers another
/// question (docs/audit.md): what the world was like at T (`--valid-at`), what this node had
/// recorded by T (`--as-of`), what another node held at T, provably (`--as-of T --seen-by NODE`).
struct ViewOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Show the read models as they stood at this time on this node: the events it had stored by then (its own clock; an imported copy stored everything the day it imported). With --seen-by: as that node held them.", valueName: "time"))
    var asOf: String?

    @Option(name: .long, help: ArgumentHelp("Show the record exactly as this node (a node name or origin id) held it at its last signed checkpoint at or before --as-of (or its newest): verifiable on any copy holding the checkpoint.", valueName: "node"))
    var seenBy: String?

    @Option(name: .long, help: ArgumentHelp("Show only what had happened in the world by this time (by occurred-at).", valueName: "time"))
    var validAt: String?

    func validate() throws {
        if validAt != nil, asOf != nil || seenBy != nil { throw ValidationError("give --valid-at, or --as-of (with or without --seen-by), not both") }
    }

    /// The view the options name; `--seen-by` looks the checkpoint up in the store.
    func view(_ storeOptions: StoreOptions) async throws -> ReadModelView {
        if let node = seenBy {
            return try await storeOptions.withHub { try await Self.seenBy(node, asOf: asOf.map(Timestamp.parse), in: $0, asOfText: asOf) }
        }
        switch (asOf, validAt) {
        case (nil, nil): return .live
        case (let time?, nil): return .asOf(try Timestamp.parse(time))
        case (nil, let time?): return .validAt(try Timestamp.parse(time))
        case (_?, _?): throw ConcordError(.invalidArgument, "give --as-of or --valid-at, not both")
        }
    }

    /// The record as `node` held it at its last checkpoint at or before `asOf` (its newest without).
    static func seenBy(_ node: String, asOf: Int64?, in store: some HubBackend, asOfText: String? = nil) async throws -> ReadModelView {
        guard let checkpoint = try await store.checkpoint(of: node, atOrBefore: asOf ?? Int64.max) else {
            let when = asOf.map { " taken at or before \(asOfText ?? Timestamp.iso8601(millis: $0))" } ?? ""
            throw ConcordError(.unknownID, "this copy holds no checkpoint of \(node)\(when)")
        }
        // The view is what the checkpoint names only if this copy holds exactly that.
        for head in checkpoint.heads {
            let held = try await store.eventHash(head.origin, seq: head.seq)
            guard held == head.hash else {
                let what = held == nil ? "lacks event \(head.origin):\(head.seq)" : "holds another event at \(head.origin):\(head.seq)"
                throw ConcordError(.invalidArgument, "checkpoint \(checkpoint.number) of \(node) names what this copy cannot show: it \(what) (concord verify says why)")
            }
        }
        return .seenBy(checkpoint.vector, at: checkpoint.takenAt)
    }
}

/// Opens the store (a file node, or a PostgreSQL hub recording as its origin), runs a domain
/// command, signs a checkpoint over it, prints what was recorded.
enum DomainCommandRunner {
    static func run(
        _ storeOptions: StoreOptions, _ recording: RecordingOptions,
        _ body: (DomainRecorder, DomainRecorder.Context) async throws -> StoredEvent,
        describe: (StoredEvent) -> String
    ) async throws {
        try await CommandFailure.reporting {
            let context = try recording.context()
            try await storeOptions.withRecordingStore { store in
                let stored = try await body(DomainRecorder(store: store), context)
                await CheckpointCommand.signAfterCommit(store)
                print("\(describe(stored)) (event \(stored.event.origin.short):\(stored.event.seq))")
            }
        }
    }
}
