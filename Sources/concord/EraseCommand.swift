import ArgumentParser
import ConcordCore
import ConcordSQLite

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
        try CommandFailure.reporting {
            let store = try storeOptions.openStore()
            // The origin the erasure is signed by (a store moved or restored starts its new
            // incarnation here, and the handover to it is what lets it erase what it recorded before).
            let origin = try store.writingOrigin()
            // Earlier incarnations this one may erase for: linked to it by signed handovers.
            let handovers = try store.handovers().filter(\.isValid)
            // Each earlier origin linked to this one, with the last of its seqs handed over.
            let linked = Handover.linked(to: origin, byValid: handovers)
            func erasable(_ id: EventID) -> Bool { id.origin == origin || linked[id.origin].map { id.seq <= $0 } == true }
            let ownIncarnations = Set(try store.incarnations().map(\.origin))
            var ids: [EventID] = []
            var notOurs = 0
            var kept = 0
            for target in targets {
                if let id = try? EventID(parsing: target) {
                    guard let event = try store.readOrigin(id.origin, afterSeq: id.seq - 1, limit: 1).first?.event, event.seq == id.seq else {
                        throw ConcordError(.unknownID, "this node holds no event \(id)")
                    }
                    guard event.commitment != nil else {
                        throw ConcordError(.invalidArgument, "event \(id) was recorded before need-to-know (format 1): its hash covers its data, so it cannot be erased without breaking every copy's verification")
                    }
                    guard erasable(id) else {
                        if let through = linked[id.origin] {
                            throw ConcordError(.invalidArgument, "event \(id) was recorded by an earlier incarnation of this node after its handover to this one (which covers seqs 1…\(through)): a copy of that store may still write as it, and those events are not this one's to erase")
                        }
                        if ownIncarnations.contains(id.origin) {
                            throw ConcordError(.invalidArgument, "event \(id) was recorded by an earlier incarnation of this node (origin \(id.origin.short)), and no signed handover links it to this one (its key was not beside the store when the new incarnation started): it can no longer be erased from here")
                        }
                        throw ConcordError(.invalidArgument, "event \(id) was recorded by origin \(id.origin), not by this node (origin \(origin)); only the node that recorded an event may erase it")
                    }
                    guard event.type.rawValue != Erasure.eventType else {
                        throw ConcordError(.invalidArgument, "event \(id) is an erasure: every node needs it whole to apply it, so it cannot be erased")
                    }
                    guard event.disclosure != .erased else {
                        throw ConcordError(.invalidArgument, "event \(id) is erased already")
                    }
                    ids.append(id)
                    continue
                }
                let stream = try StreamID(target)
                let events = try store.readStream(stream, afterVersion: 0, limit: Int.max).map(\.event)
                guard !events.isEmpty else { throw ConcordError(.unknownID, "this node holds no event on \(stream)") }
                for event in events {
                    if !erasable(event.id) { notOurs += 1 } else if event.commitment == nil || event.disclosure == .erased || event.type.rawValue == Erasure.eventType { kept += 1 } else { ids.append(event.id) }
                }
            }
            ids = Array(Set(ids)).sorted()
            guard !ids.isEmpty else {
                throw ConcordError(.invalidArgument, "nothing to erase: none of the named events was recorded by this node (origin \(origin)\(linked.isEmpty ? "" : " or an earlier incarnation it holds a handover from")) in format 2 and not erased already\(notOurs > 0 ? "; \(notOurs) were recorded by other origins, which only they may erase" : "")")
            }
            let context = try recording.context()
            let chains = Handover.chains(from: Set(ids.map(\.origin)), to: origin, in: handovers) ?? []
            let draft = try Erasure(targets: ids, reason: reason, handovers: chains).draft(actor: context.actor, occurredAt: context.occurredAt, origin: origin)
            let stored = try store.append([draft], expecting: [:]).events[0]
            print("Erased the data of \(ids.count) event(s) (erasure \(stored.event.origin.short):\(stored.event.seq)); every node that syncs it destroys them too")
            if notOurs > 0 { print("\(notOurs) event(s) of other origins were left: only the origin that recorded an event may erase it") }
            if kept > 0 { print("\(kept) event(s) were left: already erased, erasures themselves, or recorded before need-to-know (format 1)") }
        }
    }
}
