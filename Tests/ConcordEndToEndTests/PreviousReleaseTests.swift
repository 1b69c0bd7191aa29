import ConcordCore
import ConcordTestSupport
import Foundation
import Testing

/// A store and an export made by the release before need-to-know (format-1 events only: the
/// fixtures' README says how they were made) open, verify, take new events and sync with nodes
/// running this code.
struct PreviousReleaseTests {
    let concord: ConcordExecutable
    let directory: TemporaryDirectory
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/previous-release").path

    init() throws {
        concord = try ConcordExecutable.locate()
        directory = try TemporaryDirectory("previous-release")
    }

    @discardableResult
    func ok(_ arguments: [String], _ store: String) throws -> String {
        let result = try concord.run(arguments + ["--store", store], environment: ["CONCORD_ACTOR": "officer"])
        #expect(result.status == 0, "\(arguments): \(result.stderr)")
        return result.stdout
    }

    /// The old store, copied where the test may change it.
    func oldStore() throws -> String {
        let store = directory.file("old.sqlite")
        for suffix in ["", ".key"] {
            try FileManager.default.copyItem(atPath: "\(Self.fixtures)/region.sqlite\(suffix)", toPath: store + suffix)
            chmod(store + suffix, 0o600)
        }
        return store
    }

    func formats(_ store: String) throws -> [String] {
        try ok(["log", "--json"], store).split(separator: "\n").map { line in
            let event = try JSONValue(parsing: String(line))
            let format: String = if case .number(let text)? = event["format"] { text } else { "?" }
            return "\(format) \(event["disclosure"]?.stringValue ?? "?")"
        }
    }

    /// An older release's store opened by a command that reads no read model (status migrates it)
    /// and then verified read-only: its read models were made this release's at that open, so
    /// verify compares them and finds them sound.
    @Test func anOldStoreOpenedByAnyCommandThenVerifiesReadOnly() throws {
        let store = try oldStore()
        try ok(["status"], store)
        #expect(try ok(["verify"], store).hasPrefix("OK: 4 events"))
    }

    @Test func anOldStoreOpensVerifiesAndGoesOnInFormatTwo() throws {
        let store = try oldStore()
        #expect(try ok(["verify"], store).hasPrefix("OK: 4 events"))
        // The read models are rebuilt for this release's projection version; the record is the same.
        #expect(try ok(["query", "cases", "--json"], store).contains("Format one case"))
        try ok(["case", "note", "WY-2016-0001", "A note recorded by this release"], store)
        #expect(try formats(store) == ["1 full", "1 full", "1 full", "1 full", "2 full"])
        #expect(try ok(["verify"], store).hasPrefix("OK: 5 events"))
        // A format-1 event cannot be erased (its hash covers its data): refused, with the reason.
        let origin = try #require(try JSONValue(parsing: String(try ok(["log", "--json"], store).split(separator: "\n")[0]))["origin"]?.stringValue)
        let refused = try concord.run(["erase", "\(origin):2", "--reason", "test", "--store", store])
        #expect(refused.status != 0 && refused.stderr.contains("format 1"), "\(refused.stderr)")
    }

    @Test func anOldExportImportsAndEqualsTheOldStore() throws {
        let fresh = directory.file("fresh.sqlite")
        try ok(["init", "--node", "fresh"], fresh)
        #expect(try ok(["import", "\(Self.fixtures)/region-export.ndjson"], fresh).contains("Imported 4 event(s)"))
        #expect(try ok(["verify"], fresh).hasPrefix("OK: 4 events"))
        let old = try oldStore()
        #expect(try ok(["digest"], fresh) == (try ok(["digest"], old)))
        // Its lines are format 1 still, and an export by this release writes them unchanged,
        // followed by the checkpoint the importing node signed (and its key).
        let again = try { () throws -> String in
            let file = directory.file("again.ndjson")
            try ok(["export", "--out", file], fresh)
            return try String(contentsOfFile: file, encoding: .utf8)
        }()
        #expect(ExportText.eventPart(again) == (try String(contentsOfFile: "\(Self.fixtures)/region-export.ndjson", encoding: .utf8)))
        #expect(ExportText.checkpoints(again).count == 1 && again.hasSuffix("}\n"))
    }

    @Test func anOldStoreServesAndSyncsWithANewNodeWhoseRulesCannotWithholdFormatOne() throws {
        let old = try oldStore()
        // The old store, now a hub that withholds from peers without rules: format-1 events go whole still.
        try ok(["share", "default", "stubs"], old)
        let token = String(try ok(["token", "issue", "new-region"], old).split(separator: "\n").last ?? "")
        let server = try ServerProcess(concord, store: old)
        defer { server.stop() }
        let region = directory.file("new-region.sqlite")
        try ok(["init", "--node", "new-region"], region)
        try ok(["peer", "add", "hub", server.url, "--token", token], region)
        try ok(["case", "open", "NR-1", "--title", "Recorded by the new release", "--region", "North"], region)
        try ok(["sync", "hub"], region)
        #expect(try ok(["query", "cases", "--json"], region).contains("Format one case"))
        #expect(try formats(region).filter { $0.hasPrefix("1") } == ["1 full", "1 full", "1 full", "1 full"])
        for store in [old, region] { #expect(try ok(["verify"], store).hasPrefix("OK: 5 events"), "\(store)") }
        // The old hub holds the new region's event whole: the region's default is full.
        #expect(try ok(["query", "cases", "--json"], old).contains("Recorded by the new release"))
    }
}
