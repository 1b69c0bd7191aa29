import ArgumentParser
import ConcordDomain

struct ActionCommandGroup: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "action",
        abstract: "Raise actions, hold their owners to account, and record how they ended.",
        discussion: """
            An action usually follows from a decision (or a case), has an owner and a due date, and ends completed or cancelled.

              concord action raise NATN-2016-03-A1 --title "Present best practice" --owner "Greater Manchester PCC office" --due 2016-05-11 --decision NATN-2016-03-D2
              concord action complete NATN-2016-03-A1 --outcome "Presented on 11 May"
            """,
        subcommands: [Raise.self, Reassign.self, Due.self, Progress.self, Complete.self, Cancel.self]
    )

    struct Raise: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Raise an action.")
        @OptionGroup var store: StoreOptions
        @OptionGroup var recording: RecordingOptions
        @Argument(help: "The action id, such as NATN-2016-03-A1.") var id: String
        @Option(help: "What is to be done.") var title: String
        @Option(help: "Who is to do it.") var owner: String
        @Option(help: "When it is due (YYYY-MM-DD).") var due: String?
        @Option(help: "The decision it follows from (must be recorded on this node).") var decision: String?
        @Option(name: .customLong("case"), help: "The case it follows from (must be on this node).") var caseID: String?

        func run() async throws {
            try await DomainCommandRunner.run(store, recording, { recorder, context in
                try await recorder.run(.raise(title: title, owner: owner, due: due, decisionID: decision, caseID: caseID), actionID: id, context)
            }, describe: { _ in "Raised action \(id) for \(owner)" })
        }
    }

    struct Reassign: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Give an open action a new owner.")
        @OptionGroup var store: StoreOptions
        @OptionGroup var recording: RecordingOptions
        @Argument(help: "The action id.") var id: String
        @Argument(help: "The new owner.") var owner: String

        func run() async throws {
            try await DomainCommandRunner.run(store, recording, { recorder, context in
                try await recorder.run(.reassign(owner: owner), actionID: id, context)
            }, describe: { _ in "Action \(id) is owned by \(owner)" })
        }
    }

    struct Due: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Change an open action's due date.")
        @OptionGroup var store: StoreOptions
        @OptionGroup var recording: RecordingOptions
        @Argument(help: "The action id.") var id: String
        @Argument(help: "The new due date (YYYY-MM-DD).") var date: String

        func run() async throws {
            try await DomainCommandRunner.run(store, recording, { recorder, context in
                try await recorder.run(.changeDue(date), actionID: id, context)
            }, describe: { _ in "Action \(id) is due \(date)" })
        }
    }

    struct Progress: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Note progress on an open action.")
        @OptionGroup var store: StoreOptions
        @OptionGroup var recording: RecordingOptions
        @Argument(help: "The action id.") var id: String
        @Argument(help: "What has happened.") var note: String

        func run() async throws {
            try await DomainCommandRunner.run(store, recording, { recorder, context in
                try await recorder.run(.progress(note: note), actionID: id, context)
            }, describe: { _ in "Noted progress on action \(id)" })
        }
    }

    struct Complete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Complete an open action.")
        @OptionGroup var store: StoreOptions
        @OptionGroup var recording: RecordingOptions
        @Argument(help: "The action id.") var id: String
        @Option(help: "What came of it.") var outcome: String?

        func run() async throws {
            try await DomainCommandRunner.run(store, recording, { recorder, context in
                try await recorder.run(.complete(outcome: outcome), actionID: id, context)
            }, describe: { _ in "Completed action \(id)" })
        }
    }

    struct Cancel: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Cancel an open action.")
        @OptionGroup var store: StoreOptions
        @OptionGroup var recording: RecordingOptions
        @Argument(help: "The action id.") var id: String
        @Option(help: "Why.") var reason: String?

        func run() async throws {
            try await DomainCommandRunner.run(store, recording, { recorder, context in
                try await recorder.run(.cancel(reason: reason), actionID: id, context)
            }, describe: { _ in "Cancelled action \(id)" })
        }
    }
}
