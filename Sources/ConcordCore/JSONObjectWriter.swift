/// Writes one JSON object with keys in the order given, for stable, documented output formats.
public struct JSONObjectWriter {
    private var out: [UInt8] = [UInt8(ascii: "{")]
    private var first = true

    public init() {}

    private mutating func key(_ name: String) {
        if !first { out.append(UInt8(ascii: ",")) }
        first = false
        JSONValue.writeString(name, into: &out)
        out.append(UInt8(ascii: ":"))
    }

    public mutating func field(_ name: String, _ value: String?) {
        key(name)
        if let value { JSONValue.writeString(value, into: &out) } else { out.append(contentsOf: "null".utf8) }
    }

    public mutating func field(_ name: String, _ value: some BinaryInteger) {
        key(name)
        out.append(contentsOf: String(value).utf8)
    }

    public mutating func field(_ name: String, _ value: Bool) {
        key(name)
        out.append(contentsOf: (value ? "true" : "false").utf8)
    }

    public mutating func field(_ name: String, strings: [String]) {
        key(name)
        out.append(UInt8(ascii: "["))
        for (offset, value) in strings.enumerated() {
            if offset > 0 { out.append(UInt8(ascii: ",")) }
            JSONValue.writeString(value, into: &out)
        }
        out.append(UInt8(ascii: "]"))
    }

    /// Inserts text that is already valid JSON (a canonical payload, a nested object).
    public mutating func field(_ name: String, rawJSON: String) {
        key(name)
        out.append(contentsOf: rawJSON.utf8)
    }

    public consuming func finish() -> String {
        out.append(UInt8(ascii: "}"))
        return String(decoding: out, as: UTF8.self)
    }
}
