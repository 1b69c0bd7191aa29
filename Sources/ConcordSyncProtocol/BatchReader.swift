import ConcordCore

/// Reads an exchange NDJSON body as it arrives, line by line, within a budget, into a batch.
///
/// Lines are `origin`, `event` and `seal` objects (docs/file-formats.md); in a pull answer the
/// last line is an `end` object. Errors name the line. Memory is bounded: an origin, event or seal
/// line is at most `SyncLimits.maxLineBytes`, the end line at most `SyncLimits.maxEndLineBytes`;
/// the batch holds at most `budget.maxEvents` events (and as many seals), at most
/// `SyncLimits.maxVectorOrigins` origin lines, and at most `budget.maxBytes` bytes of lines
/// other than the end line.
public struct BatchReader: Sendable {
    public private(set) var batch = IngestBatch()
    public private(set) var end: SyncWire.BatchEnd?
    /// Bytes of origin, event and seal lines read so far (newlines included).
    public private(set) var bytes = 0
    private var pending: [UInt8] = []
    private var lineNumber = 0
    private let budget: BatchBudget
    /// Each origin's last event line so far: the `prevHash` a compact line after it leaves out.
    private var body = CompactBody()

    public init(budget: BatchBudget) {
        self.budget = budget
    }

    public init(limits: SyncLimits) {
        self.init(budget: limits.budget)
    }

    /// Feeds the next piece of the (inflated) body.
    public mutating func feed(_ bytes: ArraySlice<UInt8>) throws {
        // Concrete buffer scanning, not a generic Collection walk: this runs over every byte synced.
        try bytes.withUnsafeBufferPointer { buffer in
            var start = 0
            while let newline = buffer[start...].firstIndex(of: 0x0a) {
                pending.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[start..<newline]))
                try takeLine()
                start = newline + 1
            }
            pending.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[start...]))
        }
        if pending.count > SyncLimits.maxEndLineBytes {
            throw ConcordError(.tooLarge, "line \(lineNumber + 1) is longer than \(SyncLimits.maxEndLineBytes) bytes, the limit")
        }
    }

    public mutating func feed(_ bytes: [UInt8]) throws {
        try feed(bytes[...])
    }

    /// Call when the body has ended.
    public mutating func finish() throws -> IngestBatch {
        if !pending.isEmpty { try takeLine() }
        return batch
    }

    private mutating func takeLine() throws {
        lineNumber += 1
        defer { pending.removeAll(keepingCapacity: true) }
        if pending.allSatisfy({ $0 == 0x20 || $0 == 0x0d }) { return }
        guard end == nil else { throw ConcordError(.invalidJSON, "line \(lineNumber): nothing may follow the end line") }
        // Only the end line may be longer than an event line at its limits.
        let long = pending.count > SyncLimits.maxLineBytes
        if pending.count > SyncLimits.maxEndLineBytes {
            throw ConcordError(.tooLarge, "line \(lineNumber) is longer than \(SyncLimits.maxEndLineBytes) bytes, the limit")
        }
        do {
            let object = try pending.withUnsafeBufferPointer {
                try JSONValue(parsingUTF8: $0, limits: JSONLimits(maxDepth: EventLimits.maxExchangeLineDepth, maxBytes: SyncLimits.maxEndLineBytes))
            }
            let kind = object["kind"]?.stringValue
            // A checkpoint names every origin's head, so it may be as long as an end line.
            if kind != "end" && kind != "checkpoint" {
                guard !long else { throw ConcordError(.tooLarge, "the line is longer than \(SyncLimits.maxLineBytes) bytes, the limit for all but the end and checkpoint lines") }
            }
            if kind != "end" {
                bytes += pending.count + 1
                guard bytes <= budget.maxBytes else {
                    throw ConcordError(.tooLarge, "the batch holds more than \(budget.maxBytes) bytes of lines, the limit")
                }
            }
            switch kind {
            case "event":
                guard batch.events.count < budget.maxEvents else {
                    throw ConcordError(.tooLarge, "more than \(budget.maxEvents) events in one batch, the limit")
                }
                batch.events.append(try Event(exchange: object, in: &body))
            case "seal":
                guard batch.seals.count < budget.maxEvents else {
                    throw ConcordError(.tooLarge, "more than \(budget.maxEvents) seals in one batch, the limit")
                }
                batch.seals.append(try Seal(exchange: object))
            case "origin":
                guard batch.keys.count < SyncLimits.maxVectorOrigins else {
                    throw ConcordError(.tooLarge, "more than \(SyncLimits.maxVectorOrigins) origin lines in one batch, the limit")
                }
                batch.keys.append(try OriginKey(exchange: object))
            case "checkpoint":
                guard batch.checkpoints.count < SyncLimits.maxCheckpointsPerBatch else {
                    throw ConcordError(.tooLarge, "more than \(SyncLimits.maxCheckpointsPerBatch) checkpoints in one batch, the limit")
                }
                batch.checkpoints.append(try Checkpoint(exchange: object))
            case "end": end = try SyncWire.BatchEnd(object: object)
            default: throw ConcordError(.invalidJSON, "\"kind\" must be origin, event, seal, checkpoint or end")
            }
        } catch let error as ConcordError {
            throw ConcordError(error.code, "line \(lineNumber): \(error.message)")
        }
    }
}

/// Writes batches as exchange NDJSON: each origin's key, then its events each followed by its
/// seal when it has one.
public enum BatchWriter {
    public static func lines(_ batch: IngestBatch, compact: Bool = false) -> String {
        var out: [UInt8] = []
        append(batch, to: &out, compact: compact)
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends a batch's lines to `out`. `compact` (sync bodies) leaves out what the reader
    /// recomputes (`Event.RecomputedFields`, docs/sync-protocol.md): every `hash`, the
    /// `commitment` beside an opening, and `prevHash` after the origin's event at seq - 1 (and
    /// at seq 1). Exports keep every field, so a file says all it holds.
    public static func append(_ batch: IngestBatch, to out: inout [UInt8], compact: Bool = false) {
        for key in batch.keys { appendLine(key.exchangeJSON, to: &out) }
        var seals: [EventID: Seal] = [:]
        for seal in batch.seals { seals[EventID(origin: seal.origin, seq: seal.seq)] = seal }
        var lastSeq: [OriginID: UInt64] = [:]
        for event in batch.events {
            if compact {
                var left: Event.RecomputedFields = [.hash, .commitment]
                if event.seq == 1 || lastSeq[event.origin].map({ $0 &+ 1 == event.seq }) == true { left.insert(.prevHash) }
                lastSeq[event.origin] = event.seq
                appendLine(event.exchangeJSON(withOpening: true, leaving: left), to: &out)
            } else {
                appendLine(event.exchangeJSON, to: &out)
            }
            if let seal = seals.removeValue(forKey: event.id) { appendLine(seal.exchangeJSON, to: &out) }
        }
        // Seals of events not in the batch (a later seal over held events) go last.
        for seal in seals.values.sorted(by: { ($0.origin, $0.seq) < ($1.origin, $1.seq) }) { appendLine(seal.exchangeJSON, to: &out) }
        // Checkpoints after every event: a reader that stores them holds what they name.
        for checkpoint in batch.checkpoints { appendLine(checkpoint.exchangeJSON, to: &out) }
    }

    private static func appendLine(_ line: String, to out: inout [UInt8]) {
        out.append(contentsOf: line.utf8)
        out.append(0x0a)
    }
}
