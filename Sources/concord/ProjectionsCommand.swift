import ArgumentParser
import ConcordCore
import ConcordProjections
import ConcordSQLite

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
            discussion: "Builds new tables beside the live ones and swaps them in, in one transaction: readers see the old tables until the new ones are complete."
        )
        @OptionGroup var storeOptions: StoreOptions

        func run() async throws {
            try await CommandFailure.reporting {
                let started = Timestamp.nowMillis()
                if storeOptions.isPostgres {
                    // The PostgreSQL store reports no progress as it folds.
                    let streams = try await storeOptions.withHub { try await $0.rebuildReadModels() }
                    print("Rebuilt the read models from \(streams) stream(s) in \(Timestamp.nowMillis() - started) ms")
                    return
                }
                let store = try storeOptions.openStore()
                var bar = ProgressBar("rebuilding", total: 1)
                let streams = try store.rebuildProjections { folded, total in
                    if bar.total != total { bar = ProgressBar("rebuilding", total: total) }
                    bar.update(folded)
                }
                bar.finish()
                print("Rebuilt the read models from \(streams) stream(s) in \(Timestamp.nowMillis() - started) ms")
            }
        }
    }
}
