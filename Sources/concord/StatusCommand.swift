import ArgumentParser
import ConcordCore
import ConcordSyncProtocol

struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show the node, its origin, what it holds and whether it may write.",
        discussion: """
            The version vector lists, for every origin this node holds events of, the highest seq it holds: what a peer compares to find what it is missing. If the store file was copied or restored, or its key file is missing, status says so: the next write will start a new origin rather than reuse the old one's seqs.
            """
    )

    @OptionGroup var storeOptions: StoreOptions

    @Flag(name: .long, help: "Print the status as one JSON document.")
    var json = false

    func run() async throws {
        try await CommandFailure.reporting {
            let status = try await storeOptions.withHub { try await $0.status() }
            if json {
                print(status.json(store: try storeOptions.storeDescription, backend: storeOptions.backendName, durability: storeOptions.durabilitySetting))
            } else {
                try printText(status)
            }
        }
    }

    private func printText(_ status: NodeStatus) throws {
        let own = status.ownOrigin
        print("node        \(status.node)\(own == nil ? " (a hub)" : "")")
        if let own { print("origin      \(own.origin)") }
        print("store       \(try storeOptions.storeDescription)")
        if let own { print("created     \(Timestamp.iso8601(millis: own.createdAt))") }
        print("events      \(status.events) in \(status.streams) stream(s)")
        if let own {
            print("writable    \(own.newOriginReason.map { "the next write starts a new origin: \($0)" } ?? "yes, as origin \(own.origin.short)")")
        }
        if let durability = storeOptions.durabilitySetting { print("durability  \(durability)") }
        print("trust       \(status.trustMode.rawValue)\(status.trustMode == .strict ? " (only origins on the roster: concord trust list)" : " (any origin whose key matches its id)")")
        print("peers       \(status.peersWithTokens) with a token (concord token list)")
        print("")
        var table = TextTable("ORIGIN", "HIGHEST SEQ", "")
        let ownOrigins = Set(own?.incarnations.map(\.origin) ?? [])
        for entry in status.versionVector.sorted {
            table.add(entry.origin.hex, String(entry.seq), ownOrigins.contains(entry.origin) ? "(this node)" : "")
        }
        print(status.versionVector.entries.isEmpty ? "version vector: empty" : "version vector:\n" + table.render())
        if !status.forkedOrigins.isEmpty {
            print("\nFORK EVIDENCE for \(status.forkedOrigins.count) origin(s), whose key signed two different histories: \(status.forkedOrigins.map(\.short).joined(separator: ", ")) (concord verify lists each with the history offered)")
        }
        if status.unprovenForkClaims > 0 {
            print("\n\(status.unprovenForkClaims) fork claim(s) kept that prove nothing: an earlier release's, with no seal, or a proof that no longer holds against this store (concord verify lists them)")
        }
        if !status.setAside.isEmpty {
            print("\nSET ASIDE by the last sync with each peer (their events were not exchanged; the other origins were):")
            for entry in status.setAside {
                print("  \(entry.refusal.origin.short) with \(entry.peer) from seq \(entry.refusal.seq): \(entry.refusal.message) (\(entry.refusal.code))")
            }
        }
        if let incarnations = own?.incarnations, incarnations.count > 1 {
            print("\nincarnations:")
            for incarnation in incarnations {
                print("  \(incarnation.origin.short)  since \(Timestamp.iso8601(millis: incarnation.startedAt))  \(incarnation.reason)")
            }
        }
    }
}
