import ArgumentParser
import ConcordCore
import ConcordSyncProtocol
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

        @Option(name: .long, help: "How many events each writer appends.")
        var count: Int = 1_000_000

        @Option(name: .long, help: "How many writers (tasks) append at once (their commits are grouped); each writes to STREAM-N when more than one.")
        var writers: Int = 1

        @Option(name: .long, help: "Written into each event's data beside its number, so a test can tell each append apart (and find one stored twice).")
        var marker: String = ""

        func run() async throws {
            try await CommandFailure.reporting {
                guard (1...256).contains(writers) else {
                    throw ConcordError(.invalidArgument, "--writers must be from 1 to 256")
                }
                let streams = try (1...writers).map { try StreamID(writers == 1 ? stream : "\(stream)-\($0)") }
                try await storeOptions.withRecordingStore { store in try await appendConcurrently(to: store, streams: streams) }
            }
        }

        /// Each writer is a task: while one commit runs, the others' appends queue and are
        /// committed together (a file's group commit), without a thread blocked per writer.
        private func appendConcurrently(to store: any RecordingBackend, streams: [StreamID]) async throws {
            let count = max(self.count, 1)
            let type = try EventType("test.appended")
            let marker = self.marker
            try await withThrowingTaskGroup(of: Void.self) { group in
                for stream in streams {
                    group.addTask {
                        for index in 1...count {
                            let draft = try EventDraft(
                                stream: stream, type: type, data: .object(["n": .number(String(index)), "marker": .string(marker)]),
                                actor: "durability-test", occurredAt: Timestamp.nowMillis()
                            )
                            let result = try await store.append([draft], expecting: [:])
                            let line = "ack \(result.events[0].event.seq)\n"
                            // Unbuffered write: the acknowledgement leaves the process the moment it is printed.
                            FileHandle.standardOutput.write(Data(line.utf8))
                        }
                    }
                }
                try await group.waitForAll()
            }
        }
    }
}
