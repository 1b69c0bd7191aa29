/// Parts of an export's text, for tests that compare exports.
public enum ExportText {
    /// The lines up to the last event or seal line: the events, seals and keys, without the
    /// checkpoints (and their signers' keys) that follow them.
    public static func eventPart(_ text: String) -> String {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard let last = lines.lastIndex(where: { $0.contains(#""kind":"event""#) || $0.contains(#""kind":"seal""#) }) else { return "" }
        return lines[...last].joined(separator: "\n") + "\n"
    }

    /// The checkpoint lines.
    public static func checkpoints(_ text: String) -> [Substring] {
        text.split(separator: "\n").filter { $0.contains(#""kind":"checkpoint""#) }
    }
}
