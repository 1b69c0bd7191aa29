import ConcordCore

/// Late openings (docs/sync-protocol.md, "Openings"): a node that holds stubs asks a peer for
/// their openings, and a node that holds openings a peer lacks offers them: for new stubs since
/// they last compared, and for every stub when a side's sharing rules changed or it stored
/// openings late (`openings`, a number each node advertises on `GET /v1/vector` and every pull's
/// end line, beside `stubs`, the cursor of its newest stub).
extension SyncWire {
    /// A run of one origin's events, `first…last`, that a node holds as stubs.
    public struct StubRange: Sendable, Equatable {
        public var origin: OriginID
        public var first: UInt64
        public var last: UInt64

        public init(origin: OriginID, first: UInt64, last: UInt64) {
            self.origin = origin
            self.first = first
            self.last = last
        }
    }

    /// The most ranges one request or answer carries.
    public static let maxStubRanges = 10_000

    /// `[["ORIGIN", FIRST, LAST], …]`.
    public static func encode(_ ranges: [StubRange]) -> String {
        "[" + ranges.map { "[\"\($0.origin.hex)\",\($0.first),\($0.last)]" }.joined(separator: ",") + "]"
    }

    public static func decodeRanges(_ value: JSONValue?, field: String) throws -> [StubRange] {
        guard case .array(let items)? = value else { throw ConcordError(.invalidJSON, "\"\(field)\" must be an array of [origin, first, last]") }
        guard items.count <= maxStubRanges else { throw ConcordError(.invalidJSON, "\"\(field)\" lists more than \(maxStubRanges) ranges, the limit") }
        return try items.compactMap { item in
            guard case .array(let parts) = item, parts.count == 3, case .string(let hex) = parts[0],
                  case .number(let firstText) = parts[1], case .number(let lastText) = parts[2],
                  let first = JSONValue.integer(fromNumber: firstText), let last = JSONValue.integer(fromNumber: lastText),
                  first >= 1, last >= 1
            else {
                throw ConcordError(.invalidJSON, "\"\(field)\" must list [origin, first, last] with seqs from 1 to 2^63 - 1")
            }
            // A range whose first seq is past its last names no event: nothing to ask about.
            guard last >= first else { return nil }
            return StubRange(origin: try OriginID(hex: hex), first: UInt64(first), last: UInt64(last))
        }
    }

    /// How many events the ranges cover in all (saturating): at most `maxStubsPerPage` in one
    /// request or page, so that no peer can make a node walk more.
    public static func eventCount(of ranges: [StubRange]) -> UInt64 {
        ranges.reduce(UInt64(0)) { total, range in
            let (sum, overflow) = total.addingReportingOverflow(range.last - range.first + 1)
            return overflow ? .max : sum
        }
    }

    /// The ranges covering `ids` (sorted by origin, then seq).
    public static func ranges(of ids: [EventID]) -> [StubRange] {
        var ranges: [StubRange] = []
        for id in ids {
            if let last = ranges.last, last.origin == id.origin, last.last &+ 1 == id.seq {
                ranges[ranges.count - 1].last = id.seq
            } else {
                ranges.append(StubRange(origin: id.origin, first: id.seq, last: id.seq))
            }
        }
        return ranges
    }

    /// `POST /v1/openings/pull`: the stubs a node holds, whose openings it asks for.
    public struct OpeningsRequest: Sendable, Equatable {
        public var stubs: [StubRange]
        public var maxEvents: Int
        public var maxBytes: Int

        public init(stubs: [StubRange], budget: BatchBudget) {
            self.stubs = stubs
            self.maxEvents = budget.maxEvents
            self.maxBytes = budget.maxBytes
        }

        public var budget: BatchBudget { BatchBudget(maxEvents: maxEvents, maxBytes: maxBytes) }

        public var json: String {
            var json = JSONObjectWriter()
            json.field("stubs", rawJSON: SyncWire.encode(stubs))
            json.field("maxEvents", maxEvents)
            json.field("maxBytes", maxBytes)
            return json.finish()
        }

        public init(json text: String, limits: SyncLimits) throws {
            let object = try JSONValue(parsing: text, limits: JSONLimits(maxDepth: 4, maxBytes: SyncLimits.maxPullRequestBytes))
            stubs = try SyncWire.decodeRanges(object["stubs"], field: "stubs")
            let budget = BatchBudget(
                maxEvents: try SyncWire.integer(object, "maxEvents", in: 1...Int.max) ?? limits.budget.maxEvents,
                maxBytes: try SyncWire.integer(object, "maxBytes", in: 1...Int.max) ?? limits.budget.maxBytes
            ).narrowed(to: limits.budget)
            maxEvents = budget.maxEvents
            maxBytes = budget.maxBytes
        }
    }

    /// One page of `GET /v1/stubs?since=CURSOR`: the events the node holds as stubs that it
    /// stored after the cursor, as ranges, with the cursor to ask from next (`through`) and
    /// whether more follow. A cursor is opaque to the peer (a position in the node's log); 0 asks
    /// for every stub.
    public struct StubsPage: Sendable, Equatable {
        public var stubs: [StubRange]
        public var through: Int64
        public var more: Bool
        public var openings: UInt64

        public init(stubs: [StubRange], through: Int64, more: Bool, openings: UInt64) {
            self.stubs = stubs
            self.through = through
            self.more = more
            self.openings = openings
        }

        public var json: String {
            var json = JSONObjectWriter()
            json.field("stubs", rawJSON: SyncWire.encode(stubs))
            json.field("through", through)
            json.field("more", more)
            json.field("openings", openings)
            return json.finish()
        }

        public init(json text: String) throws {
            let object = try JSONValue(parsing: text, limits: JSONLimits(maxDepth: 4, maxBytes: SyncLimits.maxEndLineBytes))
            guard case .bool(let more)? = object["more"], let openings = try SyncWire.integer(object, "openings", in: 0...Int.max),
                  let through = try SyncWire.integer(object, "through", in: 0...Int.max)
            else {
                throw ConcordError(.invalidJSON, "a stubs page needs \"through\", \"more\" and \"openings\"")
            }
            self.init(stubs: try SyncWire.decodeRanges(object["stubs"], field: "stubs"), through: Int64(through), more: more, openings: UInt64(openings))
        }
    }

    /// The most stub events one page lists (so it has at most `maxStubRanges` ranges).
    public static let maxStubsPerPage = maxStubRanges

    /// The answer to `POST /v1/openings/push`.
    public struct OpeningsResult: Sendable, Equatable {
        /// Openings stored (of stubs held here).
        public var stored: Int
        /// Openings of events not held here as stubs (held whole, erased, or not held): ignored.
        public var ignored: Int

        public init(stored: Int, ignored: Int) {
            self.stored = stored
            self.ignored = ignored
        }

        public var json: String {
            var json = JSONObjectWriter()
            json.field("stored", stored)
            json.field("ignored", ignored)
            return json.finish()
        }

        public init(json text: String) throws {
            let object = try JSONValue(parsing: text, limits: JSONLimits(maxDepth: 2, maxBytes: 4096))
            guard let stored = try SyncWire.integer(object, "stored", in: 0...Int.max), let ignored = try SyncWire.integer(object, "ignored", in: 0...Int.max) else {
                throw ConcordError(.invalidJSON, "an openings result needs \"stored\" and \"ignored\"")
            }
            self.stored = stored
            self.ignored = ignored
        }
    }
}

/// What a node remembers of its last reconciliation of openings with one peer.
public struct OpeningsState: Sendable, Equatable {
    /// The peer's openings number when this node last asked it for the openings of all its stubs.
    public var peerOpenings: UInt64?
    /// This node's cursor (its log position) of the newest stub it has asked the peer about.
    public var askedThrough: Int64
    /// This node's openings number when it last offered the peer all it could.
    public var ownOpenings: UInt64?
    /// The peer's stubs cursor when this node last offered it openings.
    public var peerStubsThrough: Int64

    public init(peerOpenings: UInt64? = nil, askedThrough: Int64 = 0, ownOpenings: UInt64? = nil, peerStubsThrough: Int64 = 0) {
        self.peerOpenings = peerOpenings
        self.askedThrough = askedThrough
        self.ownOpenings = ownOpenings
        self.peerStubsThrough = peerStubsThrough
    }
}
