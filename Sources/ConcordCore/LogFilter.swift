/// Which events a reading of the log lists (`concord log`): all of them, or only those of one
/// stream, one type or one origin, the origin named by the first hex digits of its id. Every
/// backend applies it in its own query; `matches` is the rule they all implement.
public struct LogFilter: Sendable, Hashable {
    public var stream: String?
    public var type: String?
    /// Lowercase hex digits that the origin's id starts with.
    public var originPrefix: String?

    public static let everything = LogFilter()

    public init(stream: String? = nil, type: String? = nil, originPrefix: String? = nil) {
        self.stream = stream
        self.type = type
        self.originPrefix = originPrefix
    }

    public func matches(_ event: Event) -> Bool {
        (stream.map { event.stream.rawValue == $0 } ?? true)
            && (type.map { event.type.rawValue == $0 } ?? true)
            && (originPrefix.map { event.origin.hex.hasPrefix($0) } ?? true)
    }
}
