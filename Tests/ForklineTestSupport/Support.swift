import Foundation
import ForklineReplay
import ForklineTrace

/// Helpers the test targets share: finding the built programs, running them, temporary trace
/// directories.
public enum TestSupport {
    /// The directory holding the built products (`.build/<config>`), found from the test binary.
    public static var productsDirectory: URL {
        var url = URL(fileURLWithPath: CommandLine.arguments.first ?? "/proc/self/exe").resolvingSymlinksInPath()
        // The test binary may sit inside an .xctest bundle.
        while url.pathComponents.count > 1 {
            url.deleteLastPathComponent()
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("forkline-fixture").path) { return url }
        }
        let exe = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
        return exe
    }

    /// The path of a built executable.
    public static func executable(_ name: String) -> String {
        productsDirectory.appendingPathComponent(name).path
    }

    /// A fresh, empty directory under the system temporary directory.
    public static func temporaryDirectory(_ label: String = "forkline-test") -> String {
        let path = NSTemporaryDirectory() + "\(label)-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// What a program printed and how it ended.
    public struct Output: Sendable {
        public var status: Int32
        public var stdout: String
        public var stderr: String
        public var pid: Int32
        public var lines: [String] { stdout.split(separator: "\n").map(String.init) }
    }

    /// Runs `path` with `arguments` to completion (killed after `timeout` seconds).
    public static func run(_ path: String, _ arguments: [String], environment: [String: String] = [:],
                           timeout: TimeInterval = 120) throws -> Output {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: Tracer.environmentVariable)
        for (k, v) in environment { env[k] = v }
        p.environment = env
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let killer = DispatchWorkItem { if p.isRunning { kill(p.processIdentifier, SIGKILL) } }
        DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: killer)
        // Read both pipes concurrently so neither fills up.
        nonisolated(unsafe) var errData = Data()
        let errReader = Thread { errData = err.fileHandleForReading.readDataToEndOfFile() }
        errReader.start()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        while !errReader.isFinished { usleep(1000) }
        killer.cancel()
        let status = p.terminationReason == .uncaughtSignal ? -p.terminationStatus : p.terminationStatus
        return Output(status: status, stdout: String(decoding: outData, as: UTF8.self),
                      stderr: String(decoding: errData, as: UTF8.self), pid: p.processIdentifier)
    }

    /// Starts `path` with `arguments` (untraced) and waits for the first line it prints; returns
    /// the running process and that line's whitespace-separated pids (the caller ends it). A
    /// program that prints no line within `timeout` seconds is SIGKILLed (no pids: the test fails
    /// instead of hanging).
    public static func startPrintingPids(_ path: String, _ arguments: [String], timeout: TimeInterval = 60) throws -> (Process, [Int32]) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: Tracer.environmentVariable)
        p.environment = env
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let killer = DispatchWorkItem { if p.isRunning { kill(p.processIdentifier, SIGKILL) } }
        DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: killer)
        var line = Data()
        while !line.contains(UInt8(ascii: "\n")) {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line += chunk
        }
        killer.cancel()
        let pids = String(decoding: line, as: UTF8.self).split(whereSeparator: { $0 == " " || $0 == "\n" }).compactMap { Int32($0) }
        return (p, pids)
    }

    /// Waits up to `seconds` for every pid to end; returns those still running.
    public static func survivors(_ pids: [Int32], within seconds: Double) -> [Int32] {
        var alive = pids
        for _ in 0..<Int(seconds * 100) where !alive.isEmpty {
            usleep(10_000)
            alive = alive.filter(isRunning)
        }
        return alive
    }

    /// Runs the fixture program with tracing into a new directory; returns the output and the directory.
    public static func runFixture(_ arguments: [String], traced: Bool = true, environment: [String: String] = [:],
                                  timeout: TimeInterval = 120) throws -> (Output, String) {
        let dir = temporaryDirectory("forkline-trace")
        var env = environment
        if traced { env[Tracer.environmentVariable] = dir }
        return (try run(executable("forkline-fixture"), arguments, environment: env, timeout: timeout), dir)
    }

    /// Every binary trace file in `dir`, parsed.
    public static func loadProcesses(_ dir: String) throws -> [ProcessTrace] {
        let names = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".flt") }.sorted()
        return try names.map { name in
            let data = try Data(contentsOf: URL(fileURLWithPath: dir + "/" + name))
            return try data.withUnsafeBytes { try ProcessTrace(bytes: $0, source: name) }
        }
    }

    /// Loads a trace directory and returns it with its check report's violations as text.
    public static func checkedTrace(_ dir: String) throws -> (Trace, CheckReport) {
        let trace = try Trace.load(path: dir)
        return (trace, trace.check())
    }

    /// True when `pid` is running (a zombie waiting for its reaper counts as ended).
    public static func isRunning(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return false }
        let state = stat[stat.index(close, offsetBy: 2)]
        return state != "Z" && state != "X"
    }
}
