import ArgumentParser
import ConcordCore
import ConcordSyncProtocol

struct ShareCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "share",
        abstract: "Decide what each peer receives in full, and what only as stubs.",
        discussion: """
            Every event travels to every peer, so every chain stays gap-free and verifiable; these rules decide whether it travels with its opening (its data, actor and ids) or as a stub (its header: stream, type, times, links and hashes). They apply to everything this node sends: pull answers it serves, pushes it makes, and concord export --for PEER. A node never sends an opening it was not given. PEER is the name a peer's token was issued under (concord token issue) or the name this node syncs with it under (concord peer add).

            Rules (a peer with none gets the node's default; with any, an event goes whole when one grants it):
              all                 every stream
              kind:KIND           every stream of a kind: case, meeting, action, or other
              region:NAME         cases of that region, and actions raised for them
              stream:STREAM       one stream
              meeting:ID          one meeting, and the actions raised from its decisions

            Whatever the rules say: a stream kept local (concord share local) goes to nobody in full; erasures always go whole, as do format-1 events (recorded before need-to-know: their hash covers their data).

            When a rule grants more, the peer's next sync fetches the openings of events it holds as stubs.

              concord share add lancashire kind:meeting region:north-west
              concord share default stubs
              concord share local case:NW-2026-0042
              concord share explain lancashire case:NW-2026-0042
            """,
        subcommands: [Add.self, Remove.self, List.self, Explain.self, Default.self, Local.self]
    )

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Grant a peer more streams in full.")
        @OptionGroup var storeOptions: StoreOptions
        @Argument(help: "The peer's name.") var peer: String
        @Argument(help: "One or more rules: all, kind:KIND, region:NAME, stream:STREAM, meeting:ID.") var rules: [String]

        func validate() throws {
            guard !rules.isEmpty else { throw ValidationError("give at least one rule, such as kind:meeting") }
            for rule in rules {
                do { _ = try ShareSelector(parsing: rule) } catch let error as ConcordError { throw ValidationError(error.message) }
            }
        }

        func run() async throws {
            try await CommandFailure.reporting {
                try await storeOptions.withHub { store in
                    for rule in try rules.map(ShareSelector.init(parsing:)) {
                        let added = try await store.changeSharing(.addRule(peer: peer, rule))
                        print(added ? "\(peer) now receives \(rule) in full" : "\(peer) already had \(rule)")
                    }
                    // Rules are by name: a misspelt one would silently grant nothing to the real peer.
                    let known = Set(try await store.issuedTokens().map(\.peer) + store.syncPeers().map(\.name))
                    if !known.contains(peer) {
                        print("note: no token (concord token issue) or peer (concord peer add) is named \(peer) yet; the rules apply to the one that will be")
                    }
                }
            }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Take a rule away from a peer.",
            discussion: "What the peer already received stays with it: a rule taken away withholds only what is sent from now on. To have data deleted everywhere, its origin records an erasure (concord erase)."
        )
        @OptionGroup var storeOptions: StoreOptions
        @Argument(help: "The peer's name.") var peer: String
        @Argument(help: "The rules to remove, as concord share list shows them.") var rules: [String]

        func run() async throws {
            try await CommandFailure.reporting {
                try await storeOptions.withHub { store in
                    for rule in try rules.map(ShareSelector.init(parsing:)) {
                        guard try await store.changeSharing(.removeRule(peer: peer, rule)) else {
                            throw ConcordError(.unknownID, "\(peer) has no rule \(rule) (concord share list shows the rules)")
                        }
                        print("\(peer) no longer receives \(rule) in full")
                    }
                }
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show the default, every peer's rules and the streams kept local.")
        @OptionGroup var storeOptions: StoreOptions
        @Flag(help: "One JSON object per line: the default, then each rule and each local stream.") var json = false

        func run() async throws {
            try await CommandFailure.reporting {
                let settings = try await storeOptions.withHub { try await $0.sharingSettings() }
                let (rules, local, defaultRule) = (settings.rules, settings.localStreams, settings.defaultRule)
                if json {
                    var head = JSONObjectWriter()
                    head.field("default", defaultRule.rawValue)
                    print(head.finish())
                    for rule in rules {
                        var line = JSONObjectWriter()
                        line.field("peer", rule.peer)
                        line.field("rule", rule.selector.description)
                        print(line.finish())
                    }
                    for stream in local {
                        var line = JSONObjectWriter()
                        line.field("local", stream.rawValue)
                        print(line.finish())
                    }
                    return
                }
                print("default: \(defaultRule.rawValue) (for peers with no rules of their own)")
                let byPeer = Dictionary(grouping: rules, by: \.peer)
                for peer in byPeer.keys.sorted() {
                    print("\(peer): \(byPeer[peer]!.map(\.selector.description).joined(separator: " "))")
                }
                if byPeer.isEmpty { print("no peer has rules of its own") }
                print(local.isEmpty ? "no stream is kept local" : "kept local: \(local.map(\.rawValue).joined(separator: " "))")
            }
        }
    }

    struct Explain: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Say what a peer receives of a stream, and why.")
        @OptionGroup var storeOptions: StoreOptions
        @Argument(help: "The peer's name.") var peer: String
        @Argument(help: "The stream, such as case:NW-2026-0042.") var stream: String

        func run() async throws {
            try await CommandFailure.reporting {
                let id = try StreamID(stream)
                let (policy, events) = try await storeOptions.withHub { store in
                    (try await store.sharingPolicy(for: peer), try await store.streamEvents(id, .live).map(\.event))
                }
                let decision = policy.decide(stream: id)
                print("\(peer) receives \(id) \(decision.sendsOpening ? "in full" : "as stubs"): \(decision.reason).")
                let stubs = events.filter { $0.disclosure == .withheld }.count
                let erased = events.filter { $0.disclosure == .erased }.count
                let whole = events.filter { $0.commitment == nil || $0.type.rawValue == Erasure.eventType }.count
                if events.isEmpty { print("This node holds no event of \(id) yet.") }
                if stubs > 0 { print("\(stubs) of its \(events.count) event(s) are held here only as stubs: those go as stubs whatever the rules.") }
                if erased > 0 { print("\(erased) of its \(events.count) event(s) were erased: they go as stubs.") }
                if whole > 0 { print("\(whole) of its \(events.count) event(s) always go whole (format 1, recorded before need-to-know, or erasures).") }
            }
        }
    }

    struct Default: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Set what peers with no rules of their own receive: full or stubs.",
            discussion: "Stores made before need-to-know have full, as before. A new hub must choose at concord init (--share-default)."
        )
        @OptionGroup var storeOptions: StoreOptions
        @Argument(help: "full or stubs.") var value: String

        func validate() throws {
            guard SharingPolicy.Default(rawValue: value) != nil else { throw ValidationError("the default is full or stubs, not '\(value.prefix(40))'") }
        }

        func run() async throws {
            try await CommandFailure.reporting {
                _ = try await storeOptions.withHub { try await $0.changeSharing(.setDefault(SharingPolicy.Default(rawValue: value)!)) }
                print("Peers with no rules of their own now receive \(value == "full" ? "every stream in full" : "only stubs")")
            }
        }
    }

    struct Local: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Keep a stream's openings on this node: no peer receives them, whatever its rules.",
            discussion: "Its events still travel as stubs, so every peer's copy of this node's chain stays complete and verifiable."
        )
        @OptionGroup var storeOptions: StoreOptions
        @Argument(help: "The stream, such as case:NW-2026-0042.") var stream: String
        @Flag(help: "Let the rules apply to it again.") var remove = false

        func run() async throws {
            try await CommandFailure.reporting {
                let id = try StreamID(stream)
                let changed = try await storeOptions.withHub { try await $0.changeSharing(.keepLocal(id, !remove)) }
                switch (remove, changed) {
                case (false, true): print("\(id) is kept local: its openings go to no peer")
                case (false, false): print("\(id) was already kept local")
                case (true, true): print("\(id) is no longer kept local: the sharing rules apply to it")
                case (true, false): throw ConcordError(.unknownID, "\(id) is not kept local (concord share list shows the local streams)")
                }
            }
        }
    }
}
