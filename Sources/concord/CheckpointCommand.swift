import ArgumentParser
import ConcordCore
import ConcordSyncProtocol

struct CheckpointCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "checkpoint",
        abstract: "Sign a checkpoint of what this node holds, or list the checkpoints held.",
        discussion: """
            A checkpoint is this node's signed statement of what it holds: for every origin, how far its events go and the hash of the last one, with the time. Checkpoints travel with exports (and so to an auditor's copy) like events. They let any copy show what this node held at a moment (concord query … --as-of T --seen-by NODE) and let concord verify find a tail cut from a copy together with its seals, or another history of an origin (docs/audit.md).

            concord takes one at the end of every recording command, import and sync; this takes one now. Nothing is signed when the last checkpoint already says the same.

              concord checkpoint            take one now and print it
              concord checkpoint --list     the checkpoints this copy holds, every node's
            """
    )

    @OptionGroup var storeOptions: StoreOptions
    @Flag(help: "List the checkpoints held instead of taking one.") var list = false
    @Flag(help: "One JSON object a checkpoint (its exchange line, docs/file-formats.md).") var json = false

    func run() async throws {
        try await CommandFailure.reporting {
            let checkpoints = try await storeOptions.withHub { store in
                list ? try await store.heldCheckpoints() : try await store.takeCheckpoint().map { [$0] } ?? []
            }
            if !list, checkpoints.isEmpty { print("This store holds no event yet: there is nothing to sign."); return }
            if json {
                for checkpoint in checkpoints { print(checkpoint.exchangeJSON) }
                return
            }
            if list, checkpoints.isEmpty { print("No checkpoints held."); return }
            let rows = checkpoints.map { checkpoint in
                [checkpoint.node, checkpoint.signer.short, String(checkpoint.number), Timestamp.iso8601(millis: checkpoint.takenAt),
                 String(checkpoint.heads.count), String(checkpoint.vector.eventCount)]
            }
            var table = TextTable(headers: ["node", "signer", "number", "taken at", "origins", "events"])
            table.rows = rows
            print(table.render())
        }
    }

    /// Signs a checkpoint after a command's commit. The events are stored whatever happens here,
    /// so a failure (the store busy past its timeout) is said on standard error, not an exit status
    /// that would make a script record them again; the next command or sync signs instead.
    /// A backend that keeps no checkpoints signs none.
    static func signAfterCommit(_ store: some SyncBackend) async {
        do {
            try await store.signCheckpoint()
        } catch {
            CommandFailure.printError("stored, but no checkpoint could be signed now (the next command or sync signs one): \((error as? ConcordError)?.message ?? "\(error)")")
        }
    }
}
