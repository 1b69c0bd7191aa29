import ConcordCore
import ConcordDomain
import ConcordPostgres
import ConcordProjections
import ConcordRecording
import ConcordSQLite
import ConcordSyncProtocol
import ConcordTestSupport
import Foundation
import Logging
import PostgresNIO
import Synchronization
import Testing

/// What only the PostgreSQL store has to show: concurrent writers and readers on a pool, and a
/// database that refuses to rewrite history whoever asks. Run when `$CONCORD_TEST_POSTGRES_URL`
/// names a server (CI: always, see `PostgresIsUnderTestInCI`).
@Suite struct PostgresStoreTests {
    static let logger = StoreFixtures.quietLogger

    /// One origin's history in runs of `runLength` events, each run sealed.
    static func origin(events: Int, runLength: Int) -> (origin: ForgedOrigin, runs: [IngestBatch]) {
        var origin = ForgedOrigin()
        var runs: [IngestBatch] = []
        for index in 1...events {
            origin.append(stream: "notes:\(origin.origin.hex.prefix(6))-\(index % 7)")
            if index % runLength == 0 || index == events {
                origin.seal()
                let start = UInt64(runs.reduce(0) { $0 + $1.events.count })
                runs.append(origin.batch(after: start))
            }
        }
        return (origin, runs)
    }

    /// Raw SQL against a test database, as another client (psql, an attacker with the password) would.
    static func sql(_ location: PostgresLocation, _ statement: String) async throws -> [[String?]] {
        let client = PostgresClient(configuration: .init(host: location.host, port: location.port, username: location.username, password: location.password, database: location.database, tls: .disable), backgroundLogger: logger)
        let runner = Task { await client.run() }
        defer { runner.cancel() }
        var rows: [[String?]] = []
        for try await row in try await client.query(PostgresQuery(unsafeSQL: statement), logger: logger) {
            rows.append(try row.map { cell in try cell.decode(String?.self) })
        }
        return rows
    }

    /// A database whose locale sorts text as people read it (ICU en-US: "a" before "B") still
    /// sorts the read models' text by code point, as SQLite does, so the commands' ORDER BY gives
    /// the same rows in the same order on both backends.
    @Test(arguments: Backend.underTest.filter { $0 == .postgres })
    func readModelTextSortsByCodePointWhateverTheDatabasesLocale(_ backend: Backend) async throws {
        let directory = try TemporaryDirectory("pg-collation")
        let region = try StoreFixtures.createStore(in: directory, name: "region.sqlite", node: "region")
        let recorder = DomainRecorder(store: SQLiteSyncBackend(store: region))
        for (index, title) in ["b", "B", "a", "A", "é", "e", "Z"].enumerated() {
            try await recorder.run(.open(title: title, region: "R", category: nil, reference: nil), caseID: "C-\(index)", .init(actor: "officer", occurredAt: 1_457_519_400_000))
        }
        let batch = try await region.missingBatch(have: VersionVector(), maxEvents: 1000).batch
        try await PostgresTestDatabase.with(options: "TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'") { location in
            // The database itself sorts as people read.
            #expect(try await Self.sql(location, "SELECT string_agg(x, ',' ORDER BY x) FROM (VALUES ('a'), ('B')) AS v (x)") == [["a,B"]])
            let store = try await PostgresEventStore.create(location, nodeName: "hub", logger: Self.logger)
            _ = try await store.ingest(batch, source: "import", policy: .allOrNothing)
            let sql = "SELECT title, case_id FROM {schema}.cases ORDER BY 1"
            let (postgres, sqlite) = (try await store.queryReadModels(.live, sql: sql, []), try region.queryReadModels(.live, sql: sql))
            await store.close()
            #expect(postgres.rows == sqlite.rows)
            #expect(sqlite.rows.map { $0[0] } == ["A", "B", "Z", "a", "b", "e", "é"].map(SQLValue.text))
        }
    }

    /// A wrong database, user or port is named at once (one direct connection, not a pool's
    /// minute of retries), and an empty database is not taken for a store.
    @Test(arguments: Backend.underTest.filter { $0 == .postgres })
    func aWrongLocationIsNamedAndAnEmptyDatabaseIsNoStore(_ backend: Backend) async throws {
        let server = try #require(PostgresTestDatabase.server)
        func message(_ location: PostgresLocation) async -> String {
            do {
                let store = try await PostgresEventStore.open(location, logger: Self.logger)
                await store.close()
                return "opened"
            } catch let error as ConcordError {
                return error.message
            } catch {
                return "\(error)"
            }
        }
        #expect(await message(server.database("concord_no_such_database")).contains("database \"concord_no_such_database\" does not exist"))
        var stranger = server
        stranger.username = "concord_no_such_role"
        #expect(await message(stranger).contains("role \"concord_no_such_role\" does not exist"))
        var closed = server
        closed.port = 1
        #expect(await message(closed).contains("Connection refused"))
        try await PostgresTestDatabase.with { location in
            #expect(await message(location).contains("holds no Concord store"))
        }
    }

    @Test(arguments: Backend.underTest.filter { $0 == .postgres })
    func manyWritersOfOneOriginNeverLeaveAGapOrStoreAnEventTwice(_ backend: Backend) async throws {
        let (origin, runs) = Self.origin(events: 1200, runLength: 60)
        try await PostgresTestDatabase.with { location in
            let store = try await PostgresEventStore.create(location, nodeName: "hub", logger: Self.logger)
            // Eight peers push the same origin at once, each from its own point, wrapping round:
            // most batches race another writer of the same origin.
            var inserted = try await withThrowingTaskGroup(of: Int.self) { group in
                for writer in 0..<8 {
                    group.addTask {
                        var inserted = 0
                        for round in 0..<(runs.count * 2) {
                            let run = runs[(writer * 3 + round) % runs.count]
                            inserted += try await store.ingest(run, from: "peer-\(writer)").inserted
                        }
                        return inserted
                    }
                }
                return try await group.reduce(0, +)
            }
            // Whatever was refused as a gap was offered again later; in the end all is stored once.
            var remaining = runs
            while let run = remaining.first {
                inserted += try await store.ingest(run, from: "finisher").inserted
                remaining.removeFirst()
            }
            #expect(inserted == 1200, "each event inserted exactly once across all writers")
            #expect(try await store.versionVector() == VersionVector([origin.origin: 1200]))
            let counts = try await Self.sql(location, "SELECT count(*)::text, count(DISTINCT seq)::text, min(seq)::text, max(seq)::text, min(position)::text, max(position)::text FROM events")
            #expect(counts == [["1200", "1200", "1", "1200", "1", "1200"]], "seqs 1…1200 once each; positions dense")
            let log = try await store.readLog(afterPosition: 0, limit: 5000)
            #expect(log.map(\.event.seq) == Array(1...1200), "one origin's events are stored in seq order")
            await store.close()
        }
    }

    /// Two processes serving one database record as the hub's one origin at once, while a
    /// region's pushes arrive: every recorded event is stored once, the chain has no gap or
    /// fork, stream versions are dense, and each process's expected-version checks hold against
    /// the other's writes. (Bounded by its work, 50 commits, not by a time limit: in the full
    /// suite, end-to-end tests block both cooperative threads on their child processes, every
    /// other test's awaits wait for one, and it took 137 s there against 1.2 s alone.)
    @Test(arguments: Backend.underTest.filter { $0 == .postgres })
    func twoProcessesRecordAsTheHubsOriginWithoutAGapOrAFork(_ backend: Backend) async throws {
        let key = NodeKey()
        let (region, runs) = Self.origin(events: 200, runLength: 20)
        try await PostgresTestDatabase.with { location in
            let first = try await PostgresEventStore.create(location, nodeName: "hub", logger: Self.logger)
            let second = try await PostgresEventStore.open(location, logger: Self.logger)
            for store in [first, second] { store.useSigningKey(key) }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (index, store) in [first, second].enumerated() {
                    group.addTask {
                        for round in 0..<25 {
                            let drafts = try (0..<2).map { try RecordingConformanceTests.note("minutes:M-\(round % 3)", "process \(index) round \(round) #\($0)") }
                            try await store.append(drafts, expecting: [:])
                        }
                    }
                }
                group.addTask {
                    for run in runs { _ = try await first.ingest(run, from: "region") }
                }
                try await group.waitForAll()
            }
            #expect(try await first.versionVector() == VersionVector([key.origin: 100, region.origin: 200]))
            let counts = try await Self.sql(location, "SELECT count(*)::text, count(DISTINCT seq)::text, min(seq)::text, max(seq)::text FROM events WHERE origin = '\(key.origin.hex)'")
            #expect(counts == [["100", "100", "1", "100"]], "seqs 1…100 once each")
            let versions = try await Self.sql(location, "SELECT stream, count(*)::text, count(DISTINCT stream_version)::text, max(stream_version)::text FROM events WHERE origin = '\(key.origin.hex)' GROUP BY stream ORDER BY stream")
            #expect(versions.allSatisfy { $0[1] == $0[2] && $0[2] == $0[3] }, "stream versions 1…N once each: \(versions)")
            let report = try await LogVerifier.verify(first, batchSize: 50)
            #expect(report.isValid && report.eventsChecked == 300, "\(report.faults)")
            await second.close()
            await first.close()
        }
    }

    /// A large batch goes in by COPY: every byte of every field comes back as it went in, text
    /// that COPY's format escapes (tabs, line breaks, backslashes, `\N`) included.
    @Test(arguments: Backend.underTest.filter { $0 == .postgres })
    func aLargeBatchStoredByCopyReadsBackByteForByte(_ backend: Backend) async throws {
        var origin = ForgedOrigin()
        let awkward = ["tab\there", "line\nbreak", "back\\slash", "\\N", "carriage\rreturn", "é 漢字 🙂", ""]
        for index in 0..<900 {
            let text = awkward[index % awkward.count]
            let json = JSONValue.object(["note": .string(text), "n": .number("\(index)")]).canonicalText
            origin.append(stream: "notes:\(index % 5)", actor: "actor \(text)", payload: json, opening: index % 3 == 0 ? .formatOne : .whole(salt: Array(repeating: UInt8(index % 256), count: 32)))
            if index % 300 == 299 { origin.seal() }
        }
        try await PostgresTestDatabase.with { location in
            let store = try await PostgresEventStore.create(location, nodeName: "hub", logger: Self.logger)
            #expect(store.copyThreshold <= 900)
            let result = try await store.ingest(origin.batch(), source: "import", policy: .allOrNothing)
            #expect(result.inserted == 900)
            #expect(try await store.events(of: origin.origin, after: 0, through: 900) == origin.events)
            #expect(try await LogVerifier.verify(store).isValid)
            await store.close()
        }
    }

    @Test(arguments: Backend.underTest.filter { $0 == .postgres })
    func writersOfDifferentOriginsRunSideBySideAndPositionsStayDense(_ backend: Backend) async throws {
        let origins = (0..<4).map { _ in Self.origin(events: 300, runLength: 50) }
        try await PostgresTestDatabase.with { location in
            let store = try await PostgresEventStore.create(location, nodeName: "hub", logger: Self.logger)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (_, runs) in origins {
                    group.addTask { for run in runs { _ = try await store.ingest(run, from: "peer") } }
                }
                try await group.waitForAll()
            }
            #expect(try await store.versionVector() == VersionVector(Dictionary(uniqueKeysWithValues: origins.map { ($0.origin.origin, UInt64(300)) })))
            let log = try await store.readLog(afterPosition: 0, limit: 5000)
            #expect(log.map(\.position) == Array(1...1200))
            for (origin, _) in origins {
                #expect(log.filter { $0.event.origin == origin.origin }.map(\.event.seq) == Array(1...300))
            }
            await store.close()
        }
    }

    /// Marten's problem: with positions from a sequence, a transaction that took lower positions
    /// and commits after one that took higher ones is skipped by a reader that paged past them.
    /// Here one writer is held open before its commit while another writer commits, and a
    /// reader pages the log throughout.
    @Test(arguments: Backend.underTest.filter { $0 == .postgres })
    func aReaderPagingTheLogNeverMissesAnEventThatCommitsLate(_ backend: Backend) async throws {
        let (first, firstRuns) = Self.origin(events: 30, runLength: 30)
        let (second, secondRuns) = Self.origin(events: 30, runLength: 30)
        try await PostgresTestDatabase.with { location in
            let store = try await PostgresEventStore.create(location, nodeName: "hub", logger: Self.logger)
            let (held, release) = AsyncStream.makeStream(of: Void.self)
            let (entered, signalEntered) = AsyncStream.makeStream(of: Void.self)
            store.beforeIngestCommit.withLock { hook in
                hook = { @Sendable in
                    signalEntered.yield()
                    for await _ in held { break }
                }
            }
            let slow = Task { try await store.ingest(firstRuns[0], from: "slow") }
            for await _ in entered { break }
            // The slow writer is inside its transaction with its events inserted; from here on
            // the hook lets every other ingest through.
            store.beforeIngestCommit.withLock { $0 = nil }
            let fast = Task { try await store.ingest(secondRuns[0], from: "fast") }
            // Wait (bounded) until the fast writer is blocked on a lock the slow one holds.
            var blocked = false
            for _ in 0..<500 where !blocked {
                blocked = try await Self.sql(location, "SELECT count(*)::text FROM pg_locks WHERE NOT granted") != [["0"]]
                if !blocked { try await Task.sleep(for: .milliseconds(10)) }
            }
            #expect(blocked, "the second writer waits for the first to commit")
            // A reader now sees neither: it cannot page past the slow writer's positions.
            var cursor: Int64 = 0
            var seen: [EventID] = []
            for event in try await store.readLog(afterPosition: cursor, limit: 1000) {
                seen.append(event.event.id)
                cursor = event.position
            }
            #expect(seen.isEmpty)
            release.yield()
            release.finish()
            _ = try await slow.value
            _ = try await fast.value
            for event in try await store.readLog(afterPosition: cursor, limit: 1000) {
                seen.append(event.event.id)
                cursor = event.position
            }
            #expect(Set(seen) == Set((first.events + second.events).map(\.id)))
            #expect(seen.count == 60)
            await store.close()
        }
    }

    @Test(arguments: Backend.underTest.filter { $0 == .postgres })
    func historyCannotBeChangedOrRemovedEvenByTheTablesOwner(_ backend: Backend) async throws {
        let (_, runs) = Self.origin(events: 5, runLength: 5)
        try await PostgresTestDatabase.with { location in
            let store = try await PostgresEventStore.create(location, nodeName: "hub", logger: Self.logger)
            _ = try await store.ingest(runs[0], from: "peer")
            await store.close()
            let refused = [
                "UPDATE events SET data = '{\"n\":9}' WHERE seq = 2",
                "UPDATE events SET hash = '\\x00' WHERE seq = 2",
                "UPDATE events SET disclosure = 2, actor = '', data = '{}', salt = NULL, erased_by = 'x:1' WHERE seq = 2",
                "DELETE FROM events WHERE seq = 5",
                "TRUNCATE events CASCADE",
                "UPDATE seals SET signature = '\\x00'",
                "DELETE FROM seals",
                "DELETE FROM origins",
                "INSERT INTO events SELECT position + 100, origin, seq + 2, stream, stream_version + 100, type, schema_version, hlc, recorded_at, occurred_at, stored_at, actor, causation_id, correlation_id, prev, data, prev_hash, hash, commitment, salt, disclosure, erased_by FROM events WHERE seq = 5",
            ]
            for statement in refused {
                await #expect(throws: (any Error).self, "\(statement)") { _ = try await Self.sql(location, statement) }
            }
            #expect(try await Self.sql(location, "SELECT count(*)::text FROM events") == [["5"]])
            #expect(try await Self.sql(location, "SELECT count(*)::text FROM seals") == [["1"]])
        }
    }

    /// A fresh database whose store the owner made and granted to a new application role:
    /// `body` gets the owner's location, the role's, and the role's name.
    static func withApplicationRole(_ body: @Sendable (PostgresLocation, PostgresLocation, String) async throws -> Void) async throws {
        let role = "concord_app_" + Hex.encode((0..<4).map { _ in UInt8.random(in: 0...255) })
        guard let server = PostgresTestDatabase.server else { return }
        try await PostgresAdmin.execute(["CREATE ROLE \(role) LOGIN"], on: server)
        defer { Task { try? await PostgresAdmin.execute(["DROP ROLE IF EXISTS \(role)"], on: server) } }
        try await PostgresTestDatabase.with { location in
            let owner = try await PostgresEventStore.create(location, nodeName: "hub", logger: Self.logger)
            try await owner.grantApplicationRole(role)
            await owner.close()
            var asApplication = location
            asApplication.username = role
            try await body(location, asApplication, role)
        }
    }

    /// Format-2 events (whose openings an erasure may destroy): 1…4 notes, 5 an erasure of 2.
    static func erasedOrigin() -> (origin: ForgedOrigin, batch: IngestBatch) {
        var origin = ForgedOrigin()
        func salt() -> [UInt8] { (0..<EventLimits.saltBytes).map { _ in UInt8.random(in: 0...255) } }
        for index in 1...4 { origin.append(stream: "notes:erasure-guard", payload: #"{"victim":"Name \#(index)"}"#, opening: .whole(salt: salt())) }
        origin.append(
            stream: Erasure.stream(of: origin.origin).rawValue, type: Erasure.eventType,
            payload: #"{"events":["\#(origin.origin.hex):2"],"reason":"retention review"}"#, opening: .whole(salt: salt())
        )
        origin.seal()
        return (origin, origin.batch(after: 0))
    }

    /// An opening may be destroyed only as a held erasure of its origin names it: psql as the
    /// application role (which may update the opening columns) is refused by the database, and
    /// an owner who disables the trigger is named by verify, which reads only the log.
    @Test(arguments: Backend.underTest.filter { $0 == .postgres })
    func anErasureMadeWithPsqlIsRefusedOrNamedByVerify(_ backend: Backend) async throws {
        let (origin, batch) = Self.erasedOrigin()
        try await Self.withApplicationRole { location, asApplication, role in
            let store = try await PostgresEventStore.open(asApplication, logger: Self.logger)
            #expect(try await store.ingest(batch, from: "peer").inserted == 5)
            // The erasure was applied on ingest, and the log verifies.
            #expect(try await Self.sql(location, "SELECT seq::text, disclosure::text FROM events ORDER BY seq").map { $0.compactMap { $0 } } == [["1", "0"], ["2", "2"], ["3", "0"], ["4", "0"], ["5", "0"]])
            #expect(try await LogVerifier.verify(store).isValid)
            await store.close()
            let blank = "UPDATE events SET actor = '', causation_id = NULL, correlation_id = NULL, data = '{}', salt = NULL, disclosure = 2"
            for (erasedBy, seq) in [("\(origin.origin.hex):5", 3), ("\(origin.origin.hex):4", 3), ("\(origin.origin.hex):5", 5), ("x:1", 4), ("\(origin.origin.hex):99999999999999999999", 4)] {
                for who in [asApplication, location] {
                    await #expect(throws: (any Error).self, "erased_by \(erasedBy) at seq \(seq) as \(who.username)") {
                        _ = try await Self.sql(who, "\(blank), erased_by = '\(erasedBy)' WHERE seq = \(seq)")
                    }
                }
            }
            #expect(try await Self.sql(location, "SELECT count(*)::text FROM events WHERE disclosure = 2") == [["1"]])
            // The owner can disable any trigger; verify then names what it did from the log alone.
            try await PostgresAdmin.execute(["ALTER TABLE events DISABLE TRIGGER USER", "\(blank), erased_by = '\(origin.origin.hex):5' WHERE seq = 3"], on: location)
            let reopened = try await PostgresEventStore.open(location, logger: Self.logger)
            let faults = try await LogVerifier.verify(reopened).faults.map { "\($0.seq) \($0.kind.rawValue)" }
            #expect(faults == ["3 erased-without-erasure"])
            await reopened.close()
            try await PostgresAdmin.execute(["DROP OWNED BY \(role)"], on: location)
        }
    }

    @Test(arguments: Backend.underTest.filter { $0 == .postgres })
    func anApplicationRoleMayAddHistoryButHasNoPrivilegeToChangeIt(_ backend: Backend) async throws {
        let (origin, runs) = Self.origin(events: 4, runLength: 2)
        try await Self.withApplicationRole { location, asApplication, role in
            let store = try await PostgresEventStore.open(asApplication, logger: Self.logger)
            _ = try await store.ingest(runs[0], from: "peer")
            _ = try await store.ingest(runs[1], from: "peer")
            _ = try await store.issueToken(peer: "peer", readOnly: false)
            #expect(try await store.readModelDigest().count == 64)
            await store.close()
            #expect(try await Self.sql(asApplication, "SELECT max(seq)::text FROM events") == [["4"]])
            for statement in ["UPDATE events SET hash = '\\x00'", "UPDATE events SET stream = 'x:y'", "DELETE FROM events", "DELETE FROM seals", "TRUNCATE events", "UPDATE origins SET public_key = '\\x00'"] {
                do {
                    _ = try await Self.sql(asApplication, statement)
                    Issue.record("\(statement) was allowed")
                } catch let error as PSQLError {
                    #expect(error.serverInfo?[.sqlState] == "42501", "\(statement): permission denied, not merely a trigger")
                }
            }
            #expect(try await Self.sql(location, "SELECT count(*)::text FROM events WHERE origin = '\(origin.origin.hex)'") == [["4"]])
            // Rebuilt by the owner, the read models stay readable by the role: emptied and
            // written again at the same version, recreated and granted again at a new one.
            let owner2 = try await PostgresEventStore.open(location, logger: Self.logger)
            #expect(try await owner2.rebuildReadModels() >= 0)
            try await PostgresAdmin.execute(["UPDATE projection_state SET version = 1"], on: location)
            _ = try await owner2.foldNewEvents()
            await owner2.close()
            #expect(try await Self.sql(location, "SELECT version::text FROM projection_state") == [[String(ReadModelSchema.version)]])
            #expect(try await Self.sql(asApplication, "SELECT count(*)::text FROM cases") == [["0"]])
            let reopened = try await PostgresEventStore.open(asApplication, logger: Self.logger)
            #expect(try await reopened.readModelDigest().count == 64)
            await reopened.close()

            // A release with a migration the database lacks: the application role may not apply
            // it, and is told which and who may; the owner's next open applies it.
            try await PostgresAdmin.execute(["DROP TABLE trusted_origins", "DELETE FROM concord_migrations WHERE name = '0003-trust'"], on: location)
            let pending = await #expect(throws: ConcordError.self) { try await PostgresEventStore.open(asApplication, logger: Self.logger) }
            #expect(pending?.message.contains("lacks this release's migration 0003-trust, which role \(role) may not apply") == true, "\(String(describing: pending))")
            await (try await PostgresEventStore.open(location, logger: Self.logger)).close()
            #expect(try await Self.sql(location, "SELECT count(*)::text FROM concord_migrations WHERE name = '0003-trust'") == [["1"]])
            try await PostgresAdmin.execute(["DROP OWNED BY \(role)"], on: location)
        }
    }
}

/// CI runs the PostgreSQL tests: a missing server there is a failure, not a skip.
@Suite struct PostgresIsUnderTestInCI {
    @Test func ciNamesAPostgreSQLServer() {
        if ProcessInfo.processInfo.environment["CI"] == "true" {
            #expect(PostgresTestDatabase.server != nil, "CI must set CONCORD_TEST_POSTGRES_URL (.ci/run starts a cluster)")
        }
    }
}
