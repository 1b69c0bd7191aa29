import ConcordCore

/// Turns event data written under an older schema version into the current one, one version step
/// at a time. Stored events are never rewritten: upcasting happens as they are read.
public enum Upcasters {
    /// `(type, from version)` -> the step to `from + 1`.
    private static let steps: [String: [UInt32: @Sendable (JSONValue) throws -> JSONValue]] = [
        "case.opened": [1: caseOpenedV1ToV2],
    ]

    /// Data in the current version of `type`, or nil when `version` is newer than this build knows.
    public static func upcast(type: String, from version: UInt32, data: JSONValue) throws -> JSONValue? {
        let current = currentVersion(of: type)
        guard version <= current else { return nil }
        var data = data
        var version = max(version, 1)
        while version < current {
            guard let step = steps[type]?[version] else {
                throw ConcordError(.invalidJSON, "no upcaster for \(type) from schema version \(version)")
            }
            data = try step(data)
            version += 1
        }
        return data
    }

    public static func currentVersion(of type: String) -> UInt32 {
        UInt32((steps[type]?.keys.max() ?? 0) + 1)
    }

    /// `case.opened` v1 (2016 pilot) called the category `kind` and used short names
    /// (`labour`, `sexual`, `criminal`, `domestic`); v2 calls it `category` with full names.
    static func caseOpenedV1ToV2(_ data: JSONValue) throws -> JSONValue {
        guard case .object(var fields) = data else { return data }
        if let kind = fields.removeValue(forKey: "kind") {
            guard case .string(let short) = kind else {
                throw ConcordError(.invalidJSON, "case.opened v1 field \"kind\" must be a string")
            }
            let full = [
                "labour": "labour exploitation", "sexual": "sexual exploitation",
                "criminal": "criminal exploitation", "domestic": "domestic servitude",
            ][short.lowercased()] ?? short
            fields["category"] = .string(full)
        }
        return .object(fields)
    }
}
