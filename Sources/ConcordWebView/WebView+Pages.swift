import ConcordCore
import ConcordDomain
import ConcordProjections
import Foundation
import Hummingbird

extension WebView {
    /// A query-string value as a form sends it (`+` for a space, then percent-encoding), trimmed;
    /// nil when absent or empty.
    static func parameter(_ name: String, of request: Request) -> String? {
        guard let value = formFields(request.uri.query ?? "")[name]?.trimmingCharacters(in: .whitespaces), !value.isEmpty else { return nil }
        return value
    }

    /// A stream id as one path segment (`:` may stay; `/`, `?`, `#`, `%` and spaces may not).
    static func pathSegment(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~:@")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
    }

    /// The as-of control's values, read from the query string.
    struct ViewChoice {
        var asOf: String?
        var seenBy: String?
        var validAt: String?

        init(_ request: Request) {
            func value(_ name: String) -> String? { WebView.parameter(name, of: request) }
            asOf = value("as_of")
            seenBy = value("seen_by")
            validAt = value("valid_at")
        }

        /// The query string that keeps this view in links (`&` first, or empty).
        var query: String {
            [("as_of", asOf), ("seen_by", seenBy), ("valid_at", validAt)].compactMap { name, value in
                value.map { "&\(name)=\($0.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")" }
            }.joined()
        }

        func resolve(_ source: any WebViewSource) async throws -> ReadModelView {
            if validAt != nil, asOf != nil || seenBy != nil {
                throw ConcordError(.invalidArgument, "choose valid time, or recorded time (with or without a node), not both")
            }
            return try await source.view(asOf: try asOf.map(Timestamp.parse), seenBy: seenBy, validAt: try validAt.map(Timestamp.parse))
        }

        var description: String {
            switch (asOf, seenBy, validAt) {
            case (nil, nil, nil): "Live: everything this node holds now."
            case (_, let node?, _): "As \(node) held it at its last signed checkpoint\(asOf.map { " at or before \($0)" } ?? "") (verifiable on any copy holding that checkpoint)."
            case (let time?, nil, _): "As this node had stored it by \(time) (its own clock)."
            case (nil, nil, let time?): "Only what had happened in the world by \(time) (occurred-at)."
            }
        }
    }

    func common(_ request: Request, title: String) async throws -> (context: [String: Any], choice: ViewChoice, view: ReadModelView) {
        let choice = ViewChoice(request)
        let view = try await choice.resolve(source)
        let nodes = Set(try await source.checkpointNodeNames()).sorted()
        let context: [String: Any] = [
            "title": title, "asOf": choice.asOf ?? "", "validAt": choice.validAt ?? "", "viewQuery": choice.query,
            "viewDescription": choice.description,
            "seenByOptions": nodes.map { ["name": $0, "selected": $0 == choice.seenBy] },
            "path": request.uri.path,
        ]
        return (context, choice, view)
    }

    // MARK: Overview

    func overview(_ request: Request) async throws -> Response {
        var (context, _, _) = try await common(request, title: "Overview")
        let overview = try await source.overview()
        context["node"] = overview.node
        context["origin"] = overview.origin?.hex ?? "none"
        context["events"] = String(overview.events)
        context["digest"] = overview.digest
        context["verifiedAt"] = Timestamp.iso8601(millis: overview.verifiedAt)
        context["verified"] = !overview.faults.contains { $0.hasPrefix("FAULT") }
        context["faults"] = overview.faults
        context["forks"] = String(overview.forks)
        context["conflicts"] = String(overview.conflicts)
        context["origins"] = overview.origins.map { ["origin": $0.origin.hex, "node": $0.node ?? "", "publicKey": $0.publicKey, "events": String($0.events)] }
        context["peers"] = overview.peers.map { ["name": $0.name, "url": $0.url, "lastSync": $0.lastSync.map(Timestamp.iso8601(millis:)) ?? "never"] }
        context["hasPeers"] = !overview.peers.isEmpty
        context["checkpointNodes"] = overview.checkpointNodes.map { ["node": $0.node, "count": String($0.count), "newest": Timestamp.iso8601(millis: $0.newest)] }
        return try html(render("overview", context, nav: "overview"))
    }

    // MARK: Lists

    func list(_ kind: ReadModelListing.Kind, _ request: Request, csv: Bool) async throws -> Response {
        var (context, choice, view) = try await common(request, title: kind.rawValue.capitalized)
        let parameter = { (name: String) -> String? in WebView.parameter(name, of: request) }
        let listing = ReadModelListing(
            kind: kind, status: parameter("status"), region: parameter("region"), category: parameter("category"), owner: parameter("owner"),
            meeting: parameter("meeting"), overdue: parameter("overdue") == "1"
        )
        let (sql, bindings) = listing.query(view, now: Timestamp.nowMillis())
        let result = try await source.queryReadModels(view, sql: sql, bindings)
        if csv {
            var response = Response(status: .ok, headers: [.contentType: "text/csv; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: CSV.render(columns: result.columns, rows: result.rows))))
            response.headers[.contentDisposition] = "attachment; filename=\"\(kind.rawValue).csv\""
            return response
        }
        let linkColumn: (prefix: String, column: Int)? = switch kind {
        case .cases: ("case:", 0)
        case .meetings: ("meeting:", 0)
        case .decisions: ("meeting:", 1)
        case .actions: ("action:", 0)
        case .conflicts: ("", 0)
        }
        context["columns"] = result.columns.map { $0.replacingOccurrences(of: "_", with: " ") }
        context["rows"] = result.rows.map { row in
            ["cells": row.enumerated().map { index, value -> [String: Any] in
                var cell: [String: Any] = ["text": value == .null ? "" : "\(value)"]
                if let linkColumn, index == linkColumn.column, case .text(let id) = value {
                    let stream = kind == .conflicts ? id : linkColumn.prefix + id
                    cell["link"] = "/view/stream/\(Self.pathSegment(stream))?\(choice.query.dropFirst())"
                }
                return cell
            }]
        }
        context["count"] = String(result.rows.count)
        context["empty"] = result.rows.isEmpty
        context["kind"] = kind.rawValue
        context["filters"] = filters(kind, listing)
        context["hasFilters"] = kind != .conflicts
        context["csvLink"] = "/view/\(kind.rawValue).csv?" + (request.uri.query ?? "")
        context["hiddenView"] = [("as_of", choice.asOf), ("seen_by", choice.seenBy), ("valid_at", choice.validAt)].compactMap { name, value in value.map { ["name": name, "value": $0] } }
        switch kind {
        case .cases:
            let all = try await source.queryReadModels(view, sql: "SELECT coalesce(region, '(none)'), status, count(*) FROM {schema}.cases GROUP BY 1, 2 ORDER BY 1, 2", [])
            context["chart"] = SVGChart.stackedBars(
                title: "Cases by region and status",
                groups: all.rows.map { ("\($0[0])", "\($0[1])", Int("\($0[2])") ?? 0) }
            )
        case .actions:
            let today = String(Timestamp.iso8601(millis: view.referenceTime ?? Timestamp.nowMillis()).prefix(10))
            let all = try await source.queryReadModels(view, sql: """
                SELECT CASE WHEN status <> 'open' THEN status WHEN due_date IS NULL THEN 'open, no due date' WHEN due_date < $1 THEN 'overdue' ELSE 'due' END, count(*)
                FROM {schema}.actions GROUP BY 1 ORDER BY 1
                """, [.text(today)])
            context["chart"] = SVGChart.bars(title: "Actions due and overdue on \(today)", bars: all.rows.map { ("\($0[0])", Int("\($0[1])") ?? 0) })
        default: break
        }
        return try html(render("list", context, nav: kind.rawValue))
    }

    func filters(_ kind: ReadModelListing.Kind, _ listing: ReadModelListing) -> [[String: Any]] {
        func field(_ name: String, _ label: String, _ value: String?) -> [String: Any] { ["name": name, "label": label, "value": value ?? "", "text": true] }
        switch kind {
        case .cases: return [field("status", "Status", listing.status), field("region", "Region", listing.region), field("category", "Category", listing.category), field("owner", "Owner", listing.owner)]
        case .meetings: return [field("status", "Status", listing.status)]
        case .decisions: return [field("meeting", "Meeting", listing.meeting)]
        case .actions: return [field("status", "Status", listing.status), field("owner", "Owner", listing.owner), ["name": "overdue", "label": "Overdue only", "checked": listing.overdue, "checkbox": true]]
        case .conflicts: return []
        }
    }

    // MARK: One stream

    func stream(_ text: String, _ request: Request, _ reader: Reader) async throws -> Response {
        let stream = try StreamID(text)
        var (context, choice, view) = try await common(request, title: stream.rawValue)
        // Each event as the reader may see it (the same decision sync makes for its peer).
        let events = try await source.streamEvents(stream, view).map { stored in
            var shown = stored
            shown.event = reader.policy.shared(stored.event)
            return shown
        }
        guard !events.isEmpty else { throw ConcordError(.unknownID, "no events on \(stream) in this view") }
        let names = try await source.nodeNames()
        var sections: [[String: Any]] = []
        for table in ReadModelSchema.tables {
            let result = try await source.queryReadModels(view, sql: "SELECT * FROM {schema}.\(table.name) WHERE stream = $1 ORDER BY 1, 2", [.text(stream.rawValue)])
            guard !result.rows.isEmpty else { continue }
            let keep = result.columns.indices.filter { result.columns[$0] != "stream" }
            sections.append([
                "table": table.name.replacingOccurrences(of: "_", with: " "),
                "columns": keep.map { result.columns[$0].replacingOccurrences(of: "_", with: " ") },
                "rows": result.rows.map { row in ["cells": keep.map { row[$0] == .null ? "" : "\(row[$0])" }] },
            ])
        }
        let steps = StreamReplay.steps(stream: stream, events: events)
        context["stream"] = stream.rawValue
        context["sections"] = sections
        context["steps"] = steps.map { step -> [String: Any] in
            let event = step.event.event
            var item: [String: Any] = [
                "number": String(step.number), "type": event.type.rawValue, "actor": event.actor,
                "origin": event.origin.short, "seq": String(event.seq),
                "recordedAt": Timestamp.iso8601(millis: event.recordedAt), "occurredAt": Timestamp.iso8601(millis: event.occurredAt),
                "changes": step.changes.map { change in
                    ["table": change.table, "key": change.key, "kind": change.kind.rawValue, "detail": change.kind == .changed ? change.columns.joined(separator: "; ") : change.row.joined(separator: ", ")]
                },
            ]
            // Absent rather than empty: a section shows only for a value that is there.
            if let node = names[event.origin] { item["node"] = node }
            switch event.disclosure {
            case .full: break
            case .withheld: item["disclosure"] = "withheld from this node: only its header is held"
            case .erased: item["disclosure"] = "erased: its data was destroyed, its header still verifies"
            }
            return item
        }
        context["timeline"] = SVGChart.timeline(title: "Timeline of \(stream.rawValue)", points: steps.map { (Timestamp.iso8601(millis: $0.event.event.occurredAt), $0.event.event.occurredAt, $0.event.event.type.rawValue) })
        if StreamKind.parse(stream)?.0 == .meeting, let id = StreamKind.parse(stream)?.1 {
            let trail = try await source.queryReadModels(view, sql: "SELECT * FROM {schema}.decision_trail WHERE meeting_id = $1 ORDER BY 1, 2", [.text(id)])
            context["trailColumns"] = trail.columns.map { $0.replacingOccurrences(of: "_", with: " ") }
            context["trail"] = trail.rows.map { row in ["cells": row.map { $0 == .null ? "" : "\($0)" }] }
            context["hasTrail"] = !trail.rows.isEmpty
        }
        _ = choice
        return try html(render("stream", context, nav: nil))
    }

    // MARK: Changes between two dates

    func changes(_ request: Request) async throws -> Response {
        var (context, _, _) = try await common(request, title: "What changed")
        let from = Self.parameter("from", of: request)
        let to = Self.parameter("to", of: request)
        context["from"] = from ?? ""
        context["to"] = to ?? ""
        if let from, let to {
            let (start, end) = (try Timestamp.parse(from), try Timestamp.parse(to))
            var before = ReadModelRows(), after = ReadModelRows()
            for table in ReadModelSchema.tables {
                let sql = "SELECT \(table.columnNames.joined(separator: ", ")) FROM {schema}.\(table.name)"
                before.tables[table.name] = try await source.queryReadModels(.validAt(start), sql: sql, []).rows
                after.tables[table.name] = try await source.queryReadModels(.validAt(end), sql: sql, []).rows
            }
            let changes = StreamReplay.changes(from: before, to: after)
            context["changes"] = changes.map { ["table": $0.table, "key": $0.key, "kind": $0.kind.rawValue, "detail": $0.kind == .changed ? $0.columns.joined(separator: "; ") : $0.row.joined(separator: ", ")] }
            context["asked"] = true
            context["none"] = changes.isEmpty
        }
        return try html(render("changes", context, nav: "changes"))
    }
}
