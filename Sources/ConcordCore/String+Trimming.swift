extension StringProtocol {
    /// Without leading and trailing spaces, tabs and carriage returns (header values, key-file lines).
    package var trimmingSpaces: String {
        let blank: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\r" }
        return String(drop(while: blank).reversed().drop(while: blank).reversed())
    }
}
