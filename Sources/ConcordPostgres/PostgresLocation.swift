import ConcordCore
import Foundation
import Logging
import NIOSSL
import PostgresNIO

/// Where a PostgreSQL store is: a `postgres://` (or `postgresql://`) URL, as libpq writes them.
///
///     postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?sslmode=disable|prefer|require]
///
/// The password may instead come from `$PGPASSWORD`, so that it is not on a command line.
public struct PostgresLocation: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var username: String
    public var password: String?
    public var database: String
    public var sslMode: SSLMode

    public enum SSLMode: String, Sendable {
        case disable, prefer, require
    }

    /// Whether a store argument names a PostgreSQL store rather than a file.
    public static func isURL(_ text: String) -> Bool {
        text.hasPrefix("postgres://") || text.hasPrefix("postgresql://")
    }

    public init(host: String, port: Int = 5432, username: String, password: String? = nil, database: String, sslMode: SSLMode = .prefer) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
        self.sslMode = sslMode
    }

    public init(url text: String, environment: [String: String] = [:]) throws {
        guard Self.isURL(text) else {
            throw ConcordError(.invalidArgument, "\(text) is not a PostgreSQL URL (postgres://USER@HOST:PORT/DATABASE)")
        }
        var rest = Substring(text[text.index(after: text.firstIndex(of: "/")!)...].dropFirst())
        var query: [String: String] = [:]
        if let mark = rest.firstIndex(of: "?") {
            for pair in rest[rest.index(after: mark)...].split(separator: "&") {
                let parts = pair.split(separator: "=", maxSplits: 1)
                query[String(parts[0])] = parts.count > 1 ? String(parts[1]).removingPercentEncoding : ""
            }
            rest = rest[..<mark]
        }
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        let authority = rest[..<slash]
        let database = slash == rest.endIndex ? "" : String(rest[rest.index(after: slash)...]).removingPercentEncoding
        var hostPort = authority
        var user: String?
        var password: String?
        if let at = authority.lastIndex(of: "@") {
            let credentials = authority[..<at]
            hostPort = authority[authority.index(after: at)...]
            if let colon = credentials.firstIndex(of: ":") {
                user = String(credentials[..<colon]).removingPercentEncoding
                password = String(credentials[credentials.index(after: colon)...]).removingPercentEncoding
            } else {
                user = String(credentials).removingPercentEncoding
            }
        }
        var host = String(hostPort)
        var port = 5432
        if let colon = hostPort.lastIndex(of: ":"), !hostPort.hasSuffix("]") {
            guard let parsed = Int(hostPort[hostPort.index(after: colon)...]), (1...65535).contains(parsed) else {
                throw ConcordError(.invalidArgument, "the port in \(Self.redacted(text)) must be a number from 1 to 65535")
            }
            port = parsed
            host = String(hostPort[..<colon])
        }
        guard !host.isEmpty else { throw ConcordError(.invalidArgument, "\(Self.redacted(text)) names no host") }
        guard let user, !user.isEmpty else { throw ConcordError(.invalidArgument, "\(Self.redacted(text)) names no user (postgres://USER@HOST/DATABASE)") }
        guard let database, !database.isEmpty else { throw ConcordError(.invalidArgument, "\(Self.redacted(text)) names no database (postgres://USER@HOST/DATABASE)") }
        let mode = query["sslmode"] ?? "prefer"
        guard let sslMode = SSLMode(rawValue: mode) else {
            throw ConcordError(.invalidArgument, "sslmode=\(mode) is not one of disable, prefer, require")
        }
        self.init(host: host, port: port, username: user, password: password ?? environment["PGPASSWORD"], database: database, sslMode: sslMode)
    }

    /// The URL without its password, for messages and logs.
    public var description: String {
        "postgres://\(username)@\(host):\(port)/\(database)" + (sslMode == .prefer ? "" : "?sslmode=\(sslMode.rawValue)")
    }

    static func redacted(_ text: String) -> String {
        guard let at = text.lastIndex(of: "@"), let scheme = text.range(of: "://"), let colon = text[scheme.upperBound..<at].firstIndex(of: ":") else { return text }
        return String(text[..<colon]) + ":***" + String(text[at...])
    }

    /// The same server, another database (tests make one each; `concord copy` may too).
    public func database(_ name: String) -> PostgresLocation {
        var copy = self
        copy.database = name
        return copy
    }

    /// Connects once, directly (not through a pool, which retries for a minute), so that a
    /// wrong host, port, user, password or database is named within seconds.
    func probe(logger: Logger) async throws {
        var configuration = PostgresConnection.Configuration(host: host, port: port, username: username, password: password, database: database, tls: try connectionTLS())
        configuration.options.connectTimeout = .seconds(10)
        do {
            let connection = try await PostgresConnection.connect(on: PostgresClient.defaultEventLoopGroup.next(), configuration: configuration, id: 0, logger: logger).get()
            try? await connection.close()
        } catch {
            throw PostgresEventStore.describe(error, doing: "connect to \(self)")
        }
    }

    private func connectionTLS() throws -> PostgresConnection.Configuration.TLS {
        switch sslMode {
        case .disable: .disable
        case .prefer: .prefer(try NIOSSLContext(configuration: .makeClientConfiguration()))
        case .require: .require(try NIOSSLContext(configuration: .makeClientConfiguration()))
        }
    }

    var clientConfiguration: PostgresClient.Configuration {
        let tls: PostgresClient.Configuration.TLS = switch sslMode {
        case .disable: .disable
        case .prefer: .prefer(.makeClientConfiguration())
        case .require: .require(.makeClientConfiguration())
        }
        var configuration = PostgresClient.Configuration(host: host, port: port, username: username, password: password, database: database, tls: tls)
        configuration.options.maximumConnections = 24
        return configuration
    }
}
