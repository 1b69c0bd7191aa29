import ConcordCore
import ConcordProjections
import ConcordSyncProtocol

/// What `concord erase` names: one event, or every event of a stream this node may erase.
public enum ErasureTarget: Sendable, Hashable {
    case event(EventID)
    case stream(StreamID)

    /// An event id `ORIGIN:SEQ`, else a stream id.
    public init(parsing text: String) throws {
        if let id = try? EventID(parsing: text) { self = .event(id) } else { self = .stream(try StreamID(text)) }
    }
}

/// Recording an erasure of events this node recorded, on any store a node records in (a
/// region's file, a PostgreSQL hub): chooses the events by the rule every node applies to an
/// erasure on arrival (`Erasure`: only the origin that recorded an event, or a later incarnation
/// holding its signed handover, may erase it; never an erasure, an event recorded before
/// need-to-know, or one erased already), and appends one signed erasure event carrying the
/// handovers it needs. The store destroys the openings in the same transaction (`AppendWriter`).
/// Written once: no backend is named here.
extension DomainRecorder {
    /// What was recorded, and what of the named events was left.
    public struct ErasureOutcome: Sendable {
        /// The erasure event as stored.
        public var erasure: StoredEvent
        /// The events whose openings it destroyed.
        public var erased: [EventID]
        /// Events on the named streams recorded by other origins (only they may erase them).
        public var ofOtherOrigins: Int
        /// Events on the named streams left as they are: erased already, erasures themselves, or
        /// recorded before need-to-know (format 1).
        public var leftAsTheyAre: Int
    }

    /// Erases `targets`: an event named by id must be erasable (else the error says why, and
    /// nothing is stored); of a stream, the events this node may erase are taken and the rest
    /// counted. Throws when nothing named can be erased.
    public func erase(_ targets: [ErasureTarget], reason: String, _ context: Context) async throws -> ErasureOutcome {
        // The origin the erasure is signed by (a store moved or restored starts its new
        // incarnation here, and the handover to it is what lets it erase what it recorded before).
        let origin = try await store.writingOrigin()
        // Earlier incarnations this one may erase for: linked to it by signed handovers, each
        // with the last of its seqs handed over.
        let handovers = try await store.handovers().filter(\.isValid)
        let linked = Handover.linked(to: origin, byValid: handovers)
        func erasable(_ id: EventID) -> Bool { id.origin == origin || linked[id.origin].map { id.seq <= $0 } == true }
        let ownIncarnations = Set(try await store.ownOrigins())
        var ids: Set<EventID> = []
        var ofOtherOrigins = 0
        var leftAsTheyAre = 0
        for target in targets {
            switch target {
            case .event(let id):
                guard id.seq >= 1, let event = try await store.readOrigin(id.origin, afterSeq: id.seq - 1, limit: 1).first?.event, event.seq == id.seq else {
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
                ids.insert(id)
            case .stream(let stream):
                let events = try await store.streamEvents(stream, .live).map(\.event)
                guard !events.isEmpty else { throw ConcordError(.unknownID, "this node holds no event on \(stream)") }
                for event in events {
                    if !erasable(event.id) {
                        ofOtherOrigins += 1
                    } else if event.commitment == nil || event.disclosure == .erased || event.type.rawValue == Erasure.eventType {
                        leftAsTheyAre += 1
                    } else {
                        ids.insert(event.id)
                    }
                }
            }
        }
        guard !ids.isEmpty else {
            throw ConcordError(.invalidArgument, "nothing to erase: none of the named events was recorded by this node (origin \(origin)\(linked.isEmpty ? "" : " or an earlier incarnation it holds a handover from")) in format 2 and not erased already\(ofOtherOrigins > 0 ? "; \(ofOtherOrigins) were recorded by other origins, which only they may erase" : "")")
        }
        let sorted = ids.sorted()
        let chains = Handover.chains(from: Set(sorted.map(\.origin)), to: origin, in: handovers) ?? []
        let draft = try Erasure(targets: sorted, reason: reason, handovers: chains).draft(actor: context.actor, occurredAt: context.occurredAt, origin: origin)
        let stored = try await store.append([draft], expecting: [:]).events[0]
        return ErasureOutcome(erasure: stored, erased: sorted, ofOtherOrigins: ofOtherOrigins, leftAsTheyAre: leftAsTheyAre)
    }
}
