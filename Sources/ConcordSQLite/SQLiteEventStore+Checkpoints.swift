import ConcordCore
import ConcordStorage
import ConcordSyncProtocol

/// Signed checkpoints (`Checkpoint`, docs/audit.md): this node's own, and those that arrived
/// with sync and imports.
extension SQLiteEventStore {
    /// Signs what this node holds now, unless its last checkpoint already says exactly that, or
    /// (with `unlessWithin`) it signed one less than that many milliseconds ago. Returns the
    /// checkpoint that stands for now.
    @discardableResult
    public func takeCheckpoint(unlessWithin interval: Int64? = nil) throws -> Checkpoint? {
        // The throttle is looked at before the write lock is taken: a hub taking many synced
        // batches a second asks this after each, and most of the time the answer is no.
        if let interval {
            let newest = try withConnection("read the checkpoints") { state in
                try state.connection.scalarInt("SELECT max(taken_at) FROM checkpoints WHERE signer = (SELECT origin FROM node WHERE id = 1)")
            }
            guard Checkpoints.due(lastTakenAt: newest, now: options.clock(), interval: interval) else { return nil }
        }
        return try withConnection("take a checkpoint") { state in
            try state.connection.transaction { () -> Checkpoint? in
                let key = try writerKey(&state)
                return try Checkpoints.take(
                    key: key, node: try Self.readNode(state.connection).name, now: options.clock(), unlessWithin: interval,
                    in: SQLiteIngestTransaction(state.connection)
                )
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

    /// The newest checkpoint taken at or before `time` by the node `node` names: a node name,
    /// or a signer's origin id (or its first 8 or more digits). A name that several signers use
    /// is refused unless they are all this node's own incarnations: a peer may call itself
    /// anything, so an auditor names a remote node by origin id when its name is taken twice.
    public func checkpoint(of node: String, atOrBefore time: Int64) throws -> Checkpoint? {
        try withConnection("read the checkpoints") { state in
            try Checkpoints.newest(of: node, takenAtOrBefore: time, in: SQLiteIngestTransaction(state.connection))
        }
    }

    /// The node name each signer gave in its newest checkpoint, and this node's own incarnations:
    /// "on which node" for an event of that origin.
    /// The node each origin is shown as ("on which node"), from what vouches for it: this node's
    /// own incarnations by its name, an origin on the trust roster by the label its operator gave
    /// it (`concord trust add`), any other by the name its newest checkpoint gives itself, marked
    /// `(self-asserted)`: a signer may call itself anything.
    public func nodeNames() throws -> [OriginID: String] {
        NodeNames.resolve(
            nodeName: try nodeInfo().name, own: try incarnations().map(\.origin), roster: try trustedOrigins(),
            checkpointSigners: try checkpointSignerNames()
        )
    }

    /// The name each signer's newest checkpoint gives its node, as signed (what `--seen-by`
    /// names), this node's own incarnations by its name.
    public func checkpointSignerNames() throws -> [OriginID: String] {
        try withConnection("read the checkpoints") { state in
            var names: [OriginID: String] = [:]
            // Each signer's newest, found on the key (every web-view page asks this).
            let name = try state.connection.cached("SELECT node FROM checkpoints WHERE signer = ? AND number = ?")
            for (signer, number) in try Self.checkpointNumbersUnlocked(state.connection) {
                name.reset()
                try name.bind([.text(signer.hex), .integer(Int64(clamping: number))])
                if try name.step() { names[signer] = name.text(0) }
            }
            name.reset()
            let node = try Self.readNode(state.connection).name
            for origin in try Self.signers(state.connection, "SELECT origin FROM incarnations", []) { names[origin] = node }
            return names
        }
    }

    /// The highest checkpoint number held of each signer: what a peer need not send again.
    public func checkpointNumbers() throws -> [OriginID: UInt64] {
        try withConnection("read the checkpoints") { state in try Self.checkpointNumbersUnlocked(state.connection) }
    }

    /// The checkpoints of each signer numbered above `numbers` names (all of a signer it does not
    /// name), oldest first within a signer, at most `limit` and (but for the first) `maxBytes` of
    /// lines in all. Signers take turns, a few checkpoints each, so that no signer's backlog holds
    /// the others back.
    public func checkpoints(after numbers: [OriginID: UInt64], limit: Int, maxBytes: Int = SyncLimits.maxCheckpointBytesPerBatch) throws -> [Checkpoint] {
        try withConnection("read the checkpoints") { state in
            try Checkpoints.page(after: numbers, limit: limit, maxBytes: maxBytes, in: SQLiteIngestTransaction(state.connection))
        }
    }

    /// One `max(number)` lookup a signer on the `(signer, number)` key, walking the signers as a
    /// skip scan: every pull answer's end line asks this, so its cost grows with the signers, not
    /// with the checkpoints kept.
    static func checkpointNumbersUnlocked(_ connection: SQLiteConnection) throws -> [OriginID: UInt64] {
        let next = try connection.cached("SELECT min(signer) FROM checkpoints WHERE signer > ?")
        let highest = try connection.cached("SELECT max(number) FROM checkpoints WHERE signer = ?")
        var numbers: [OriginID: UInt64] = [:]
        var after = ""
        while true {
            next.reset()
            try next.bind(1, after)
            guard try next.step(), !next.isNull(0) else { break }
            after = next.text(0)
            highest.reset()
            try highest.bind(1, after)
            if try highest.step() { numbers[OriginID(unchecked: after)] = UInt64(clamping: highest.int64(0)) }
        }
        next.reset()
        highest.reset()
        return numbers
    }

    static func checkpointLines(_ connection: SQLiteConnection, signer: OriginID, after: UInt64, limit: Int) throws -> [(UInt64, String, Checkpoint)] {
        let statement = try connection.cached("SELECT number, line FROM checkpoints WHERE signer = ? AND number > ? ORDER BY number LIMIT ?")
        defer { statement.reset() }
        try statement.bind([.text(signer.hex), .integer(Int64(clamping: after)), .integer(Int64(limit))])
        var rows: [(UInt64, String, Checkpoint)] = []
        while try statement.step() {
            let line = statement.text(1)
            rows.append((UInt64(clamping: statement.int64(0)), line, try parse(line)))
        }
        return rows
    }

    /// Inserts unless that signer's number is held (a second, different checkpoint under one
    /// number is the signer's own contradiction; the first is kept).
    @discardableResult
    static func insert(_ checkpoint: Checkpoint, _ connection: SQLiteConnection, at now: Int64) throws -> Bool {
        try connection.cached("INSERT OR IGNORE INTO checkpoints (signer, number, node, taken_at, line, received_at) VALUES (?, ?, ?, ?, ?, ?)")
            .run([.text(checkpoint.signer.hex), .integer(Int64(checkpoint.number)), .text(checkpoint.node), .integer(checkpoint.takenAt), .text(checkpoint.exchangeJSON), .integer(now)])
        return connection.changes > 0
    }

    static func checkpoints(_ connection: SQLiteConnection, where filter: String, _ bindings: [SQLiteValue]) throws -> [Checkpoint] {
        let statement = try connection.prepare("SELECT line FROM checkpoints WHERE \(filter)")
        try statement.bind(bindings)
        var result: [Checkpoint] = []
        while try statement.step() { result.append(try parse(statement.text(0))) }
        return result
    }

    static func signers(_ connection: SQLiteConnection, _ sql: String, _ bindings: [SQLiteValue]) throws -> [OriginID] {
        let statement = try connection.prepare(sql)
        try statement.bind(bindings)
        var result: [OriginID] = []
        while try statement.step() { result.append(OriginID(unchecked: statement.text(0))) }
        return result
    }

    private static func parse(_ line: String) throws -> Checkpoint {
        try Checkpoint(storedLine: line)
    }

    /// What this copy's checkpoints say about it (`CheckpointAudit`), plus `extra` checkpoints
    /// (another copy's), checked with the keys this copy holds and `extraKeys`.
    public func checkpointFaults(extra: [Checkpoint] = [], extraKeys: [OriginKey] = []) throws -> [VerificationFault] {
        try withConnection("check the checkpoints") { state in
            try state.connection.transaction(immediate: false) {
                try Checkpoints.faults(extra: extra, extraKeys: extraKeys, in: SQLiteIngestTransaction(state.connection))
            }
        }
    }
}
