import ConcordCore
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
            if let newest, options.clock() - newest < interval { return nil }
        }
        return try withConnection("take a checkpoint") { state in
            try state.connection.transaction { () -> Checkpoint? in
                let key = try writerKey(&state)
                let connection = state.connection
                let last = try Self.checkpoints(connection, where: "signer = ? ORDER BY number DESC LIMIT 1", [.text(key.origin.hex)]).first
                let now = options.clock()
                if let interval, let last, now - last.takenAt < interval { return nil }
                var heads: [Checkpoint.Head] = []
                for origin in try Self.distinctOrigins(connection) {
                    let head = try connection.cached("SELECT seq, hash FROM events WHERE origin = ? ORDER BY seq DESC LIMIT 1")
                    defer { head.reset() }
                    try head.bind(1, origin.hex)
                    guard try head.step(), head.int64(0) > 0 else { continue }
                    heads.append(Checkpoint.Head(origin: origin, seq: UInt64(head.int64(0)), hash: EventHash(bytes: head.blob(1))))
                }
                heads.sort { $0.origin < $1.origin }
                if let last, last.heads == heads { return last }
                // A store that holds nothing has nothing to state.
                guard !heads.isEmpty else { return nil }
                let checkpoint = Checkpoint.sign(
                    key: key, node: try Self.readNode(connection).name, number: (last?.number ?? 0) + 1, takenAt: max(now, last?.takenAt ?? .min), heads: heads
                )
                try Self.insert(checkpoint, connection, at: now)
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

    /// The newest checkpoint taken at or before `time` by the node `node` names: a node name,
    /// or a signer's origin id (or its first 8 or more digits). A name that several signers use
    /// is refused unless they are all this node's own incarnations: a peer may call itself
    /// anything, so an auditor names a remote node by origin id when its name is taken twice.
    public func checkpoint(of node: String, atOrBefore time: Int64) throws -> Checkpoint? {
        try withConnection("read the checkpoints") { state in
            let connection = state.connection
            let byName = try Self.signers(connection, "SELECT DISTINCT signer FROM checkpoints WHERE node = ?", [.text(node)])
            let signers: [OriginID]
            if !byName.isEmpty {
                let own = Set(try Self.signers(connection, "SELECT origin FROM incarnations", []))
                guard byName.count == 1 || byName.allSatisfy(own.contains) else {
                    throw ConcordError(.invalidArgument, "\(byName.count) signers call themselves \(node) (\(byName.map(\.short).joined(separator: ", "))): name the one you mean by its origin id")
                }
                signers = byName
            } else if node.count >= 8, node.allSatisfy(\.isHexDigit) {
                signers = try Self.signers(connection, "SELECT DISTINCT signer FROM checkpoints WHERE signer >= ? AND signer < ?", [.text(node.lowercased()), .text(node.lowercased() + "g")])
                guard signers.count <= 1 else { throw ConcordError(.invalidArgument, "\(node) starts \(signers.count) signers' origin ids: give more of it") }
            } else {
                signers = []
            }
            var newest: Checkpoint?
            for signer in signers {
                let found = try Self.checkpoints(connection, where: "signer = ? AND taken_at <= ? ORDER BY taken_at DESC, number DESC LIMIT 1", [.text(signer.hex), .integer(time)]).first
                if let found, newest.map({ ($0.takenAt, $0.number) < (found.takenAt, found.number) }) ?? true { newest = found }
            }
            return newest
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
            for (signer, number) in try checkpointNumbersUnlocked(state.connection) {
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
        try withConnection("read the checkpoints") { state in try checkpointNumbersUnlocked(state.connection) }
    }

    /// The checkpoints of each signer numbered above `numbers` names (all of a signer it does not
    /// name), oldest first within a signer, at most `limit` and (but for the first) `maxBytes` of
    /// lines in all. Signers take turns, a few checkpoints each, so that no signer's backlog holds
    /// the others back.
    public func checkpoints(after numbers: [OriginID: UInt64], limit: Int, maxBytes: Int = SyncLimits.maxCheckpointBytesPerBatch) throws -> [Checkpoint] {
        try withConnection("read the checkpoints") { state in
            let connection = state.connection
            var cursors = try checkpointNumbersUnlocked(connection).keys.sorted().map { ($0, numbers[$0] ?? 0) }
            var result: [Checkpoint] = []
            var bytes = 0
            while !cursors.isEmpty, result.count < limit {
                var next: [(OriginID, UInt64)] = []
                for (signer, after) in cursors {
                    let rows = try Self.checkpointLines(connection, signer: signer, after: after, limit: 8)
                    for (number, line, checkpoint) in rows {
                        guard result.count < limit, result.isEmpty || bytes + line.utf8.count <= maxBytes else { return result }
                        result.append(checkpoint)
                        bytes += line.utf8.count
                        next.append((signer, number))
                    }
                }
                // Only the signers that still had some go round again, from where they stopped.
                var furthest: [OriginID: UInt64] = [:]
                for (signer, number) in next { furthest[signer] = max(furthest[signer] ?? 0, number) }
                cursors = furthest.keys.sorted().map { ($0, furthest[$0]!) }
            }
            return result
        }
    }

    /// One `max(number)` lookup a signer on the `(signer, number)` key, walking the signers as a
    /// skip scan: every pull answer's end line asks this, so its cost grows with the signers, not
    /// with the checkpoints kept.
    private func checkpointNumbersUnlocked(_ connection: SQLiteConnection) throws -> [OriginID: UInt64] {
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

    private static func checkpointLines(_ connection: SQLiteConnection, signer: OriginID, after: UInt64, limit: Int) throws -> [(UInt64, String, Checkpoint)] {
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

    private static func signers(_ connection: SQLiteConnection, _ sql: String, _ bindings: [SQLiteValue]) throws -> [OriginID] {
        let statement = try connection.prepare(sql)
        try statement.bind(bindings)
        var result: [OriginID] = []
        while try statement.step() { result.append(OriginID(unchecked: statement.text(0))) }
        return result
    }

    /// Lines are checked on arrival; one that no longer reads was changed in the file.
    private static func parse(_ line: String) throws -> Checkpoint {
        guard let checkpoint = try? Checkpoint(exchange: JSONValue(parsing: line, limits: JSONLimits(maxDepth: 4, maxBytes: 16 << 20))) else {
            throw ConcordError(.storage, "a stored checkpoint no longer reads as one: the checkpoints table was changed outside Concord")
        }
        return checkpoint
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
