import ArgumentParser
import ConcordClient
import ConcordCore
import ConcordDomain
import ConcordProjections
import ConcordRecording
import ConcordSQLite
import Foundation
import Logging

struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Build a realistic multi-region record, verify it, show tampering caught, need to know and erasure.",
        discussion: """
            Creates four nodes in DIR (a new temporary directory by default): a national hub holding the network's first meeting (Home Office, London, March 2016: its terms of reference and decisions, and the actions that followed) and three regional nodes holding a few hundred cases between them, each recorded through the domain's rules and hashed, chained and signed. The hub then serves over HTTP (a real concord serve process on 127.0.0.1) and each region syncs with it, compressed and verified; two regions change one case while apart, and the conflict shows on every node until one of them settles it. The demo then shows the read models as plain SQL, a decision trail, an as-of replay, identical digests on all four nodes, verification, and a copy of the hub's file edited with plain SQL, as an insider with file access might, caught by verify. Finally, need to know: the hub shares each region's own cases and every meeting with it, a West Yorkshire case reaches the other two regions only as stubs (headers, no personal data) that they verify, and West Yorkshire then erases it: every node destroys its data, still verifies, and shows the same digest. It ends with the web view: the hub's address and an auditor's read-only token (with --serve the hub goes on serving it), and the record as the hub held it at its first signed checkpoint. The stores stay in DIR for you to explore with concord or sqlite3.
            """
    )

    @Option(name: .long, help: ArgumentHelp("Where to create the demo's stores (must not exist, or be empty).", valueName: "dir"))
    var dir: String?

    @Flag(name: .long, help: "At the end, keep the hub serving (sync and the web view) until Ctrl-C.")
    var serve = false

    @Option(name: .long, help: ArgumentHelp("Cases per region.", valueName: "n"))
    var cases: Int = 80

    func run() async throws {
        try await CommandFailure.reportingAsync {
            let directory = try prepareDirectory()
            print("Concord demo: a regional partnership's record, in \(directory)")
            var logger = Logger(label: "concord-demo") { StreamLogHandler.standardError(label: $0) }
            logger.logLevel = .warning
            func path(_ node: String) -> String { "\(directory)/\(node).sqlite" }

            section("1. Each node records its own work, offline from the others")
            let hub = try SQLiteEventStore.create(at: path("national-hub"), nodeName: "national-hub", logger: logger)
            let hubRecord = DemoScenario.hubRecord()
            let completions = hubRecord.suffix(3)
            try await record(Array(hubRecord.dropLast(3)), into: hub)
            // A moment to replay later: the meeting is recorded, no action is finished yet.
            let moment = Timestamp.nowMillis()
            while Timestamp.nowMillis() <= moment {}
            try await record(Array(completions), into: hub)
            try hub.takeCheckpoint()
            print("national-hub         \(try hub.eventCount()) events: the first national meeting (Home Office, March 2016), its 4 decisions and 3 actions")
            var stores = [hub]
            for (index, region) in DemoScenario.regions.enumerated() {
                let store = try SQLiteEventStore.create(at: path(region.node), nodeName: region.node, logger: logger)
                try await record(DemoScenario.regionRecord(region, cases: cases, seed: UInt64(2016 + index)), into: store)
                try store.takeCheckpoint()
                print("\(region.node.padding(toLength: 20, withPad: " ", startingAt: 0)) \(try store.eventCount()) events: \(cases) cases in \(region.name)")
                stores.append(store)
            }

            section("2. The hub serves over HTTP; each region syncs with it when it comes online")
            let names = ["national-hub"] + DemoScenario.regions.map(\.node)
            var tokens: [String: String] = [:]
            for region in DemoScenario.regions { tokens[region.node] = try hub.issueToken(peer: region.node, readOnly: false) }
            let server = try HubProcess(store: path("national-hub"))
            defer { server.stop() }
            print("concord serve --store \(path("national-hub")) --listen 127.0.0.1:0   # \(server.url)\n")
            func syncRound(_ label: String, quiet: Bool = false) async throws {
                for (region, store) in zip(DemoScenario.regions, stores.dropFirst()) {
                    let summary = try await SyncClient.withSyncClient(baseURL: server.url, token: tokens[region.node]!) { client in
                        try await SyncDriver(client: client, local: SQLiteSyncBackend(store: store), peerName: "national-hub", logger: logger).run()
                    }
                    if !quiet { print("\(label) \(region.node.padding(toLength: 20, withPad: " ", startingAt: 0)) pulled \(summary.pulled), pushed \(summary.pushed)") }
                }
            }
            // Two rounds: the first carries each region's work to the hub, the second carries
            // what later regions sent back out to the earlier ones.
            try await syncRound("sync")
            try await syncRound("sync")
            for (store, name) in zip(stores, names) {
                print("\(name.padding(toLength: 20, withPad: " ", startingAt: 0)) holds \(try store.eventCount()) events from \(try store.versionVector().entries.count) origins")
            }

            section("2b. Offline, two regions change the same case; sync shows the conflict everywhere")
            let shared = "GM-2016-0500"
            let officer = { (name: String) in DomainRecorder.Context(actor: name, occurredAt: Timestamp.nowMillis()) }
            let manchester = DomainRecorder(store: SQLiteSyncBackend(store: stores[2]))
            let yorkshire = DomainRecorder(store: SQLiteSyncBackend(store: stores[1]))
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
            let remaining = try stores.map { try $0.queryReadModels(.live, sql: "SELECT count(*) FROM {schema}.conflicts", []).rows[0][0].description }
            print("conflicts left on each node after sync: \(remaining.joined(separator: ", "))")

            section("3. The read models are plain SQL tables: cases by region, on the hub")
            let sql = "SELECT region, count(*) AS cases, sum(status = 'charged') AS charged, sum(status = 'closed' AND outcome = 'convicted') AS convicted, sum(status = 'closed' AND outcome <> 'convicted') AS closed_nfa FROM cases GROUP BY region ORDER BY region"
            print("sqlite3 \(path("national-hub")) \"\(sql)\"\n")
            let byRegion = try hub.queryReadModels(.live, sql: sql.replacingOccurrences(of: "FROM cases", with: "FROM {schema}.cases"), [])
            RowPrinter.print(columns: byRegion.columns, rows: byRegion.rows, json: false, empty: "")

            section("4. The decision trail: concord trail NATN-2016-03-D2")
            try await run(TrailCommand.self, ["--store", path("national-hub"), "NATN-2016-03-D2"])

            section("5. Replay: the actions as the hub had recorded them before any was finished")
            print("concord query actions --as-of \(Timestamp.iso8601(millis: moment))\n")
            try await run(QueryCommand.self, ["--store", path("national-hub"), "actions", "--as-of", Timestamp.iso8601(millis: moment)])
            print("\nand now: concord query actions\n")
            try await run(QueryCommand.self, ["--store", path("national-hub"), "actions"])

            section("6. Every node holds the same events, so every node has the same read models")
            for (store, name) in zip(stores, names) {
                print("\(name.padding(toLength: 20, withPad: " ", startingAt: 0)) digest \(try store.readModelDigest(.live))")
            }

            section("7. Every node verifies: concord verify")
            for name in ["national-hub"] + DemoScenario.regions.map(\.node) {
                print("\(name): ", terminator: "")
                try await run(VerifyCommand.self, ["--store", path(name)])
            }

            section("8. An insider edits decision NATN-2016-03-D3 in a copy of the hub's file")
            let tamperedPath = path("national-hub-tampered")
            try hub.backup(to: tamperedPath)
            try tamper(tamperedPath)
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
                for rule in [ShareSelector.kind("meeting"), .region(region.name)] { try hub.addShareRule(peer: region.node, rule) }
            }
            try hub.setShareDefault(.stubs)
            print("on national-hub:  concord share add REGION kind:meeting region:NAME   (for each region)")
            print("                  concord share default stubs\n")
            let sensitive = "WY-2026-0042"
            let victim = "Victim: Sara Malik, 19, moved to a safe house in Leeds"
            try await yorkshire.run(.open(title: "Forced labour at a car wash", region: "West Yorkshire", category: "labour exploitation", reference: nil), caseID: sensitive, officer("DS Walsh, West Yorkshire"))
            try await yorkshire.run(.note(victim), caseID: sensitive, officer("DS Walsh, West Yorkshire"))
            print("on west-yorkshire: concord case open \(sensitive) …; concord case note \(sensitive) \"\(victim)\"")
            try await syncRound("sync", quiet: true)
            try await syncRound("sync", quiet: true)
            let explanation = try hub.sharingPolicy(for: "greater-manchester").decide(stream: try StreamID("case:\(sensitive)"))
            print("concord share explain greater-manchester case:\(sensitive)   (on the hub)")
            print("  greater-manchester receives it as stubs: \(explanation.reason)\n")
            func holds(_ node: String, _ text: String) -> Bool {
                ["", "-wal"].contains { suffix in FileManager.default.contents(atPath: path(node) + suffix)?.range(of: Data(text.utf8)) != nil }
            }
            for name in names {
                let row = try stores[names.firstIndex(of: name)!].queryReadModels(.live, sql: "SELECT status, title FROM {schema}.cases WHERE case_id = ?", [.text(sensitive)])
                let shown = row.rows.first.map { "status \($0[0].description), title \($0[1].description)" } ?? "not held"
                print("\(name.padding(toLength: 20, withPad: " ", startingAt: 0)) \(sensitive): \(shown.padding(toLength: 55, withPad: " ", startingAt: 0)) victim's name in its file: \(holds(name, "Sara Malik") ? "yes" : "no")")
            }
            print("\nThe regions without need to know hold only the case's stubs (its headers), and verify them:")
            for name in ["greater-manchester", "west-midlands"] {
                print("\(name): ", terminator: "")
                try await run(VerifyCommand.self, ["--store", path(name)])
            }
            print("\nRetention review: West Yorkshire erases the case (a signed erasure event, part of the record)")
            print("concord erase case:\(sensitive) --reason \"retention review: no further action\"\n")
            try await run(EraseCommand.self, ["--store", path("west-yorkshire"), "--actor", "Data Protection Officer, West Yorkshire", "case:\(sensitive)", "--reason", "retention review: no further action"])
            try await syncRound("sync", quiet: true)
            try await syncRound("sync", quiet: true)
            print("")
            for (store, name) in zip(stores, names) {
                let report = try LogVerifier.verify(store)
                let row = try store.queryReadModels(.live, sql: "SELECT title FROM {schema}.cases WHERE case_id = ?", [.text(sensitive)]).rows.first?[0].description ?? "-"
                print("\(name.padding(toLength: 20, withPad: " ", startingAt: 0)) verifies: \(report.isValid ? "yes" : "NO")  title: \(row.padding(toLength: 9, withPad: " ", startingAt: 0)) victim's name in its file: \(holds(name, "Sara Malik") ? "yes" : "no")  digest \(try store.readModelDigest(.live).prefix(16))…")
            }
            print("\nEvery chain and seal still verifies; the erased text is in no node's file; the digests agree again.")

            section("8. For auditors: the web view, and the record as the hub held it")
            let auditorToken = try hub.issueToken(peer: "auditor", readOnly: true)
            // The web view shows the whole record: the auditor is given everything.
            try hub.addShareRule(peer: "auditor", .all)
            print("concord token issue auditor --read-only && concord share add auditor all   (on the hub)")
            do {
                let file = try PrivateOutput.create("\(directory)/auditor.token", force: false)
                file.write(Data((auditorToken + "\n").utf8))
                try file.close()
            }
            let checkpoints = try hub.checkpoints(signedBy: try hub.origin)
            print("The hub signed \(checkpoints.count) checkpoint(s) of what it held; any copy holding them can replay it:")
            if let first = checkpoints.first {
                let at = Timestamp.iso8601(millis: first.takenAt)
                print("concord digest --store \(path("national-hub")) --as-of \(at) --seen-by national-hub")
                print("  \(try hub.readModelDigest(.seenBy(first.vector, at: first.takenAt)))   (\(first.vector.eventCount) events, before any region synced)")
            }
            let url = serve ? server.url : "http://127.0.0.1:7400"
            if !serve { print("\nconcord serve --store \(path("national-hub")) --listen 127.0.0.1:7400") }
            print("Web view: \(url)/view")
            print("Auditor's token (read-only; also in \(directory)/auditor.token): \(auditorToken)")
            if serve {
                print("Serving until Ctrl-C.")
                fflush(nil)
                while true { try await Task.sleep(for: .seconds(3600)) }
            }
            print("\nDone. Explore: concord query cases --store \(path("west-yorkshire")) --status charged")
        }
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

    private func record(_ entries: [DemoScenario.Entry], into store: SQLiteEventStore) async throws {
        let recorder = DomainRecorder(store: SQLiteSyncBackend(store: store))
        for entry in entries {
            let context = DomainRecorder.Context(actor: entry.actor, occurredAt: try Timestamp.parse(entry.occurredAt))
            switch entry.step {
            case .meeting(let id, let command): try await recorder.run(command, meetingID: id, context)
            case .case(let id, let command): try await recorder.run(command, caseID: id, context)
            case .action(let id, let command): try await recorder.run(command, actionID: id, context)
            }
        }
    }

    /// What an insider with write access to the file could do: drop the guard and edit a row.
    private func tamper(_ path: String) throws {
        let connection = try SQLiteConnection(path: path, flags: [.readWrite])
        try connection.execute("DROP TRIGGER events_refuse_update")
        try connection.execute("UPDATE events SET data = replace(data, 'mandatory', 'optional') WHERE type = 'meeting.decision-recorded' AND data LIKE '%NATN-2016-03-D3%'")
    }
}

extension CommandFailure {
    static func reportingAsync(_ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch let error as ConcordError {
            printError(error.message)
            throw ExitCode(exitCode(for: error.code))
        } catch let error as SQLiteError {
            printError(error.description)
            throw ExitCode(74)
        }
    }
}

/// The hub as a real `concord serve` process on loopback, started from this same binary.
final class HubProcess {
    let url: String
    private let process = Process()

    init(store: String) throws {
        process.executableURL = URL(fileURLWithPath: "/proc/self/exe")
        process.arguments = ["serve", "--store", store, "--listen", "127.0.0.1:0"]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        var text = ""
        while !text.contains("\n") {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            text += String(decoding: chunk, as: UTF8.self)
        }
        guard let line = text.split(separator: "\n").first, line.hasPrefix("listening on ") else {
            process.terminate()
            throw ConcordError(.storage, "the hub's server did not start")
        }
        url = String(line.dropFirst("listening on ".count))
    }

    func stop() {
        guard process.isRunning else { return }
        process.terminate()
        process.waitUntilExit()
    }
}
