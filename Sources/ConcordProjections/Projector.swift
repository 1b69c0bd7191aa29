import ConcordCore
import ConcordDomain

/// Keeps the read models: brings them up to the log (`catchUp`) or folds them again from it
/// (`rebuild`), written once over any backend's `ReadModelTransaction`. The driver reads and
/// writes rows; which streams to fold, whether a kept fold state can be extended, and what
/// folding changes are decided here.
public enum Projector {
    /// How a catch-up went: streams folded onward from their kept state, and streams folded
    /// again whole (a rebuild counts every stream as folded whole).
    public struct CatchUpCount: Sendable, Equatable {
        public var extended = 0
        public var refolded = 0
        public var total: Int { extended + refolded }

        public init(extended: Int = 0, refolded: Int = 0) {
            self.extended = extended
            self.refolded = refolded
        }
    }

    /// Streams handled together: one batch of driver calls each (bounds the events held in
    /// memory when an initial sync touched thousands of streams).
    public static let streamsPerChunk = 256

    /// Brings the read models up to the end of the log inside `tx`: folds every stream that
    /// gained events since they were last brought up, and every stream marked for it (an
    /// opening arrived or was erased), then records the new position. Builds them whole instead
    /// when none were built or their schema version is not this build's.
    ///
    /// A stream is folded onward from its kept state when the state is the fold of exactly the
    /// stream's events stored up to the read models' position (`keptFolds`) and every event
    /// stored since is disclosed and sorts after its tail (`ReadModelFold.change(extending:)`);
    /// otherwise it is folded again whole.
    @discardableResult
    public static func catchUp(in tx: some ReadModelTransaction, now: Int64) throws -> CatchUpCount {
        guard let state = try tx.projectionState(), state.version == ReadModelSchema.version else {
            return CatchUpCount(refolded: try rebuild(in: tx, schemaChanged: true, now: now, progress: nil))
        }
        let end = try tx.logEnd()
        let marked = try tx.markedStreams()
        guard end > state.position || !marked.isEmpty else { return CatchUpCount() }
        let touched = end > state.position ? try tx.streamsStored(after: state.position, through: end) : []
        let streams = ReadModelFold.streamsToRefold(marked: marked, touched: touched)
        let markedStreams = Set(marked)
        var count = CatchUpCount()
        for start in stride(from: 0, to: streams.count, by: streamsPerChunk) {
            let chunk = streams[start..<min(start + streamsPerChunk, streams.count)]
            let kept = try keptFolds(of: chunk.map(\.stream).filter { !markedStreams.contains($0.rawValue) }, at: state.position, in: tx)
            let added = kept.isEmpty ? [:] : try tx.events(of: chunk.map(\.stream).filter { kept[$0] != nil }, after: state.position, through: end)
            var changes: [ReadModelFold.Change] = []
            var whole: [(stream: StreamID, kind: StreamKind)] = []
            for (stream, kind) in chunk {
                if let fold = kept[stream], let change = ReadModelFold.change(extending: fold, with: added[stream] ?? []) {
                    changes.append(change)
                    count.extended += 1
                } else {
                    whole.append((stream, kind))
                }
            }
            if !whole.isEmpty {
                let events = try tx.events(of: whole.map(\.stream), after: nil, through: end)
                for (stream, kind) in whole {
                    changes.append(ReadModelFold.change(refolding: stream, kind: kind, events: events[stream] ?? []))
                }
                count.refolded += whole.count
            }
            try tx.write(try writes(changes, dropping: true, in: tx))
        }
        if !marked.isEmpty { try tx.clearMarkedStreams(marked) }
        try tx.saveProjectionPosition(end)
        return count
    }

    /// Folds every domain stream again from the log inside `tx`, into tables readers see only
    /// once it commits, with their fold states; returns the streams folded. `progress` is told
    /// (streams folded, streams in all) as it goes.
    @discardableResult
    public static func rebuild(in tx: some ReadModelTransaction, now: Int64, progress: ((Int, Int) -> Void)? = nil) throws -> Int {
        let state = try tx.projectionState()
        return try rebuild(in: tx, schemaChanged: state?.version != ReadModelSchema.version, now: now, progress: progress)
    }

    private static func rebuild(
        in tx: some ReadModelTransaction, schemaChanged: Bool, now: Int64, progress: ((Int, Int) -> Void)?
    ) throws -> Int {
        let end = try tx.logEnd()
        let marked = try tx.markedStreams()
        let total = progress == nil ? 0 : try tx.domainStreamCount()
        try tx.beginRebuild(schemaChanged: schemaChanged)
        var pending: [ReadModelFold.Change] = []
        var folded = 0
        try tx.forEachDomainStream(through: end) { stream, events in
            guard StreamKind.parse(stream) != nil else { return }
            pending.append(ReadModelFold.change(building: stream, events: events))
            folded += 1
            if pending.count == streamsPerChunk {
                try tx.write(try writes(pending, dropping: false, in: tx))
                pending.removeAll(keepingCapacity: true)
            }
            if folded % 500 == 0 { progress?(folded, total) }
        }
        if !pending.isEmpty { try tx.write(try writes(pending, dropping: false, in: tx)) }
        if !marked.isEmpty { try tx.clearMarkedStreams(marked) }
        try tx.finishRebuild(version: ReadModelSchema.version, position: end, at: now)
        return folded
    }

    /// The kept fold states of `streams` that may be extended as the read models stand at
    /// `position`. A state is used only when it decodes as its stream's, names its tail and
    /// the tail's hash, the tail is a held event of the stream with that hash, and it folded
    /// exactly the events stored by then: the stream's versions 1…count, the count-th at or
    /// before `position` and the next after it. Any other state is passed over (the stream is
    /// folded whole and its state written anew): a stale or swapped state never writes a row.
    static func keptFolds(of streams: [StreamID], at position: Int64, in tx: some ReadModelTransaction) throws -> [StreamID: StreamFold] {
        guard !streams.isEmpty else { return [:] }
        var folds: [StreamID: StreamFold] = [:]
        for (stream, bytes) in try tx.foldStates(of: streams) {
            guard let fold = try? StreamFold(decoding: bytes, stream: stream), fold.tail != nil, fold.tailHash != nil, fold.eventCount > 0 else { continue }
            folds[stream] = fold
        }
        guard !folds.isEmpty else { return [:] }
        let tails = try tx.streamsAndHashes(of: folds.values.map { $0.tail!.id })
        let positions = try tx.positions(of: folds.values.flatMap { fold in
            [StreamVersion(fold.stream, fold.eventCount), StreamVersion(fold.stream, fold.eventCount + 1)]
        })
        return folds.filter { stream, fold in
            guard let tail = tails[fold.tail!.id], tail.stream == stream, tail.hash == fold.tailHash else { return false }
            guard let last = positions[StreamVersion(stream, fold.eventCount)], last <= position else { return false }
            if let next = positions[StreamVersion(stream, fold.eventCount + 1)], next <= position { return false }
            return true
        }
    }

    /// The changes with the fold state each keeps, encoded: a state whose events were read
    /// without their hashes gets its tail's hash from the log first. A change that keeps no
    /// state drops the stream's (`dropping`) or leaves `fold_states` alone (a rebuild).
    static func writes(_ changes: [ReadModelFold.Change], dropping: Bool, in tx: some ReadModelTransaction) throws -> [ReadModelWrite] {
        let unhashed = changes.compactMap { change in change.kept.flatMap { $0.tailHash == nil ? $0.tail?.id : nil } }
        let hashes = unhashed.isEmpty ? [:] : try tx.hashes(of: unhashed)
        return changes.map { change in
            guard var fold = change.kept else { return ReadModelWrite(change, foldState: dropping ? .drop : .leave) }
            if fold.tailHash == nil, let tail = fold.tail { fold.tailHash = hashes[tail.id] }
            return ReadModelWrite(change, foldState: .keep(fold.encoded()))
        }
    }
}
