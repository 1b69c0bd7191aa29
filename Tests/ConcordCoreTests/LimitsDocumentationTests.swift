import ConcordCore
import Foundation
import Testing

/// docs/storage-format.md ("Ranges and limits") and docs/openapi.yaml state the same ranges and
/// limits as `EventLimits`: a second implementation written from the documents alone agrees.
struct LimitsDocumentationTests {
    static func document(_ name: String) throws -> String {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return try String(contentsOf: root.appendingPathComponent("docs/\(name)"), encoding: .utf8)
    }

    /// The "Ranges and limits" section of storage-format.md.
    static func rangesSection() throws -> String {
        let text = try document("storage-format.md")
        let start = try #require(text.range(of: "## Ranges and limits"))
        let rest = text[start.upperBound...]
        let end = rest.range(of: "\n## ")?.lowerBound ?? rest.endIndex
        return String(rest[..<end])
    }

    @Test func storageFormatStatesEveryLimit() throws {
        let section = try Self.rangesSection()
        let stated: [(String, String)] = [
            ("seq", "1 to \(EventLimits.seqRange.upperBound)"),
            ("times", "\(EventLimits.timeRange.lowerBound) to \(EventLimits.timeRange.upperBound)"),
            ("hlc wall", "0 to \(EventLimits.hlcWallRange.upperBound)"),
            ("clock ahead", "\(EventLimits.maxClockAheadMillis) ms"),
            ("schema version", "1 to \(EventLimits.schemaVersionRange.upperBound)"),
            ("stream", "1 to \(EventLimits.maxStreamBytes) bytes"),
            ("type", "1 to \(EventLimits.maxTypeBytes) bytes"),
            ("actor", "1 to \(EventLimits.maxLabelBytes) bytes"),
            ("prev", "at most \(EventLimits.maxPrevCount) ids"),
            ("data depth", "at most \(EventLimits.maxPayloadDepth) deep"),
            ("data size", "at most \(EventLimits.maxPayloadBytes) bytes"),
            ("run events", "at most \(EventLimits.maxEventsPerSeal) events"),
            ("run bytes", "\(EventLimits.maxRunLineBytes) bytes of exchange lines"),
            ("line", "at most \(EventLimits.maxEventLineBytes) bytes"),
            ("line depth", "and \(EventLimits.maxExchangeLineDepth) deep"),
        ]
        for (what, text) in stated {
            #expect(section.contains(text), "storage-format.md does not state the \(what) limit as \"\(text)\"")
        }
    }

    @Test func theOpenAPIDocumentStatesTheSameRanges() throws {
        let document = try Self.document("openapi.yaml")
        for text in [
            "maximum: \(EventLimits.seqRange.upperBound)", "minimum: \(EventLimits.timeRange.lowerBound), maximum: \(EventLimits.timeRange.upperBound)",
            "maximum: \(EventLimits.hlcWallRange.upperBound)", "maxLength: \(EventLimits.maxStreamBytes)", "maxLength: \(EventLimits.maxTypeBytes)",
            "maxLength: \(EventLimits.maxLabelBytes)", "maxItems: \(EventLimits.maxPrevCount)", "minimum: \(EventLimits.maxEventsPerSeal)",
        ] {
            #expect(document.contains(text), "openapi.yaml does not state \"\(text)\"")
        }
    }
}
