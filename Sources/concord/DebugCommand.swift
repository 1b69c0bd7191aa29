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

        @Option(name: .long, help: "How many events each writer appends.")
        var count: Int = 1_000_000

        @Option(name: .long, help: "How many threads append at once (their commits are grouped); each writes to STREAM-N when more than one.")
        var writers: Int = 1

        func run() async throws {
            try CommandFailure.reporting {
                guard (1...256).contains(writers) else {
                    throw ConcordError(.invalidArgument, "--writers must be from 1 to 256")
                }
                let store = try storeOptions.openStore()
                let streams = try (1...writers).map { try StreamID(writers == 1 ? stream : "\(stream)-\($0)") }
                let type = try EventType("test.appended")
                let count = max(self.count, 1)
                let failures = FirstFailure()
                let threads = streams.map { stream in
                    Thread {
                        do {
                            for index in 1...count {
                                let draft = try EventDraft(
                                    stream: stream, type: type, data: .object(["n": .number(String(index))]),
                                    actor: "durability-test", occurredAt: Timestamp.nowMillis()
                                )
                                let result = try store.append([draft])
                                let line = "ack \(result.events[0].event.seq)\n"
                                // Unbuffered write: the acknowledgement leaves the process the moment it is printed.
                                FileHandle.standardOutput.write(Data(line.utf8))
                            }
                        } catch {
                            failures.record(error)
                        }
                        failures.finished.signal()
                    }
                }
                threads.forEach { $0.start() }
                for _ in threads { failures.finished.wait() }
                if let error = failures.first { throw error }
            }
        }
    }

    /// The first error of several writer threads, and a semaphore each signals when it ends.
    final class FirstFailure: @unchecked Sendable {
        let finished = DispatchSemaphore(value: 0)
        private let lock = NSLock()
        private var error: (any Error)?

        func record(_ error: any Error) {
            lock.withLock { if self.error == nil { self.error = error } }
        }

        var first: (any Error)? { lock.withLock { error } }
    }
}
