import ArgumentParser
import ConcordCore
import ConcordSQLite
import Foundation
import Logging

struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Build a realistic multi-region record, verify it, and show tampering being caught.",
        discussion: """
            Creates four nodes in DIR (a new temporary directory by default): a national hub holding the network's first meeting (Home Office, London, March 2016: its terms of reference and decisions, and the actions that followed) and three regional nodes holding a few hundred cases between them. Every event is hashed, chained and signed as it is recorded. The demo then shows the log, verifies every node, and finally edits one decision in a copy of the hub's file with plain SQL, as an insider with file access might, and shows verify naming the fault. The stores stay in DIR for you to explore with concord or sqlite3.
            """
    )

    @Option(name: .long, help: ArgumentHelp("Where to create the demo's stores (must not exist, or be empty).", valueName: "dir"))
    var dir: String?

    @Option(name: .long, help: ArgumentHelp("Cases per region.", valueName: "n"))
    var cases: Int = 80

    func run() async throws {
        try await CommandFailure.reportingAsync {
            let directory = try prepareDirectory()
            print("Concord demo: a regional partnership's record, in \(directory)\n")
            var logger = Logger(label: "concord-demo") { StreamLogHandler.standardError(label: $0) }
            logger.logLevel = .warning

            let hubPath = "\(directory)/national-hub.sqlite"
            let hub = try SQLiteEventStore.create(at: hubPath, nodeName: "national-hub", logger: logger)
            let hubCount = try record(DemoScenario.hubRecord(), into: hub)
            print("national-hub         \(hubCount) events: the first national meeting, its decisions and actions")
            for (index, region) in DemoScenario.regions.enumerated() {
                let store = try SQLiteEventStore.create(at: "\(directory)/\(region.node).sqlite", nodeName: region.node, logger: logger)
                let count = try record(DemoScenario.regionRecord(region, cases: cases, seed: UInt64(2016 + index)), into: store)
                print("\(region.node.padding(toLength: 20, withPad: " ", startingAt: 0)) \(count) events: \(cases) cases in \(region.name)")
            }

            section("The hub's log (latest 12 events): concord log --store \(hubPath) --limit 12")
            try await run(LogCommand.self, ["--store", hubPath, "--limit", "12"])

            section("Node status: concord status --store \(hubPath)")
            try await run(StatusCommand.self, ["--store", hubPath])

            section("Every node verifies: concord verify --store FILE")
            for node in ["national-hub"] + DemoScenario.regions.map(\.node) {
                print("\(node): ", terminator: "")
                try await run(VerifyCommand.self, ["--store", "\(directory)/\(node).sqlite"])
            }

            section("An insider edits decision NATN-2016-03-D3 in a copy of the hub's file")
            let tamperedPath = "\(directory)/national-hub-tampered.sqlite"
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
            print("\nDone. Explore: concord log --store \(directory)/west-yorkshire.sqlite | head")
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

    private func record(_ entries: [DemoScenario.Entry], into store: SQLiteEventStore) throws -> Int {
        for entry in entries {
            let draft = try EventDraft(
                stream: StreamID(entry.stream), type: EventType(entry.type), data: entry.data,
                actor: entry.actor, occurredAt: Timestamp.parse(entry.occurredAt)
            )
            try store.append([draft])
        }
        return entries.count
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
