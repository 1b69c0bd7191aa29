import ConcordCore
import ConcordProjections
import ConcordSyncProtocol
import Foundation

/// The audit bundle (docs/audit.md): an export with every checkpoint, followed by one
/// `read-models` line for each of the exporting node's newest checkpoints, the digest of the
/// read models folded from exactly what that checkpoint names.
enum AuditBundle {
    /// Read-model lines are written for at most this many of the node's newest checkpoints: each
    /// costs a fold of the log up to it.
    static let maxDigests = 20

    /// The `read-models` lines. With `policy` (a bundle written for a peer, `export --audit
    /// --for`, or the web view's bundle for its reader), each digest is of the read models that
    /// peer folds from the stubs and openings the bundle gives it, so that `concord verify` of
    /// the bundle folds the same.
    static func digestLines(of store: some HubBackend & ReadModelReader, sharedWith policy: SharingPolicy?) async throws -> String {
        let own = Set(try await store.ownOrigins())
        // The newest by time, whichever incarnation signed them.
        let checkpoints = try await store.heldCheckpoints().filter { own.contains($0.signer) }
            .sorted { ($0.takenAt, $0.number) < ($1.takenAt, $1.number) }.suffix(maxDigests)
        var out = ""
        for checkpoint in checkpoints {
            var line = JSONObjectWriter()
            line.field("kind", "read-models")
            line.field("signer", checkpoint.signer.hex)
            line.field("number", checkpoint.number)
            let view = ReadModelView.seenBy(checkpoint.vector, at: checkpoint.takenAt)
            let digest = if let policy { try await store.readModelDigest(view, sharedWith: policy) } else { try await store.readModelDigest(view) }
            line.field("digest", digest)
            out += line.finish() + "\n"
        }
        return out
    }

    struct DigestCheck: Sendable {
        var signer: OriginID
        var number: UInt64
        var holds: Bool
        var problem: String
    }

    /// Each `read-models` line of the file checked against `store` (the file loaded): the
    /// checkpoint it names must be held, and folding what it names must give its digest.
    static func checkDigests(in file: String, against store: some HubBackend & ReadModelReader) async throws -> [DigestCheck] {
        var reader = try NDJSONReader(path: file, label: "checking")
        defer { reader.finish() }
        var claims: [(OriginID, UInt64, String)] = []
        while let claim = try reader.next({ object -> (OriginID, UInt64, String)? in
            guard object["kind"]?.stringValue == "read-models" else { return nil }
            guard case .string(let signer)? = object["signer"], case .number(let number)? = object["number"], let value = UInt64(number),
                  case .string(let digest)? = object["digest"], digest.count == 64 else {
                throw ConcordError(.invalidJSON, "a read-models line needs signer, number and a 64-digit digest")
            }
            return (try OriginID(hex: signer), value, digest)
        }) {
            if let claim { claims.append(claim) }
        }
        let held = try await store.heldCheckpoints()
        var checks: [DigestCheck] = []
        for (signer, number, digest) in claims {
            guard let checkpoint = held.first(where: { $0.signer == signer && $0.number == number }) else {
                checks.append(DigestCheck(signer: signer, number: number, holds: false, problem: "the bundle holds no such checkpoint"))
                continue
            }
            let folded = try await store.readModelDigest(.seenBy(checkpoint.vector, at: checkpoint.takenAt))
            checks.append(DigestCheck(signer: signer, number: number, holds: folded == digest, problem: "the bundle says \(digest.prefix(16))…, folding what the checkpoint names gives \(folded.prefix(16))…"))
        }
        return checks
    }
}
