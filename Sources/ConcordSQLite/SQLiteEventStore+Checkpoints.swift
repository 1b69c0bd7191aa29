import ConcordCore

/// Signed checkpoints (`Checkpoint`, docs/audit.md): this node's own, and those that arrived
/// with sync and imports.
extension SQLiteEventStore {
    /// Signs what this node holds now, unless its last checkpoint already says exactly that.
    /// Returns the checkpoint that stands for now.
    @discardableResult
    public func takeCheckpoint() throws -> Checkpoint {
        try withConnection("take a checkpoint") { state in
            try state.connection.transaction {
                let key = try writerKey(&state)
                let connection = state.connection
                var heads: [Checkpoint.Head] = []
                for origin in try Self.distinctOrigins(connection) {
                    let head = try connection.cached("SELECT seq, hash FROM events WHERE origin = ? ORDER BY seq DESC LIMIT 1")
                    defer { head.reset() }
                    try head.bind(1, origin.hex)
                    guard try head.step(), head.int64(0) > 0 else { continue }
                    heads.append(Checkpoint.Head(origin: origin, seq: UInt64(head.int64(0)), hash: EventHash(bytes: head.blob(1))))
                }
                let last = try Self.checkpoints(connection, where: "signer = ? ORDER BY number DESC LIMIT 1", [.text(key.origin.hex)]).first
                if let last, last.heads == heads.sorted(by: { $0.origin < $1.origin }) { return last }
                let checkpoint = Checkpoint.sign(key: key, node: try Self.readNode(connection).name, number: (last?.number ?? 0) + 1, takenAt: max(options.clock(), last?.takenAt ?? .min), heads: heads)
                try Self.insert(checkpoint, connection, at: options.clock())
                return checkpoint
            }
        }
    }

    /// Every checkpoint held, by signer and number; with `signer`, only that signer's.
    public func checkpoints(signedBy signer: OriginID? = nil) throws -> [Checkpoint] {
        try withConnection("read the checkpoints") { state in
            if let signer {
                return try Self.checkpoints(state.connection, where: "signer = ? ORDER BY number", [.text(signer.hex)])
            }
            return try Self.checkpoints(state.connection, where: "1 ORDER BY signer, number", [])
        }
    }

    /// The newest checkpoint taken at or before `time` by the node `node` names: a node name
    /// (any of its incarnations) or a signer's origin id (or its first 8 or more digits).
    public func checkpoint(of node: String, atOrBefore time: Int64) throws -> Checkpoint? {
        try checkpoints()
            .filter { $0.takenAt <= time && ($0.node == node || (node.count >= 8 && $0.signer.hex.hasPrefix(node))) }
            .max { ($0.takenAt, $0.number) < ($1.takenAt, $1.number) }
    }

    /// The node name each origin signed its checkpoints with, and this node's own incarnations:
    /// "on which node" for an event of that origin.
    public func nodeNames() throws -> [OriginID: String] {
        var names: [OriginID: String] = [:]
        for checkpoint in try checkpoints() { names[checkpoint.signer] = checkpoint.node }
        let node = try nodeInfo().name
        for incarnation in try incarnations() { names[incarnation.origin] = node }
        return names
    }

    /// The highest checkpoint number held of each signer: what a peer need not send again.
    public func checkpointNumbers() throws -> [OriginID: UInt64] {
        try withConnection("read the checkpoints") { state in
            let statement = try state.connection.prepare("SELECT signer, max(number) FROM checkpoints GROUP BY signer")
            var numbers: [OriginID: UInt64] = [:]
            while try statement.step() { numbers[OriginID(unchecked: statement.text(0))] = UInt64(clamping: statement.int64(1)) }
            return numbers
        }
    }

    /// The checkpoints of each signer numbered above `numbers` names (all of a signer it does not name).
    public func checkpoints(after numbers: [OriginID: UInt64], limit: Int) throws -> [Checkpoint] {
        Array(try checkpoints().filter { $0.number > numbers[$0.signer] ?? 0 }.prefix(limit))
    }

    /// Checks every checkpoint against its signer's key (offered in `keys` or held) before anything
    /// is stored. One that fails throws, naming it; with `dropping`, it is left out and counted.
    static func validate(_ checkpoints: [Checkpoint], offeredKeys: [OriginKey], _ connection: SQLiteConnection, dropping: Bool) throws -> (valid: [Checkpoint], refused: Int) {
        let offered = Dictionary(offeredKeys.map { ($0.origin, $0) }, uniquingKeysWith: { first, _ in first })
        var valid: [Checkpoint] = []
        for checkpoint in checkpoints {
            do {
                guard let key = try storedKey(connection, checkpoint.signer) ?? offered[checkpoint.signer] else {
                    throw ConcordError(.invalidEvent, "checkpoint \(checkpoint.number) of \(checkpoint.signer): no key of its signer is held or offered")
                }
                try checkpoint.validate(key: key)
                valid.append(checkpoint)
            } catch let error as ConcordError where dropping && error.code != .storage {
                continue
            }
        }
        return (valid, checkpoints.count - valid.count)
    }

    /// Stores validated checkpoints (call after the batch's events, in its transaction). With
    /// `onlyCovered`, one naming more of an origin than the store now holds is left out: a node
    /// that is merely behind must not hold a claim it cannot meet (that is what a cut tail looks
    /// like); it comes again with a later sync.
    static func store(_ checkpoints: [Checkpoint], offeredKeys: [OriginKey], onlyCovered: Bool, _ connection: SQLiteConnection, at now: Int64) throws -> Int {
        var stored = 0
        let offered = Dictionary(offeredKeys.map { ($0.origin, $0) }, uniquingKeysWith: { first, _ in first })
        for checkpoint in checkpoints {
            if onlyCovered {
                var covered = true
                for head in checkpoint.heads {
                    let held = try connection.scalarInt("SELECT max(seq) FROM events WHERE origin = ?", [.text(head.origin.hex)]) ?? 0
                    if held < Int64(clamping: head.seq) { covered = false; break }
                }
                guard covered else { continue }
            }
            // A signer that wrote no event (a relaying hub) is known by its key alone; kept so that
            // the checkpoint verifies again later. It counts against the cap on origins like any.
            if try storedKey(connection, checkpoint.signer) == nil, let key = offered[checkpoint.signer] {
                let held = Int(try connection.scalarInt("SELECT count(*) FROM origins") ?? 0)
                guard held < EventLimits.maxOrigins - EventLimits.originsKeptForIncarnations else {
                    throw ConcordError(.tooManyOrigins, "checkpoint \(checkpoint.number) of \(checkpoint.signer): this store holds \(held) origins, the most it takes from elsewhere")
                }
                try connection.cached("INSERT INTO origins (origin, public_key, first_seen) VALUES (?, ?, ?)")
                    .run([.text(key.origin.hex), .blob(key.publicKey), .integer(now)])
            }
            stored += try insert(checkpoint, connection, at: now) ? 1 : 0
        }
        return stored
    }

    /// Inserts unless that signer's number is held (a second, different checkpoint under one
    /// number is the signer's own contradiction; the first is kept).
    @discardableResult
    static func insert(_ checkpoint: Checkpoint, _ connection: SQLiteConnection, at now: Int64) throws -> Bool {
        try connection.cached("INSERT OR IGNORE INTO checkpoints (signer, number, taken_at, line, received_at) VALUES (?, ?, ?, ?, ?)")
            .run([.text(checkpoint.signer.hex), .integer(Int64(checkpoint.number)), .integer(checkpoint.takenAt), .text(checkpoint.exchangeJSON), .integer(now)])
        return connection.changes > 0
    }

    static func checkpoints(_ connection: SQLiteConnection, where filter: String, _ bindings: [SQLiteValue]) throws -> [Checkpoint] {
        let statement = try connection.prepare("SELECT line FROM checkpoints WHERE \(filter)")
        try statement.bind(bindings)
        var result: [Checkpoint] = []
        while try statement.step() {
            let line = statement.text(0)
            // Lines are checked on arrival; one that no longer reads was changed in the file.
            guard let checkpoint = try? Checkpoint(exchange: JSONValue(parsing: line, limits: JSONLimits(maxDepth: 4, maxBytes: 16 << 20))) else {
                throw ConcordError(.storage, "a stored checkpoint no longer reads as one: the checkpoints table was changed outside Concord")
            }
            result.append(checkpoint)
        }
        return result
    }

    /// What this copy's checkpoints say about it (`CheckpointAudit`), plus `extra` checkpoints
    /// (another copy's), checked with the keys this copy holds and `extraKeys`.
    public func checkpointFaults(extra: [Checkpoint] = [], extraKeys: [OriginKey] = []) throws -> [VerificationFault] {
        let own = try checkpoints()
        var keys = Dictionary(try originKeys().map { ($0.origin, $0) }, uniquingKeysWith: { first, _ in first })
        for key in extraKeys where keys[key.origin] == nil { keys[key.origin] = key }
        let held = try versionVector()
        return try CheckpointAudit.faults(of: own + extra, keys: keys, held: held) { origin, seq in try eventHash(origin, seq: seq) }
    }
}
