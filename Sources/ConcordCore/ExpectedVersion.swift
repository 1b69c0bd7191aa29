/// Optimistic concurrency for an append: what the writer believes the stream's version is.
///
/// A stream's version is the number of its events this node holds (0 when it has none).
public enum ExpectedVersion: Hashable, Sendable {
    /// Append whatever the stream holds.
    case any
    /// The stream must have no events yet.
    case noStream
    /// The stream must hold exactly this many events.
    case exactly(Int)

    public func admits(_ current: Int) -> Bool {
        switch self {
        case .any: true
        case .noStream: current == 0
        case .exactly(let expected): current == expected
        }
    }
}
