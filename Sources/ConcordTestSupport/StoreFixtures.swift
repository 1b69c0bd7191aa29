import ConcordCore
import ConcordSQLite
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
