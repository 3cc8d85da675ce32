// swift-tools-version: 6.1
// Micro-benchmarks of Kamino's hot paths (ordo-one/benchmark). A separate package so the
// root's `swift test` never builds the benchmark harness. Run: `swift package benchmark`.
import Foundation
import PackageDescription

// A path dependency's identity is its directory name, which depends on where the
// repository was cloned; derive it instead of hard-coding it.
let rootIdentity = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().lastPathComponent.lowercased()

let package = Package(
    name: "KaminoBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(path: "../"),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .target(
            name: "BenchSupport",
            dependencies: [
                .product(name: "LedgerCore", package: rootIdentity),
                .product(name: "LedgerStorage", package: rootIdentity),
            ],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        .executableTarget(
            name: "LedgerCoreBenchmarks",
            dependencies: [
                "BenchSupport",
                .product(name: "LedgerCore", package: rootIdentity),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/LedgerCoreBenchmarks",
            swiftSettings: [.swiftLanguageMode(.v6)],
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        // Prints apply throughput and bytes per stored transfer at a large scale.
        .executableTarget(
            name: "core-footprint",
            dependencies: [
                "BenchSupport",
                .product(name: "LedgerCore", package: rootIdentity),
                .product(name: "LedgerStorage", package: rootIdentity),
            ],
            path: "Sources/CoreFootprint",
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
    ]
)
