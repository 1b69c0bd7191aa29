import ArgumentParser
import ConcordCore
import ConcordDomain
import ConcordSQLite
import Foundation

struct ExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write every event, with its hashes, seals and origin keys, as NDJSON.",
        discussion: "The export is what another node or an auditor imports with concord import FILE: it carries everything needed to verify each event back to the key of the node that wrote it (format: docs/file-formats.md)."
    )

    @OptionGroup var storeOptions: StoreOptions
    @Option(help: ArgumentHelp("Write to this file instead of standard output.", valueName: "file")) var out: String?

    func run() async throws {
        try CommandFailure.reporting {
            let store = try storeOptions.openStore()
            let total = Int(try store.eventCount())
            var progress = ProgressBar("exporting", total: total)
            let output: FileHandle
            if let out {
                guard FileManager.default.createFile(atPath: out, contents: nil) else {
                    throw ConcordError(.storage, "cannot create \(out)")
                }
                output = try FileHandle(forWritingTo: URL(fileURLWithPath: out))
            } else {
                output = FileHandle.standardOutput
            }
            var written = 0
            try store.exportBatches { batch in
                var lines = ""
                for key in batch.keys { lines += key.exchangeJSON + "\n" }
                var seals = Dictionary(uniqueKeysWithValues: batch.seals.map { ($0.seq, $0) })
                for event in batch.events {
                    lines += event.exchangeJSON + "\n"
                    if let seal = seals.removeValue(forKey: event.seq) { lines += seal.exchangeJSON + "\n" }
                }
                output.write(Data(lines.utf8))
                written += batch.events.count
                progress.update(written)
            }
            progress.finish()
            if let out {
                try output.synchronize()
                try output.close()
                FileHandle.standardError.write(Data("Exported \(written) event(s) to \(out)\n".utf8))
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

    func run() async throws {
        try CommandFailure.reporting {
            let lines = try readLines()
            let store = try storeOptions.openStore()
            if new {
                let drafts = try parseNew(lines)
                try store.append(drafts)
                try store.catchUpProjections()
                print("Recorded \(drafts.count) event(s) from \(file)")
            } else {
                let batch = try parseExport(lines)
                let result = try store.ingest(batch)
                try store.catchUpProjections()
                print("Imported \(result.inserted) event(s) from \(file) (\(result.alreadyHeld) already held)")
            }
        }
    }

    private func readLines() throws -> [Substring] {
        let data: Data
        if file == "-" {
            data = FileHandle.standardInput.readDataToEndOfFile()
        } else {
            guard let contents = FileManager.default.contents(atPath: file) else {
                throw ConcordError(.invalidArgument, "cannot read \(file)")
            }
            data = contents
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ConcordError(.invalidJSON, "\(file) is not UTF-8 text")
        }
        return text.split(separator: "\n", omittingEmptySubsequences: false)
    }

    private func each<T>(_ lines: [Substring], _ parse: (JSONValue) throws -> T?) throws -> [T] {
        var results: [T] = []
        var progress = ProgressBar("reading", total: lines.count)
        defer { progress.finish() }
        for (index, line) in lines.enumerated() where !line.allSatisfy({ $0 == " " || $0 == "\r" }) {
            if index % 1000 == 0 { progress.update(index) }
            do {
                if let value = try parse(try JSONValue(parsing: String(line))) { results.append(value) }
            } catch let error as ConcordError {
                throw ConcordError(error.code, "\(file) line \(index + 1): \(error.message)")
            }
        }
        return results
    }

    private func parseNew(_ lines: [Substring]) throws -> [EventDraft] {
        let defaultActor = Actor.resolve(actor)
        let now = Timestamp.nowMillis()
        let drafts = try each(lines) { object -> EventDraft? in
            guard case .object(let fields) = object else { throw ConcordError(.invalidJSON, "each line must be a JSON object") }
            let allowed: Set<String> = ["stream", "type", "data", "actor", "occurred_at", "schema_version"]
            if let unknown = fields.keys.sorted().first(where: { !allowed.contains($0) }) {
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
        guard !drafts.isEmpty else { throw ConcordError(.invalidArgument, "\(file) holds no events") }
        return drafts
    }

    private func parseExport(_ lines: [Substring]) throws -> IngestBatch {
        var batch = IngestBatch()
        _ = try each(lines) { object -> Void? in
            switch object["kind"]?.stringValue {
            case "origin": batch.keys.append(try OriginKey(exchange: object))
            case "event": batch.events.append(try Event(exchange: object))
            case "seal": batch.seals.append(try Seal(exchange: object))
            default: throw ConcordError(.invalidJSON, "\"kind\" must be origin, event or seal; is this a concord export? (use --new for new events)")
            }
            return nil
        }
        guard !batch.events.isEmpty else { throw ConcordError(.invalidArgument, "\(file) holds no events") }
        return batch
    }
}
