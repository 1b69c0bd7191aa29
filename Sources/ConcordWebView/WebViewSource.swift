import ConcordCore
import ConcordProjections

/// What the web view reads from a node (`concord serve` wires a store to it). Read-only: no
/// method writes.
public protocol WebViewSource: ReadModelReader {
    /// The node, its origins and keys, its checkpoints, its peers, and a verification run now.
    func overview() async throws -> WebOverview
    /// The view the as-of control names: `--as-of`, `--seen-by` and `--valid-at` as the CLI reads them.
    func view(asOf: Int64?, seenBy: String?, validAt: Int64?) async throws -> ReadModelView
    /// The node each origin is shown as ("on which node"): this node's own by its name, one on
    /// the trust roster by its label, any other by its checkpoints' name marked self-asserted.
    func nodeNames() async throws -> [OriginID: String]
    /// The node names signed checkpoints give (the choices of "seen by").
    func checkpointNodeNames() async throws -> [String]
    /// The audit bundle (`concord export --audit --for`): events as `policy` lets them go (through
    /// `SharedView`), keys, seals and checkpoints, and the read-model digests of that view, NDJSON.
    func auditBundle(for policy: SharingPolicy) async throws -> [UInt8]
    /// The peer a token was issued to, and whether it is read-only; nil for an unknown token.
    func authenticate(token: String) async throws -> (peer: String, readOnly: Bool)?
    /// What this node's sharing rules give `peer`, resolved against what it holds: the one
    /// disclosure decision sync, export and the web view all ask (need to know: docs/privacy.md).
    func sharingPolicy(for peer: String) async throws -> SharingPolicy
}

public struct WebOverview: Sendable {
    public struct Origin: Sendable {
        public var origin: OriginID
        public var node: String?
        public var publicKey: String
        public var events: UInt64
        public init(origin: OriginID, node: String?, publicKey: String, events: UInt64) {
            self.origin = origin
            self.node = node
            self.publicKey = publicKey
            self.events = events
        }
    }

    public struct Peer: Sendable {
        public var name: String
        public var url: String
        public var lastSync: Int64?
        public init(name: String, url: String, lastSync: Int64?) {
            self.name = name
            self.url = url
            self.lastSync = lastSync
        }
    }

    public var node: String
    /// The origin the node writes (or, a hub on PostgreSQL, signs) as; nil when it has none.
    public var origin: OriginID?
    public var origins: [Origin]
    public var peers: [Peer]
    /// Every node whose checkpoints this copy holds, with its newest: the choices of "seen by".
    public var checkpointNodes: [(node: String, count: Int, newest: Int64)]
    public var verifiedAt: Int64
    /// `FAULT …`, `FORK …` lines as `concord verify` prints them; empty when all holds.
    public var faults: [String]
    public var forks: Int
    public var conflicts: Int
    public var events: UInt64
    public var digest: String

    public init(
        node: String, origin: OriginID?, origins: [Origin], peers: [Peer], checkpointNodes: [(node: String, count: Int, newest: Int64)],
        verifiedAt: Int64, faults: [String], forks: Int, conflicts: Int, events: UInt64, digest: String
    ) {
        self.node = node
        self.origin = origin
        self.origins = origins
        self.peers = peers
        self.checkpointNodes = checkpointNodes
        self.verifiedAt = verifiedAt
        self.faults = faults
        self.forks = forks
        self.conflicts = conflicts
        self.events = events
        self.digest = digest
    }
}
