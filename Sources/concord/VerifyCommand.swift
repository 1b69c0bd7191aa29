import ArgumentParser
import ConcordCore
import ConcordProjections
import ConcordSyncProtocol

struct VerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check every event's hash, every chain link and every signature.",
        discussion: """
            Recomputes each event's hash from its content, checks that each origin's events form an unbroken chain 1, 2, 3… in the order they were stored, that every seal's signature verifies with the origin's public key, and that the newest events are sealed. On a store file, also runs SQLite's integrity check; a PostgreSQL store (--store postgres://…) is checked the same way, event by event, with --against too.

            Exits 0 when all holds. Otherwise prints the first fault as
              FAULT origin ORIGIN seq N: KIND (what it means)
            followed by the rest, and exits 1. When the log is sound but an operator must look, it exits 3: fork evidence is kept (another history of an origin, signed by its key: a cloned node or a stolen key; printed as FORK lines, each proof checked again), or the last sync with a peer set origins aside (SET ASIDE lines), or an older release stored an event outside today's ranges (NOTE … out-of-range: it verifies, but no peer would take it). Kinds: hash-mismatch, chain-broken, missing-event, out-of-order, bad-signature, seal-mismatch, truncated, unsealed, unknown-origin, key-mismatch, and from signed checkpoints tail-cut (a checkpoint names more than this copy holds), other-history (a checkpoint, or the other copy, holds another event at a seq held here) and bad-checkpoint. A read-model row that is not the fold of the log is a FAULT read model line naming its table and key.

            With FILE, the copy verified is that file (an audit bundle or export, loaded into a scratch store and checked offline; or a store file, read from a scratch copy) instead of --store. With --against OTHER, the other copy's checkpoints are applied too (this node's own as binding, another node's only for their hashes) and each origin both hold is compared at the shorter run's end; BEHIND lines name origins the other holds more of (exit 3). Every copy opened is read from a scratch copy: verify changes no file (docs/audit.md). Fork evidence is checked again against this copy's keys and events: a fork claim that proves nothing (kept by a release before fork proofs, with no seal, or a proof that no longer holds here) is listed as a NOTE and changes no exit code.
            """
    )

    @OptionGroup var storeOptions: StoreOptions

    @Flag(name: .long, help: "Print the report as one JSON document.")
    var json = false

    @Argument(help: ArgumentHelp("Verify this copy instead of --store: an audit bundle (concord export --audit) or an export, checked offline with nothing but the file, or a store file.", valueName: "copy"))
    var copy: String?

    @Option(name: .long, help: ArgumentHelp("Compare with another copy: a store file, or an export or audit bundle (concord export). Its checkpoints are applied to this copy too, and at the end of every run both hold, the hashes must be equal.", valueName: "copy"))
    var against: String?

    /// What a verify found, whichever backend: printed alike.
    struct Findings {
        var integrity = "ok"
        var report: VerificationReport
        var forks: [(event: EventID, source: String, detectedAt: Int64?)] = []
        var claims: [(event: EventID, source: String)] = []
        var setAside: [(peer: String, refusal: SyncWire.Refusal)] = []
        /// Nil when the read models were not checked (an empty store whose read models were never built).
        var readModels: [ReadModelDifference]?
        /// Events stored after the position the read models stand at (a catch-up is pending).
        var readModelsBehind: Int64 = 0
        var checkpoints = 0
        /// With --against: origins the other copy holds more of (not a fault by itself).
        var behind: [(origin: OriginID, held: UInt64, other: UInt64)] = []
        /// For an audit bundle: each read-model digest it states, and what folding gives.
        var bundleDigests: [AuditBundle.DigestCheck] = []

        /// What verify found, a line each (`FAULT`, `FORK`, `NOTE`, `BEHIND`, `SET ASIDE`), as
        /// `concord verify` prints them and the web view's overview shows them.
        var lines: [String] {
            var lines: [String] = []
            if integrity != "ok" { lines.append("FAULT sqlite integrity check: \(integrity)") }
            for fault in report.faults {
                lines.append("FAULT origin \(fault.origin) seq \(fault.seq): \(fault.kind.rawValue) (\(fault.detail))")
            }
            for fork in forks {
                let when = fork.detectedAt.map { " at \(Timestamp.iso8601(millis: $0))" } ?? ""
                lines.append("FORK origin \(fork.event.origin) seq \(fork.event.seq): another history, signed by the origin's key, was offered by \(fork.source)\(when); it was refused and kept as evidence")
            }
            for notice in report.notices {
                lines.append("NOTE origin \(notice.origin) seq \(notice.seq): \(notice.kind.rawValue) (\(notice.detail))")
            }
            for claim in claims {
                lines.append("NOTE origin \(claim.event.origin) seq \(claim.event.seq): a fork claim kept (from \(claim.source)) that proves nothing: an earlier release's, with no seal, or a proof that no longer holds against this copy")
            }
            for difference in readModels ?? [] {
                lines.append("FAULT read model \(difference): the read models are not the fold of the log (changed outside Concord; concord projections rebuild makes them again)")
            }
            for check in bundleDigests where !check.holds {
                lines.append("FAULT read models at checkpoint \(check.number) of \(check.signer): \(check.problem)")
            }
            for entry in behind {
                lines.append("BEHIND origin \(entry.origin): this copy holds \(entry.held == 0 ? "none" : "1…\(entry.held)"), the other 1…\(entry.other)")
            }
            for entry in setAside {
                lines.append("SET ASIDE origin \(entry.refusal.origin) from seq \(entry.refusal.seq) in the last sync with \(entry.peer): \(entry.refusal.message) (\(entry.refusal.code))")
            }
            return lines
        }

        /// Adds what the checkpoints say: one fault an origin, seq and kind (a checkpoint and
        /// the other copy may both name it); another history of an origin whose fork this node
        /// holds proof of is that fork, seen by the signer: for an operator to know (exit 3), not
        /// a fault of this copy.
        mutating func addCheckpointFaults(_ faults: [VerificationFault]) {
            var seen: Set<String> = []
            let distinct = faults.filter { seen.insert("\($0.origin):\($0.seq):\($0.kind.rawValue)").inserted }
            let (explained, unexplained) = VerifyCommand.explainedByForks(distinct, forkedOrigins: Set(forks.map(\.event.origin)))
            report.faults = (report.faults + unexplained).sorted { ($0.origin, $0.seq) < ($1.origin, $1.seq) }
            report.notices = (report.notices + explained).sorted { ($0.origin, $0.seq) < ($1.origin, $1.seq) }
        }
    }

    func run() async throws {
        try await CommandFailure.reporting {
            let findings: Findings
            if let copy {
                findings = try await OtherCopy.withStore(copy, logger: storeOptions.logger) { store in
                    var found = try await check(store)
                    if !OtherCopy.isStoreFile(copy) { found.bundleDigests = try await AuditBundle.checkDigests(in: copy, against: store) }
                    return found
                }
            } else {
                // Read-only: verify changes no byte of the store it checks (no migration, no
                // scrub, no tokens moved); an older store file is checked on a migrated scratch copy.
                findings = try await storeOptions.withStoreForVerifying { try await check($0) }
            }
            try print(findings)
        }
    }

    /// What verify checks on any store, through the calls every backend answers alike: the log
    /// (`LogVerifier`), the fork evidence kept (`forkEvidence`: what proves, and the claims that
    /// prove nothing), what was set aside, the checkpoints (`Checkpoints.faults`), the read
    /// models (`Projector.check`) and the storage engine's own check where it has one.
    /// Checkpoint faults are returned apart, for `--against` to add to.
    static func findingsApart(of store: some HubBackend & ReadModelReader) async throws -> (Findings, checkpointFaults: [VerificationFault]) {
        let evidence = try await store.forkEvidence()
        var found = Findings(
            integrity: try await store.storageIntegrityProblem() ?? "ok",
            report: try await LogVerifier.verify(store),
            forks: evidence.proven.map { (EventID(origin: $0.proof.origin, seq: $0.proof.seq), $0.source, $0.detectedAt) },
            claims: evidence.unproven.map { ($0.event, $0.source) },
            setAside: try await store.setAsideOrigins()
        )
        found.checkpoints = try await store.heldCheckpoints().count
        let readModels = try await store.checkReadModels()
        found.readModels = readModels?.differences
        found.readModelsBehind = readModels?.eventsBehind ?? 0
        return (found, try await store.checkpointFaults())
    }

    /// What verify checks on any store (`findingsApart`), the checkpoint faults added: what the
    /// web view's overview shows too.
    static func findings(of store: some HubBackend & ReadModelReader) async throws -> Findings {
        var (found, checkpointFaults) = try await findingsApart(of: store)
        found.addCheckpointFaults(checkpointFaults)
        return found
    }

    /// Everything verify checks on `store`, with `--against` when given.
    private func check(_ store: some HubBackend & ReadModelReader) async throws -> Findings {
        var (found, checkpointFaults) = try await Self.findingsApart(of: store)
        if let against {
            try await OtherCopy.withStore(against, logger: storeOptions.logger) { other in
                let otherCheckpoints = try await other.heldCheckpoints()
                found.checkpoints += otherCheckpoints.count
                // This node's own checkpoints in the other copy bind this copy: a store never holds
                // less than it once signed. Another node's only show what that node held: more is
                // BEHIND (this copy may be older), another hash at a held seq a fault.
                let own = Set(try await store.ownOrigins())
                let otherKeys = try await other.originKeys()
                checkpointFaults = try await store.checkpointFaults(extra: otherCheckpoints.filter { own.contains($0.signer) }, extraKeys: otherKeys)
                checkpointFaults += try await store.checkpointFaults(extra: otherCheckpoints.filter { !own.contains($0.signer) }, extraKeys: otherKeys)
                    .filter { $0.kind != .tailCut }
                // The incarnations a store file lists are not signed: a checkpoint of the other
                // copy signed in this node's name by an origin it does not list may be one of its
                // own, the record of it removed. What such a checkpoint names beyond this copy is
                // for an operator to look at (a name is self-asserted: another node may use it).
                let name = try await store.nodeName()
                let namedLikeThisNode = otherCheckpoints.filter { $0.node == name && !own.contains($0.signer) }
                if !namedLikeThisNode.isEmpty {
                    let faulted = Set(checkpointFaults.map { "\($0.origin):\($0.seq)" })
                    found.report.notices += try await store.checkpointFaults(extra: namedLikeThisNode, extraKeys: otherKeys)
                        .filter { $0.kind == .tailCut && !faulted.contains("\($0.origin):\($0.seq)") }
                        .map { fault in
                            var notice = fault
                            notice.detail += "; named by a checkpoint the other copy holds, signed in this node's name (\(name), self-asserted) by an origin this store does not list as its own: if it was this node's, its tail was cut"
                            return notice
                        }
                }
                let mine = try await store.versionVector(), theirs = try await other.versionVector()
                checkpointFaults += try await CheckpointAudit.differences(
                    held: mine, other: theirs,
                    hashAt: { try await store.eventHash($0, seq: $1) }, otherHashAt: { try await other.eventHash($0, seq: $1) }
                )
                found.behind = theirs.sorted.filter { $0.seq > mine[$0.origin] }.map { ($0.origin, mine[$0.origin], $0.seq) }
            }
        }
        found.addCheckpointFaults(checkpointFaults)
        return found
    }

    /// Splits `other-history` findings of origins whose fork is proven from the rest.
    static func explainedByForks(_ faults: [VerificationFault], forkedOrigins: Set<OriginID>) -> (explained: [VerificationFault], unexplained: [VerificationFault]) {
        var explained: [VerificationFault] = [], unexplained: [VerificationFault] = []
        for fault in faults {
            if fault.kind == .otherHistory, forkedOrigins.contains(fault.origin) {
                var notice = fault
                notice.detail += "; the fork evidence kept for this origin explains it"
                explained.append(notice)
            } else {
                unexplained.append(fault)
            }
        }
        return (explained, unexplained)
    }

    private func print(_ findings: Findings) throws {
        let (integrity, report, forks, claims, setAside) = (findings.integrity, findings.report, findings.forks, findings.claims, findings.setAside)
        let readModelFaults = findings.readModels ?? []
        let digestFaults = findings.bundleDigests.filter { !$0.holds }
        let valid = report.isValid && integrity == "ok" && readModelFaults.isEmpty && digestFaults.isEmpty
        if json {
            var document = JSONObjectWriter()
            document.field("valid", valid)
            document.field("integrityCheck", integrity)
            document.field("events", report.eventsChecked)
            document.field("seals", report.sealsChecked)
            document.field("origins", report.origins)
            let faults = report.faults.map { fault -> String in
                var object = JSONObjectWriter()
                object.field("origin", fault.origin.hex)
                object.field("seq", fault.seq)
                object.field("kind", fault.kind.rawValue)
                object.field("detail", fault.detail)
                return object.finish()
            }
            document.field("faults", rawJSON: "[" + faults.joined(separator: ",") + "]")
            document.field("notices", strings: report.notices.map(\.description))
            document.field("forks", strings: forks.map { "\($0.event)" })
            document.field("unprovenForkClaims", strings: claims.map { "\($0.event)" })
            document.field("setAside", strings: setAside.map { "\($0.refusal.origin):\($0.refusal.seq)" })
            document.field("checkpoints", findings.checkpoints)
            if let differences = findings.readModels {
                document.field("readModels", rawJSON: "[" + differences.map { difference in
                    var object = JSONObjectWriter()
                    object.field("table", difference.table)
                    object.field("row", difference.key)
                    object.field("kind", difference.kind.rawValue)
                    object.field("detail", difference.detail)
                    return object.finish()
                }.joined(separator: ",") + "]")
            } else {
                document.field("readModels", nil as String?)
            }
            document.field("bundleDigests", rawJSON: "[" + findings.bundleDigests.map { check in
                var object = JSONObjectWriter()
                object.field("signer", check.signer.hex)
                object.field("number", check.number)
                object.field("holds", check.holds)
                object.field("problem", check.holds ? nil : check.problem)
                return object.finish()
            }.joined(separator: ",") + "]")
            document.field("readModelsBehind", findings.readModelsBehind)
            document.field("behind", strings: findings.behind.map { "\($0.origin):\($0.held):\($0.other)" })
            Swift.print(document.finish())
        } else {
            for line in findings.lines { Swift.print(line) }
            let behind = findings.readModelsBehind > 0
                ? " (they stand \(findings.readModelsBehind) event(s) behind the log: a catch-up is pending, which the next command that reads them makes; compared up to where they stand)" : ""
            let readModels = (findings.readModels.map { _ in ", read models refolded and compared\(behind)" } ?? "")
                + (findings.bundleDigests.isEmpty ? "" : ", the bundle's \(findings.bundleDigests.count) read-model digest(s) refolded and equal")
            if valid {
                Swift.print("OK: \(report.eventsChecked) events from \(report.origins) origin(s), \(report.sealsChecked) seal(s), \(findings.checkpoints) checkpoint(s) verified\(readModels)")
            } else {
                Swift.print("FAILED: \(report.faults.count + readModelFaults.count + digestFaults.count + (integrity == "ok" ? 0 : 1)) fault(s) in \(report.eventsChecked) events")
            }
        }
        if !valid { throw ExitCode(1) }
        if !forks.isEmpty || !setAside.isEmpty || !report.notices.isEmpty || !findings.behind.isEmpty { throw ExitCode(3) }
    }
}

struct ResealCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reseal",
        abstract: "Seal this node's own long runs of events so that every part of them can be synced.",
        discussion: """
            A release before the seal limits sealed a commit only at its end, so one large import could leave thousands of events (or many megabytes) between two seals: such a run is refused by every peer, which must verify a run whole. This signs this node's events again at least every 1000 events and 4 MiB (docs/storage-format.md), changing nothing in the log: the seals only let shorter runs verify. Only the current origin's events can be sealed; events of an earlier incarnation stay as they are (concord verify and the sync name them). Safe to run again: it adds nothing when nothing is too long.
            """
    )

    @OptionGroup var storeOptions: StoreOptions

    func run() async throws {
        try await CommandFailure.reporting {
            let added = try await storeOptions.withSyncingStore { try await $0.resealLongRuns() }
            print(added == 0 ? "Nothing to seal: every run of this node's events is within the limits" : "Added \(added) seal(s)")
        }
    }
}
