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

    /// The table's rows, by their first cell.
    static func rangeRows() throws -> [String: String] {
        var rows: [String: String] = [:]
        for line in try rangesSection().split(separator: "\n") where line.hasPrefix("| ") {
            let cells = line.split(separator: "|", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count >= 4 else { continue }
            rows[cells[1]] = cells[2...].joined(separator: " | ")
        }
        return rows
    }

    @Test func storageFormatStatesEveryLimitInItsOwnRow() throws {
        let rows = try Self.rangeRows()
        let stated: [(row: String, text: String)] = [
            ("`seq` (of events, `prev` ids, seals; vector entries are 0 to the same)", "1 to \(EventLimits.seqRange.upperBound)"),
            ("`recordedAt`, `occurredAt`", "\(EventLimits.timeRange.lowerBound) to \(EventLimits.timeRange.upperBound)"),
            ("`hlcWallMillis`", "0 to \(EventLimits.hlcWallRange.upperBound)"),
            ("`hlcCounter`", "0 to \(UInt16.max)"),
            ("clock ahead of the receiver", "\(EventLimits.maxClockAheadMillis) ms"),
            ("`schemaVersion`", "1 to \(EventLimits.schemaVersionRange.upperBound)"),
            ("`stream`", "1 to \(EventLimits.maxStreamBytes) bytes"),
            ("`type`", "1 to \(EventLimits.maxTypeBytes) bytes"),
            ("`actor`", "1 to \(EventLimits.maxLabelBytes) bytes"),
            ("`causationId`, `correlationId`", "0 to \(EventLimits.maxLabelBytes) bytes"),
            ("`prev`", "at most \(EventLimits.maxPrevCount) ids"),
            ("`data`", "at most \(EventLimits.maxPayloadDepth) deep"),
            ("`data`", "at most \(EventLimits.maxPayloadBytes) bytes"),
            ("run between two seals", "at most \(EventLimits.maxEventsPerSeal) events"),
            ("run between two seals", "\(EventLimits.maxRunLineBytes) bytes of exchange lines"),
            ("one exchange or import line", "at most \(EventLimits.maxEventLineBytes) bytes"),
            ("one exchange or import line", "and \(EventLimits.maxExchangeLineDepth) deep"),
            ("origins a store holds", "at most \(EventLimits.maxOrigins) "),
            ("origins a store holds", "once it holds \(EventLimits.maxReceivedOrigins), the last \(EventLimits.originsKeptForIncarnations) places"),
        ]
        for (row, text) in stated {
            let cells = try #require(rows[row], "storage-format.md has no row \"\(row)\"")
            #expect(cells.contains(text), "storage-format.md's row \"\(row)\" does not state \"\(text)\": \(cells)")
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
