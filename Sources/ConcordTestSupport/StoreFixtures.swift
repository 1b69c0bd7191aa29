import ConcordCore
import ConcordSQLite
import ConcordSyncProtocol
import Logging

/// Stores and drafts for tests.
public enum StoreFixtures {
    /// A logger that drops everything: tests assert on behaviour, not on log lines.
    public static let quietLogger = Logger(label: "concord-test") { _ in SwiftLogNoOpLogHandler() }

    public static func createStore(in directory: TemporaryDirectory, name: String = "node.sqlite", node: String = "test-node") throws -> SQLiteEventStore {
        try SQLiteEventStore.create(at: directory.file(name), nodeName: node, options: .init(durability: .normal), logger: quietLogger)
    }

    public static func draft(
        _ stream: String = "case:WY-2016-0012", _ type: String = "case.note-added", data: JSONValue = .object(["note": .string("seen")]),
        actor: String = "tester", occurredAt: Int64 = 1_457_519_400_000
    ) throws -> EventDraft {
        try EventDraft(stream: StreamID(stream), type: EventType(type), data: data, actor: actor, occurredAt: occurredAt)
    }
}

extension SQLiteEventStore {
    /// The events a peer with `have` lacks, as one batch (what a pull answer would carry):
    /// runs ending on seals, within `maxEvents`, through the same `MissingRuns` as sync.
    public func missingBatch(have: VersionVector, maxEvents: Int) async throws -> (batch: IngestBatch, more: Bool) {
        var runs = try await MissingRuns(source: SQLiteSyncBackend(store: self), have: have, budget: BatchBudget(maxEvents: maxEvents, maxBytes: 64 << 20))
        let batch = try await runs.batch()
        return (batch, runs.more)
    }
}
