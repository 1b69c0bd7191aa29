import ArgumentParser
import ConcordClient
import ConcordCore
import ConcordSyncProtocol
import Foundation

struct SyncCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sync",
        abstract: "Exchange events with a peer: pull what this node lacks, then push what the peer lacks.",
        discussion: """
            PEER is the name of a peer added with concord peer add, or a URL with its token (--token-file FILE, or $CONCORD_PEER_TOKEN). Only the difference travels, in batches, compressed; events of third origins are relayed too, so syncing with a hub reaches every region. Every batch is verified origin by origin and stored in one transaction, and the read models are current when sync returns. A second sync with nothing new transfers nothing.

            An origin whose events either side refuses (a fork: its key signed two histories; events that do not verify; a clock too far ahead) is set aside: it is named on standard error, recorded for concord status, and every other origin goes on syncing. A fork is kept as evidence on both sides.

              concord sync national-hub
              concord sync http://hub.example:7400 --token-file hub.token
              concord sync national-hub --follow     keep syncing both ways as events are recorded

            Exit codes: 0 in sync; 70 a fork was found (evidence kept, the origin set aside); 76 another origin was set aside; 69 the peer could not be reached or refused the request.
            """
    )

    @OptionGroup var storeOptions: StoreOptions
    @Argument(help: "The peer's name, or its URL.") var peer: String
    @OptionGroup var tokenOptions: TokenOptions
    @Flag(help: "Keep going until interrupted: pull new events as the peer records them (a long poll it answers at once) and push this node's as they are recorded here, by any process. A failed round (the peer down, the network cut) is tried again after a pause growing to 30 s; only a refused token ends it.") var follow = false
    @Option(help: "both (default), pull or push.") var direction: SyncSession.Mode = .pullThenPush
    @Option(help: ArgumentHelp("For an https peer: trust the certificates in this PEM file (its own or its CA's) instead of the system's roots.", valueName: "file")) var caCert: String?

    func run() async throws {
        try await CommandFailure.reporting {
            try await storeOptions.withSyncingStore { store in try await sync(store) }
        }
    }

    private func sync(_ store: any SyncingBackend) async throws {
        let known = try await store.knownPeers()
        let (name, url, token) = try resolvePeer(known)
        let mode = direction
        let logger = storeOptions.logger
        let named = known.contains { $0.name == name }
        let worst = SetAsideTally()
        try await SyncClient.withSyncClient(baseURL: url, token: token, caCertificatePath: caCert) { client in
            let driver = SyncDriver(client: client, local: store, peerName: name, logger: logger)
            let report: @Sendable (SyncSession.Summary, Bool) async -> Void = { summary, always in
                if always || summary.pulled + summary.pushed + summary.openingsReceived + summary.openingsSent > 0 || !summary.setAside.isEmpty {
                    print("Synced with \(name): pulled \(summary.pulled) new event(s), pushed \(summary.pushed), \(summary.alreadyHeld) already held, in \(summary.requests) request(s)")
                    if summary.openingsReceived + summary.openingsSent > 0 {
                        print("  openings of stubs: \(summary.openingsReceived) received, \(summary.openingsSent) sent")
                    }
                    // Flushed even into a pipe, so a script following a --follow sync sees each round as it happens.
                    fflush(nil)
                }
                for refusal in summary.setAside {
                    CommandFailure.printError("set aside origin \(refusal.origin) from seq \(refusal.seq): \(refusal.message) (\(refusal.code))")
                }
                // Across a following sync's rounds: an origin set aside stays listed.
                let setAside = worst.add(summary.setAside)
                // What this node holds after each round, signed (docs/audit.md).
                if always || summary.pulled + summary.openingsReceived > 0 {
                    do { try await store.signCheckpoint() } catch {
                        CommandFailure.printError("the sync stored what it received, but no checkpoint could be signed: \((error as? ConcordError)?.message ?? "\(error)")")
                    }
                }
                if named {
                    try? await store.recordSync(with: name, vector: summary.remoteVector, setAside: setAside)
                }
            }
            if follow {
                // Commits by other processes (concord case open beside this one) are pushed too.
                let watcher = store.watchOtherProcesses()
                defer { watcher.stop() }
                let rounds = RoundCounter()
                try await driver.follow(mode: mode, localCommits: store.commits, onRound: { summary in
                    await report(summary, rounds.next() == 0)
                }, onProblem: { error in
                    let message = (error as? ConcordError)?.message ?? "\(error)"
                    CommandFailure.printError("\(message); trying again")
                })
            } else {
                await report(try await driver.run(mode: mode), true)
            }
        }
        if let code = worst.exitCode { throw ExitCode(code) }
    }

    private func resolvePeer(_ known: [KnownPeer]) throws -> (String, String, String) {
        if peer.hasPrefix("http://") || peer.hasPrefix("https://") {
            guard let token = try tokenOptions.resolved() else {
                throw ConcordError(.invalidArgument, "give the token the peer issued: --token-file FILE (or - for standard input), or $CONCORD_PEER_TOKEN")
            }
            return (peer, peer, token)
        }
        guard let known = known.first(where: { $0.name == peer }) else {
            throw ConcordError(.unknownID, "no peer named \(peer); add it with: concord peer add \(peer) URL --token-file FILE")
        }
        guard let token = try tokenOptions.resolved() ?? known.token else {
            throw ConcordError(.nodeKey, "no token for peer \(peer) in \(storeOptions.storePath).peers; add it again: concord peer add \(peer) \(known.url) --token-file FILE")
        }
        return (known.name, known.url, token)
    }
}

extension SyncSession.Mode: ExpressibleByArgument {}

/// Counts a following sync's rounds (its first is always reported).
final class RoundCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0

    func next() -> Int {
        lock.withLock {
            defer { count += 1 }
            return count
        }
    }
}

/// The origins a sync (all its rounds) set aside, and the worst of them for its exit code.
final class SetAsideTally: @unchecked Sendable {
    private let lock = NSLock()
    private var forks = false
    private var others = false
    private var all: [OriginID: SyncWire.Refusal] = [:]

    /// Adds a round's; returns every origin set aside so far.
    func add(_ refusals: [SyncWire.Refusal]) -> [SyncWire.Refusal] {
        lock.withLock {
            for refusal in refusals {
                if refusal.code == ConcordError.Code.fork.rawValue { forks = true } else { others = true }
                all[refusal.origin] = all[refusal.origin] ?? refusal
            }
            return all.values.sorted { $0.origin < $1.origin }
        }
    }

    /// 70 when a fork was found, 76 when another origin was set aside, nil when none was.
    var exitCode: Int32? {
        lock.withLock { forks ? 70 : others ? 76 : nil }
    }
}

/// Where a token comes from: a file, standard input, the environment, or (visible to every
/// user of the machine in `ps`, so only for trying things out) the command line.
struct TokenOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Read the token from this file ('-' for standard input). Else $CONCORD_PEER_TOKEN is used.", valueName: "file"))
    var tokenFile: String?

    @Option(help: ArgumentHelp("The token itself. Other users of this machine can see it in the process list: prefer --token-file.", valueName: "token"))
    var token: String?

    func validate() throws {
        if token != nil, tokenFile != nil { throw ValidationError("give --token or --token-file, not both") }
    }

    /// The token given, or nil when none is.
    func resolved() throws -> String? {
        if let token {
            CommandFailure.printError("warning: a token on the command line is visible to other users of this machine (ps); use --token-file or $CONCORD_PEER_TOKEN")
            try PeerToken.validatePresented(token)
            return token
        }
        if let tokenFile {
            let data: Data
            if tokenFile == "-" {
                data = FileHandle.standardInput.readDataToEndOfFile()
            } else {
                guard let read = FileManager.default.contents(atPath: tokenFile) else {
                    throw ConcordError(.invalidArgument, "cannot read the token file \(tokenFile)")
                }
                data = read
            }
            let text = String(decoding: data.prefix(4096), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            // A token file may hold just the token, or the last line of concord token issue's output.
            let last = String(text.split(separator: "\n").last ?? "")
            try PeerToken.validatePresented(last)
            return last
        }
        if let environment = ProcessInfo.processInfo.environment["CONCORD_PEER_TOKEN"], !environment.isEmpty {
            try PeerToken.validatePresented(environment)
            return environment
        }
        return nil
    }
}

struct TokenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "Issue, list and revoke the tokens that let peers sync with this node.",
        subcommands: [Issue.self, List.self, Revoke.self]
    )

    struct Issue: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Issue a token for a peer; it is printed once, alone on the last line.",
            discussion: "Only a hash of the token is stored. Issuing again for the same peer replaces its token. A --read-only peer may pull but not push. With --out the token is written to a new file of mode 0600 instead, for the peer's operator: concord peer add NAME URL --token-file FILE."
        )
        @OptionGroup var storeOptions: StoreOptions
        @Argument(help: "A name for the peer, such as west-yorkshire.") var peerName: String
        @Flag(help: "The peer may pull but not push.") var readOnly = false
        @Option(help: ArgumentHelp("Write the token to this new file (mode 0600) instead of printing it.", valueName: "file")) var out: String?

        func run() async throws {
            try await CommandFailure.reporting {
                let token = try await storeOptions.withHub { try await $0.issueToken(peer: peerName, readOnly: readOnly) }
                let kind = readOnly ? "read-only: pull" : "pull and push"
                if let out {
                    try PrivateOutput.create(out, force: false).write(Data((token + "\n").utf8))
                    print("Token for peer \(peerName) (\(kind)) written to \(out); it is shown nowhere else.")
                } else {
                    print("Token for peer \(peerName) (\(kind)). It is shown only this once:")
                    print(token)
                }
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the peers holding a token of this node (the tokens themselves are not kept).")
        @OptionGroup var storeOptions: StoreOptions
        @Flag(help: "One JSON object per token (NDJSON).") var json = false

        func run() async throws {
            try await CommandFailure.reporting {
                let tokens = try await storeOptions.withHub { try await $0.issuedTokens() }
                if json {
                    for token in tokens {
                        var object = JSONObjectWriter()
                        object.field("peer", token.peer)
                        object.field("readOnly", token.readOnly)
                        object.field("createdAt", Timestamp.iso8601(millis: token.createdAt))
                        print(object.finish())
                    }
                    return
                }
                var table = TextTable("PEER", "MAY", "ISSUED")
                for token in tokens { table.add(token.peer, token.readOnly ? "pull" : "pull, push", Timestamp.iso8601(millis: token.createdAt)) }
                print(tokens.isEmpty ? "No tokens issued; issue one with: concord token issue PEER" : table.render())
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a peer's token: its next request is refused (401).")
        @OptionGroup var storeOptions: StoreOptions
        @Argument(help: "The peer whose token to revoke.") var peerName: String

        func run() async throws {
            try await CommandFailure.reporting {
                guard try await storeOptions.withHub({ try await $0.revokeToken(peer: peerName) }) else {
                    throw ConcordError(.unknownID, "no token was issued to a peer named \(peerName); list them with: concord token list")
                }
                print("Revoked the token of peer \(peerName)")
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
        static let configuration = CommandConfiguration(
            abstract: "Add (or replace) a named peer.",
            discussion: "The token is kept beside the store, in STORE.peers (mode 0600), not in the store file (which may be handed to an auditor). Give it with --token-file FILE (or - for standard input) or $CONCORD_PEER_TOKEN."
        )
        @OptionGroup var storeOptions: StoreOptions
        @Argument(help: "The peer's name.") var name: String
        @Argument(help: "The peer's URL, such as http://hub.example:7400.") var url: String
        @OptionGroup var tokenOptions: TokenOptions

        func run() async throws {
            try await CommandFailure.reporting {
                guard let token = try tokenOptions.resolved() else {
                    throw ConcordError(.invalidArgument, "give the token the peer issued to this node: --token-file FILE (or - for standard input), or $CONCORD_PEER_TOKEN")
                }
                try await storeOptions.withSyncingStore { try await $0.addPeer(name: name, url: url, token: token) }
                print("Added peer \(name) at \(url)")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List peers, when each last synced, and how far apart the two nodes were then.")
        @OptionGroup var storeOptions: StoreOptions
        @Flag(help: "One JSON object per peer (NDJSON).") var json = false

        func run() async throws {
            try await CommandFailure.reporting {
                let (local, peers) = try await storeOptions.withSyncingStore { store in (try await store.versionVector(), try await store.knownPeers()) }
                var table = TextTable("PEER", "URL", "LAST SYNC", "IT LACKS", "WE LACK")
                for peer in peers {
                    let lacks = peer.lastVector.map { local.lacking(in: $0) }
                    let weLack = peer.lastVector.map { $0.lacking(in: local) }
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
                if !json { print(table.rows.isEmpty ? "No peers yet; add one with: concord peer add NAME URL --token-file FILE" : table.render()) }
            }
        }
    }
}
