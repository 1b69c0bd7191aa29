import ConcordCore

/// Reading the read models, whichever backend holds them: what `concord query`, `show`,
/// `trail` and `projections` ask. The SQL names each table `{schema}.NAME` (the backend puts the schema of the view
/// there) and its parameters `$1`, `$2`…, which SQLite and PostgreSQL both bind by position.
/// Text sorts by code point on both (SQLite's BINARY, PostgreSQL's `COLLATE "C"` columns), so
/// an `ORDER BY` gives the same rows in the same order.
public protocol ReadModelReader: Sendable {
    /// The query's columns and rows over the read models as `view` sees them (the live tables are
    /// caught up first). A backend that cannot replay a past view throws, naming what can.
    func queryReadModels(_ view: ReadModelView, sql: String, _ bindings: [SQLValue]) async throws -> (columns: [String], rows: [[SQLValue]])
    /// The digest of the read models as `view` sees them (`ReadModelDigest`: equal on every
    /// backend holding the same events).
    func readModelDigest(_ view: ReadModelView) async throws -> String
    /// The digest of the read models a peer folds from what `policy` lets it receive of the
    /// events `view` names (each event as `SharingPolicy.shared` turns it): always folded afresh.
    func readModelDigest(_ view: ReadModelView, sharedWith policy: SharingPolicy) async throws -> String
    /// A stream's events as `view` sees them, in stream order.
    func streamEvents(_ stream: StreamID, _ view: ReadModelView) async throws -> [StoredEvent]
    /// Whether the stored read models are the fold of the log (`Projector.check`): what `verify`
    /// reports of them. Nil when the store holds no event and none were built.
    func checkReadModels() async throws -> ReadModelCheck?
    /// Where the read models stand against the log (`concord projections status`).
    func projectionStatus() async throws -> ProjectionStatus
    /// Folds every stream again from the log in one transaction (readers see the old rows until
    /// it commits); returns the streams folded. `progress` is told (streams folded, streams in
    /// all) as it goes, from whichever thread folds.
    func rebuildReadModels(progress: (@Sendable (Int, Int) -> Void)?) async throws -> Int
}

extension ReadModelReader {
    /// `rebuildReadModels(progress:)`, telling no one.
    public func rebuildReadModels() async throws -> Int {
        try await rebuildReadModels(progress: nil)
    }
}
