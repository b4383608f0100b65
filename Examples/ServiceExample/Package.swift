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
    ],
    targets: [
        .executableTarget(
            name: "ServiceExample",
            dependencies: [
                .product(name: "Forkline", package: "Forkline"),
                .product(name: "ForklineService", package: "Forkline"),
                .product(name: "Hummingbird", package: "hummingbird"),
            ],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
    ]
)
