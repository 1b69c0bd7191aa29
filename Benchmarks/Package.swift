// swift-tools-version: 6.1
import PackageDescription

// Concord's benchmarks, kept in their own package (as swift-nio and Hummingbird do) so that the
// benchmark dependency and its release build stay out of the main package and its test build.
//
// Run them with scripts/bench-core.sh, or directly:
//   swift package --package-path Benchmarks benchmark
//
// package-benchmark finds a benchmark executable by its directory: the target's folder must sit in
// a folder named `Benchmarks`, here this package's own root (Benchmarks/CoreBenchmarks).
let package = Package(
    name: "concord-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        // Only the MallocInterposer trait: the default traits add RuntimeInterposer, which on
        // Linux with Swift 6.3 pulls in ordo-one/swift-runtime-interposer (not needed here, and
        // the package then no longer resolves without it). The interposer is a package, so no
        // jemalloc or other system library is needed.
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
        .package(name: "concord", path: ".."),
        // SQLiteEventStore.create/open take a swift-log Logger.
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
    ],
    targets: [
        .executableTarget(
            name: "CoreBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "ConcordCore", package: "concord"),
                .product(name: "ConcordSQLite", package: "concord"),
                .product(name: "ConcordDomain", package: "concord"),
                .product(name: "ConcordProjections", package: "concord"),
                .product(name: "ConcordSyncProtocol", package: "concord"),
                .product(name: "ConcordZlib", package: "concord"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "CoreBenchmarks",
            plugins: [
                .plugin(name: "BenchmarkPlugin", package: "benchmark"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
