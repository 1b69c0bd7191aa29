import ConcordCore
import ConcordDomain

/// Which read models to look at.
public enum ReadModelView: Sendable, Equatable {
    /// The live tables, caught up with the log.
    case live
    /// As they stood when this node had stored everything it stored up to this time (ms).
    case asOf(Int64)
    /// Folding only the events that happened in the world (occurred-at) by this time (ms).
    case validAt(Int64)
    /// Folding exactly the events a node's signed checkpoint names (each origin's run up to its
    /// head there): the record as that node held it, taken at `at` (ms). Verifiable on any copy
    /// holding the checkpoint (docs/audit.md).
    case seenBy(VersionVector, at: Int64)

    /// The moment the view stands at (now for the live view): what "overdue" is measured against.
    public var referenceTime: Int64? {
        switch self {
        case .live: nil
        case .asOf(let time), .validAt(let time), .seenBy(_, at: let time): time
        }
    }
}

/// Where the projections stand.
public struct ProjectionStatus: Sendable {
    public var version: Int?
    public var currentVersion: Int
    public var position: Int64
    public var logPosition: Int64
    public var rebuiltAt: Int64?
    public var isCurrent: Bool { version == currentVersion && position == logPosition }

    public init(version: Int?, currentVersion: Int, position: Int64, logPosition: Int64, rebuiltAt: Int64?) {
        self.version = version
        self.currentVersion = currentVersion
        self.position = position
        self.logPosition = logPosition
        self.rebuiltAt = rebuiltAt
    }
}


/// An event store that also keeps the read models: what the domain recorder and the CLI's
/// reading commands need from a backend.
public protocol ReadModelStore: EventStore {
    /// Brings the live read models up to the end of the log; returns the streams refolded.
    @discardableResult
    func catchUpProjections() throws -> Int
    @discardableResult
    func rebuildProjections() throws -> Int
    func projectionStatus() throws -> ProjectionStatus
    func readModelDigest(_ view: ReadModelView) throws -> String
    /// Runs read-only SQL against a view's tables; `{schema}` in the SQL names their schema.
    func queryReadModels(_ view: ReadModelView, sql: String, _ bindings: [SQLValue]) throws -> (columns: [String], rows: [[SQLValue]])
    /// A domain stream's record as the view shows it.
    func record(of stream: StreamID, _ view: ReadModelView) throws -> StreamRecord?
}
