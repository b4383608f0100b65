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
        return numbers(python, script)
    }

    /// Runs `script` with `python`: the numbers it printed, nil when none.
    static func numbers(_ python: String, _ script: String) -> [Double]? {
        let xs = Shell.numbers(script: script, suffix: "py") { "\(python) \($0)" }
        return xs.isEmpty ? nil : xs
    }
}
