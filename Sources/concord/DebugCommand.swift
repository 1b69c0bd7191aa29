import ArgumentParser
import ConcordCore
import ConcordSQLite
import Foundation

/// Tools for Concord's own test harnesses; hidden from help.
struct DebugCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "debug",
        abstract: "Tools for Concord's own crash and durability tests.",
        shouldDisplay: false,
        subcommands: [AppendLoop.self]
    )

    /// Appends one event per commit and prints `ack SEQ` only after each commit has returned, so a
    /// test that kills the process knows exactly which appends were acknowledged.
    struct AppendLoop: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "append-loop",
            abstract: "Append COUNT events, one per commit, printing 'ack SEQ' after each commit."
        )

        @OptionGroup var storeOptions: StoreOptions

        @Option(name: .long, help: "The stream to append to.")
        var stream: String = "test:durability"

        @Option(name: .long, help: "How many events to append.")
        var count: Int = 1_000_000

        func run() async throws {
            try CommandFailure.reporting {
                let store = try storeOptions.openStore()
                let stream = try StreamID(stream)
                let type = try EventType("test.appended")
                for index in 1...max(count, 1) {
                    let draft = try EventDraft(
                        stream: stream, type: type, data: .object(["n": .number(String(index))]),
                        actor: "durability-test", occurredAt: Timestamp.nowMillis()
                    )
                    let result = try store.append([draft])
                    let line = "ack \(result.events[0].event.seq)\n"
                    // Unbuffered write: the acknowledgement leaves the process the moment it is printed.
                    FileHandle.standardOutput.write(Data(line.utf8))
                }
            }
        }
    }
}
