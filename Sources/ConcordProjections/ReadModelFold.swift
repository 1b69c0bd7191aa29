import ConcordCore
import ConcordDomain

/// What a read-model catch-up does, written once for every backend: which streams to fold
/// again, and what folding one changes. The adapters read the events and carry the changes out.
public enum ReadModelFold {
    /// The domain streams to fold again, each once: those marked (an opening arrived or was
    /// erased, though no event was added) first, then those that gained events since the
    /// checkpoint, in the order they did. Other streams have no read-model rows.
    public static func streamsToRefold(marked: some Sequence<String>, touched: some Sequence<String>) -> [(stream: StreamID, kind: StreamKind)] {
        var seen: Set<String> = []
        var streams: [(stream: StreamID, kind: StreamKind)] = []
        for name in [AnySequence(marked), AnySequence(touched)].joined() where seen.insert(name).inserted {
            let stream = StreamID(unchecked: name)
            if let kind = StreamKind.parse(stream)?.kind { streams.append((stream, kind)) }
        }
        return streams
    }

    /// What a catch-up changes for one stream: rows cleared, rows deleted by key, rows written,
    /// and the fold state to keep for the stream's next catch-up.
    public struct Change: Sendable {
        public var stream: StreamID
        /// The tables whose rows of the stream are cleared first.
        public var cleared: [String]
        /// Rows then deleted, by table: each by its primary key.
        public var deleted: [String: [[SQLValue]]]
        /// The rows then written, by table.
        public var rows: [String: [[SQLValue]]]
        /// The state to keep (`fold_states`); nil to keep none (a stream holding withheld or
        /// erased events, whose rows also depend on those events' list, is always folded whole).
        public var kept: StreamFold?

        /// Rows deleted and written in all: what the change costs the tables.
        public var rowsTouched: Int { (deleted.values.map(\.count) + rows.values.map(\.count)).reduce(0, +) }
    }

    /// Folding a stream again from all its events: its rows in every table a stream of its kind
    /// can have rows in are replaced by the fold's.
    public static func change(refolding stream: StreamID, kind: StreamKind, events: [Event]) -> Change {
        let fold = StreamFolder.foldState(stream, events: events)
        return Change(
            stream: stream, cleared: ReadModelSchema.tableNames(for: kind), deleted: [:],
            rows: ReadModelRows.rows(stream: stream, events: events, fold: fold).tables,
            kept: fold.flatMap { $0.hasUndisclosed ? nil : $0 }
        )
    }

    /// Folding a stream into empty tables (a rebuild): its rows, and the state to keep.
    public static func change(building stream: StreamID, events: [Event]) -> Change {
        let fold = StreamFolder.foldState(stream, events: events)
        return Change(
            stream: stream, cleared: [], deleted: [:],
            rows: ReadModelRows.rows(stream: stream, events: events, fold: fold).tables,
            kept: fold.flatMap { $0.hasUndisclosed ? nil : $0 }
        )
    }

    /// Folding a stream onward from its kept state with the events stored since: nil when that
    /// is not the fold of all its events (an event sorts before the state's tail, or its
    /// opening is not held), and the stream must be folded again whole. Only the rows that
    /// differ are deleted and written.
    public static func change(extending kept: StreamFold, with events: [Event]) -> Change? {
        guard !kept.hasUndisclosed else { return nil }
        var fold = kept
        for event in events.sorted(by: Event.projectionOrder) {
            guard fold.canExtend(with: event) else { return nil }
            fold.add(event)
        }
        let before = ReadModelRows.rows(stream: kept.stream, record: kept.record).tables
        let after = ReadModelRows.rows(stream: kept.stream, record: fold.record).tables
        var deleted: [String: [[SQLValue]]] = [:]
        var written: [String: [[SQLValue]]] = [:]
        for table in Set(before.keys).union(after.keys) {
            let old = before[table] ?? [], new = after[table] ?? []
            let oldRows = Set(old), newRows = Set(new)
            // A changed row is deleted by its key and written again.
            let gone = old.filter { !newRows.contains($0) }
            let added = new.filter { !oldRows.contains($0) }
            if !gone.isEmpty { deleted[table] = gone }
            if !added.isEmpty { written[table] = added }
        }
        return Change(stream: kept.stream, cleared: [], deleted: deleted, rows: written, kept: fold)
    }
}
