import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif
import ConcordCore

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

    @Flag(help: "This node is a hub that relays other nodes' events: it must choose --share-default (asked at a terminal).")
    var hub = false

    @Option(name: .long, help: ArgumentHelp("What peers with no sharing rules of their own receive: full (every stream whole) or stubs (headers only). Required with --hub; a region defaults to full (concord share).", valueName: "full|stubs"))
    var shareDefault: String?

    @Option(name: .long, help: ArgumentHelp("PostgreSQL only: a role (made by the database's administrator) to grant what the hub's processes need, and no more: they may add history but not change or remove it (docs/postgres.md).", valueName: "role"))
    var appRole: String?

    func validate() throws {
        try storeOptions.validateNewStore(hub: hub, appRole: appRole)
        if let shareDefault, SharingPolicy.Default(rawValue: shareDefault) == nil {
            throw ValidationError("--share-default is full or stubs, not '\(shareDefault.prefix(40))'")
        }
        // At a terminal the choice is asked for; a script must give it.
        if hub, shareDefault == nil, isatty(STDIN_FILENO) == 0 {
            throw ValidationError("""
                a hub relays every region's events: choose what peers without rules of their own receive.
                  --share-default stubs   headers only, until concord share add grants more (need to know)
                  --share-default full    every stream whole, as before need-to-know
                """)
        }
    }

    /// Asks at the terminal what peers without rules receive, until the answer is one of the two.
    private static func askShareDefault() throws -> String {
        print("""
            This hub relays every region's events. What should peers without sharing rules of their own receive?
              stubs  headers only (stream, type, times, hashes), until concord share add grants more: need to know
              full   every stream whole, as before need-to-know
            """)
        while true {
            print("Share default [stubs/full]: ", terminator: "")
            guard let line = readLine() else { throw ConcordError(.invalidArgument, "no answer: give --share-default stubs or --share-default full") }
            let answer = line.trimmingSpaces.lowercased()
            if SharingPolicy.Default(rawValue: answer) != nil { return answer }
        }
    }

    func run() async throws {
        try await CommandFailure.reporting {
            let choice = try shareDefault ?? (hub ? Self.askShareDefault() : nil)
            let report = try await storeOptions.createStore(
                nodeName: node, shareDefault: choice.map { SharingPolicy.Default(rawValue: $0)! }, appRole: appRole
            )
            for line in report { print(line) }
        }
    }
}
