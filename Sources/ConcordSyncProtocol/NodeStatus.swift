import ConcordCore

/// What `concord status` reports of a store, gathered the same way from any backend
/// (`HubBackend.status()`) and written as one JSON shape (`json`), whichever backend holds it.
public struct NodeStatus: Sendable {
    /// The origin a node writes as, and the origins it wrote as before (a file's incarnations;
    /// a PostgreSQL hub's one origin is its key file's).
    public struct OwnOrigin: Sendable, Equatable {
        public struct Incarnation: Sendable, Equatable {
            public var origin: OriginID
            public var startedAt: Int64
            public var reason: String

            public init(origin: OriginID, startedAt: Int64, reason: String) {
                self.origin = origin
                self.startedAt = startedAt
                self.reason = reason
            }
        }

        public var origin: OriginID
        public var createdAt: Int64
        /// Oldest first; the last is `origin`.
        public var incarnations: [Incarnation]
        /// Why the next write starts a new origin (the store was copied or restored, or its key
        /// file is missing), or nil when it writes as `origin`.
        public var newOriginReason: String?

        public init(origin: OriginID, createdAt: Int64, incarnations: [Incarnation], newOriginReason: String?) {
            self.origin = origin
            self.createdAt = createdAt
            self.incarnations = incarnations
            self.newOriginReason = newOriginReason
        }
    }

    public var node: String
    public var events: Int
    public var streams: Int
    public var versionVector: VersionVector
    public var trustMode: TrustMode
    /// How many peers hold a token this node's server accepts.
    public var peersWithTokens: Int
    /// Origins whose fork evidence is kept and proves.
    public var forkedOrigins: [OriginID]
    /// Fork claims kept that prove nothing (`ForkEvidence.unproven`).
    public var unprovenForkClaims: Int
    /// What the last sync with each peer set aside.
    public var setAside: [(peer: String, refusal: SyncWire.Refusal)]
    /// Nil when the store writes no events of its own (a memory store; a PostgreSQL hub process
    /// given no key).
    public var ownOrigin: OwnOrigin?

    /// The status as one JSON document, the same keys on every backend (docs/cli.md): `origin`,
    /// `nextWriteStartsNewOrigin` and `durability` are null where the store writes no events of
    /// its own or has no such setting.
    public func json(store: String, backend: String, durability: String?) -> String {
        var document = JSONObjectWriter()
        document.field("node", node)
        document.field("backend", backend)
        document.field("store", store)
        if let ownOrigin { document.field("origin", ownOrigin.origin.hex) } else { document.field("origin", rawJSON: "null") }
        document.field("events", events)
        document.field("streams", streams)
        var vector = JSONObjectWriter()
        for entry in versionVector.sorted { vector.field(entry.origin.hex, entry.seq) }
        document.field("versionVector", rawJSON: vector.finish())
        let incarnations = (ownOrigin?.incarnations ?? []).map { incarnation -> String in
            var object = JSONObjectWriter()
            object.field("origin", incarnation.origin.hex)
            object.field("startedAt", Timestamp.iso8601(millis: incarnation.startedAt))
            object.field("reason", incarnation.reason)
            return object.finish()
        }
        document.field("incarnations", rawJSON: "[" + incarnations.joined(separator: ",") + "]")
        if let ownOrigin {
            document.field("nextWriteStartsNewOrigin", ownOrigin.newOriginReason != nil)
        } else {
            document.field("nextWriteStartsNewOrigin", rawJSON: "null")
        }
        if let reason = ownOrigin?.newOriginReason { document.field("newOriginReason", reason) } else { document.field("newOriginReason", rawJSON: "null") }
        if let durability { document.field("durability", durability) } else { document.field("durability", rawJSON: "null") }
        document.field("trustMode", trustMode.rawValue)
        document.field("peersWithTokens", peersWithTokens)
        document.field("forks", forkedOrigins.count)
        document.field("forkedOrigins", strings: forkedOrigins.map(\.hex))
        document.field("unprovenForkClaims", unprovenForkClaims)
        let setAside = setAside.map { entry -> String in
            var object = JSONObjectWriter()
            object.field("peer", entry.peer)
            object.field("origin", entry.refusal.origin.hex)
            object.field("seq", entry.refusal.seq)
            object.field("code", entry.refusal.code)
            object.field("message", entry.refusal.message)
            return object.finish()
        }
        document.field("setAside", rawJSON: "[" + setAside.joined(separator: ",") + "]")
        return document.finish()
    }
}

extension HubBackend {
    /// What `concord status` reports, read from the store by the same calls on every backend.
    public func status() async throws -> NodeStatus {
        let evidence = try await forkEvidence()
        return NodeStatus(
            node: try await nodeName(),
            events: try await eventCount(),
            streams: try await streamCount(),
            versionVector: try await versionVector(),
            trustMode: try await trustMode(),
            peersWithTokens: try await issuedTokens().count,
            forkedOrigins: evidence.forkedOrigins,
            unprovenForkClaims: evidence.unproven.count,
            setAside: try await setAsideOrigins(),
            ownOrigin: try await ownOriginStatus()
        )
    }
}
