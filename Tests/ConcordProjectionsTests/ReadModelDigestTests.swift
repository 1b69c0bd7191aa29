import ConcordProjections
import Testing

struct ReadModelDigestTests {
    let table = ReadModelSchema.table(named: "conflicts")!

    func digest(_ rows: [[SQLValue]]) -> String {
        var digest = ReadModelDigest()
        for table in ReadModelSchema.tables {
            digest.add(table: table, rows: table.name == self.table.name ? rows : [])
        }
        return digest.finish()
    }

    @Test func rowOrderDoesNotMatterButContentDoes() {
        let a: [SQLValue] = [.text("case:A"), .text("status"), .text("charged"), .text("[]")]
        let b: [SQLValue] = [.text("case:B"), .text("owner"), .text("DS Patel"), .text("[]")]
        #expect(digest([a, b]) == digest([b, a]))
        #expect(digest([a]) != digest([a, b]))
        var changed = a
        changed[2] = .text("referred")
        #expect(digest([changed, b]) != digest([a, b]))
    }

    @Test func valuesAreTypedAndLengthPrefixed() {
        let text: [SQLValue] = [.text("s"), .text("f"), .text("1"), .null]
        let number: [SQLValue] = [.text("s"), .text("f"), .integer(1), .null]
        #expect(digest([text]) != digest([number]))
        let split1: [SQLValue] = [.text("ab"), .text("c"), .null, .null]
        let split2: [SQLValue] = [.text("a"), .text("bc"), .null, .null]
        #expect(digest([split1]) != digest([split2]))
    }

    @Test func sortingMatchesSQLiteBinaryCollation() {
        #expect(SQLValue.null < .integer(-5))
        #expect(SQLValue.integer(99) < .text(""))
        #expect(SQLValue.text("Z") < .text("a"))
        #expect(SQLValue.text("z") < .text("é"))
    }
}
