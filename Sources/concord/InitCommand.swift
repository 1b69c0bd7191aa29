import ArgumentParser
import ConcordCore
import ConcordSQLite

struct InitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Create this node's store, its origin and its signing key.",
        discussion: """
            Creates the store file (mode 0600) and the node's Ed25519 key in STORE.key (mode 0600). The key's public half is recorded in the store; the origin id every event of this node carries is derived from it. Keep the key file private and do not copy it with the store: a copied or restored store starts a new origin when it next writes (docs/storage-format.md).
            """
    )

    @OptionGroup var storeOptions: StoreOptions

    @Option(name: .long, help: ArgumentHelp("A short name for this node, such as west-yorkshire or national-hub.", valueName: "name"))
    var node: String

    @Flag(help: "This node is a hub that relays other nodes' events: it must choose --share-default.")
    var hub = false

    @Option(name: .long, help: ArgumentHelp("What peers with no sharing rules of their own receive: full (every stream whole) or stubs (headers only). Required with --hub; a region defaults to full (concord share).", valueName: "full|stubs"))
    var shareDefault: String?

    func validate() throws {
        if let shareDefault, SharingPolicy.Default(rawValue: shareDefault) == nil {
            throw ValidationError("--share-default is full or stubs, not '\(shareDefault.prefix(40))'")
        }
        if hub, shareDefault == nil {
            throw ValidationError("""
                a hub relays every region's events: choose what peers without rules of their own receive.
                  --share-default stubs   headers only, until concord share add grants more (need to know)
                  --share-default full    every stream whole, as before need-to-know
                """)
        }
    }

    func run() async throws {
        try CommandFailure.reporting {
            let store = try SQLiteEventStore.create(
                at: storeOptions.storePath, nodeName: node, options: storeOptions.storeOptions, logger: storeOptions.logger
            )
            if let shareDefault { try store.setShareDefault(SharingPolicy.Default(rawValue: shareDefault)!) }
            let info = try store.nodeInfo()
            print("Created node '\(info.name)' in \(store.path)")
            print("origin  \(info.origin)")
            print("key     \(store.path).key (keep it private)")
        }
    }
}
