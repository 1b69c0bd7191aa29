/// The one error type Concord's libraries throw.
///
/// Every error carries a stable `code` (scripts and tests match on it), a message a person can act
/// on, and the underlying cause when there is one. The message never needs the cause to make sense.
public struct ConcordError: Error, Sendable, CustomStringConvertible {
    /// Stable, machine-readable error codes. Their raw values are part of the CLI's documented output.
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// Input that is not valid JSON, or JSON of the wrong shape.
        public static let invalidJSON = Code(rawValue: "invalid-json")
        /// An argument or field that breaks a rule (a stream id with spaces, a negative version…).
        public static let invalidArgument = Code(rawValue: "invalid-argument")
        /// A value larger than Concord accepts.
        public static let tooLarge = Code(rawValue: "too-large")
        /// Optimistic concurrency: the stream is not at the version the writer expected.
        public static let wrongExpectedVersion = Code(rawValue: "wrong-expected-version")
        /// No store at the given path.
        public static let storeNotFound = Code(rawValue: "store-not-found")
        /// `init` on a path that already holds a store.
        public static let storeExists = Code(rawValue: "store-exists")
        /// The file exists but is not a Concord store (another SQLite file, or not SQLite at all).
        public static let notAConcordStore = Code(rawValue: "not-a-concord-store")
        /// The store was written by a newer Concord whose migrations this build does not know.
        public static let storeTooNew = Code(rawValue: "store-too-new")
        /// The SQLite layer failed (I/O error, disk full, locked for too long…).
        public static let storage = Code(rawValue: "storage")
        /// The node's key file is missing, unreadable, malformed or too widely readable.
        public static let nodeKey = Code(rawValue: "node-key")
        /// A case, meeting, action or decision id that this node does not hold.
        public static let unknownID = Code(rawValue: "unknown-id")
        /// A command that the record's current state does not allow (completing a cancelled action…).
        public static let ruleViolation = Code(rawValue: "rule-violation")
        /// An event or seal from elsewhere that does not verify: wrong hash, broken chain, gap, bad
        /// signature, unknown key.
        public static let invalidEvent = Code(rawValue: "invalid-event")
        /// A compressed body that is truncated, corrupt or in an encoding Concord does not speak.
        public static let invalidEncoding = Code(rawValue: "invalid-encoding")
        /// A content encoding Concord does not speak (HTTP 415).
        public static let unsupportedEncoding = Code(rawValue: "unsupported-encoding")
        /// A peer without a valid token, or with a token that does not allow the request.
        public static let unauthorized = Code(rawValue: "unauthorized")
        public static let forbidden = Code(rawValue: "forbidden")
        /// Events of an origin this node does not accept: in strict trust mode, one not on its roster.
        public static let untrustedOrigin = Code(rawValue: "untrusted-origin")
        /// A peer that could not be reached or answered with an error.
        public static let peer = Code(rawValue: "peer")
        /// A different event for an `(origin, seq)` this node already holds.
        public static let fork = Code(rawValue: "fork")
        /// A new origin where the store already holds all it takes (`EventLimits.maxReceivedOrigins`, or `maxOrigins` for its own incarnation).
        public static let tooManyOrigins = Code(rawValue: "too-many-origins")
        /// A request that did not arrive in time (HTTP 408).
        public static let timeout = Code(rawValue: "timeout")
        /// A peer with more requests open at once than the server allows it (HTTP 429).
        public static let tooManyRequests = Code(rawValue: "too-many-requests")
        /// An event stamped further ahead of this node's clock than `EventLimits.maxClockAheadMillis`.
        public static let clockAhead = Code(rawValue: "clock-ahead")
        /// Stored data failed verification.
        public static let verificationFailed = Code(rawValue: "verification-failed")
    }

    public var code: Code
    public var message: String
    public var cause: (any Error)?

    public init(_ code: Code, _ message: String, cause: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
    }

    public var description: String {
        if let cause {
            return "\(message) (\(code); caused by: \(cause))"
        }
        return "\(message) (\(code))"
    }
}

/// An error of a library beneath Concord (a storage engine's) that says what it is as a
/// `ConcordError`, so a caller handles one kind of error whichever backend failed.
public protocol ConcordErrorConvertible: Error {
    var concordError: ConcordError { get }
}
