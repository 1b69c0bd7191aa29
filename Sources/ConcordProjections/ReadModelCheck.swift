import ConcordCore
import ConcordDomain

/// What `concord verify` finds of the read models: where the stored rows are not the fold of the
/// log (`ReadModelComparison`), and how far behind the log they stand.
public struct ReadModelCheck: Sendable, Equatable {
    /// Rows (and kept fold states) that are not what folding the log gives; a read-model
    /// version that is not this release's, or a position the log does not bear out, is one
    /// too (table `projection_state`).
    public var differences: [ReadModelDifference]
    /// Events stored after the position the read models stand at: a catch-up is pending (the
    /// rows were compared with the fold up to where they stand).
    public var eventsBehind: Int64

    public init(differences: [ReadModelDifference], eventsBehind: Int64) {
        self.differences = differences
        self.eventsBehind = eventsBehind
    }
}

/// What `Projector.check` reads of a store, inside one read transaction (the position and the
/// rows it stands for read together). Reads only: it runs on a store opened read-only.
public protocol ReadModelCheckTransaction {
    /// The read models' version and position as stored (no lock: a check writes nothing).
    func storedProjectionState() throws -> (version: Int, position: Int64)?
    /// The log's end.
    func logEnd() throws -> Int64
    /// How many events are stored after `position`.
    func eventCount(after position: Int64) throws -> Int64
    /// How many rows the read-model tables and `fold_states` hold (0 for a table not created).
    func storedReadModelRowCount() throws -> Int64
    /// Reads every domain stream's events stored up to `end`, a stream at a time.
    func forEachDomainStream(through end: Int64, _ body: (StreamID, [Event]) throws -> Void) throws
    /// The hash of each held event among `ids`.
    func hashes(of ids: [EventID]) throws -> [EventID: EventHash]
    /// Every stored row of a read-model table, its columns in the schema's order.
    func storedRows(of table: ReadModelSchema.Table) throws -> [[SQLValue]]
    /// Every kept fold state, by stream.
    func storedFoldStates() throws -> [(stream: String, state: [UInt8])]
}

extension Projector {
    /// Whether the stored read models are the fold of the log: every table compared row by row,
    /// and every kept fold state byte by byte, with a fold made afresh from the events up to
    /// the read models' position. No bookkeeping table is trusted to say what to skip
    /// (docs/audit.md). Nil when the store holds no event and no read model was ever built.
    public static func check(in tx: some ReadModelCheckTransaction) throws -> ReadModelCheck? {
        let end = try tx.logEnd()
        func bookkeeping(_ detail: String) -> ReadModelCheck {
            ReadModelCheck(differences: [ReadModelDifference(table: "projection_state", key: "name=read-models", kind: .changed, detail: detail)], eventsBehind: 0)
        }
        guard let state = try tx.storedProjectionState() else {
            // Never built (a process killed between its first commit and its catch-up): every
            // event is behind. Rows without a record of what they are are a fault.
            let rows = try tx.storedReadModelRowCount()
            if rows > 0 { return bookkeeping("\(rows) read-model row(s) are stored, but no record of where the read models stand") }
            return end == 0 ? nil : ReadModelCheck(differences: [], eventsBehind: try tx.eventCount(after: 0))
        }
        guard state.version == ReadModelSchema.version else {
            return bookkeeping("the read models are at version \(state.version), and this release folds version \(ReadModelSchema.version): they are not the fold of the log this release would show")
        }
        guard state.position >= 0, state.position <= end else {
            return bookkeeping("the read models claim to stand at position \(state.position), and the log ends at \(end)")
        }
        let behind = try tx.eventCount(after: state.position)
        var folded: [String: [[SQLValue]]] = [:]
        var foldedStates: [[SQLValue]] = []
        var unhashed: [StreamFold] = []
        func keepStates() throws {
            let hashes = try tx.hashes(of: unhashed.compactMap { $0.tailHash == nil ? $0.tail?.id : nil })
            for var fold in unhashed {
                if fold.tailHash == nil, let tail = fold.tail { fold.tailHash = hashes[tail.id] }
                foldedStates.append(describe(stream: fold.stream.rawValue, state: fold.encoded()))
            }
            unhashed.removeAll(keepingCapacity: true)
        }
        try tx.forEachDomainStream(through: state.position) { stream, events in
            let fold = StreamFolder.foldState(stream, events: events)
            for (table, rows) in ReadModelRows.rows(stream: stream, events: events, fold: fold).tables { folded[table, default: []] += rows }
            if let fold, !fold.hasUndisclosed { unhashed.append(fold) }
            if unhashed.count == streamsPerChunk { try keepStates() }
        }
        try keepStates()
        var differences: [ReadModelDifference] = []
        for table in ReadModelSchema.tables {
            differences += ReadModelComparison.differences(table: table, stored: try tx.storedRows(of: table), folded: folded[table.name] ?? [])
        }
        // A kept fold state that is not the fold of its stream would make the next catch-up
        // write wrong rows: each kept one is checked like a table's row. A stream without one
        // is no fault: its next catch-up folds it whole.
        differences += ReadModelComparison.differences(
            table: ReadModelSchema.foldStates, stored: try tx.storedFoldStates().map { describe(stream: $0.stream, state: $0.state) }, folded: foldedStates
        ).filter { $0.kind != .missing }
        return ReadModelCheck(differences: differences, eventsBehind: behind)
    }

    /// A fold state as the check compares it: its stream, its length and hash.
    private static func describe(stream: String, state: [UInt8]) -> [SQLValue] {
        [.text(stream), .text("\(state.count) bytes, sha256 \(EventHash.sha256(state).hex)")]
    }
}
