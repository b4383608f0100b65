// swift-tools-version: 6.0
// A Hummingbird 2 service whose POST /work runs in a Forkline pool: its own package, so the main
// package never builds Hummingbird. Tools/test-examples builds it and smoke-tests it over HTTP.
import PackageDescription

let package = Package(
    name: "ServiceExample",
    platforms: [.macOS(.v15)],
    dependencies: [
        // Your own Package.swift names Forkline by its URL instead:
        // .package(url: "https://github.com/OWNER/forkline", from: "VERSION")
        .package(name: "Forkline", path: "../.."),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
    ],
    targets: [
        .executableTarget(
            name: "ServiceExample",
            dependencies: [
                .product(name: "Forkline", package: "Forkline"),
                .product(name: "ForklineService", package: "Forkline"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
    ]
)
