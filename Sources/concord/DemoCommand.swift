import ArgumentParser
import ConcordClient
import ConcordCore
import ConcordDomain
import ConcordProjections
import ConcordRecording
import ConcordSyncProtocol
import Foundation
import Logging

struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Build a realistic multi-region record, verify it, show tampering caught, need to know and erasure.",
        discussion: """
            Creates four nodes in DIR (a new temporary directory by default): a national hub holding the network's first meeting (Home Office, London, March 2016: its terms of reference and decisions, and the actions that followed) and three regional nodes holding a few hundred cases between them, each recorded through the domain's rules and hashed, chained and signed. The hub then serves over HTTP (a real concord serve process on 127.0.0.1) and each region syncs with it, compressed and verified; two regions change one case while apart, and the conflict shows on every node until one of them settles it. The demo then shows the read models as plain SQL, a decision trail, an as-of replay, identical digests on all four nodes, verification, and a copy of a region's file edited with plain SQL, as an insider with file access might, caught by verify. Finally, need to know: the hub shares each region's own cases and every meeting with it, a West Yorkshire case reaches the other two regions only as stubs (headers, no personal data) that they verify, and West Yorkshire then erases it: every node destroys its data, still verifies, and shows the same digest. It ends with the web view: the hub's address and an auditor's read-only token (with --serve the hub goes on serving it), and the record as the hub held it at its first signed checkpoint. The stores stay in DIR for you to explore with concord or sqlite3 (with --hub-store, the hub's in its PostgreSQL database, psql).
            """
    )

    @Option(name: .long, help: ArgumentHelp("Where to create the demo's stores (must not exist, or be empty).", valueName: "dir"))
    var dir: String?

    @Flag(name: .long, help: "At the end, keep the hub serving (sync and the web view) until Ctrl-C.")
    var serve = false

    @Option(name: .long, help: ArgumentHelp("Cases per region.", valueName: "n"))
    var cases: Int = 80

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Keep the national hub in this empty PostgreSQL database instead of a file in DIR.",
            discussion: "postgres://USER@HOST:PORT/DATABASE (password from $PGPASSWORD). The hub's key, which signs its checkpoints and what it records, is written to DIR/national-hub.key; its serve process is given it through $CONCORD_HUB_KEY_FILE. The regions keep their files in DIR.",
            valueName: "url"
        )
    )
    var hubStore: String?

    func validate() throws {
        if let hubStore {
            try StoreOptions.parse(["--store", hubStore]).validateDatabase(named: "--hub-store", otherwise: "without it the hub is a file in DIR")
        }
    }

    func run() async throws {
        try await CommandFailure.reporting {
            let directory = try prepareDirectory()
            var stores: [any RecordingBackend & ReadModelReader] = []
            do {
                try await tell(in: directory, &stores)
            } catch {
                for store in stores { await store.close() }
                throw error
            }
            for store in stores { await store.close() }
        }
    }

    /// The story, told over the stores it makes (each appended to `stores`, which the caller
    /// closes: the hub first, then the regions).
    private func tell(in directory: String, _ stores: inout [any RecordingBackend & ReadModelReader]) async throws {
        print("Concord demo: a regional partnership's record, in \(directory)")
        var logger = Logger(label: "concord-demo") { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = .warning
        func path(_ node: String) -> String { "\(directory)/\(node).sqlite" }
        // Where each node's store is, as --store names it: the hub's file, or its database.
        func location(_ node: String) -> String { node == "national-hub" ? hubStore ?? path(node) : path(node) }
        func options(_ node: String) throws -> StoreOptions { try StoreOptions.parse(["--store", location(node), "--log-level", "warning"]) }
        // A hub in PostgreSQL keeps its key in a file: the demo's, in DIR (every process it
        // starts inherits the variable; a hub in a file keeps its key beside it and ignores it).
        setenv("CONCORD_HUB_KEY_FILE", "\(directory)/national-hub.key", 1)

        section("1. Each node records its own work, offline from the others")
        let hub = try await options("national-hub").createRecordingStore(nodeName: "national-hub")
        stores.append(hub)
        let hubRecord = DemoScenario.hubRecord()
        let completions = hubRecord.suffix(3)
        try await record(Array(hubRecord.dropLast(3)), into: hub)
        // A moment to replay later: the meeting is recorded, no action is finished yet.
        let moment = Timestamp.nowMillis()
        while Timestamp.nowMillis() <= moment {}
        try await record(Array(completions), into: hub)
        _ = try await hub.takeCheckpoint()
        print("national-hub         \(try await hub.eventCount()) events: the first national meeting (Home Office, March 2016), its 4 decisions and 3 actions (in \(try options("national-hub").storeDescription))")
        for (index, region) in DemoScenario.regions.enumerated() {
            let store = try await options(region.node).createRecordingStore(nodeName: region.node)
            stores.append(store)
            try await record(DemoScenario.regionRecord(region, cases: cases, seed: UInt64(2016 + index)), into: store)
            _ = try await store.takeCheckpoint()
            print("\(region.node.padding(toLength: 20, withPad: " ", startingAt: 0)) \(try await store.eventCount()) events: \(cases) cases in \(region.name)")
        }

        section("2. The hub serves over HTTP; each region syncs with it when it comes online")
        let names = ["national-hub"] + DemoScenario.regions.map(\.node)
        var tokens: [String: String] = [:]
        for region in DemoScenario.regions { tokens[region.node] = try await hub.issueToken(peer: region.node, readOnly: false) }
        let server = try HubProcess(store: location("national-hub"), log: "\(directory)/national-hub.serve.log")
        defer { server.stop() }
        print("concord serve --store \(try options("national-hub").storeDescription) --listen 127.0.0.1:0   # \(server.url)\n")
        func syncRound(_ label: String, quiet: Bool = false) async throws {
            for (region, store) in zip(DemoScenario.regions, stores.dropFirst()) {
                let summary = try await SyncClient.withSyncClient(baseURL: server.url, token: tokens[region.node]!) { client in
                    try await SyncDriver(client: client, local: store, peerName: "national-hub", logger: logger).run()
                }
                if !quiet { print("\(label) \(region.node.padding(toLength: 20, withPad: " ", startingAt: 0)) pulled \(summary.pulled), pushed \(summary.pushed)") }
            }
        }
        // Two rounds: the first carries each region's work to the hub, the second carries
        // what later regions sent back out to the earlier ones.
        try await syncRound("sync")
        try await syncRound("sync")
        for (store, name) in zip(stores, names) {
            print("\(name.padding(toLength: 20, withPad: " ", startingAt: 0)) holds \(try await store.eventCount()) events from \(try await store.versionVector().entries.count) origins")
        }

        section("2b. Offline, two regions change the same case; sync shows the conflict everywhere")
        let shared = "GM-2016-0500"
        let officer = { (name: String) in DomainRecorder.Context(actor: name, occurredAt: Timestamp.nowMillis()) }
        let manchester = DomainRecorder(store: stores[2])
        let yorkshire = DomainRecorder(store: stores[1])
        try await manchester.run(.open(title: "Organised labour exploitation across the Pennines", region: "Greater Manchester", category: "labour exploitation", reference: nil), caseID: shared, officer("DI Okafor, Greater Manchester"))
        try await syncRound("sync", quiet: true)
        try await syncRound("sync", quiet: true)
        print("on west-yorkshire:      concord case status \(shared) referred")
        print("on greater-manchester:  concord case status \(shared) charged      (neither has seen the other)")
        try await yorkshire.run(.changeStatus(.referred), caseID: shared, officer("DS Walsh, West Yorkshire"))
        try await manchester.run(.changeStatus(.charged), caseID: shared, officer("DI Okafor, Greater Manchester"))
        try await syncRound("sync", quiet: true)
        try await syncRound("sync", quiet: true)
        print("\nconcord query conflicts   (the same on every node; the case shows the furthest status meanwhile)\n")
        try await run(QueryCommand.self, ["--store", path("west-midlands"), "conflicts"])
        print("\nGreater Manchester, having seen both, settles it: concord case close \(shared) --outcome convicted")
        try await manchester.run(.close(outcome: "convicted"), caseID: shared, officer("DI Okafor, Greater Manchester"))
        try await syncRound("sync", quiet: true)
        try await syncRound("sync", quiet: true)
        var remaining: [String] = []
        for store in stores { remaining.append(try await store.queryReadModels(.live, sql: "SELECT count(*) FROM {schema}.conflicts", []).rows[0][0].description) }
        print("conflicts left on each node after sync: \(remaining.joined(separator: ", "))")

        section("3. The read models are plain SQL tables: cases by region, on the hub")
        let sql = "SELECT region, count(*) AS cases, sum(CASE WHEN status = 'charged' THEN 1 ELSE 0 END) AS charged, sum(CASE WHEN status = 'closed' AND outcome = 'convicted' THEN 1 ELSE 0 END) AS convicted, sum(CASE WHEN status = 'closed' AND outcome <> 'convicted' THEN 1 ELSE 0 END) AS closed_nfa FROM cases GROUP BY region ORDER BY region"
        print("\(try options("national-hub").sqlShellCommand(sql))\n")
        let byRegion = try await hub.queryReadModels(.live, sql: sql.replacingOccurrences(of: "FROM cases", with: "FROM {schema}.cases"), [])
        RowPrinter.print(columns: byRegion.columns, rows: byRegion.rows, json: false, empty: "")

        section("4. The decision trail: concord trail NATN-2016-03-D2")
        try await run(TrailCommand.self, ["--store", location("national-hub"), "NATN-2016-03-D2"])

        section("5. Replay: the actions as the hub had recorded them before any was finished")
        print("concord query actions --as-of \(Timestamp.iso8601(millis: moment))\n")
        try await run(QueryCommand.self, ["--store", location("national-hub"), "actions", "--as-of", Timestamp.iso8601(millis: moment)])
        print("\nand now: concord query actions\n")
        try await run(QueryCommand.self, ["--store", location("national-hub"), "actions"])

        section("6. Every node holds the same events, so every node has the same read models")
        for (store, name) in zip(stores, names) {
            print("\(name.padding(toLength: 20, withPad: " ", startingAt: 0)) digest \(try await store.readModelDigest(.live))")
        }

        section("7. Every node verifies: concord verify")
        for name in ["national-hub"] + DemoScenario.regions.map(\.node) {
            print("\(name): ", terminator: "")
            try await run(VerifyCommand.self, ["--store", location(name)])
        }

        section("8. An insider edits decision NATN-2016-03-D3 in a copy of West Yorkshire's file")
        let tamperedPath = path("west-yorkshire-tampered")
        try InsiderEdit.editedCopy(of: path("west-yorkshire"), to: tamperedPath, [
            "DROP TRIGGER events_refuse_update",
            "UPDATE events SET data = replace(data, 'mandatory', 'optional') WHERE type = 'meeting.decision-recorded' AND data LIKE '%NATN-2016-03-D3%'",
        ])
        print("UPDATE events SET data = replace(data, 'mandatory', 'optional') ... (after dropping the append-only trigger)")
        print("concord verify --store \(tamperedPath)")
        do {
            try await run(VerifyCommand.self, ["--store", tamperedPath])
            print("(verify did not notice: this is a bug)")
            throw ExitCode.failure
        } catch let exit as ExitCode where exit.rawValue == 1 {
            print("\nThe edit is caught: the event's data no longer matches the commitment its hash covers, which the next event and the node's signature commit to.")
        }

        section("9. Need to know: a case kept from the other regions, then erased everywhere")
        for region in DemoScenario.regions {
            for rule in [ShareSelector.kind("meeting"), .region(region.name)] { _ = try await hub.changeSharing(.addRule(peer: region.node, rule)) }
        }
        _ = try await hub.changeSharing(.setDefault(.stubs))
        print("on national-hub:  concord share add REGION kind:meeting region:NAME   (for each region)")
        print("                  concord share default stubs\n")
        let sensitive = "WY-2026-0042"
        let victim = "Victim: Sara Malik, 19, moved to a safe house in Leeds"
        try await yorkshire.run(.open(title: "Forced labour at a car wash", region: "West Yorkshire", category: "labour exploitation", reference: nil), caseID: sensitive, officer("DS Walsh, West Yorkshire"))
        try await yorkshire.run(.note(victim), caseID: sensitive, officer("DS Walsh, West Yorkshire"))
        print("on west-yorkshire: concord case open \(sensitive) …; concord case note \(sensitive) \"\(victim)\"")
        try await syncRound("sync", quiet: true)
        try await syncRound("sync", quiet: true)
        let explanation = try await hub.sharingPolicy(for: "greater-manchester").decide(stream: try StreamID("case:\(sensitive)"))
        print("concord share explain greater-manchester case:\(sensitive)   (on the hub)")
        print("  greater-manchester receives it as stubs: \(explanation.reason)\n")
        // Whether the text is anywhere in the node's file (a database's own files are the
        // server's: docs/postgres.md says how an erasure leaves them).
        func holds(_ node: String, _ text: String) -> String {
            guard FileManager.default.fileExists(atPath: location(node)) else { return "n/a (a database)" }
            return ["", "-wal"].contains { suffix in FileManager.default.contents(atPath: path(node) + suffix)?.range(of: Data(text.utf8)) != nil } ? "yes" : "no"
        }
        for name in names {
            let row = try await stores[names.firstIndex(of: name)!].queryReadModels(.live, sql: "SELECT status, title FROM {schema}.cases WHERE case_id = $1", [.text(sensitive)])
            let shown = row.rows.first.map { "status \($0[0].description), title \($0[1].description)" } ?? "not held"
            print("\(name.padding(toLength: 20, withPad: " ", startingAt: 0)) \(sensitive): \(shown.padding(toLength: 55, withPad: " ", startingAt: 0)) victim's name in its file: \(holds(name, "Sara Malik"))")
        }
        print("\nThe regions without need to know hold only the case's stubs (its headers), and verify them:")
        for name in ["greater-manchester", "west-midlands"] {
            print("\(name): ", terminator: "")
            try await run(VerifyCommand.self, ["--store", location(name)])
        }
        print("\nRetention review: West Yorkshire erases the case (a signed erasure event, part of the record)")
        print("concord erase case:\(sensitive) --reason \"retention review: no further action\"\n")
        try await run(EraseCommand.self, ["--store", path("west-yorkshire"), "--actor", "Data Protection Officer, West Yorkshire", "case:\(sensitive)", "--reason", "retention review: no further action"])
        try await syncRound("sync", quiet: true)
        try await syncRound("sync", quiet: true)
        print("")
        for (store, name) in zip(stores, names) {
            let report = try await LogVerifier.verify(store)
            let row = try await store.queryReadModels(.live, sql: "SELECT title FROM {schema}.cases WHERE case_id = $1", [.text(sensitive)]).rows.first?[0].description ?? "-"
            print("\(name.padding(toLength: 20, withPad: " ", startingAt: 0)) verifies: \(report.isValid ? "yes" : "NO")  title: \(row.padding(toLength: 9, withPad: " ", startingAt: 0)) victim's name in its file: \(holds(name, "Sara Malik"))  digest \(try await store.readModelDigest(.live).prefix(16))…")
        }
        print("\nEvery chain and seal still verifies; the erased text is in no node's file; the digests agree again.")

        section("10. For auditors: the web view, and the record as the hub held it")
        let auditorToken = try await hub.issueToken(peer: "auditor", readOnly: true)
        // The web view shows the whole record: the auditor is given everything.
        _ = try await hub.changeSharing(.addRule(peer: "auditor", .all))
        print("concord token issue auditor --read-only && concord share add auditor all   (on the hub)")
        do {
            let file = try PrivateOutput.create("\(directory)/auditor.token", force: false)
            file.write(Data((auditorToken + "\n").utf8))
            try file.close()
        }
        let origin = try await hub.writingOrigin()
        let checkpoints = try await hub.heldCheckpoints().filter { $0.signer == origin }
        print("The hub signed \(checkpoints.count) checkpoint(s) of what it held; any copy holding them can replay it:")
        if let first = checkpoints.first {
            let at = Timestamp.iso8601(millis: first.takenAt)
            print("concord digest --store \(try options("national-hub").storeDescription) --as-of \(at) --seen-by national-hub")
            print("  \(try await hub.readModelDigest(.seenBy(first.vector, at: first.takenAt)))   (\(first.vector.eventCount) events, before any region synced)")
        }
        let url = serve ? server.url : "http://127.0.0.1:7400"
        if !serve {
            // A hub in a database finds its key through the variable (a file's is beside it).
            let key = "\(directory)/national-hub.key"
            let environment = FileManager.default.fileExists(atPath: key) ? "CONCORD_HUB_KEY_FILE=\(key) " : ""
            print("\n\(environment)concord serve --store \(try options("national-hub").storeDescription) --listen 127.0.0.1:7400")
        }
        print("Web view: \(url)/view")
        print("Auditor's token (read-only; also in \(directory)/auditor.token): \(auditorToken)")
        if serve {
            print("Serving until Ctrl-C.")
            fflush(nil)
            while true { try await Task.sleep(for: .seconds(3600)) }
        }
        print("\nDone. Explore: concord query cases --store \(path("west-yorkshire")) --status charged")
    }

    private func section(_ title: String) {
        print("\n== \(title)\n")
    }

    private func run<C: AsyncParsableCommand>(_ command: C.Type, _ arguments: [String]) async throws {
        var parsed = try C.parse(arguments)
        try await parsed.run()
    }

    private func prepareDirectory() throws -> String {
        let manager = FileManager.default
        if let dir {
            var isDirectory: ObjCBool = false
            if manager.fileExists(atPath: dir, isDirectory: &isDirectory) {
                guard isDirectory.boolValue, (try manager.contentsOfDirectory(atPath: dir)).isEmpty else {
                    throw ConcordError(.invalidArgument, "\(dir) exists and is not an empty directory; choose a new --dir")
                }
            } else {
                try manager.createDirectory(atPath: dir, withIntermediateDirectories: true)
            }
            return dir
        }
        var template = Array(((NSTemporaryDirectory() as NSString).appendingPathComponent("concord-demo-XXXXXX").utf8CString))
        guard let made = mkdtemp(&template) else {
            throw ConcordError(.storage, "cannot create a temporary directory for the demo")
        }
        return String(cString: made)
    }

    private func record(_ entries: [DemoScenario.Entry], into store: any RecordingBackend & ReadModelReader) async throws {
        let recorder = DomainRecorder(store: store)
        for entry in entries {
            let context = DomainRecorder.Context(actor: entry.actor, occurredAt: try Timestamp.parse(entry.occurredAt))
            switch entry.step {
            case .meeting(let id, let command): try await recorder.run(command, meetingID: id, context)
            case .case(let id, let command): try await recorder.run(command, caseID: id, context)
            case .action(let id, let command): try await recorder.run(command, actionID: id, context)
            }
        }
    }
}

/// The hub as a real `concord serve` process on loopback, started from this same binary.
final class HubProcess {
    let url: String
    private let process = Process()

    /// Starts it; what it says on standard error goes to `log` (and, when it does not start, into
    /// the error).
    init(store: String, log: String) throws {
        process.executableURL = URL(fileURLWithPath: "/proc/self/exe")
        process.arguments = ["serve", "--store", store, "--listen", "127.0.0.1:0"]
        let output = Pipe()
        process.standardOutput = output
        guard FileManager.default.createFile(atPath: log, contents: nil), let errors = FileHandle(forWritingAtPath: log) else {
            throw ConcordError(.storage, "cannot create \(log) for the hub's server")
        }
        process.standardError = errors
        try process.run()
        var text = ""
        while !text.contains("\n") {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            text += String(decoding: chunk, as: UTF8.self)
        }
        guard let line = text.split(separator: "\n").first, line.hasPrefix("listening on ") else {
            process.terminate()
            process.waitUntilExit()
            let said = (try? String(contentsOfFile: log, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
            throw ConcordError(.storage, "the hub's server did not start" + (said.isEmpty ? "" : ": \(said.suffix(800))"))
        }
        url = String(line.dropFirst("listening on ".count))
    }

    func stop() {
        guard process.isRunning else { return }
        process.terminate()
        process.waitUntilExit()
    }
}
