import ArgumentParser
import ConcordCore
import ConcordDomain
import ConcordSyncProtocol

struct AppendCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "append",
        abstract: "Record one event on a stream.",
        discussion: """
            Streams are named category:id, for example case:WY-2016-0012 or meeting:NATN-2016-03. The data is a JSON object; it is stored in canonical form (keys sorted, no spaces).

              concord append case:WY-2016-0012 case.opened --data '{"title":"Car wash labour","region":"West Yorkshire"}'
              concord append case:WY-2016-0012 case.status-changed --data '{"status":"charged"}' --expected-version 1

            With --expected-version N the event is stored only if the stream holds exactly N events (0 for a new stream); otherwise nothing is stored and the exit code is 75.
            """
    )

    @OptionGroup var storeOptions: StoreOptions

    @Argument(help: ArgumentHelp("The stream, such as case:WY-2016-0012.", valueName: "stream"))
    var stream: String

    @Argument(help: ArgumentHelp("The event type, such as case.opened.", valueName: "type"))
    var type: String

    @Option(name: .long, help: ArgumentHelp("The event's data: a JSON object.", valueName: "json"))
    var data: String

    @Option(name: .long, help: ArgumentHelp("Store only if the stream holds exactly this many events.", valueName: "n"))
    var expectedVersion: Int?

    @Option(name: .long, help: ArgumentHelp("Who is recording it. Defaults to $CONCORD_ACTOR, else your user name.", valueName: "name"))
    var actor: String?

    @Option(name: .long, help: ArgumentHelp("When it happened in the world (ISO 8601). Defaults to now.", valueName: "time"))
    var occurredAt: String?

    @Option(name: .long, help: ArgumentHelp("The version of the event type's schema.", valueName: "n"))
    var schemaVersion: UInt32 = 1

    @Option(name: .long, help: ArgumentHelp("The id of what caused this event (an event id or a command id).", valueName: "id"))
    var causationId: String?

    @Option(name: .long, help: ArgumentHelp("The id shared by all events of one piece of work.", valueName: "id"))
    var correlationId: String?

    @Flag(name: .long, help: "Print the stored event as JSON.")
    var json = false

    func run() async throws {
        try await CommandFailure.reporting {
            // Validate everything before opening the store: bad input changes nothing.
            let draft = try EventDraft(
                stream: StreamID(stream),
                type: EventType(type),
                schemaVersion: schemaVersion,
                data: JSONValue(parsing: data),
                actor: Actor.resolve(actor),
                occurredAt: try occurredAt.map(Timestamp.parse) ?? Timestamp.nowMillis(),
                causationID: causationId,
                correlationID: correlationId
            )
            // Domain event types on domain streams must carry data the projections can read.
            if StreamKind.parse(draft.stream) != nil, DomainEvent.knownTypes.contains(type) {
                _ = try DomainEvent.decode(type: type, schemaVersion: schemaVersion, data: JSONValue(parsing: draft.payload))
            }
            if let expectedVersion, expectedVersion < 0 {
                throw ConcordError(.invalidArgument, "--expected-version must be 0 or more")
            }
            let expecting: [StreamID: ExpectedVersion] = expectedVersion.map { [draft.stream: .exactly($0)] } ?? [:]
            try await storeOptions.withRecordingStore { store in
                let result = try await store.append([draft], expecting: expecting)
                try await store.catchUpReadModels()
                await CheckpointCommand.signAfterCommit(store)
                let stored = result.events[0]
                if json {
                    print(stored.jsonLine)
                } else {
                    print("Recorded \(stored.event.type) on \(stored.event.stream) (version \(stored.streamVersion)), event \(stored.event.id.origin.short):\(stored.event.seq)")
                }
            }
        }
    }
}
