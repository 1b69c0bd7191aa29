// swift-tools-version: 6.1
import PackageDescription

// Concord: an append-only, tamper-evident event record for regional partnerships.
//
// The target graph is the architecture (docs/architecture.md):
//   ConcordCore      events, ordering, canonical encoding, hashing, signing, the store protocol (no I/O)
//   CSQLite          the system libsqlite3
//   ConcordSQLite    the SQLite event store over a thin wrapper of the C API
//   ConcordPostgres  the same store on PostgreSQL (postgres-nio), for a hub
//   ConcordInMemory  a hub's store in memory: the conformance suite's reference
//   concord          the command-line tool, the only place concrete pieces are wired together
let package = Package(
    name: "concord",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "concord", targets: ["concord"]),
        .library(name: "ConcordCore", targets: ["ConcordCore"]),
        .library(name: "ConcordSQLite", targets: ["ConcordSQLite"]),
        .library(name: "ConcordPostgres", targets: ["ConcordPostgres"]),
        // For Benchmarks/ (a separate package) and embedders:
        .library(name: "ConcordDomain", targets: ["ConcordDomain"]),
        .library(name: "ConcordProjections", targets: ["ConcordProjections"]),
        .library(name: "ConcordRecording", targets: ["ConcordRecording"]),
        .library(name: "ConcordSyncProtocol", targets: ["ConcordSyncProtocol"]),
        .library(name: "ConcordZlib", targets: ["ConcordZlib"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.5.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.80.0"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.34.1"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
    ],
    targets: [
        .target(
            name: "ConcordCore",
            dependencies: [
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .target(
            name: "ConcordDomain",
            dependencies: ["ConcordCore"]
        ),
        .target(
            name: "ConcordProjections",
            dependencies: ["ConcordCore", "ConcordDomain"]
        ),
        // Command handling: folds a stream, applies the domain's rules, appends the decision.
        .target(
            name: "ConcordRecording",
            dependencies: ["ConcordCore", "ConcordDomain", "ConcordProjections", "ConcordSyncProtocol"]
        ),
        .systemLibrary(
            name: "CZlib",
            pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"]), .brew(["zlib"])]
        ),
        // Streaming gzip/deflate with limits, over the system zlib.
        .target(
            name: "ConcordZlib",
            dependencies: ["CZlib", "ConcordCore"]
        ),
        // The engine's operations over any store, written once (ingest today), and the
        // interface a store's driver gives them: rows read and written in a transaction. No I/O.
        .target(
            name: "ConcordStorage",
            dependencies: ["ConcordCore"]
        ),
        // The sync protocol: wire formats, limits and the session state machines. No I/O.
        .target(
            name: "ConcordSyncProtocol",
            dependencies: ["ConcordCore"]
        ),
        .target(
            name: "ConcordServer",
            dependencies: [
                "ConcordCore",
                "ConcordSyncProtocol",
                "ConcordZlib",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ]
        ),
        // The read-only web view for auditors (concord serve, /view): HTML from Mustache templates.
        .target(
            name: "ConcordWebView",
            dependencies: [
                "ConcordCore",
                "ConcordDomain",
                "ConcordProjections",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "ConcordClient",
            dependencies: [
                "ConcordCore",
                "ConcordSyncProtocol",
                "ConcordZlib",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .systemLibrary(
            name: "CSQLite",
            pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"]), .brew(["sqlite"])]
        ),
        .target(
            name: "ConcordSQLite",
            dependencies: [
                "ConcordCore",
                "ConcordStorage",
                "ConcordDomain",
                "ConcordProjections",
                "ConcordSyncProtocol",
                "CSQLite",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The store on PostgreSQL: the same rules (BatchVerifier, the read-model fold), another adapter.
        .target(
            name: "ConcordPostgres",
            dependencies: [
                "ConcordCore",
                "ConcordStorage",
                "ConcordDomain",
                "ConcordProjections",
                "ConcordSyncProtocol",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // A hub's store in memory: the conformance suite's reference, and a fast simulation backend.
        .target(
            name: "ConcordInMemory",
            dependencies: ["ConcordCore", "ConcordStorage", "ConcordDomain", "ConcordProjections", "ConcordSyncProtocol"]
        ),
        .executableTarget(
            name: "concord",
            dependencies: [
                "ConcordCore",
                "ConcordDomain",
                "ConcordProjections",
                "ConcordRecording",
                "ConcordSQLite",
                "ConcordPostgres",
                "ConcordSyncProtocol",
                "ConcordServer",
                "ConcordClient",
                "ConcordWebView",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        // Helpers shared by the test targets (temporary directories, running the built binary).
        .target(
            name: "ConcordTestSupport",
            dependencies: [
                "ConcordCore",
                "ConcordSQLite",
                "ConcordPostgres",
                "ConcordSyncProtocol",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "ConcordCoreTests",
            dependencies: ["ConcordCore"]
        ),
        .testTarget(
            name: "ConcordDomainTests",
            dependencies: ["ConcordCore", "ConcordDomain"]
        ),
        .testTarget(
            name: "ConcordProjectionsTests",
            dependencies: ["ConcordCore", "ConcordDomain", "ConcordProjections"]
        ),
        .testTarget(
            name: "ConcordZlibTests",
            dependencies: ["ConcordZlib", "ConcordCore"]
        ),
        .testTarget(
            name: "ConcordSyncProtocolTests",
            dependencies: ["ConcordSyncProtocol", "ConcordCore", "ConcordZlib"]
        ),
        .testTarget(
            name: "ConcordClientTests",
            dependencies: ["ConcordClient", "ConcordCore", "ConcordSQLite", "ConcordSyncProtocol", "ConcordTestSupport"]
        ),
        .testTarget(
            name: "ConcordSQLiteTests",
            dependencies: ["ConcordCore", "ConcordDomain", "ConcordProjections", "ConcordRecording", "ConcordSQLite", "CSQLite", "ConcordTestSupport", "ConcordSyncProtocol", "ConcordZlib"]
        ),
        // One test body run against every backend (SQLite, PostgreSQL, in memory).
        .testTarget(
            name: "ConcordStoreConformanceTests",
            dependencies: ["ConcordCore", "ConcordDomain", "ConcordProjections", "ConcordRecording", "ConcordSQLite", "ConcordPostgres", "ConcordInMemory", "ConcordSyncProtocol", "ConcordTestSupport",
                           .product(name: "PostgresNIO", package: "postgres-nio")]
        ),
        .testTarget(
            name: "ConcordSimulationTests",
            dependencies: ["ConcordCore", "ConcordDomain", "ConcordProjections", "ConcordRecording", "ConcordSQLite", "ConcordPostgres", "ConcordSyncProtocol", "ConcordTestSupport"]
        ),
        .testTarget(
            name: "ConcordWebViewTests",
            dependencies: [
                "ConcordCore", "ConcordDomain", "ConcordProjections", "ConcordWebView", "ConcordSQLite", "ConcordTestSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ]
        ),
        .testTarget(
            name: "ConcordEndToEndTests",
            dependencies: [
                "ConcordCore", "ConcordDomain", "ConcordProjections", "ConcordSQLite", "ConcordPostgres", "ConcordInMemory", "ConcordTestSupport", "ConcordZlib", "ConcordSyncProtocol", "ConcordClient", "concord",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            // A store and an export made by the release before need-to-know (their README says how).
            exclude: ["Fixtures"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
