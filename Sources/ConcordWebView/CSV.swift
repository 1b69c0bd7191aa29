import ConcordProjections

/// RFC 4180 CSV: every field quoted when it holds a comma, quote or line break. A field that a
/// spreadsheet would run as a formula (starting =, +, -, @) is prefixed with ' so that opening
/// an export never runs a value someone recorded.
enum CSV {
    static func render(columns: [String], rows: [[SQLValue]]) -> String {
        var out = columns.map(field).joined(separator: ",") + "\r\n"
        for row in rows {
            out += row.map { value in
                switch value {
                case .null: ""
                case .integer(let number): String(number)
                case .text(let text): field(text)
                }
            }.joined(separator: ",") + "\r\n"
        }
        return out
    }

    static func field(_ text: String) -> String {
        var text = text
        if let first = text.first, "=+-@\t\r".contains(first) { text = "'" + text }
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
