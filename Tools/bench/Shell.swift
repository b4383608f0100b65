#if canImport(Glibc)
import Glibc
#endif

/// Running the peers: temporary files, compiling C with `cc -O2`, reading the numbers a
/// program prints (one figure per number, whitespace-separated).
enum Shell {
    static func write(_ text: String, to path: String) -> Bool {
        guard let f = fopen(path, "w") else { return false }
        fputs(text, f)
        fclose(f)
        return true
    }

    /// The numbers a command printed (its standard error is discarded).
    static func numbers(of command: String) -> [Double] {
        guard let pipe = popen(command + " 2>/dev/null", "r") else { return [] }
        var output = ""
        var buf = [CChar](repeating: 0, count: 4096)
        while fgets(&buf, 4096, pipe) != nil {
            output += String(decoding: buf.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
        pclose(pipe)
        return output.split(whereSeparator: { $0 == " " || $0 == "\n" }).compactMap { Double($0) }
    }

    /// Writes `script` to a temporary file and returns the numbers `command(path)` printed.
    static func numbers(script: String, suffix: String, command: (String) -> String) -> [Double] {
        let path = "/tmp/forkline-bench-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).\(suffix)"
        guard write(script, to: path) else { return [] }
        defer { unlink(path) }
        return numbers(of: command(path))
    }

    /// Compiles C `source` with `cc -O2` and runs it with `args`: the numbers it printed, or nil
    /// when there is no compiler (the C peer is then skipped, with a line saying so).
    static func runC(_ source: String, _ args: [String]) -> [Double]? {
        let base = "/tmp/forkline-bench-c-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        guard write(source, to: base + ".c") else { return nil }
        defer { unlink(base + ".c"); unlink(base) }
        guard system("cc -O2 -o \(base) \(base).c 2>/dev/null") == 0 else {
            print("cc not available: C peer skipped")
            return nil
        }
        let xs = numbers(of: ([base] + args).joined(separator: " "))
        return xs.isEmpty ? nil : xs
    }
}
