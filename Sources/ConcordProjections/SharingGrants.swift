import ConcordCore

/// How region and meeting sharing rules resolve to streams, written once for every backend: SQL
/// over the read models (plain tables on every backend), with the rule's value as parameter `$1`
/// (SQLite binds `$1` by position as PostgreSQL does).
public enum SharingGrants {
    /// The queries whose rows (one column: a stream) a rule grants, or none for rules that name
    /// their streams directly.
    public static func streamQueries(for rule: ShareSelector) -> (value: String, queries: [String])? {
        switch rule {
        case .region(let region):
            // Only cases every `case.opened` of which names the region (regions_named = 1), and
            // actions every `action.raised` of which names the same case (links_named = 1): no
            // origin can make a stream travel by naming another case or region after it.
            (region, [
                "SELECT stream FROM cases WHERE region = $1 AND regions_named = 1",
                "SELECT a.stream FROM actions a JOIN cases c ON c.case_id = a.case_id WHERE c.region = $1 AND c.regions_named = 1 AND a.links_named = 1",
            ])
        case .meeting(let meeting):
            // Actions every `action.raised` of which names the same decision, and only while that
            // decision id is recorded by this meeting alone (decision ids are unique only on the
            // node that chose them; an id two meetings use grants through neither).
            (meeting, ["""
                SELECT a.stream FROM actions a JOIN decisions d ON d.decision_id = a.decision_id
                WHERE d.meeting_id = $1 AND a.links_named = 1
                  AND NOT EXISTS (SELECT 1 FROM decisions other WHERE other.decision_id = d.decision_id AND other.meeting_id <> d.meeting_id)
                """])
        default:
            nil
        }
    }

    /// Whether some rule of these needs the read models to resolve.
    public static func needsReadModels(_ rules: [ShareSelector]) -> Bool {
        rules.contains { streamQueries(for: $0) != nil }
    }

    /// Whether storing `event`, the `version`th of its stream, may change what a region or
    /// meeting rule grants of events already held: a case's region or an action's case or
    /// decision learnt after some of its stream's events, or a decision (which grants the actions
    /// raised from it). Then peers must ask again about their stubs (the openings number moves,
    /// when the node has such rules).
    public static func mayWiden(_ event: Event, version: Int) -> Bool {
        guard event.disclosure == .full else { return false }
        switch event.type.rawValue {
        case "case.opened", "action.raised": return version > 1
        case "meeting.decision-recorded": return true
        default: return false
        }
    }

    /// A `LIKE` filter for `share_rules.selector` matching the rules whose grants depend on what
    /// the node holds.
    public static let resolvedRulesFilter = "selector LIKE 'region:%' OR selector LIKE 'meeting:%'"
}
