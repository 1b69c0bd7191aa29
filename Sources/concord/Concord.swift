import ArgumentParser

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

            Exit codes: 0 success; 1 verify found faults; 3 verify: the log is sound but needs an operator (fork evidence, or origins a sync set aside); 64 usage error; 65 invalid input (malformed, out of range, or an imported event that does not verify); 66 no store or not a Concord store; 67 unknown case, meeting, action, decision, stream or peer; 68 the record's state does not allow the command; 69 a peer could not be reached or refused the request; 70 a fork (an import offering, or a sync finding, a second history signed by one origin's key); 73 the store or output file already exists; 74 storage failure; 75 stream not at the expected version (read it again and retry); 76 a sync set an origin aside (its events refused, named on standard error); 77 a key or token file problem, or an origin off the roster in strict trust mode; 78 store written by a newer concord. docs/cli.md explains each.
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
            ReplayCommand.self,
            DigestCommand.self,
            ProjectionsCommand.self,
            ImportCommand.self,
            CopyCommand.self,
            ExportCommand.self,
            ServeCommand.self,
            SyncCommand.self,
            TokenCommand.self,
            PeerCommand.self,
            TrustCommand.self,
            ShareCommand.self,
            EraseCommand.self,
            VerifyCommand.self,
            CheckpointCommand.self,
            ResealCommand.self,
            StatusCommand.self,
            DemoCommand.self,
            DebugCommand.self,
        ]
    )
}
