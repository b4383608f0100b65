#if canImport(Glibc)
import Glibc
#endif

/// CPython's `multiprocessing`, measured in the same run.
enum Python {
    static func find() -> String? {
        for dir in (String(cString: getenv("PATH") ?? strdup("/usr/bin")!)).split(separator: ":") {
            let p = "\(dir)/python3"
            if access(p, X_OK) == 0 { return p }
        }
        return nil
    }

    /// Per-iteration start+join latency of `multiprocessing.Process` with `method`, in ms.
    static func startJoin(_ python: String, method: String, iterations: Int) -> [Double]? {
        let script = """
        import multiprocessing as mp, time
        def f(): pass
        if __name__ == '__main__':
            ctx = mp.get_context('\(method)')
            p = ctx.Process(target=f); p.start(); p.join()
            out = []
            for _ in range(\(iterations)):
                t = time.perf_counter(); p = ctx.Process(target=f); p.start(); p.join(); out.append((time.perf_counter() - t) * 1000)
            print(' '.join(str(x) for x in out))
        """
        let path = "/tmp/forkline-bench-\(getpid()).py"
        guard let f = fopen(path, "w") else { return nil }
        fputs(script, f)
        fclose(f)
        defer { unlink(path) }
        guard let pipe = popen("\(python) \(path) 2>/dev/null", "r") else { return nil }
        var output = ""
        var buf = [CChar](repeating: 0, count: 4096)
        while fgets(&buf, 4096, pipe) != nil {
            output += String(decoding: buf.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
        pclose(pipe)
        let xs = output.split(whereSeparator: { $0 == " " || $0 == "\n" }).compactMap { Double($0) }
        return xs.isEmpty ? nil : xs
    }
}
