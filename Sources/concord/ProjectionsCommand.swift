import ArgumentParser
import ConcordCore
import ConcordProjections
import Synchronization

struct ProjectionsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "projections",
        abstract: "See where the read models stand, or rebuild them from the log.",
        subcommands: [Status.self, Rebuild.self]
    )

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show the read models' version and position against the log.")
        @OptionGroup var storeOptions: StoreOptions

        func run() async throws {
            try await CommandFailure.reporting {
                let status = try await storeOptions.withHub { try await $0.projectionStatus() }
                print("version   \(status.version.map(String.init) ?? "none") (this build: \(status.currentVersion))")
                print("position  \(status.position) of \(status.logPosition)")
                if let rebuilt = status.rebuiltAt { print("rebuilt   \(Timestamp.iso8601(millis: rebuilt))") }
                print("state     \(status.isCurrent ? "current" : "behind: the next read or write catches up (or run concord projections rebuild)")")
            }
        }
    }

    struct Rebuild: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Rebuild every read model from the log.",
            discussion: "Folds every stream again, in one transaction: on a store file into new tables swapped in at the end, on PostgreSQL into the same tables emptied first. Readers see the old read models until the new ones are complete."
        )
        @OptionGroup var storeOptions: StoreOptions

        func run() async throws {
            try await CommandFailure.reporting {
                let started = Timestamp.nowMillis()
                let shown = ShownProgress()
                let streams = try await storeOptions.withHub { hub in
                    try await hub.rebuildReadModels { folded, total in
                        shown.bar.withLock { bar in
                            if bar.total != total { bar = ProgressBar("rebuilding", total: total) }
                            bar.update(folded)
                        }
                    }
                }
                shown.bar.withLock { $0.finish() }
                print("Rebuilt the read models from \(streams) stream(s) in \(Timestamp.nowMillis() - started) ms")
            }
        }
    }
}

/// A progress bar told from whichever thread folds.
final class ShownProgress: Sendable {
    let bar = Mutex(ProgressBar("rebuilding", total: 1))
}
