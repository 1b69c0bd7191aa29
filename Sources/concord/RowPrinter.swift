import ConcordCore
import ConcordProjections

/// Prints read-model rows as an aligned table, or as one JSON object per row (NDJSON).
enum RowPrinter {
    static func print(columns: [String], rows: [[SQLValue]], json: Bool, empty: String) {
        if json {
            for row in rows { Swift.print(jsonObject(columns: columns, row: row)) }
            return
        }
        guard !rows.isEmpty else {
            Swift.print(empty)
            return
        }
        var table = TextTable(headers: columns.map { $0.uppercased().replacingOccurrences(of: "_", with: " ") })
        for row in rows { table.rows.append(row.map { truncate($0.description) }) }
        Swift.print(table.render())
    }

    static func jsonObject(columns: [String], row: [SQLValue]) -> String {
        var json = JSONObjectWriter()
        for (column, value) in zip(columns, row) {
            switch value {
            case .null: json.field(column, nil as String?)
            case .integer(let number): json.field(column, number)
            case .text(let text):
                // Conflict candidates are stored as JSON text; print them as JSON, not as a string.
                if column == "candidates" { json.field(column, rawJSON: text) } else { json.field(column, text) }
            }
        }
        return json.finish()
    }

    private static func truncate(_ text: String) -> String {
        let flat = text.replacingOccurrences(of: "\n", with: " ")
        return flat.count > 70 ? String(flat.prefix(69)) + "…" : flat
    }
}
