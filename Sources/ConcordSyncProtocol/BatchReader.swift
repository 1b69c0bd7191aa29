import ConcordCore

/// Reads an exchange NDJSON body as it arrives, line by line, within limits, into a batch.
///
/// Lines are `origin`, `event` and `seal` objects (docs/file-formats.md); in a pull response the
/// last line is an `end` object. Errors name the line. Memory is bounded by the limits: one line
/// at most `maxLineBytes`, at most `maxEventsPerBatch` events.
public struct BatchReader: Sendable {
    public private(set) var batch = IngestBatch()
    public private(set) var end: SyncWire.BatchEnd?
    private var pending: [UInt8] = []
    private var lineNumber = 0
    private let limits: SyncLimits

    public init(limits: SyncLimits) {
        self.limits = limits
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
        if pending.count > limits.maxLineBytes {
            throw ConcordError(.tooLarge, "line \(lineNumber + 1) is longer than \(limits.maxLineBytes) bytes, the limit")
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
        if pending.count > limits.maxLineBytes {
            throw ConcordError(.tooLarge, "line \(lineNumber) is longer than \(limits.maxLineBytes) bytes, the limit")
        }
        if pending.allSatisfy({ $0 == 0x20 || $0 == 0x0d }) { return }
        guard end == nil else { throw ConcordError(.invalidJSON, "line \(lineNumber): nothing may follow the end line") }
        do {
            let object = try pending.withUnsafeBufferPointer {
                try JSONValue(parsingUTF8: $0, limits: JSONLimits(maxDepth: 64, maxBytes: limits.maxLineBytes))
            }
            switch object["kind"]?.stringValue {
            case "event":
                guard batch.events.count < limits.maxEventsPerBatch else {
                    throw ConcordError(.tooLarge, "more than \(limits.maxEventsPerBatch) events in one batch, the limit")
                }
                batch.events.append(try Event(exchange: object))
            case "seal": batch.seals.append(try Seal(exchange: object))
            case "origin": batch.keys.append(try OriginKey(exchange: object))
            case "end": end = try SyncWire.BatchEnd(object: object)
            default: throw ConcordError(.invalidJSON, "\"kind\" must be origin, event, seal or end")
            }
        } catch let error as ConcordError {
            throw ConcordError(error.code, "line \(lineNumber): \(error.message)")
        }
    }
}

/// Writes a batch as exchange NDJSON: keys, then events each followed by its seal.
public enum BatchWriter {
    public static func lines(_ batch: IngestBatch) -> String {
        var text = ""
        for key in batch.keys { text += key.exchangeJSON + "\n" }
        var seals: [EventID: Seal] = [:]
        for seal in batch.seals { seals[EventID(origin: seal.origin, seq: seal.seq)] = seal }
        for event in batch.events {
            text += event.exchangeJSON + "\n"
            if let seal = seals.removeValue(forKey: event.id) { text += seal.exchangeJSON + "\n" }
        }
        return text
    }
}
