import ConcordCore

/// Node identity and incarnations.
///
/// A store must never reuse the seqs of a live origin, or two different events would claim one
/// `(origin, seq)`. So the right to write as an origin is bound to one file: the node table
/// records the device and inode of the store file when the incarnation began, and the private key
/// lives in `STORE.key`. Before its first write, a process checks both; if the file was copied or
/// restored from backup (new inode), or the key file is missing or belongs to another origin, the
/// store starts a new incarnation: a new key pair and origin, continuing from seq 1. Nothing is
/// lost: the old origin's events stay, verifiable with its recorded public key.
extension SQLiteEventStore {
    /// The node as recorded in the store.
    public struct NodeInfo: Sendable {
        public var name: String
        public var origin: OriginID
        public var createdAt: Int64
        package var fileDevice: Int64
        package var fileInode: Int64
    }

    /// One origin this node has written as.
    public struct Incarnation: Sendable {
        public var origin: OriginID
        public var startedAt: Int64
        public var reason: String
    }

    /// Whether this process may write as the recorded origin, and if not, why a new one will start.
    public enum IdentityStatus: Sendable, Equatable {
        case current
        case willStartNewIncarnation(reason: String)
    }

    public var origin: OriginID {
        get throws { try nodeInfo().origin }
    }

    public func nodeInfo() throws -> NodeInfo {
        try withConnection("read the node record") { state in try Self.readNode(state.connection) }
    }

    public func incarnations() throws -> [Incarnation] {
        try withConnection("read the incarnations") { state in
            let statement = try state.connection.prepare("SELECT origin, started_at, reason FROM incarnations ORDER BY started_at, origin")
            var result: [Incarnation] = []
            while try statement.step() {
                result.append(Incarnation(origin: OriginID(unchecked: statement.text(0)), startedAt: statement.int64(1), reason: statement.text(2)))
            }
            return result
        }
    }

    /// What the next write would find, without changing anything.
    public func identityStatus() throws -> IdentityStatus {
        let node = try nodeInfo()
        if let reason = try reasonForNewIncarnation(node: node, key: NodeKeyFile.read(at: NodeKeyFile.path(forStore: path))) {
            return .willStartNewIncarnation(reason: reason)
        }
        return .current
    }

    static func readNode(_ connection: SQLiteConnection) throws -> NodeInfo {
        let statement = try connection.cached("SELECT name, origin, created_at, file_device, file_inode FROM node WHERE id = 1")
        guard try statement.step() else {
            throw ConcordError(.notAConcordStore, "the store has no node record; it was not created by concord init")
        }
        return NodeInfo(
            name: statement.text(0), origin: OriginID(unchecked: statement.text(1)), createdAt: statement.int64(2),
            fileDevice: statement.int64(3), fileInode: statement.int64(4)
        )
    }

    private func reasonForNewIncarnation(node: NodeInfo, key: NodeKey?) -> String? {
        guard let key else { return "the node key file \(NodeKeyFile.path(forStore: path)) is missing" }
        guard key.origin == node.origin else { return "the node key file belongs to origin \(key.origin.short), not \(node.origin.short)" }
        guard let identity = FileSystem.identity(of: path), identity == (node.fileDevice, node.fileInode) else {
            return "the store file was copied or restored from backup (its device and inode changed)"
        }
        return nil
    }

    /// The origin the next write is signed by: a new incarnation is started now when this file
    /// may not write as the recorded one (`writerKey`). For a command that must know the origin
    /// it writes as before it writes (an erasure names its origin's stream and carries the
    /// handovers that lead to it).
    public func writingOrigin() throws -> OriginID {
        try withConnection("start writing") { state in
            try state.connection.transaction { try writerKey(&state).origin }
        }
    }

    /// The key to sign with, starting a new incarnation first when this file may not write as the
    /// recorded origin. Call inside a write transaction.
    func writerKey(_ state: inout State) throws -> NodeKey {
        let node = try Self.readNode(state.connection)
        if let key = state.writerKey, key.origin == node.origin { return key }
        let existing = try NodeKeyFile.read(at: NodeKeyFile.path(forStore: path))
        guard let reason = reasonForNewIncarnation(node: node, key: existing) else {
            state.writerKey = existing
            return existing!
        }
        // The last places of the store's origins are kept for this; past them every vector would
        // be too long for a peer to take.
        let origins = Int(try state.connection.scalarInt("SELECT count(*) FROM origins") ?? 0)
        guard origins < EventLimits.maxOrigins else {
            throw ConcordError(.tooManyOrigins, "this store holds \(origins) origins, the most one may (\(EventLimits.maxOrigins)), and cannot start the new incarnation it needs (\(reason)); nothing was written")
        }
        let key = NodeKey()
        let now = options.clock()
        let identity = FileSystem.identity(of: path) ?? (0, 0)
        // The earlier key, when it is still at hand (the file was copied or restored with its key
        // file), signs the handover: the new incarnation may then erase what the earlier ones
        // recorded. (Written before the key file is replaced.)
        // It covers the earlier origin's events written so far: a copy's original may go on
        // writing as it, and those later events are not the new incarnation's to erase.
        let through = UInt64(clamping: try state.connection.scalarInt("SELECT max(seq) FROM events WHERE origin = ?", [.text(node.origin.hex)]) ?? 0)
        let handover = existing.flatMap { $0.origin == node.origin && through > 0 ? Handover.sign(by: $0, to: key.origin, through: through) : nil }
        if let handover { try Self.recordHandover(state.connection, handover, at: now) }
        try NodeKeyFile.write(key, nodeName: node.name, to: NodeKeyFile.path(forStore: path))
        try Self.recordIncarnation(state.connection, key: key, nodeName: node.name, reason: reason, at: now)
        try state.connection.cached("UPDATE node SET origin = ?, file_device = ?, file_inode = ? WHERE id = 1")
            .run([.text(key.origin.hex), .integer(identity.device), .integer(identity.inode)])
        let erasing = handover != nil
            ? "The previous key signed a handover to the new origin, so this node can still erase what it recorded before (concord erase)."
            : "The previous key is not at hand, so no handover was signed: this node can no longer erase what it recorded as \(node.origin.short) (its peers still can verify it). If the key turns up, restore it beside the store before the next write."
        logger.warning(
            "this store starts a new incarnation: \(reason). From now on it writes as origin \(key.origin.short), numbering its events from 1; what it recorded as \(node.origin.short) stays in the log, verifiable with that origin's key. \(erasing)",
            metadata: ["previous-origin": "\(node.origin)", "origin": "\(key.origin)"]
        )
        state.writerKey = key
        return key
    }

    static func recordHandover(_ connection: SQLiteConnection, _ handover: Handover, at now: Int64) throws {
        try connection.cached("INSERT OR IGNORE INTO handovers (from_origin, from_key, to_origin, through, signature, signed_at) VALUES (?, ?, ?, ?, ?, ?)")
            .run([.text(handover.from.origin.hex), .blob(handover.from.publicKey), .text(handover.to.hex), .integer(Int64(bitPattern: handover.through)), .blob(handover.signature), .integer(now)])
    }

    /// The handovers this node's incarnations signed, each as stored (`Handover.isValid` is for
    /// the caller to ask: an erasure carrying an invalid one is refused everywhere).
    public func handovers() throws -> [Handover] {
        try withConnection("read the handovers") { state in
            let statement = try state.connection.prepare("SELECT from_origin, from_key, to_origin, through, signature FROM handovers ORDER BY signed_at, from_origin")
            var result: [Handover] = []
            while try statement.step() {
                result.append(Handover(
                    from: OriginKey(origin: OriginID(unchecked: statement.text(0)), publicKey: statement.blob(1)),
                    to: OriginID(unchecked: statement.text(2)), through: UInt64(bitPattern: statement.int64(3)), signature: statement.blob(4)
                ))
            }
            return result
        }
    }

    static func recordIncarnation(_ connection: SQLiteConnection, key: NodeKey, nodeName: String, reason: String, at now: Int64) throws {
        try connection.cached("INSERT INTO origins (origin, public_key, first_seen) VALUES (?, ?, ?)")
            .run([.text(key.origin.hex), .blob(key.publicKey), .integer(now)])
        try connection.cached("INSERT INTO incarnations (origin, node_name, started_at, reason) VALUES (?, ?, ?, ?)")
            .run([.text(key.origin.hex), .text(nodeName), .integer(now), .text(reason)])
    }
}
