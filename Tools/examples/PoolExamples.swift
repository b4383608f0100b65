import ArgumentParser
import Forkline

#if canImport(Glibc)
import Glibc
#endif

/// `def task(name): return f"Executing task: {name}"`
let poolTask = PoolFunction<String, String>("pool-task") { name in "Executing task: \(name)" }

/// Squares its number, except task 3, which kills its own worker.
let riskyTask = PoolFunction<Int, Int>("risky-task") { n in
    if n == 3 { kill(getpid(), SIGKILL) }
    return n * n
}

/// Python's classic `Pool.map`:
///
/// ```python
/// with Pool(3) as pool:
///     for line in pool.map(task, [f"Task {i}" for i in range(1, 6)]):
///         print(line)
/// ```
struct PoolMap: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pool-map", abstract: "A pool of three workers maps a function over five tasks, in order.")
    @OptionGroup var options: MethodOption

    func run() async throws {
        let tasks = (1...5).map { "Task \($0)" }
        let lines = try await withPool(workers: 3, method: options.method) { pool in
            try await pool.map(poolTask, tasks)
        }
        for line in lines { print(line) }
    }
}

/// What Python's `Pool` cannot do: a task kills its own worker, and the pool reports that task's
/// failure, replaces the worker and delivers every other result.
struct PoolCrash: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pool-crash", abstract: "One task kills its worker; the others still finish.")
    @OptionGroup var options: MethodOption

    func run() async throws {
        try await withPool(workers: 2, method: options.method) { pool in
            let inputs = Array(1...5)
            var results = try pool.imap(riskyTask, inputs).makeAsyncIterator()
            for n in inputs {
                do {
                    print("Task \(n): \(try await results.next()!)")
                } catch let error as PoolError {
                    print("Task \(n) failed: \(error.message)")
                }
            }
        }
    }
}
