import ArgumentParser
import ConcordCore
import ConcordSyncProtocol
import Foundation
import Logging

struct CopyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "copy",
        abstract: "Move a hub's record to another store: a file to PostgreSQL, or back.",
        discussion: """
            Copies every event, seal and origin key, the hub's sharing rules (docs/privacy.md), its fork evidence (each proof checked again) and its peer tokens (as kept: only their hashes), into a new store, verifying each batch as an import does. Then it verifies the copy event by event and compares both stores' version vectors and read-model digests; it exits 0 only when they are equal.

              concord copy --from hub.sqlite --to postgres://concord@db.example:5432/hub
              concord copy --from postgres://concord@db.example:5432/hub --to hub-restored.sqlite

            The target must not hold a store yet (a new file, or an empty database). A new store file gets an origin and key of its own, used only if it ever records events itself. The hub's peers go on syncing with the copy using the tokens they hold. The origins set aside are not copied (the peers that sent them send them again): concord status on the source lists them.
            """
    )

    @Option(help: ArgumentHelp("The store to copy: a file, or postgres://USER@HOST:PORT/DATABASE.", valueName: "path|url")) var from: String
    @Option(help: ArgumentHelp("The new store: a file that does not exist yet, or an empty PostgreSQL database.", valueName: "path|url")) var to: String
    @Option(help: ArgumentHelp("The copy's node name (default: the source's).", valueName: "name")) var node: String?
    @Flag(help: "Leave the peer tokens behind: every peer then needs a new one from concord token issue.") var withoutTokens = false
    @Option(name: .long, help: ArgumentHelp("How much to report on standard error (warning by default).", valueName: "level"))
    var logLevel: Logger.Level = .warning

    func validate() throws {
        guard from != to else { throw ValidationError("--from and --to name the same store") }
    }

    func run() async throws {
        try await CommandFailure.reporting {
            let source = options(from)
            let target = options(to)
            try await source.withHub { hub in
                let sourceName = try await hub.nodeName()
                let name = node ?? sourceName
                let copy = try await target.createRecordingStore(nodeName: name)
                do {
                    try await Self.copy(from: hub, to: copy, tokens: !withoutTokens)
                    try await Self.check(source: hub, copy: copy, from: try source.storeDescription, to: try target.storeDescription)
                    await copy.close()
                } catch {
                    await copy.close()
                    throw error
                }
            }
        }
    }

    private func options(_ store: String) -> StoreOptions {
        var options = StoreOptions()
        options.store = store
        options.logLevel = logLevel
        options.durability = .full
        return options
    }

    /// Every run the source holds, batch by batch, each verified and stored whole by the copy.
    static func copy(from source: any HubBackend, to copy: any HubBackend, tokens: Bool) async throws {
        let total = try await source.eventCount()
        var progress = ProgressBar("copy", total: total)
        var copied = 0
        let started = ContinuousClock.now
        while true {
            var runs = try await MissingRuns(source: source, have: try await copy.versionVector(), budget: BatchBudget(maxEvents: 20_000, maxBytes: 64 << 20))
            let batch = try await runs.batch()
            if let refusal = runs.setAside.first {
                throw ConcordError(.invalidEvent, "cannot copy origin \(refusal.origin) from seq \(refusal.seq): \(refusal.message)")
            }
            guard !batch.events.isEmpty || !batch.seals.isEmpty else { break }
            copied += try await copy.ingest(batch, source: "copy", policy: .allOrNothing).inserted
            progress.update(copied)
        }
        progress.finish()
        let elapsed = ContinuousClock.now - started
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        print("copied in \(String(format: "%.1f", seconds)) s (\(String(format: "%.0f", Double(copied) / max(seconds, 0.001))) events/s), then checked:")
        try await copyCheckpoints(from: source, to: copy)
        try await copy.restoreSharing(try await source.sharingSettings())
        if tokens { try await copy.restoreTokens(try await source.keptTokens()) }
        // Evidence goes with the record: each proof is checked again by the copy as it is kept.
        // (A store written before one proof an origin was the rule may hold several of an origin.)
        let proofs = try await source.keptForkProofs()
        let kept = try await copy.restoreForkProofs(proofs)
        let forked = Set(proofs.map(\.proof.origin)).count
        if kept < forked {
            throw ConcordError(.verificationFailed, "the copy kept fork evidence of \(kept) of the source's \(forked) forked origin(s): concord verify on the source shows them")
        }
        try await copy.catchUpReadModels()
    }

    /// Every checkpoint the source holds, a page at a time, with its signer's key: each checked
    /// again by the copy as an import checks it (`Ingest`), and the copy must then hold them all.
    static func copyCheckpoints(from source: any HubBackend, to copy: any HubBackend) async throws {
        var numbers: [OriginID: UInt64] = [:]
        var total = 0
        while true {
            let page = try await source.heldCheckpoints(after: numbers, limit: 1000)
            guard !page.isEmpty else { break }
            var keys: [OriginKey] = []
            for signer in Set(page.map(\.signer)).sorted() {
                if let key = try await source.originKey(signer) { keys.append(key) }
            }
            _ = try await copy.ingest(IngestBatch(keys: keys, checkpoints: page), source: "copy", policy: .allOrNothing)
            for checkpoint in page { numbers[checkpoint.signer] = max(numbers[checkpoint.signer] ?? 0, checkpoint.number) }
            total += page.count
        }
        let kept = try await copy.heldCheckpoints().count
        guard kept == total else {
            throw ConcordError(.verificationFailed, "the copy kept \(kept) of the source's \(total) checkpoint(s): concord verify on the source says which do not hold")
        }
    }

    /// The copy verifies, and holds what the source holds: the same vector and read-model digest.
    static func check(source: any HubBackend, copy: any HubBackend, from: String, to: String) async throws {
        let report = try await LogVerifier.verify(copy)
        guard report.isValid else {
            throw ConcordError(.verificationFailed, "the copy does not verify: \(report.faults.first.map(\.description) ?? "")")
        }
        let (vector, copiedVector) = (try await source.versionVector(), try await copy.versionVector())
        let (digest, copiedDigest) = (try await source.readModelDigest(), try await copy.readModelDigest())
        guard vector == copiedVector, digest == copiedDigest else {
            throw ConcordError(.verificationFailed, "the copy differs from the source: \(vector == copiedVector ? "read-model digests" : "version vectors") differ")
        }
        print("Copied \(report.eventsChecked) events of \(report.origins) origin(s) and \(report.sealsChecked) seal(s) from \(from) to \(to)")
        print("verify OK on the copy; read-model digest \(digest) on both")
    }
}
