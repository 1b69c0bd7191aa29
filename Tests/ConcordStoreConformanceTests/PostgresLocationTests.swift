import ConcordCore
import ConcordPostgres
import Testing

/// `--store postgres://…` as a person writes it (no server needed).
struct PostgresLocationTests {
    @Test func aURLGivesEveryPartAndNeverPrintsThePassword() throws {
        let location = try PostgresLocation(url: "postgresql://hub%40ops:p%3Ass%2Fw@db.example:6543/national_hub?sslmode=require")
        #expect(location == PostgresLocation(host: "db.example", port: 6543, username: "hub@ops", password: "p:ss/w", database: "national_hub", sslMode: .require))
        #expect(location.description == "postgres://hub@ops@db.example:6543/national_hub?sslmode=require")
        #expect(!location.description.contains("p:ss"))
        let plain = try PostgresLocation(url: "postgres://concord@127.0.0.1/hub", environment: ["PGPASSWORD": "secret"])
        #expect(plain.port == 5432 && plain.password == "secret" && plain.sslMode == .prefer)
    }

    @Test func whatIsMissingOrWrongIsNamed() {
        func message(_ url: String) -> String {
            do {
                _ = try PostgresLocation(url: url)
                return "parsed"
            } catch let error as ConcordError {
                return error.message
            } catch {
                return "\(error)"
            }
        }
        #expect(message("hub.sqlite").contains("is not a PostgreSQL URL"))
        #expect(message("postgres://127.0.0.1/hub").contains("names no user"))
        #expect(message("postgres://concord@127.0.0.1").contains("names no database"))
        #expect(message("postgres://concord@/hub").contains("names no host"))
        #expect(message("postgres://concord@h:0/hub").contains("1 to 65535"))
        #expect(message("postgres://concord@h:99999/hub").contains("1 to 65535"))
        #expect(message("postgres://concord@h:x/hub").contains("1 to 65535"))
        #expect(message("postgres://concord@h/hub?sslmode=verify-full").contains("sslmode=verify-full is not one of"))
        #expect(message("postgres://concord:secret@h:x/hub").contains(":***@") && !message("postgres://concord:secret@h:x/hub").contains("secret"))
        #expect(message("postgres://concord%zz@h/hub").contains("names no user"))
    }
}
