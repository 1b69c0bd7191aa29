import ArgumentParser
import ConcordCore
import ConcordRecording

struct EraseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "erase",
        abstract: "Destroy the data of events this node recorded, on every node, keeping every chain verifiable.",
        discussion: """
            Records a signed erasure event (who erased what, when and why: part of the audited history). This node, and every node that stores the erasure through sync or import, destroys the named events' openings (their data, actor and ids) in the same transaction; their headers stay, so every hash link and seal still verifies. The bytes leave the store file, its WAL and free pages; read models show the fields as [erased].

            Only the node that recorded an event may erase it, the same rule on every node: naming an event of another node is refused here, and an erasure that breaks the rule is refused by every node. A store that was moved, copied or restored writes as a new origin (a new incarnation); when its earlier key was still beside it, that key signed a handover, and the erasure carries it, so this node can still erase what its earlier incarnations recorded. Events recorded before need-to-know (format 1, whose hash covers their data) cannot be erased. Copies already taken outside Concord (files, prints, exports made before) are not recalled.

              concord erase case:NW-2026-0042 --reason "retention review 2026-12: no further action"
              concord erase 3f9a0c…e1:17 --reason "subject access request SAR-118"
            """
    )

    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var recording: RecordingOptions
    @Argument(help: "Streams (all the events this node, in any incarnation it may erase for, recorded on them) or event ids ORIGIN:SEQ.") var targets: [String]
    @Option(help: ArgumentHelp("Why (who asked, under which rule). Kept in the log for auditors: no personal data.", valueName: "text")) var reason: String

    func validate() throws {
        guard !targets.isEmpty else { throw ValidationError("name at least one stream or event id to erase") }
        guard !reason.trimmingCharacters(in: .whitespaces).isEmpty else { throw ValidationError("--reason must say why the data is erased") }
    }

    func run() async throws {
        try await CommandFailure.reporting {
            let targets = try targets.map(ErasureTarget.init(parsing:))
            let context = try recording.context()
            try await storeOptions.withRecordingStore { store in
                let outcome = try await DomainRecorder(store: store).erase(targets, reason: reason, context)
                try await store.catchUpReadModels()
                await CheckpointCommand.signAfterCommit(store)
                let erasure = outcome.erasure.event
                print("Erased the data of \(outcome.erased.count) event(s) (erasure \(erasure.origin.short):\(erasure.seq)); every node that syncs it destroys them too")
                if outcome.ofOtherOrigins > 0 { print("\(outcome.ofOtherOrigins) event(s) of other origins were left: only the origin that recorded an event may erase it") }
                if outcome.leftAsTheyAre > 0 { print("\(outcome.leftAsTheyAre) event(s) were left: already erased, erasures themselves, or recorded before need-to-know (format 1)") }
            }
        }
    }
}
