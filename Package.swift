// swift-tools-version: 6.0
import CompilerPluginSupport
import PackageDescription

let package = Package(
    name: "Forkline",
    products: [
        .library(name: "Forkline", targets: ["Forkline"]),
        .library(name: "ForklineTrace", targets: ["ForklineTrace"]),
        .library(name: "ForklineTraceFormat", targets: ["ForklineTraceFormat"]),
        .library(name: "ForklineSpawn", targets: ["ForklineSpawn"]),
        .library(name: "ForklineReplay", targets: ["ForklineReplay"]),
        .library(name: "ForklineChannels", targets: ["ForklineChannels"]),
        .library(name: "ForklineCodec", targets: ["ForklineCodec"]),
        .library(name: "ForklinePool", targets: ["ForklinePool"]),
        // `@BinaryCodable` (docs/codec.md): only this product builds swift-syntax, so a package
        // that uses `Forkline` alone does not pay for it.
        .library(name: "ForklineMacros", targets: ["ForklineMacros"]),
        // ServiceLifecycle, swift-log and swift-metrics for a pool in a service: only this product
        // depends on them, so `import ForklinePool` stays light.
        .library(name: "ForklineService", targets: ["ForklineService"]),
        .executable(name: "replay", targets: ["replay"]),
        .executable(name: "forkline-examples", targets: ["forkline-examples"]),
        .executable(name: "forkline-bench", targets: ["forkline-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        // ForklineService only (ByteBuffer as pool input and output): ForklinePool does not use it.
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.3"),
        // ForklineMacros only (the `@BinaryCodable` macro); 603 is the toolchain 6.3's.
        .package(url: "https://github.com/swiftlang/swift-syntax", "600.0.1"..<"604.0.0"),
    ],
    targets: [
        .target(
            name: "CForkline",
            cSettings: [.define("_GNU_SOURCE")]
        ),
        // The system layer: every libc I/O and wait call, EINTR/EPIPE/errno policy (package access).
        .target(name: "ForklineSystem", dependencies: ["CForkline"]),
        // The trace format and its reader: depends on nothing (replay reads traces without the
        // recorder's C); the recorder, ForklineTrace, writes it and re-exports it.
        .target(name: "ForklineTraceFormat"),
        .target(name: "ForklineTrace", dependencies: ["CForkline", "ForklineSystem", "ForklineTraceFormat"]),
        // The binary value format (docs/codec.md): BinaryEncoder/BinaryDecoder, BinaryCodable,
        // JSONCoded. Pure Swift, depends on nothing: nothing in it records or forks. ForklineSpawn
        // encodes entry arguments with it; ForklineChannels re-exports it.
        .target(name: "ForklineCodec"),
        .target(name: "ForklineSpawn", dependencies: ["CForkline", "ForklineSystem", "ForklineTrace", "ForklineCodec"]),
        .target(name: "ForklineChannels", dependencies: ["CForkline", "ForklineSystem", "ForklineTrace", "ForklineSpawn", "ForklineCodec"]),
        .target(name: "ForklinePool", dependencies: ["CForkline", "ForklineSystem", "ForklineTrace", "ForklineSpawn", "ForklineChannels"]),
        .target(
            name: "ForklineService",
            dependencies: [
                "ForklinePool", "ForklineSpawn", "ForklineTrace",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .target(name: "ForklineReplay", dependencies: ["ForklineTraceFormat"]),
        // The `@BinaryCodable` macro's compiler plugin, and the library that declares the macro.
        .macro(
            name: "ForklineMacrosPlugin",
            dependencies: [
                .product(name: "SwiftSyntaxMacros", package: "swift-syntax"),
                .product(name: "SwiftCompilerPlugin", package: "swift-syntax"),
            ]
        ),
        .target(name: "ForklineMacros", dependencies: ["ForklineChannels", "ForklineMacrosPlugin"]),
        .target(name: "Forkline", dependencies: ["ForklineTrace", "ForklineSpawn", "ForklineChannels", "ForklinePool", "ForklineReplay"]),
        .executableTarget(
            name: "replay",
            dependencies: ["ForklineReplay", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Tools/replay"
        ),
        .executableTarget(
            name: "forkline-examples",
            dependencies: ["Forkline", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Tools/examples"
        ),
        .executableTarget(
            name: "forkline-bench",
            dependencies: ["Forkline", "CForkline"],
            path: "Tools/bench"
        ),
        // Child programs the tests run: they crash, hang and fork on purpose.
        .executableTarget(
            name: "forkline-fixture",
            dependencies: ["Forkline"],
            path: "Fixtures/programs/forkline-fixture"
        ),
        // The service fixture: an argument-parser `@main` program (ForklineCommand) that runs
        // PoolService under a ServiceGroup, for ForklineServiceTests.
        .executableTarget(
            name: "forkline-service-fixture",
            dependencies: [
                "ForklineService", "Forkline",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            path: "Fixtures/programs/forkline-service-fixture"
        ),
        .target(
            name: "ForklineTestSupport",
            dependencies: ["Forkline"],
            path: "Tests/ForklineTestSupport"
        ),
        .testTarget(name: "ForklineTraceTests", dependencies: ["ForklineTrace", "ForklineTestSupport"]),
        .testTarget(
            name: "ForklineMacrosTests",
            dependencies: [
                "ForklineMacros", "ForklineMacrosPlugin",
                .product(name: "SwiftSyntaxMacroExpansion", package: "swift-syntax"),
                .product(name: "SwiftSyntaxMacrosGenericTestSupport", package: "swift-syntax"),
            ]
        ),
        .testTarget(
            name: "ForklineChannelsTests",
            dependencies: ["Forkline", "ForklineTestSupport", "forkline-fixture", "forkline-examples"]
        ),
        .testTarget(
            name: "ForklineSpawnTests",
            dependencies: ["Forkline", "ForklineTestSupport", "forkline-fixture"]
        ),
        // Faults and bad input provoked for real (docs/reliability.md).
        .testTarget(
            name: "ForklineReliabilityTests",
            dependencies: ["Forkline", "ForklineTestSupport", "forkline-fixture"]
        ),
        .testTarget(
            name: "ForklinePoolTests",
            dependencies: ["Forkline", "ForklinePool", "ForklineTestSupport", "forkline-fixture", "forkline-examples"]
        ),
        .testTarget(
            name: "ForklineServiceTests",
            dependencies: [
                "ForklineService", "Forkline", "ForklineTestSupport", "forkline-service-fixture",
            ]
        ),
        .testTarget(
            name: "ForklineReplayTests",
            dependencies: ["ForklineReplay", "ForklineTestSupport", "replay"]
        ),
        // Runs only on the local Slurm cluster (Tools/cluster up, as root; Tools/test does it).
        .testTarget(
            name: "ForklineClusterTests",
            dependencies: ["Forkline", "ForklineTestSupport", "forkline-fixture", "forkline-examples", "replay"]
        ),
    ]
)

for target in package.targets where target.name != "CForkline" {
    var settings = target.swiftSettings ?? []
    settings.append(.swiftLanguageMode(.v6))
    target.swiftSettings = settings
}
