import ArgumentParser
import ConcordCore
import ConcordPostgres
import ConcordSQLite
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
        if storeOptions.isPostgres { return try await CommandFailure.reporting { try await hubStatus() } }
        try CommandFailure.reporting {
            let store = try storeOptions.openStore()
            let node = try store.nodeInfo()
            let vector = try store.versionVector()
            let events = try store.eventCount()
            let streams = try store.streamCount()
            let incarnations = try store.incarnations()
            let identity = try store.identityStatus()
            let allForks = try store.forks()
            let forks = allForks.filter(\.proven)
            let claims = allForks.filter { !$0.proven }
            let setAside = try store.setAsideOrigins()
            let trustMode = try store.trustMode()
            let writable: String
            switch identity {
            case .current: writable = "yes, as origin \(node.origin.short)"
            case .willStartNewIncarnation(let reason): writable = "the next write starts a new origin: \(reason)"
            }
            if json {
                var document = JSONObjectWriter()
                document.field("node", node.name)
                document.field("origin", node.origin.hex)
                document.field("store", store.path)
                document.field("events", events)
                document.field("streams", streams)
                var vectorJSON = JSONObjectWriter()
                for entry in vector.sorted { vectorJSON.field(entry.origin.hex, entry.seq) }
                document.field("versionVector", rawJSON: vectorJSON.finish())
                let incarnationJSON = incarnations.map { incarnation -> String in
                    var object = JSONObjectWriter()
                    object.field("origin", incarnation.origin.hex)
                    object.field("startedAt", Timestamp.iso8601(millis: incarnation.startedAt))
                    object.field("reason", incarnation.reason)
                    return object.finish()
                }
                document.field("incarnations", rawJSON: "[" + incarnationJSON.joined(separator: ",") + "]")
                switch identity {
                case .current: document.field("nextWriteStartsNewOrigin", false)
                case .willStartNewIncarnation(let reason):
                    document.field("nextWriteStartsNewOrigin", true)
                    document.field("newOriginReason", reason)
                }
                document.field("durability", storeOptions.durability.rawValue)
                document.field("forks", forks.count)
                document.field("unprovenForkClaims", claims.count)
                let setAsideJSON = setAside.map { entry -> String in
                    var object = JSONObjectWriter()
                    object.field("peer", entry.peer)
                    object.field("origin", entry.origin.hex)
                    object.field("seq", entry.seq)
                    object.field("code", entry.code)
                    object.field("message", entry.message)
                    object.field("at", Timestamp.iso8601(millis: entry.recordedAt))
                    return object.finish()
                }
                document.field("setAside", rawJSON: "[" + setAsideJSON.joined(separator: ",") + "]")
                document.field("trustMode", trustMode.rawValue)
                print(document.finish())
            } else {
                print("node        \(node.name)")
                print("origin      \(node.origin)")
                print("store       \(store.path)")
                print("created     \(Timestamp.iso8601(millis: node.createdAt))")
                print("events      \(events) in \(streams) stream(s)")
                print("writable    \(writable)")
                print("durability  \(storeOptions.durability.rawValue)")
                print("trust       \(trustMode.rawValue)\(trustMode == .strict ? " (only origins on the roster: concord trust list)" : " (any origin whose key matches its id)")")
                print("")
                var table = TextTable("ORIGIN", "HIGHEST SEQ", "")
                let own = Set(incarnations.map(\.origin))
                for entry in vector.sorted {
                    table.add(entry.origin.hex, String(entry.seq), own.contains(entry.origin) ? "(this node)" : "")
                }
                print(vector.entries.isEmpty ? "version vector: empty" : "version vector:\n" + table.render())
                if !forks.isEmpty {
                    print("\nFORK EVIDENCE: \(forks.count) origin seq(s) at which the origin's key signed two different histories (kept with the other history and its seal):")
                    for fork in forks {
                        print("  \(fork.event) offered by \(fork.source) at \(Timestamp.iso8601(millis: fork.detectedAt))")
                    }
                }
                if !claims.isEmpty {
                    print("\nUnproven fork claims kept by an earlier release (no seal: not evidence): \(claims.map { "\($0.event)" }.joined(separator: ", "))")
                }
                if !setAside.isEmpty {
                    print("\nSET ASIDE by the last sync with each peer (their events were not exchanged; the other origins were):")
                    for entry in setAside {
                        print("  \(entry.origin.short) with \(entry.peer) from seq \(entry.seq): \(entry.message) (\(entry.code))")
                    }
                }
                if incarnations.count > 1 {
                    print("\nincarnations:")
                    for incarnation in incarnations {
                        print("  \(incarnation.origin.short)  since \(Timestamp.iso8601(millis: incarnation.startedAt))  \(incarnation.reason)")
                    }
                }
            }
        }
    }

    /// A hub on PostgreSQL: what it holds, whom it serves and what it set aside (it has no origin
    /// of its own there, so nothing about writing).
    private func hubStatus() async throws {
        let location = try storeOptions.postgresLocation
        try await storeOptions.withHub { hub in
            let name = try await hub.nodeName()
            let vector = try await hub.versionVector()
            let events = try await hub.eventCount()
            let forks = try await hub.forkedOrigins()
            let setAside = try await hub.setAsideOrigins()
            let tokens = try await hub.issuedTokens()
            if json {
                var document = JSONObjectWriter()
                document.field("node", name)
                document.field("store", location.description)
                document.field("backend", "postgresql")
                document.field("events", events)
                var vectorJSON = JSONObjectWriter()
                for entry in vector.sorted { vectorJSON.field(entry.origin.hex, entry.seq) }
                document.field("versionVector", rawJSON: vectorJSON.finish())
                document.field("peersWithTokens", tokens.count)
                document.field("forks", forks.count)
                document.field("setAside", strings: setAside.map { "\($0.peer) \($0.refusal.origin):\($0.refusal.seq) \($0.refusal.code)" })
                print(document.finish())
                return
            }
            print("node        \(name) (a hub)")
            print("store       \(location)")
            print("events      \(events)")
            print("peers       \(tokens.count) with a token (concord token list)")
            print("")
            var table = TextTable("ORIGIN", "HIGHEST SEQ")
            for entry in vector.sorted { table.add(entry.origin.hex, String(entry.seq)) }
            print(vector.entries.isEmpty ? "version vector: empty" : "version vector:\n" + table.render())
            if !forks.isEmpty {
                print("\nFORK EVIDENCE for \(forks.count) origin(s): \(forks.map(\.short).joined(separator: ", ")) (concord verify lists them)")
            }
            if !setAside.isEmpty {
                print("\nSET ASIDE by the last sync with each peer:")
                for entry in setAside {
                    print("  \(entry.refusal.origin.short) with \(entry.peer) from seq \(entry.refusal.seq): \(entry.refusal.message) (\(entry.refusal.code))")
                }
            }
        }
    }
}
