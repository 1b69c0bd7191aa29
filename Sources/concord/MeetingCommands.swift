import ArgumentParser
import ConcordCore
import ConcordDomain

struct MeetingCommandGroup: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "meeting",
        abstract: "Schedule meetings and record who came, the agenda, decisions and minutes.",
        discussion: """
            A meeting is identified by an id you choose, such as NATN-2016-03. Decisions get ids too (NATN-2016-03-D1), so actions can follow from them.

              concord meeting schedule NATN-2016-03 --title "First national meeting" --at 2016-03-09T10:30Z --location "Home Office, London"
              concord meeting decide NATN-2016-03 NATN-2016-03-D1 "The network agrees its terms of reference."
            """,
        subcommands: [Schedule.self, Attend.self, Agenda.self, Decide.self, Minutes.self, Cancel.self]
    )

    struct Schedule: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Schedule a meeting.")
        @OptionGroup var store: StoreOptions
        @OptionGroup var recording: RecordingOptions
        @Argument(help: "The meeting id, such as NATN-2016-03.") var id: String
        @Option(help: "What the meeting is.") var title: String
        @Option(help: "When it takes place (ISO 8601).") var at: String
        @Option(help: "Where it takes place.") var location: String
        @Option(help: "Who hosts it.") var host: String?

        func run() async throws {
            try await DomainCommandRunner.run(store, recording, { recorder, context in
                try await recorder.run(.schedule(title: title, at: try Timestamp.parse(at), location: location, host: host), meetingID: id, context)
            }, describe: { _ in "Scheduled meeting \(id)" })
        }
    }

    struct Attend: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Record an attendee.")
        @OptionGroup var store: StoreOptions
        @OptionGroup var recording: RecordingOptions
        @Argument(help: "The meeting id.") var id: String
        @Argument(help: "The attendee's name.") var name: String
        @Option(help: "Their role at the meeting, such as chair.") var role: String?
        @Option(help: "Their organisation.") var organisation: String?

        func run() async throws {
            try await DomainCommandRunner.run(store, recording, { recorder, context in
                try await recorder.run(.attend(name: name, role: role, organisation: organisation), meetingID: id, context)
            }, describe: { _ in "Recorded \(name) at meeting \(id)" })
        }
    }

    struct Agenda: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add an agenda item.")
        @OptionGroup var store: StoreOptions
        @OptionGroup var recording: RecordingOptions
        @Argument(help: "The meeting id.") var id: String
        @Argument(help: "The item.") var title: String

        func run() async throws {
            try await DomainCommandRunner.run(store, recording, { recorder, context in
                try await recorder.run(.agenda(title: title), meetingID: id, context)
            }, describe: { _ in "Added to the agenda of meeting \(id)" })
        }
    }

    struct Decide: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Record a decision taken at a meeting.")
        @OptionGroup var store: StoreOptions
        @OptionGroup var recording: RecordingOptions
        @Argument(help: "The meeting id.") var meetingID: String
        @Argument(help: "The decision's id, such as NATN-2016-03-D1.") var decisionID: String
        @Argument(help: "What was decided.") var text: String
        @Option(help: "Who proposed it.") var proposedBy: String?

        func run() async throws {
            try await DomainCommandRunner.run(store, recording, { recorder, context in
                try await recorder.run(.decide(decisionID: decisionID, text: text, proposedBy: proposedBy), meetingID: meetingID, context)
            }, describe: { _ in "Recorded decision \(decisionID) of meeting \(meetingID)" })
        }
    }

    struct Minutes: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Publish a meeting's minutes.")
        @OptionGroup var store: StoreOptions
        @OptionGroup var recording: RecordingOptions
        @Argument(help: "The meeting id.") var id: String
        @Argument(help: "The minutes, or a summary and where they are kept.") var summary: String

        func run() async throws {
            try await DomainCommandRunner.run(store, recording, { recorder, context in
                try await recorder.run(.minutes(summary: summary), meetingID: id, context)
            }, describe: { _ in "Published the minutes of meeting \(id)" })
        }
    }

    struct Cancel: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Cancel a meeting.")
        @OptionGroup var store: StoreOptions
        @OptionGroup var recording: RecordingOptions
        @Argument(help: "The meeting id.") var id: String
        @Option(help: "Why.") var reason: String?

        func run() async throws {
            try await DomainCommandRunner.run(store, recording, { recorder, context in
                try await recorder.run(.cancel(reason: reason), meetingID: id, context)
            }, describe: { _ in "Cancelled meeting \(id)" })
        }
    }
}
