/// What one peer receives with openings, and what as stubs: the node's sharing rules for it,
/// resolved against what the node holds (docs/privacy.md). Pure: the store resolves region and
/// meeting rules to streams; this type decides event by event and says why.
///
/// Order of the rules: an event whose opening this node does not hold goes as a stub (no node
/// forwards what it was not given); a format-1 event and an erasure always go whole (a format-1
/// hash covers its payload; every node needs an erasure in full to apply it); a stream kept
/// local goes as stubs to everyone; then the peer's rules: with any, an event goes whole when one
/// of them grants it; with none, the node's default (`full` or `stubs`) decides.
public struct SharingPolicy: Sendable, Hashable {
    /// What a peer without rules of its own receives.
    public enum Default: String, Sendable, CaseIterable {
        /// Everything whole (how every store made before need-to-know behaves).
        case full
        /// Only stubs.
        case stubs
    }

    public var peer: String
    public var rules: [ShareSelector]
    public var defaultRule: Default
    public var localStreams: Set<StreamID>
    /// Streams granted by `region:` and `meeting:` rules, each with the rule that grants it.
    public var resolvedStreams: [StreamID: ShareSelector]

    /// True when `decide(stream:)` grants every stream: no stream is kept local, and the peer's
    /// own rules grant every stream (a rule `all`, or `kind:` rules for every kind), or the peer
    /// has no rules and the node's default is `full`. A peer with rules of its own is judged by
    /// them alone, never by the default. What the web view may show a token holder (docs/audit.md).
    public var withholdsNothing: Bool {
        guard localStreams.isEmpty else { return false }
        guard !rules.isEmpty else { return defaultRule == .full }
        if rules.contains(.all) { return true }
        let kinds = Set(rules.compactMap { if case .kind(let kind) = $0 { kind } else { nil } })
        return kinds.isSuperset(of: ShareSelector.kinds)
    }

    public init(
        peer: String, rules: [ShareSelector], defaultRule: Default, localStreams: Set<StreamID> = [],
        resolvedStreams: [StreamID: ShareSelector] = [:]
    ) {
        self.peer = peer
        self.rules = rules
        self.defaultRule = defaultRule
        self.localStreams = localStreams
        self.resolvedStreams = resolvedStreams
    }

    /// What an export for no peer in particular carries (`concord export` without `--for`): every
    /// opening this node holds, but of the streams it keeps local, whose openings leave it for
    /// no one.
    public static func wholeRecord(keepingLocal localStreams: Set<StreamID>) -> SharingPolicy {
        SharingPolicy(peer: "any reader of an export", rules: [.all], defaultRule: .full, localStreams: localStreams)
    }

    /// Whether `event` goes to the peer with its opening, and why.
    public func decide(_ event: Event) -> SharingDecision {
        if event.disclosure == .erased { return SharingDecision(sendsOpening: false, reason: "its opening was erased") }
        if event.disclosure == .withheld { return SharingDecision(sendsOpening: false, reason: "this node holds only its stub: it was not given the opening") }
        if event.commitment == nil { return SharingDecision(sendsOpening: true, reason: "it is a format-1 event, whose hash covers its data: it always travels whole") }
        if event.type.rawValue == Erasure.eventType { return SharingDecision(sendsOpening: true, reason: "it is an erasure: every node needs it whole to apply it") }
        return decide(stream: event.stream)
    }

    /// The decision for a format-2 event of `stream` whose opening this node holds.
    public func decide(stream: StreamID) -> SharingDecision {
        if localStreams.contains(stream) {
            return SharingDecision(sendsOpening: false, reason: "stream \(stream) is kept local (concord share local): its openings go to no peer")
        }
        guard !rules.isEmpty else {
            switch defaultRule {
            case .full: return SharingDecision(sendsOpening: true, reason: "\(peer) has no rules of its own and this node's default is full")
            case .stubs: return SharingDecision(sendsOpening: false, reason: "\(peer) has no rules of its own and this node's default is stubs")
            }
        }
        if let rule = rules.first(where: { $0.grantsDirectly(stream) }) {
            return SharingDecision(sendsOpening: true, reason: "rule \(rule) grants it to \(peer)")
        }
        if let rule = resolvedStreams[stream], rules.contains(rule) {
            return SharingDecision(sendsOpening: true, reason: "rule \(rule) grants it to \(peer)")
        }
        return SharingDecision(sendsOpening: false, reason: "none of \(peer)'s rules (\(rules.map(\.description).joined(separator: ", "))) grants it")
    }

    /// The event as the peer receives it: whole, or its stub.
    public func shared(_ event: Event) -> Event {
        decide(event).sendsOpening ? event : (event.stub ?? event)
    }
}

public struct SharingDecision: Sendable, Hashable {
    public var sendsOpening: Bool
    public var reason: String
}

/// One sharing rule: which streams a peer receives whole.
public enum ShareSelector: Sendable, Hashable, CustomStringConvertible, Comparable {
    /// Every stream.
    case all
    /// Every stream of a kind: `case`, `meeting`, `action`, or `other` (streams outside the domain).
    case kind(String)
    /// Cases whose region is this, and the actions raised for them.
    case region(String)
    /// One stream.
    case stream(StreamID)
    /// One meeting, and the actions raised from its decisions.
    case meeting(String)

    public static let kinds = ["case", "meeting", "action", "other"]

    public init(parsing text: String) throws {
        if text == "all" {
            self = .all
            return
        }
        guard let colon = text.firstIndex(of: ":") else {
            throw ConcordError(.invalidArgument, "'\(text.prefix(80))' is not a sharing rule; use all, kind:case|meeting|action|other, region:NAME, stream:STREAM or meeting:ID")
        }
        let kind = text[..<colon]
        let value = String(text[text.index(after: colon)...])
        guard !value.isEmpty, value.utf8.count <= EventLimits.maxStreamBytes, !value.utf8.contains(where: { $0 < 0x20 || $0 == 0x7f }) else {
            throw ConcordError(.invalidArgument, "the value of sharing rule '\(text.prefix(80))' must be 1 to \(EventLimits.maxStreamBytes) bytes without control characters")
        }
        switch kind {
        case "kind":
            guard Self.kinds.contains(value) else { throw ConcordError(.invalidArgument, "kind:\(value) is not a stream kind; use one of \(Self.kinds.joined(separator: ", "))") }
            self = .kind(value)
        case "region": self = .region(value)
        case "stream": self = .stream(try StreamID(value))
        case "meeting": self = .meeting(value)
        default:
            throw ConcordError(.invalidArgument, "'\(kind)' is not a kind of sharing rule; use all, kind:, region:, stream: or meeting:")
        }
    }

    public var description: String {
        switch self {
        case .all: "all"
        case .kind(let kind): "kind:\(kind)"
        case .region(let region): "region:\(region)"
        case .stream(let stream): "stream:\(stream)"
        case .meeting(let meeting): "meeting:\(meeting)"
        }
    }

    public static func < (lhs: ShareSelector, rhs: ShareSelector) -> Bool { lhs.description < rhs.description }

    /// True when the rule grants the stream by its id alone (region and meeting rules need the
    /// store's read models: `SharingPolicy.resolvedStreams`).
    func grantsDirectly(_ stream: StreamID) -> Bool {
        switch self {
        case .all: return true
        case .kind(let kind):
            let category = stream.category
            return kind == "other" ? !["case", "meeting", "action"].contains(category ?? "") : category == kind
        case .stream(let granted): return granted == stream
        case .meeting(let meeting): return stream.rawValue == "meeting:\(meeting)"
        case .region: return false
        }
    }
}

/// One sharing rule as a store keeps it.
public struct ShareRule: Sendable, Hashable {
    public var peer: String
    public var selector: ShareSelector
    public var addedAt: Int64

    public init(peer: String, selector: ShareSelector, addedAt: Int64) {
        self.peer = peer
        self.selector = selector
        self.addedAt = addedAt
    }
}

/// A node's sharing settings whole: what moves with a hub copied to another store.
public struct SharingSettings: Sendable, Hashable {
    public var rules: [ShareRule]
    public var defaultRule: SharingPolicy.Default
    public var localStreams: [StreamID]

    public init(rules: [ShareRule], defaultRule: SharingPolicy.Default, localStreams: [StreamID]) {
        self.rules = rules
        self.defaultRule = defaultRule
        self.localStreams = localStreams
    }
}
