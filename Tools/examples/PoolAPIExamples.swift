import ArgumentParser
import Forkline

#if canImport(Glibc)
import Glibc
#endif

/// `def volume(w, h, d, unit)`: four arguments, for `starmap` over 4-tuples.
let volume = PoolFunction<Arguments<Double, Double, Double, String>, String>("volume") { w, h, d, unit in
    "\(w * h * d) \(unit)"
}

struct NotANumber: Error, CustomStringConvertible {
    var text: String
    var description: String { "not a number: \(text)" }
}

/// `def parse(s): return int(s)`, which raises on bad input.
let parseNumber = PoolFunction<String, Int>("parse-number") { text in
    guard let n = Int(text) else { throw NotANumber(text: text) }
    return n
}

/// Python's `apply_async(f, args, callback=, error_callback=)`, `starmap` over 4-tuples, and the
/// remote traceback of a task that raises:
///
/// ```python
/// with Pool(2) as pool:
///     pool.apply_async(int, ("42",), callback=print, error_callback=print).get()
///     print(pool.starmap(volume, [(1, 2, 3, "m3"), (2, 2, 2, "cm3")]))
///     pool.apply(int, ("forty-two",))   # ValueError, with the worker's RemoteTraceback
/// ```
struct PoolCallbacks: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pool-callbacks", abstract: "applyAsync with callbacks, a four-argument starmap, a remote backtrace.")
    @OptionGroup var options: MethodOption

    func run() async throws {
        try await withPool(workers: 2, method: options.method) { pool in
            // The callbacks run once, in this process, before the handle is ready.
            let task = try pool.applyAsync(parseNumber, "42", callback: { n in print("parsed \(n)") },
                                           errorCallback: { error in print("failed: \(error.message)") })
            _ = try await task.value
            let volumes = try await pool.starmap(volume, [(1, 2, 3, "m3"), (2, 2, 2, "cm3")])
            print(volumes)
            do {
                _ = try await pool.apply(parseNumber, "forty-two")
            } catch let error as PoolError {
                // The message, then "remote backtrace (worker pid N, where it was thrown, ...)"
                // and the frames from the `throw` in `parseNumber` outwards.
                print(error)
            }
        }
    }
}

/// Python's `Barrier(parties, action=..., timeout=...)`: the last of three processes to arrive
/// runs the action, once per round, before any of them leaves.
struct BarrierAction: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "barrier-action", abstract: "Three processes meet at a barrier whose action runs once per round.")

    func run() throws {
        let barrier = try Barrier(parties: 3, action: {
            print("all three arrived")
            fflush(nil)  // the last to arrive may be a fork child, which ends with _exit
        }, timeout: .seconds(30))
        let children = (1...2).map { _ in
            ChildProcess { for _ in 0..<2 { try barrier.wait() } }  // a fork child has the action
        }
        for child in children { try child.start() }
        for _ in 0..<2 { try barrier.wait() }
        for child in children { _ = try child.join(timeout: .seconds(30)) }
    }
}
