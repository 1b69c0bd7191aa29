import ArgumentParser
import ConcordCore
import ConcordSyncProtocol

struct TrustCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trust",
        abstract: "Decide which origins this node accepts events from.",
        discussion: """
            Every node writes as an origin whose id is the hash of its public key (concord status shows a node's own). A key is therefore pinned to its origin: an event claiming an origin but signed by another key is always refused.

            first-sight (the default): events of any origin whose key matches its id are accepted, from any peer or import.
            strict: only origins on this node's roster, and this node's own, are accepted. An import carrying any other origin is refused whole (exit 77); in a sync, pushed or pulled, that origin is set aside as untrusted-origin and the others are stored (sync exits 76). Either way the origin is named, so an operator can add it. On a PostgreSQL hub, which records nothing of its own, only the roster's origins are accepted.

              concord trust add 3f9a0c…e1 --label west-yorkshire
              concord trust mode strict
              concord trust list
            """,
        subcommands: [Add.self, Remove.self, List.self, Mode.self]
    )

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Put an origin on the roster (or relabel it).")
        @OptionGroup var storeOptions: StoreOptions
        @Argument(help: "The origin id: 32 hex digits, as concord status prints on that node.") var origin: String
        @Option(help: "Whose node this is, such as west-yorkshire.") var label: String

        func run() async throws {
            try await CommandFailure.reporting {
                let id = try OriginID(hex: origin)
                try await storeOptions.withHub { try await $0.trust(id, label: label) }
                print("Trusted origin \(id) (\(label))")
            }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Take an origin off the roster.",
            discussion: "Events of that origin already held stay (the log is append-only); in strict mode new ones are refused."
        )
        @OptionGroup var storeOptions: StoreOptions
        @Argument(help: "The origin id.") var origin: String

        func run() async throws {
            try await CommandFailure.reporting {
                let id = try OriginID(hex: origin)
                guard try await storeOptions.withHub({ try await $0.distrust(id) }) else {
                    throw ConcordError(.unknownID, "origin \(id) is not on the roster (concord trust list shows it)")
                }
                print("Removed origin \(id) from the roster")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show the trust mode, the roster, and held origins that are not on it.")
        @OptionGroup var storeOptions: StoreOptions
        @Flag(help: "One JSON object per origin (NDJSON).") var json = false

        func run() async throws {
            try await CommandFailure.reporting {
                let (mode, roster, own, held) = try await storeOptions.withHub { store in
                    (try await store.trustMode(), try await store.trustedOrigins(), Set(try await store.ownOrigins()), try await store.versionVector().sorted.map(\.origin))
                }
                let rostered = Set(roster.map(\.origin))
                let unlisted = held.filter { !rostered.contains($0) && !own.contains($0) }
                if json {
                    for entry in roster {
                        var object = JSONObjectWriter()
                        object.field("origin", entry.origin.hex)
                        object.field("label", entry.label)
                        object.field("onRoster", true)
                        object.field("addedAt", Timestamp.iso8601(millis: entry.addedAt))
                        print(object.finish())
                    }
                    for origin in unlisted {
                        var object = JSONObjectWriter()
                        object.field("origin", origin.hex)
                        object.field("onRoster", false)
                        print(object.finish())
                    }
                    return
                }
                print("trust mode  \(mode.rawValue)")
                var table = TextTable("ORIGIN", "LABEL", "ADDED")
                for entry in roster { table.add(entry.origin.hex, entry.label, Timestamp.iso8601(millis: entry.addedAt)) }
                print(roster.isEmpty ? "roster: empty" : "roster:\n" + table.render())
                if !unlisted.isEmpty {
                    print("held, not on the roster\(mode == .strict ? " (accepted before strict mode; new events refused)" : ""):")
                    for origin in unlisted { print("  \(origin.hex)") }
                }
            }
        }
    }

    struct Mode: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show or set the trust mode: first-sight or strict.")
        @OptionGroup var storeOptions: StoreOptions
        @Argument(help: "first-sight or strict; omit to show the current mode.") var mode: String?

        func run() async throws {
            try await CommandFailure.reporting {
                guard let mode else {
                    print(try await storeOptions.withHub { try await $0.trustMode() }.rawValue)
                    return
                }
                guard let chosen = TrustMode(rawValue: mode) else {
                    throw ConcordError(.invalidArgument, "trust mode '\(mode.prefix(40))' is not one of: first-sight, strict")
                }
                try await storeOptions.withHub { try await $0.setTrustMode(chosen) }
                print("Trust mode: \(chosen.rawValue)")
            }
        }
    }
}
