import ConcordCore
import ConcordProjections
import ConcordStorage
import ConcordSyncProtocol
import NIOCore
import PostgresNIO

/// Recording on a PostgreSQL hub: a hub that is also a partnership's secretariat records its
/// meetings where it relays the regions' events. Its events are written as the hub's origin, the
/// key it signs its checkpoints with (`useSigningKey`), which every process serving the database
/// shares; the steps are the engine's (`AppendWriter`), the same as a file node's.
extension PostgresEventStore: RecordingBackend {
    /// Appends this hub's own events in one transaction: checks expected versions, extends the
    /// hub origin's chain, inserts the events and stores one seal over the new head (more in a
    /// long commit). Processes serving one database record one after another: the origin and
    /// then the log's position row are held to the commit, so no two extend the chain from one
    /// head and no stream version moves between the check and the insert.
    @discardableResult
    public func append(_ drafts: [EventDraft], expecting: [StreamID: ExpectedVersion] = [:]) async throws -> AppendResult {
        guard !drafts.isEmpty else {
            throw ConcordError(.invalidArgument, "nothing to append: no events were given")
        }
        return try await recording("append \(drafts.count) event(s)", appended: { _ in true }) { writer in
            try writer.check(expecting)
            let events = try drafts.map { try writer.append($0, keeping: true)! }
            return AppendResult(events: events, seal: try writer.finish())
        }
    }

    /// Appends the drafts `next` gives until it gives nil, in one transaction, as `append` does
    /// (a file's events: none is held after it is inserted); nothing is stored when `next`
    /// throws. Returns how many and the seal over the new head (nil when none).
    public func appendAll(_ next: @escaping @Sendable () throws -> EventDraft?) async throws -> (count: Int, seal: Seal?) {
        try await recording("append the events", appended: { $0.count > 0 }) { writer in try writer.appendAll(next) }
    }

    /// The hub's one origin: its key file's.
    public func writingOrigin() async throws -> OriginID { try recordingKey().origin }

    /// A hub on PostgreSQL has one origin, its key file's: no earlier incarnation hands over to it.
    public func handovers() async throws -> [Handover] { [] }

    private func recordingKey() throws -> NodeKey {
        guard let key = signingKey.withLock({ $0 }) else {
            throw ConcordError(.nodeKey, "this hub has no signing key: a hub records its own events, as it signs its checkpoints, with the key in its key file (docs/postgres.md)")
        }
        return key
    }

    /// Runs `body` over the engine's writer in one transaction as the hub's origin, then tells
    /// waiting readers (when `appended` says it stored anything) and scrubs erased bytes.
    private func recording<T: Sendable>(
        _ what: String, appended: (T) -> Bool, _ body: @escaping @Sendable (inout AppendWriter<PostgresIngestTransaction>) throws -> T
    ) async throws -> T {
        let key = try recordingKey()
        let now = clock()
        let (result, erased) = try await run(what) { connection in
            try await self.runBlocking { () throws -> (T, Int) in
                var writer = try AppendWriter(PostgresIngestTransaction(store: self, connection: connection), key: key, now: now, widensGrants: SharingGrants.mayWiden)
                let result = try body(&writer)
                return (result, writer.erased)
            }
        }
        if appended(result) { commits.signal() }
        if erased > 0 { await scrubAfterErasure() }
        return result
    }
}

extension PostgresIngestTransaction: AppendTransaction {
    func lockForRecording(_ origin: OriginID) throws {
        try lock([origin])
        let (connection, logger) = (self.connection, self.logger)
        try PostgresEventStore.wait { try await connection.query("SELECT last FROM log_position WHERE id = 1 FOR UPDATE", logger: logger) }
    }

    func head(of origin: OriginID) throws -> (seq: UInt64, hash: EventHash, hlc: HLCTimestamp)? {
        try headAndKey(of: origin).head
    }

    func insertSeal(_ seal: Seal, at now: Int64) throws { try insertSeals([seal], at: now) }

    func newestStamp(atOrBelow bound: HLCTimestamp?) throws -> HLCTimestamp? {
        let (connection, logger) = (self.connection, self.logger)
        let packed = try PostgresEventStore.wait { () async throws -> Int64? in
            let rows = if let bound {
                try await connection.query("SELECT max(hlc) FROM events WHERE hlc <= \(bound.packed)", logger: logger)
            } else {
                try await connection.query("SELECT max(hlc) FROM events", logger: logger)
            }
            return try await rows.decode(Int64?.self).first { _ in true } ?? nil
        }
        return packed.map(HLCTimestamp.init(packed:))
    }

    func stamp(of event: EventID) throws -> HLCTimestamp? {
        let (connection, logger) = (self.connection, self.logger)
        return try PostgresEventStore.wait {
            try await connection.query(
                "SELECT hlc FROM events WHERE origin = \(event.origin.hex) AND seq = \(Int64(bitPattern: event.seq))", logger: logger
            ).decode(Int64.self).first { _ in true }
        }.map(HLCTimestamp.init(packed:))
    }

    /// PostgreSQL keeps no heads table: a stream's heads are its events that no other event of
    /// it names as a parent (a hub's streams it records on are a secretariat's meetings: short).
    func versionAndHeads(of stream: StreamID) throws -> (version: Int, heads: [EventID]) {
        let (connection, logger) = (self.connection, self.logger)
        let rows = try PostgresEventStore.wait { () async throws -> [(String, Int64, String?, Int64)] in
            var rows: [(String, Int64, String?, Int64)] = []
            for try await row in try await connection.query(
                "SELECT origin, seq, prev, stream_version FROM events WHERE stream = \(stream.rawValue)", logger: logger
            ).decode((String, Int64, String?, Int64).self) {
                rows.append(row)
            }
            return rows
        }
        var named: Set<EventID> = []
        for row in rows { named.formUnion(StoredPrevList.decode(row.2 ?? "")) }
        let heads = rows.map { EventID(origin: OriginID(unchecked: $0.0), seq: UInt64(bitPattern: $0.1)) }.filter { !named.contains($0) }
        return (Int(rows.map(\.3).max() ?? 0), heads.sorted { ($0.origin, $0.seq) < ($1.origin, $1.seq) })
    }

    func insertRecorded(_ event: Event, streamVersion: Int, at now: Int64) throws -> Int64 {
        let (store, connection, logger) = (self.store, self.connection, self.logger)
        return try PostgresEventStore.wait {
            let position = try await connection.query(
                "UPDATE log_position SET last = last + 1 WHERE id = 1 RETURNING last", logger: logger
            ).decode(Int64.self).first { _ in true } ?? 0
            var rows = [PostgresEventStore.EventRow(event: event, position: position, streamVersion: 0)]
            try await store.insertEvents(&rows, connection, at: now)
            // The position row is held from the transaction's start: no other writer moved the stream.
            guard rows[0].streamVersion == Int64(streamVersion) else {
                throw ConcordError(.storage, "stream \(event.stream) took version \(rows[0].streamVersion) where \(streamVersion) was read in the same transaction")
            }
            return position
        }
    }

    /// Heads are derived from the events (`versionAndHeads`).
    func replaceHeads(of stream: StreamID, with heads: [EventID]) throws {}
}
