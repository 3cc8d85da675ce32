// swift-tools-version: 6.1
import PackageDescription

let strict: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "kamino",
    // Linux only: the log links liburing and the code calls Glibc, so no Apple platform is
    // declared (SwiftPM has no way to declare Linux as the only platform).
    products: [
        .executable(name: "kamino", targets: ["kamino"]),
        .library(name: "LedgerCore", targets: ["LedgerCore"]),
        .library(name: "LedgerClient", targets: ["LedgerClient"]),
        // For the benchmarks package: the memory provisioner its ledgers are measured with.
        .library(name: "LedgerStorage", targets: ["LedgerStorage"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.80.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.1.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-configuration", from: "1.4.0", traits: []),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
    ],
    targets: [
        // Pure, deterministic state machine: no IO, no Foundation. CKaminoPrefetch is
        // header-only cache prefetch hints (Swift has no prefetch builtin).
        .target(name: "CKaminoPrefetch"),
        .target(name: "LedgerCore", dependencies: ["CKaminoPrefetch"], swiftSettings: strict),
        .executableTarget(
            name: "kamino",
            dependencies: [
                "LedgerCore",
                "LedgerStorage",
                "LedgerEngine",
                "LedgerServer",
                "KaminoREPL",
                "LedgerClient",
                "LedgerBench",
                "LedgerWire",
                "LedgerReplication",
                "KaminoEtcd",
                "KaminoAuth",
                "KaminoTLS",
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "TOMLKit", package: "TOMLKit"),
            ],
            swiftSettings: strict,
            plugins: ["KaminoBuildInfo"]
        ),
        // Records the git commit for `kamino --version` and `kamino_build_info`.
        .plugin(name: "KaminoBuildInfo", capability: .buildTool()),
        // LedgerStorage only for its memory provisioner: results must not depend on it.
        .testTarget(name: "LedgerCoreTests", dependencies: ["LedgerCore", "LedgerWorkload", "LedgerStorage"], swiftSettings: strict),

        // Write-ahead log: liburing, C helpers, segments, snapshots, recovery.
        // CRC32C (hardware + portable); links nothing.
        .target(name: "CKaminoCRC"),
        .target(
            name: "CKaminoSys",
            // liburing's headers stay inside the C files; install with `apt-get install liburing-dev`.
            linkerSettings: [.linkedLibrary("uring")]
        ),
        // Also the OS-facing side of LedgerCore's seams: the memory provisioner thread.
        .target(name: "LedgerStorage", dependencies: ["LedgerCore", "CKaminoSys", "CKaminoCRC"], swiftSettings: strict),
        // The durable ledger: sequencer seam (serial and sharded), log, snapshots, recovery.
        .target(
            name: "LedgerEngine",
            dependencies: ["LedgerCore", "LedgerStorage", .product(name: "ServiceLifecycle", package: "swift-service-lifecycle")],
            swiftSettings: strict
        ),
        .testTarget(
            name: "LedgerEngineTests",
            dependencies: [
                "LedgerEngine", "LedgerCore", "LedgerStorage", "LedgerWorkload", "KaminoTestSupport", "kamino-ledgerstress", "kamino",
                .product(name: "ServiceLifecycleTestKit", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        // Deterministic batches per LSN for the ledger-level crash test and benchmarks.
        .target(name: "LedgerWorkload", dependencies: ["LedgerCore"], swiftSettings: strict),
        .executableTarget(
            name: "kamino-ledgerstress",
            dependencies: [
                "LedgerCore", "LedgerStorage", "LedgerEngine", "LedgerWorkload", "StressSupport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict
        ),
        // Line output shared by the two stress drivers.
        .target(name: "StressSupport", swiftSettings: strict),
        .executableTarget(
            name: "kamino-walstress",
            dependencies: [
                "LedgerStorage", "LedgerWorkload", "StressSupport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict
        ),
        // Wire protocol: frames, message layouts, encoder/decoder on ByteBuffer.
        .target(
            name: "LedgerWire",
            dependencies: ["LedgerCore", "CKaminoCRC", .product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: strict
        ),
        .testTarget(
            name: "LedgerWireTests",
            dependencies: ["LedgerWire", "LedgerCore", "LedgerWorkload", .product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: strict
        ),
        // Replication: the node-to-node wire protocol, the primary's shipping and sync quorum,
        // the follower's link, and the node that switches between the roles.
        .target(
            name: "LedgerReplication",
            dependencies: [
                "LedgerStorage", "LedgerEngine", "LedgerCore", "CKaminoCRC", "KaminoEtcd", "KaminoTLS", "KaminoAuth",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "LedgerReplicationTests",
            dependencies: [
                "LedgerReplication", "LedgerStorage", "KaminoTestSupport", "LedgerClient", "LedgerCore", "LedgerWire", "KaminoAuth",
                "LedgerWorkload", "kamino",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        // Swift client library: batching, pipelining, retries, failover.
        .target(
            name: "LedgerClient",
            dependencies: [
                "LedgerWire", "LedgerCore", "KaminoTLS",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "LedgerClientTests",
            dependencies: [
                "LedgerClient", "LedgerWire", "LedgerCore", "KaminoTLS", "KaminoTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // The README's client example, compiled with nothing but `import LedgerClient`
        // (member import visibility on: what LedgerClient does not re-export fails the build).
        .testTarget(
            name: "LedgerClientReadmeTests",
            dependencies: ["LedgerClient", "KaminoTestSupport", "kamino"],
            swiftSettings: strict + [.enableUpcomingFeature("MemberImportVisibility")]
        ),
        .testTarget(
            name: "LedgerStorageTests",
            dependencies: ["LedgerStorage", "LedgerCore", "CKaminoCRC", "kamino-walstress"],
            swiftSettings: strict
        ),
        // etcd v3 client over the JSON gateway (HTTP/1.1), for automatic failover.
        .target(
            name: "KaminoEtcd",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "KaminoEtcdTests",
            dependencies: ["KaminoEtcd", "KaminoTestSupport", .product(name: "NIOPosix", package: "swift-nio")],
            swiftSettings: strict
        ),
        // Process helpers shared by the tests that run the real binaries; the cluster
        // helpers of the replication tests (nodes, fault proxy, acknowledgement log).
        .target(
            name: "KaminoTestSupport", dependencies: ["LedgerClient", "LedgerCore", "LedgerWorkload", "CKaminoCRC", "LedgerWire", .product(name: "NIOCore", package: "swift-nio")], swiftSettings: strict),
        // The REPL's command language, formatting and session (used by `kamino repl`).
        // Line editing for `kamino repl`: Debian's libedit (`apt-get install libedit-dev`)
        // through its readline interface, wrapped by a small C shim that owns the callbacks.
        .systemLibrary(name: "CLibEdit", pkgConfig: "libedit", providers: [.apt(["libedit-dev"])]),
        .target(name: "CKaminoEdit", dependencies: ["CLibEdit"]),
        .target(name: "KaminoREPL", dependencies: ["LedgerClient", "LedgerCore", "CKaminoEdit"], swiftSettings: strict),
        .testTarget(
            name: "KaminoREPLTests",
            dependencies: ["KaminoREPL", "LedgerCore", "LedgerClient", "kamino", "KaminoTestSupport"], swiftSettings: strict),
        // Authentication (issue 16): OpenSSL's libcrypto (`apt-get install libssl-dev`) for JWT
        // signatures through a small C shim; KaminoAuth parses and verifies tokens into rights.
        .target(name: "CKaminoCrypto", linkerSettings: [.linkedLibrary("crypto")]),
        .target(name: "KaminoAuth", dependencies: ["CKaminoCrypto"], swiftSettings: strict),
        .testTarget(name: "KaminoAuthTests", dependencies: ["KaminoAuth"], swiftSettings: strict),
        // TLS over the system's OpenSSL (`apt-get install libssl-dev`): a C shim that keeps
        // OpenSSL's headers to itself, and the NIO handler over memory BIOs.
        .target(name: "CKaminoTLS", linkerSettings: [.linkedLibrary("ssl"), .linkedLibrary("crypto")]),
        .target(
            name: "KaminoTLS",
            dependencies: ["CKaminoTLS", .product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: strict
        ),
        .testTarget(
            name: "KaminoTLSTests",
            dependencies: [
                "KaminoTLS", "CKaminoTLS", "KaminoTestSupport", .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        // TCP server: sessions, pipelining, backpressure, metrics endpoint.
        .target(
            name: "LedgerServer",
            dependencies: [
                "LedgerWire", "LedgerEngine", "LedgerCore", "KaminoAuth", "KaminoTLS",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "LedgerServerTests",
            dependencies: [
                "LedgerServer", "LedgerWire", "LedgerCore", "LedgerEngine", "LedgerStorage", "kamino", "LedgerClient",
                "LedgerWorkload", "KaminoTestSupport", "KaminoAuth", "CKaminoTLS", .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        // Benchmark runner: workloads, scenarios, histograms, JSON and HTML reports.
        .target(
            name: "LedgerBench",
            dependencies: [
                "LedgerClient", "LedgerCore", "LedgerWorkload",
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "LedgerBenchTests",
            dependencies: ["LedgerBench", "LedgerCore", "kamino", "KaminoTestSupport"],
            swiftSettings: strict
        ),
    ]
)
