import Foundation

/// Finds the executables `swift build` put beside the test binary (`.build/<config>/`).
enum Executables {
    /// The directory holding the built products: the test binary's own directory, or an
    /// ancestor of it (the binary may sit inside an `.xctest` bundle), that holds `name`.
    static func path(_ name: String) -> String {
        let exe = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        var dir = exe.deletingLastPathComponent()
        while dir.pathComponents.count > 1 {
            let candidate = dir.appendingPathComponent(name).path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            dir.deleteLastPathComponent()
        }
        return exe.deletingLastPathComponent().appendingPathComponent(name).path
    }

    /// The built `replay`.
    static let replay = path("replay")
}

/// Temporary directories and files for the tests.
enum Scratch {
    /// A fresh, empty directory.
    static func directory() -> String {
        let path = NSTemporaryDirectory() + "forkline-replay-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static func write(_ bytes: [UInt8], _ path: String) throws {
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }
}
