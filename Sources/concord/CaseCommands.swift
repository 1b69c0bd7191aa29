import ArgumentParser
import ConcordDomain

struct CaseCommandGroup: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "case",
        abstract: "Open, progress and close cases.",
        discussion: """
            A case is one investigation or referral, identified by an id you choose, such as WY-2016-0012. Its history is the stream case:ID.

              concord case open WY-2016-0012 --title "Suspected labour exploitation at a car wash" --region "West Yorkshire" --category "labour exploitation"
              concord case status WY-2016-0012 investigating
              concord case close WY-2016-0012 --outcome "no further action"
            """,
        subcommands: [Open.self, Status.self, Assign.self, Note.self, Link.self, Close.self]
    )

    struct Open: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Open a new case.")
        @OptionGroup var store: StoreOptions
        @OptionGroup var recording: RecordingOptions
        @Argument(help: "The case id, such as WY-2016-0012.") var id: String
        @Option(help: "A short description of the case.") var title: String
        @Option(help: "The region that holds the case, such as \"West Yorkshire\".") var region: String
        @Option(help: "labour exploitation, sexual exploitation, criminal exploitation, domestic servitude, or another.") var category: String?
        @Option(help: "An external reference, if it differs from the id.") var reference: String?

        func run() async throws {
            try await DomainCommandRunner.run(store, recording, { recorder, context in
                try await recorder.run(.open(title: title, region: region, category: category, reference: reference), caseID: id, context)
            }, describe: { _ in "Opened case \(id)" })
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Move a case to a new status.",
            discussion: "Statuses: open, investigating, referred, charged, convicted. Close a case with concord case close."
        )
        @OptionGroup var store: StoreOptions
        @OptionGroup var recording: RecordingOptions
        @Argument(help: "The case id.") var id: String
        @Argument(help: "The new status.") var status: String

        func run() async throws {
            try await DomainCommandRunner.run(store, recording, { recorder, context in
                try await recorder.run(.changeStatus(try CaseStatus(parsing: status)), caseID: id, context)
            }, describe: { _ in "Case \(id) is now \(status.lowercased())" })
        }
    }

    struct Assign: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Give a case an owner.")
        @OptionGroup var store: StoreOptions
        @OptionGroup var recording: RecordingOptions
        @Argument(help: "The case id.") var id: String
        @Argument(help: "Who owns it now.") var owner: String

        func run() async throws {
            try await DomainCommandRunner.run(store, recording, { recorder, context in
                try await recorder.run(.assign(owner: owner), caseID: id, context)
            }, describe: { _ in "Case \(id) is owned by \(owner)" })
        }
    }

    struct Note: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add a note to a case.")
        @OptionGroup var store: StoreOptions
        @OptionGroup var recording: RecordingOptions
        @Argument(help: "The case id.") var id: String
        @Argument(help: "The note.") var text: String

        func run() async throws {
            try await DomainCommandRunner.run(store, recording, { recorder, context in
                try await recorder.run(.note(text), caseID: id, context)
            }, describe: { _ in "Noted on case \(id)" })
        }
    }

    struct Link: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Link a case to another, in this region or another.",
            discussion: "The other case need not be on this node: cases held by other regions can be linked by id."
        )
        @OptionGroup var store: StoreOptions
        @OptionGroup var recording: RecordingOptions
        @Argument(help: "The case id.") var id: String
        @Argument(help: "The other case's id.") var otherCase: String
        @Option(help: "How they relate, such as \"same suspects\".") var relation: String?

        func run() async throws {
            try await DomainCommandRunner.run(store, recording, { recorder, context in
                try await recorder.run(.link(otherCase: otherCase, relation: relation), caseID: id, context)
            }, describe: { _ in "Linked case \(id) to \(otherCase)" })
        }
    }

    struct Close: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Close a case with its outcome.")
        @OptionGroup var store: StoreOptions
        @OptionGroup var recording: RecordingOptions
        @Argument(help: "The case id.") var id: String
        @Option(help: "How it ended, such as \"convicted\" or \"no further action\".") var outcome: String

        func run() async throws {
            try await DomainCommandRunner.run(store, recording, { recorder, context in
                try await recorder.run(.close(outcome: outcome), caseID: id, context)
            }, describe: { _ in "Closed case \(id): \(outcome)" })
        }
    }
}
