import ArgumentParser

@main
struct Concord: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "concord",
        abstract: "A tamper-evident, append-only record of cases, meetings, decisions and actions.",
        discussion: """
            Each regional node keeps its own log in one SQLite file. Every event is hash-chained to the one before it and every commit is signed with the node's Ed25519 key, so anyone holding a copy can prove nothing was changed afterwards (concord verify).

            Start with:
              concord demo
              concord init --node west-yorkshire
              concord append case:WY-1 case.opened --data '{"title":"Car wash"}'
              concord log
              concord verify

            Every command takes --store PATH (default: $CONCORD_STORE, else ./concord.sqlite).

            Exit codes: 0 success, 1 verification found faults, 64 usage error, 65 invalid input, 66 no store or not a Concord store, 73 store already exists, 74 storage failure, 75 stream not at the expected version (read it again and retry), 77 node key problem, 78 store written by a newer concord.
            """,
        subcommands: [
            InitCommand.self,
            CaseCommandGroup.self,
            MeetingCommandGroup.self,
            ActionCommandGroup.self,
            AppendCommand.self,
            LogCommand.self,
            ShowCommand.self,
            QueryCommand.self,
            TrailCommand.self,
            DigestCommand.self,
            ProjectionsCommand.self,
            ImportCommand.self,
            ExportCommand.self,
            ServeCommand.self,
            SyncCommand.self,
            TokenCommand.self,
            PeerCommand.self,
            TrustCommand.self,
            VerifyCommand.self,
            StatusCommand.self,
            DemoCommand.self,
            DebugCommand.self,
        ]
    )
}
