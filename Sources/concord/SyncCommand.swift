import ArgumentParser
import ConcordClient
import ConcordCore
import ConcordSQLite
import ConcordSyncProtocol
import Foundation

struct SyncCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sync",
        abstract: "Exchange events with a peer: pull what this node lacks, then push what the peer lacks.",
        discussion: """
            PEER is a URL (with --token) or the name of a peer added with concord peer add. Only the difference travels, in batches, gzip-compressed; events of third origins are relayed too, so syncing with a hub reaches every region. Every batch is verified and applied in one transaction, and the read models are current when sync returns. A second sync with nothing new transfers nothing.

              concord sync http://hub.example:7400 --token concord_…
              concord sync national-hub
              concord sync national-hub --follow     keep syncing as new events arrive
            """
    )

    @OptionGroup var storeOptions: StoreOptions
    @Argument(help: "The peer's URL or name.") var peer: String
    @Option(help: "The token the peer issued to this node (needed with a URL).") var token: String?
    @Flag(help: "Keep going: long-poll the peer for new events and push local ones, until interrupted.") var follow = false
    @Option(help: "both (default), pull or push.") var direction: String = "both"
    @Option(help: ArgumentHelp("For an https peer: trust the certificates in this PEM file (its own or its CA's) instead of the system's roots.", valueName: "file")) var caCert: String?

    func run() async throws {
        try await CommandFailure.reportingAsync {
            guard let mode = SyncSession.Mode(rawValue: direction) else {
                throw ConcordError(.invalidArgument, "--direction takes both, pull or push")
            }
            let store = try storeOptions.openStore()
            let (name, url, token) = try resolvePeer(store)
            try await SyncClient.withSyncClient(baseURL: url, token: token, caCertificatePath: caCert) { client in
            let driver = SyncDriver(client: client, local: SQLiteSyncBackend(store: store), peerName: name, logger: storeOptions.logger)
            var round = 0
            repeat {
                let summary = try await driver.run(mode: mode, waitSeconds: follow && round > 0 ? 25 : 0)
                round += 1
                if !follow || summary.pulled + summary.pushed > 0 || round == 1 {
                    print("Synced with \(name): pulled \(summary.pulled) new event(s), pushed \(summary.pushed), \(summary.alreadyHeld) already held, in \(summary.requests) request(s)")
                    // Flushed even into a pipe, so a script following a --follow sync sees each round as it happens.
                    fflush(nil)
                }
                if (try? store.peers().contains { $0.name == name }) == true {
                    try store.recordSync(peer: name, vector: summary.remoteVector, vectorJSON: SyncWire.encode(summary.remoteVector))
                }
            } while follow && !Task.isCancelled
            }
        }
    }

    private func resolvePeer(_ store: SQLiteEventStore) throws -> (String, String, String) {
        if peer.hasPrefix("http://") || peer.hasPrefix("https://") {
            guard let token else { throw ConcordError(.invalidArgument, "give the token the peer issued: --token TOKEN") }
            return (peer, peer, token)
        }
        guard let known = try store.peers().first(where: { $0.name == peer }) else {
            throw ConcordError(.unknownID, "no peer named \(peer); add it with: concord peer add \(peer) URL --token TOKEN")
        }
        return (known.name, known.url, token ?? known.token)
    }
}

struct TokenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "Issue tokens that let peers sync with this node.",
        subcommands: [Issue.self]
    )

    struct Issue: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Issue a token for a peer; it is printed once, alone on the last line.",
            discussion: "Only a hash of the token is stored. Issuing again for the same peer replaces its token. A --read-only peer may pull but not push."
        )
        @OptionGroup var storeOptions: StoreOptions
        @Argument(help: "A name for the peer, such as west-yorkshire.") var peerName: String
        @Flag(help: "The peer may pull but not push.") var readOnly = false

        func run() async throws {
            try CommandFailure.reporting {
                let token = try storeOptions.openStore().issueToken(peer: peerName, readOnly: readOnly)
                print("Token for peer \(peerName) (\(readOnly ? "read-only: pull" : "pull and push")). It is shown only this once:")
                print(token)
            }
        }
    }
}

struct PeerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "peer",
        abstract: "Name the peers this node syncs with.",
        subcommands: [Add.self, List.self]
    )

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add (or replace) a named peer.", discussion: "The token is kept in the store file (mode 0600) so that concord sync NAME can present it.")
        @OptionGroup var storeOptions: StoreOptions
        @Argument(help: "The peer's name.") var name: String
        @Argument(help: "The peer's URL, such as http://hub.example:7400.") var url: String
        @Option(help: "The token the peer issued to this node.") var token: String

        func run() async throws {
            try CommandFailure.reporting {
                try storeOptions.openStore().addPeer(name: name, url: url, token: token)
                print("Added peer \(name) at \(url)")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List peers, when each last synced, and how far apart the two nodes were then.")
        @OptionGroup var storeOptions: StoreOptions
        @Flag(help: "One JSON object per peer (NDJSON).") var json = false

        func run() async throws {
            try CommandFailure.reporting {
                let store = try storeOptions.openStore()
                let local = try store.versionVector()
                var table = TextTable("PEER", "URL", "LAST SYNC", "IT LACKS", "WE LACK")
                for peer in try store.peers() {
                    let lacks = peer.lastVector.map { remote in local.entries.reduce(UInt64(0)) { $0 + ($1.value > remote[$1.key] ? $1.value - remote[$1.key] : 0) } }
                    let weLack = peer.lastVector.map { remote in remote.entries.reduce(UInt64(0)) { $0 + ($1.value > local[$1.key] ? $1.value - local[$1.key] : 0) } }
                    if json {
                        var object = JSONObjectWriter()
                        object.field("name", peer.name)
                        object.field("url", peer.url)
                        object.field("lastSync", peer.lastSync.map(Timestamp.iso8601(millis:)))
                        if let lacks, let weLack { object.field("peerLacks", lacks); object.field("weLack", weLack) }
                        print(object.finish())
                    } else {
                        table.add(peer.name, peer.url, peer.lastSync.map(Timestamp.iso8601(millis:)) ?? "never", lacks.map(String.init) ?? "?", weLack.map(String.init) ?? "?")
                    }
                }
                if !json { print(table.rows.isEmpty ? "No peers yet; add one with: concord peer add NAME URL --token TOKEN" : table.render()) }
            }
        }
    }
}
