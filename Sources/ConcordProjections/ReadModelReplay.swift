import ConcordCore

/// What `Projector.replay` asks of a store to show the read models as a past view sees them
/// (`--as-of`, `--valid-at`, `--seen-by`, and a peer's view for `export --audit --for`): scratch
/// tables only the caller's transaction sees, the log's events read stream by stream, rows
/// inserted. Which events a view folds, and what they fold to, are the engine's.
public protocol ReadModelReplayTransaction {
    /// Creates empty read-model tables, and the views over them, that only this transaction
    /// sees and that go with it; returns the schema a query names for `{schema}`.
    func createScratchTables() throws -> String
    /// Reads every domain stream's events with the time this node stored each, a stream at a
    /// time (each stream's events in any order). Only events stored at or before `storedAtMost`
    /// and that occurred at or before `occurredAtMost` are needed (nil: any); a driver may read
    /// more, as the engine judges each event by the view.
    func forEachDomainStream(storedAtMost: Int64?, occurredAtMost: Int64?, _ body: (StreamID, [Event], [Int64]) throws -> Void) throws
    /// Inserts rows into the scratch tables, by table.
    func insertScratchRows(_ rows: [String: [[SQLValue]]]) throws
}

extension ReadModelView {
    /// Whether the view folds `event`, stored on this node at `storedAt` (ms): the one rule for
    /// every backend and every reader (docs/audit.md).
    public func includes(_ event: Event, storedAt: Int64) -> Bool {
        switch self {
        case .live: true
        // When this node stored the event: a column of its own, never exchanged.
        case .asOf(let time): storedAt <= time
        case .validAt(let time): event.occurredAt <= time
        case .seenBy(let vector, _): event.seq <= vector[event.origin]
        }
    }

    /// The bounds on the stored-at and occurred-at columns that hold for every event the view
    /// folds: what a driver may read by (a `--seen-by` view bounds each origin's seq instead).
    var storedAtMost: Int64? { if case .asOf(let time) = self { time } else { nil } }
    var occurredAtMost: Int64? { if case .validAt(let time) = self { time } else { nil } }
}

extension Projector {
    /// Folds the events `view` names, each passed through `transform` first, into the driver's
    /// scratch tables; returns the schema that names them. Rows are inserted a few thousand at
    /// a time.
    @discardableResult
    public static func replay(_ view: ReadModelView, transform: ((Event) -> Event)? = nil, into tx: some ReadModelReplayTransaction) throws -> String {
        let schema = try tx.createScratchTables()
        var pending: [String: [[SQLValue]]] = [:]
        var pendingRows = 0
        try tx.forEachDomainStream(storedAtMost: view.storedAtMost, occurredAtMost: view.occurredAtMost) { stream, events, storedAt in
            var shown: [Event] = []
            shown.reserveCapacity(events.count)
            for (event, stored) in zip(events, storedAt) where view.includes(event, storedAt: stored) {
                shown.append(transform?(event) ?? event)
            }
            guard !shown.isEmpty else { return }
            for (table, rows) in ReadModelRows.rows(stream: stream, events: shown).tables where !rows.isEmpty {
                pending[table, default: []] += rows
                pendingRows += rows.count
            }
            if pendingRows >= 2_000 {
                try tx.insertScratchRows(pending)
                pending.removeAll(keepingCapacity: true)
                pendingRows = 0
            }
        }
        if pendingRows > 0 { try tx.insertScratchRows(pending) }
        return schema
    }
}
