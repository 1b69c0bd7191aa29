import ConcordCore
@testable import ConcordSQLite
import ConcordTestSupport
import Testing

/// An attacker with write access to the file drops the guards and rewrites history;
/// verification must name what was done and where.
struct TamperDetectionTests {
    /// A store with 6 events on one origin, its triggers dropped, and a raw connection to tamper with.
    struct Tampered {
        let directory: TemporaryDirectory
        let store: SQLiteEventStore
        let origin: OriginID
        let raw: SQLiteConnection

        init() throws {
            directory = try TemporaryDirectory("tamper")
            store = try StoreFixtures.createStore(in: directory)
            for index in 1...6 {
                try store.append([StoreFixtures.draft(data: .object(["note": .string("note \(index)")]))])
            }
            origin = try store.origin
            raw = try SQLiteConnection(path: store.path, flags: [.readWrite])
            for trigger in ["events_refuse_update", "events_refuse_delete", "seals_refuse_update", "seals_refuse_delete"] {
                try raw.execute("DROP TRIGGER \(trigger)")
            }
        }

        func firstFault() throws -> VerificationFault? {
            try LogVerifier.verify(store).firstFault
        }
    }

    @Test func anUntouchedStoreVerifies() throws {
        let tampered = try Tampered()
        let report = try LogVerifier.verify(tampered.store)
        #expect(report.isValid)
        #expect(report.eventsChecked == 6 && report.sealsChecked == 6)
    }

    @Test func aChangedPayloadByteIsNamed() throws {
        let tampered = try Tampered()
        try tampered.raw.execute("UPDATE events SET data = replace(data, 'note 3', 'note 8') WHERE seq = 3")
        let fault = try #require(try tampered.firstFault())
        #expect((fault.origin, fault.seq, fault.kind) == (tampered.origin, 3, .hashMismatch))
    }

    @Test func aDeletedEventIsNamed() throws {
        let tampered = try Tampered()
        try tampered.raw.execute("DELETE FROM events WHERE seq = 4")
        let fault = try #require(try tampered.firstFault())
        #expect((fault.origin, fault.seq, fault.kind) == (tampered.origin, 4, .missingEvent))
    }

    @Test func twoSwappedEventsAreNamed() throws {
        let tampered = try Tampered()
        // Swap the log order of seq 2 and seq 3 (their positions), keeping every other column.
        try tampered.raw.execute("""
            UPDATE events SET position = -1 WHERE seq = 2;
            UPDATE events SET position = 2 WHERE seq = 3;
            UPDATE events SET position = 3 WHERE seq = 2;
            """)
        let fault = try #require(try tampered.firstFault())
        #expect((fault.origin, fault.seq, fault.kind) == (tampered.origin, 3, .outOfOrder))
    }

    @Test func swappedSeqNumbersAreNamed() throws {
        let tampered = try Tampered()
        try tampered.raw.execute("""
            UPDATE events SET seq = -1 WHERE seq = 2;
            UPDATE events SET seq = 2 WHERE seq = 3;
            UPDATE events SET seq = 3 WHERE seq = -1;
            """)
        let fault = try #require(try tampered.firstFault())
        #expect((fault.origin, fault.seq, fault.kind) == (tampered.origin, 2, .hashMismatch))
    }

    @Test func aReplacedSignatureIsNamed() throws {
        let tampered = try Tampered()
        // Another valid signature of the same key, moved onto seal 5.
        try tampered.raw.execute("UPDATE seals SET signature = (SELECT signature FROM seals WHERE seq = 2) WHERE seq = 5")
        let fault = try #require(try tampered.firstFault())
        #expect((fault.origin, fault.seq, fault.kind) == (tampered.origin, 5, .badSignature))
    }

    @Test func aTruncatedTailIsNamed() throws {
        let tampered = try Tampered()
        try tampered.raw.execute("DELETE FROM events WHERE seq > 4")
        let fault = try #require(try tampered.firstFault())
        #expect((fault.origin, fault.seq, fault.kind) == (tampered.origin, 5, .truncated))
    }

    @Test func aForgedReplacementEventIsCaughtBySealOrChain() throws {
        // The attacker rewrites seq 6 and recomputes its hash, but cannot re-sign the seal.
        let tampered = try Tampered()
        var event = try #require(try tampered.store.readOrigin(tampered.origin, afterSeq: 5, limit: 1).first).event
        event.payload = #"{"note":"forged"}"#
        event.commitment = event.computeCommitment()
        event.hash = event.computeHash()
        let statement = try tampered.raw.prepare("UPDATE events SET data = ?, commitment = ?, hash = ? WHERE seq = 6")
        try statement.run([.text(event.payload), .blob(event.commitment!.bytes), .blob(event.hash.bytes)])
        let fault = try #require(try tampered.firstFault())
        #expect((fault.seq, fault.kind) == (6, .sealMismatch))
    }
}
