import ArgumentParser
import ConcordCore
import ConcordSQLite

struct VerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check every event's hash, every chain link and every signature.",
        discussion: """
            Recomputes each event's hash from its content, checks that each origin's events form an unbroken chain 1, 2, 3… in the order they were stored, that every seal's signature verifies with the origin's public key, and that the newest events are sealed. Also runs SQLite's integrity check.

            Exits 0 when all holds. Otherwise prints the first fault as
              FAULT origin ORIGIN seq N: KIND (what it means)
            followed by the rest, and exits 1. When the log is sound but fork evidence is kept (another event was offered for a held origin and seq, signed by its key: a cloned node or a stolen key), it prints FORK lines and exits 3. Kinds: hash-mismatch, chain-broken, missing-event, out-of-order, bad-signature, seal-mismatch, truncated, unsealed, unknown-origin, key-mismatch.
            """
    )

    @OptionGroup var storeOptions: StoreOptions

    @Flag(name: .long, help: "Print the report as one JSON document.")
    var json = false

    func run() async throws {
        try CommandFailure.reporting {
            let store = try storeOptions.openStore()
            let integrity = try store.integrityCheck()
            let report = try LogVerifier.verify(store)
            let forks = try store.forks()
            if json {
                var document = JSONObjectWriter()
                document.field("valid", report.isValid && integrity == "ok")
                document.field("integrityCheck", integrity)
                document.field("events", report.eventsChecked)
                document.field("seals", report.sealsChecked)
                document.field("origins", report.origins)
                let faults = report.faults.map { fault -> String in
                    var object = JSONObjectWriter()
                    object.field("origin", fault.origin.hex)
                    object.field("seq", fault.seq)
                    object.field("kind", fault.kind.rawValue)
                    object.field("detail", fault.detail)
                    return object.finish()
                }
                document.field("faults", rawJSON: "[" + faults.joined(separator: ",") + "]")
                document.field("forks", strings: forks.map { "\($0.event)" })
                print(document.finish())
            } else {
                if integrity != "ok" { print("FAULT sqlite integrity check: \(integrity)") }
                for fault in report.faults {
                    print("FAULT origin \(fault.origin) seq \(fault.seq): \(fault.kind.rawValue) (\(fault.detail))")
                }
                for fork in forks {
                    print("FORK origin \(fork.event.origin) seq \(fork.event.seq): a different, validly signed event was offered by \(fork.source) at \(Timestamp.iso8601(millis: fork.detectedAt)); it was refused and kept as evidence")
                }
                if report.isValid && integrity == "ok" {
                    print("OK: \(report.eventsChecked) events from \(report.origins) origin(s), \(report.sealsChecked) seal(s) verified")
                } else {
                    print("FAILED: \(report.faults.count + (integrity == "ok" ? 0 : 1)) fault(s) in \(report.eventsChecked) events")
                }
            }
            if !report.isValid || integrity != "ok" { throw ExitCode(1) }
            if !forks.isEmpty { throw ExitCode(3) }
        }
    }
}
