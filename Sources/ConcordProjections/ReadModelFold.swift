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

    /// What folding a stream again changes: its rows in every table a stream of its kind can
    /// have rows in are replaced by the fold of all its events.
    public struct Change: Sendable {
        public var stream: StreamID
        /// The tables whose rows of the stream are cleared first.
        public var cleared: [String]
        /// The rows then written, by table.
        public var rows: [String: [[SQLValue]]]
    }

    public static func change(refolding stream: StreamID, kind: StreamKind, events: [Event]) -> Change {
        Change(stream: stream, cleared: ReadModelSchema.tableNames(for: kind), rows: ReadModelRows.rows(stream: stream, events: events).tables)
    }
}
