import ArgumentParser
import ConcordCore
import ConcordDomain
import ConcordSyncProtocol
import Foundation
import Synchronization

struct ExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write every event, with its hashes, seals and origin keys, as NDJSON.",
        discussion: "The export is what another node or an auditor imports with concord import FILE: it carries everything needed to verify each event back to the key of the node that wrote it, and the signed checkpoints this node holds (format: docs/file-formats.md). With --audit it is an audit bundle, which concord verify FILE checks offline (docs/audit.md)."
    )

    @OptionGroup var storeOptions: StoreOptions
    @Option(help: ArgumentHelp("Write to this new file (mode 0600) instead of standard output.", valueName: "file")) var out: String?
    @Flag(help: "With --out: replace the file if it exists.") var force = false
    @Option(name: .customLong("for"), help: ArgumentHelp("Write only what this peer may see: events its sharing rules withhold go as stubs (concord share). Without it, every opening this node holds but those of streams kept local (concord share local).", valueName: "peer")) var peer: String?
    @Flag(help: "Write an audit bundle: sign a checkpoint first, and after the export add the read-model digest at each of this node's newest checkpoints (docs/audit.md). concord verify FILE checks it offline.") var audit = false

    func run() async throws {
        try await CommandFailure.reporting {
            try await storeOptions.withHub { store in
                // An audit bundle states what this node holds now, signed.
                if audit { _ = try await store.takeCheckpoint() }
                // Read through the peer's view, so no opening its rules withhold is written; with no
                // peer, the whole record but the streams kept local (their openings leave this node
                // for no one, in a file no more than in a sync).
                let policy = if let peer {
                    try await store.sharingPolicy(for: peer)
                } else {
                    SharingPolicy.wholeRecord(keepingLocal: Set(try await store.sharingSettings().localStreams))
                }
                let source = SharedView(source: store, policy: policy)
                var progress = ProgressBar("exporting", total: try await store.eventCount())
                let output: FileHandle = if let out { try PrivateOutput.create(out, force: force) } else { FileHandle.standardOutput }
                var written = 0
                try await LogExport.forEachBatch(of: source) { batch in
                    var lines: [UInt8] = []
                    BatchWriter.append(batch, to: &lines)
                    output.write(Data(lines))
                    written += batch.events.count
                    progress.update(written)
                }
                progress.finish()
                if audit {
                    // Folded from what the file gives (the live read models, when nothing is withheld).
                    let digestPolicy = policy.withholdsNothing ? nil : policy
                    output.write(Data(try await AuditBundle.digestLines(of: store, sharedWith: digestPolicy).utf8))
                }
                if let out {
                    try output.synchronize()
                    try output.close()
                    FileHandle.standardError.write(Data("Exported \(written) event(s) to \(out)\n".utf8))
                }
            }
        }
    }
}

struct ImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Load another node's export, or (with --new) new events authored here.",
        discussion: """
            concord import FILE loads a file written by concord export on another node. Every event is verified first (hashes, chain, seals, keys); the file is loaded whole or not at all. Events this node already holds are skipped.

            concord import --new FILE records new events as this node, one JSON object a line: {"stream": "case:WY-1", "type": "case.note-added", "data": {...}, "actor": "…", "occurred_at": "2016-03-09T10:30Z", "schema_version": 1}. actor, occurred_at and schema_version are optional. The whole file is one commit: a bad line stops it, naming the line, and nothing is stored. Events of the domain's types must carry valid data; their state rules are not checked (the file is history, not commands).
            """
    )

    @OptionGroup var storeOptions: StoreOptions
    @Flag(help: "The file holds new events to record as this node, not another node's export.") var new = false
    @Option(help: ArgumentHelp("With --new: who recorded lines that name no actor. Defaults to $CONCORD_ACTOR, else your user name.", valueName: "name")) var actor: String?
    @Argument(help: "The NDJSON file ('-' for standard input).") var file: String
    // For benchmarks only (scripts/bench.sh compares the formats): events whose data can never be
    // withheld or erased, as releases before need-to-know wrote them.
    @Option(help: ArgumentHelp("With --new: the event format, 2 (default) or 1 (benchmarks only).", visibility: .hidden)) var eventFormat = 2

    func validate() throws {
        guard eventFormat == 2 || (eventFormat == 1 && new) else { throw ValidationError("--event-format is 2, or 1 with --new") }
    }

    func run() async throws {
        try await CommandFailure.reporting {
            // Read a line at a time, so memory stays flat whatever the file's size (an export is
            // verified whole, so its batch is held; new events stream into the one commit).
            if new {
                try await storeOptions.withRecordingStore(eventFormat: eventFormat) { store in
                    let drafts = DraftReader(try NDJSONReader(path: file, label: "recording"), parse: try newEventParser())
                    let (count, _) = try await store.appendAll { try drafts.next() }
                    drafts.finish()
                    guard count > 0 else { throw ConcordError(.invalidArgument, "\(file) holds no events") }
                    try await store.catchUpReadModels()
                    await CheckpointCommand.signAfterCommit(store)
                    print("Recorded \(count) event(s) from \(file)")
                }
            } else {
                try await storeOptions.withHub { store in
                    let batch = try Self.readExport(file)
                    let result = try await store.ingest(batch, source: "import", policy: .allOrNothing)
                    try await store.catchUpReadModels()
                    await CheckpointCommand.signAfterCommit(store)
                    print("Imported \(result.inserted) event(s) from \(file) (\(result.alreadyHeld) already held)")
                }
            }
        }
    }

    /// Turns one line's object into a draft (checking domain events' data).
    private func newEventParser() throws -> (JSONValue) throws -> EventDraft {
        let defaultActor = Actor.resolve(actor)
        let now = Timestamp.nowMillis()
        let allowed: Set<String> = ["stream", "type", "data", "actor", "occurred_at", "schema_version"]
        return { object -> EventDraft in
            guard case .object(let fields) = object else { throw ConcordError(.invalidJSON, "each line must be a JSON object") }
            if let unknown = fields.keys.filter({ !allowed.contains($0) }).min() {
                throw ConcordError(.invalidJSON, "unknown field \"\(unknown)\"")
            }
            guard case .string(let stream)? = object["stream"], case .string(let type)? = object["type"] else {
                throw ConcordError(.invalidJSON, "\"stream\" and \"type\" must be strings")
            }
            guard let data = object["data"] else { throw ConcordError(.invalidJSON, "\"data\" is missing") }
            var schemaVersion: UInt32 = 1
            if let version = object["schema_version"] {
                guard case .number(let text) = version, let value = UInt32(text), value >= 1 else {
                    throw ConcordError(.invalidJSON, "\"schema_version\" must be a whole number from 1")
                }
                schemaVersion = value
            }
            let draft = try EventDraft(
                stream: StreamID(stream), type: EventType(type), schemaVersion: schemaVersion, data: data,
                actor: object["actor"]?.stringValue ?? defaultActor,
                occurredAt: try object["occurred_at"]?.stringValue.map(Timestamp.parse) ?? now
            )
            if StreamKind.parse(draft.stream) != nil, DomainEvent.knownTypes.contains(type) {
                _ = try DomainEvent.decode(type: type, schemaVersion: schemaVersion, data: data)
            }
            return draft
        }
    }

    /// An export (or audit bundle) as one batch: it is verified whole.
    static func readExport(_ file: String) throws -> IngestBatch {
        // The line limits of a sync body: a checkpoint line may be as long as an end line.
        var reader = try NDJSONReader(path: file, label: "reading", longLines: ["checkpoint"])
        defer { reader.finish() }
        var batch = IngestBatch()
        // Compact lines (docs/sync-protocol.md#compact-lines) are read as sync reads them.
        var body = CompactBody()
        while try reader.next({ (object: JSONValue) -> Void in
            switch object["kind"]?.stringValue {
            case "origin": batch.keys.append(try OriginKey(exchange: object))
            case "event": batch.events.append(try Event(exchange: object, in: &body))
            case "seal": batch.seals.append(try Seal(exchange: object))
            case "checkpoint": batch.checkpoints.append(try Checkpoint(exchange: object))
            // An audit bundle's digests: the importer computes its own read models.
            case "read-models": return
            default: throw ConcordError(.invalidJSON, "\"kind\" must be origin, event, seal, checkpoint or read-models; is this a concord export? (use --new for new events)")
            }
        }) != nil {}
        guard !batch.events.isEmpty else { throw ConcordError(.invalidArgument, "\(file) holds no events") }
        return batch
    }
}

/// The JSON objects of an NDJSON file, one a line, read as they are needed; blank lines are
/// skipped and every error names its line. Shows progress on a terminal.
struct NDJSONReader {
    private var lines: LineReader
    private var progress: ProgressBar
    private let file: String

    /// Lines of these kinds may be as long as a sync body's end line (`SyncLimits.maxEndLineBytes`),
    /// as a sync body's checkpoint lines may; every other line is held to an event line's limit.
    private let longLines: Set<String>

    init(path: String, label: String, longLines: Set<String> = []) throws {
        lines = try LineReader(path: path)
        progress = ProgressBar(label, total: lines.totalBytes)
        file = path
        self.longLines = longLines
    }

    /// The next line's object passed through `transform`, or nil at the end of the file.
    mutating func next<T>(_ transform: (JSONValue) throws -> T) throws -> T? {
        while let (number, line) = try lines.next() {
            if number % 1000 == 0 { progress.update(lines.bytesRead) }
            guard !line.allSatisfy({ $0 == 0x20 || $0 == 0x0D }) else { continue }
            do {
                // The same line limits as sync: any event a node can record or send, it can import.
                guard !longLines.isEmpty, line.count > EventLimits.maxEventLineBytes else {
                    return try transform(try line.withUnsafeBufferPointer { try JSONValue(parsingUTF8: $0, limits: EventLimits.exchangeLineJSON) })
                }
                guard line.count <= SyncLimits.maxEndLineBytes else {
                    throw ConcordError(.tooLarge, "the line is longer than \(SyncLimits.maxEndLineBytes) bytes, the limit")
                }
                let object = try line.withUnsafeBufferPointer {
                    try JSONValue(parsingUTF8: $0, limits: JSONLimits(maxDepth: EventLimits.maxExchangeLineDepth, maxBytes: SyncLimits.maxEndLineBytes))
                }
                guard let kind = object["kind"]?.stringValue, longLines.contains(kind) else {
                    throw ConcordError(.tooLarge, "the line is longer than \(EventLimits.maxEventLineBytes) bytes, the limit for all but \(longLines.sorted().joined(separator: " and ")) lines")
                }
                return try transform(object)
            } catch let error as ConcordError {
                throw ConcordError(error.code, "\(file) line \(number): \(error.message)")
            }
        }
        return nil
    }

    func finish() { progress.finish() }
}

/// A file's new events, handed to the store's recording transaction one at a time (called from
/// the transaction's thread; the lock only makes the hand-over safe).
final class DraftReader: Sendable {
    private struct Source {
        var reader: NDJSONReader
        let parse: (JSONValue) throws -> EventDraft

        mutating func next() throws -> EventDraft? { try reader.next(parse) }
    }

    private let source: Mutex<Source>

    init(_ reader: sending NDJSONReader, parse: sending @escaping (JSONValue) throws -> EventDraft) {
        source = Mutex(Source(reader: reader, parse: parse))
    }

    func next() throws -> EventDraft? {
        try source.withLock { try $0.next() }
    }

    func finish() { source.withLock { $0.reader.finish() } }
}

/// Reads a file (or standard input, for "-") a line at a time, numbering lines from 1.
struct LineReader {
    private let handle: FileHandle
    private var buffer: [UInt8] = []
    private var start = 0
    private var ended = false
    private var number = 0
    private(set) var bytesRead = 0
    let totalBytes: Int

    init(path: String) throws {
        if path == "-" {
            handle = FileHandle.standardInput
            totalBytes = 0
        } else {
            guard let opened = FileHandle(forReadingAtPath: path) else {
                throw ConcordError(.invalidArgument, "cannot read \(path)")
            }
            handle = opened
            totalBytes = Int((try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0)
        }
    }

    /// The next line without its newline, or nil at the end of the file.
    mutating func next() throws -> (number: Int, line: [UInt8])? {
        while true {
            if let newline = buffer[start...].firstIndex(of: 0x0A) {
                let line = Array(buffer[start..<newline])
                start = newline + 1
                number += 1
                return (number, line)
            }
            if ended {
                guard start < buffer.count else { return nil }
                let line = Array(buffer[start...])
                start = buffer.count
                number += 1
                return (number, line)
            }
            buffer.removeFirst(start)
            start = 0
            let chunk = try handle.read(upToCount: 1 << 20) ?? Data()
            if chunk.isEmpty { ended = true } else {
                bytesRead += chunk.count
                buffer.append(contentsOf: chunk)
            }
        }
    }
}
