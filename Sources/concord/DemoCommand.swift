import ArgumentParser
import ConcordCore
import ConcordProjections
import ConcordSQLite
import Foundation
import Logging

struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Build a realistic multi-region record, verify it, and show tampering being caught.",
        discussion: """
            Creates four nodes in DIR (a new temporary directory by default): a national hub holding the network's first meeting (Home Office, London, March 2016: its terms of reference and decisions, and the actions that followed) and three regional nodes holding a few hundred cases between them, each recorded through the domain's rules and hashed, chained and signed. The regions then exchange their records through the hub (verified export and import), and the demo shows the read models as plain SQL, a decision trail, an as-of replay, identical digests on all four nodes, verification, and finally a copy of the hub's file edited with plain SQL, as an insider with file access might, caught by verify. The stores stay in DIR for you to explore with concord or sqlite3.
            """
    )

    @Option(name: .long, help: ArgumentHelp("Where to create the demo's stores (must not exist, or be empty).", valueName: "dir"))
    var dir: String?

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
            try record(Array(hubRecord.dropLast(3)), into: hub)
            // A moment to replay later: the meeting is recorded, no action is finished yet.
            let moment = Timestamp.nowMillis()
            while Timestamp.nowMillis() <= moment {}
            try record(Array(completions), into: hub)
            print("national-hub         \(try hub.eventCount()) events: the first national meeting (Home Office, March 2016), its 4 decisions and 3 actions")
            var stores = [hub]
            for (index, region) in DemoScenario.regions.enumerated() {
                let store = try SQLiteEventStore.create(at: path(region.node), nodeName: region.node, logger: logger)
                try record(DemoScenario.regionRecord(region, cases: cases, seed: UInt64(2016 + index)), into: store)
                print("\(region.node.padding(toLength: 20, withPad: " ", startingAt: 0)) \(try store.eventCount()) events: \(cases) cases in \(region.name)")
                stores.append(store)
            }

            section("2. The regions send their records to the hub, and the hub relays everything back")
            print("(concord export, then concord import on the other node: every event is verified before it is stored)")
            for store in stores.dropFirst() { try exchange(from: store, to: hub) }
            for store in stores.dropFirst() { try exchange(from: hub, to: store) }
            for (store, name) in zip(stores, ["national-hub"] + DemoScenario.regions.map(\.node)) {
                print("\(name.padding(toLength: 20, withPad: " ", startingAt: 0)) now holds \(try store.eventCount()) events from \(try store.versionVector().entries.count) origins")
            }

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
            for (store, name) in zip(stores, ["national-hub"] + DemoScenario.regions.map(\.node)) {
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
                print("\nThe edit is caught: the event no longer matches its hash, which the next event and the node's signature commit to.")
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

    private func record(_ entries: [DemoScenario.Entry], into store: SQLiteEventStore) throws {
        let recorder = DomainRecorder(store: store)
        for entry in entries {
            let context = DomainRecorder<SQLiteEventStore>.Context(actor: entry.actor, occurredAt: try Timestamp.parse(entry.occurredAt))
            switch entry.step {
            case .meeting(let id, let command): try recorder.run(command, meetingID: id, context)
            case .case(let id, let command): try recorder.run(command, caseID: id, context)
            case .action(let id, let command): try recorder.run(command, actionID: id, context)
            }
        }
    }

    /// What concord export and concord import do, in process.
    private func exchange(from source: SQLiteEventStore, to target: SQLiteEventStore) throws {
        try source.exportBatches { batch in try target.ingest(batch) }
        try target.catchUpProjections()
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
