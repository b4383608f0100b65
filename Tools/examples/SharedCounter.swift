import ArgumentParser
import Forkline

struct CounterArgs: Codable, Sendable { var counter: SharedValue<Int>; var times: Int }

/// `def add(counter, n): for _ in range(n): with counter.get_lock(): counter.value += 1`
let addToCounter = EntryPoint<CounterArgs>("add-to-counter") { args in
    for _ in 0..<args.times { args.counter.withLock { $0 += 1 } }
}

/// Python's `Value` under a `Lock`: several processes increment one counter; the total is exact.
struct SharedCounter: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shared-counter", abstract: "Processes increment a SharedValue under its lock.")
    @OptionGroup var options: MethodOption
    @Option(help: "Number of processes.") var processes = 4
    @Option(help: "Increments per process.") var times = 1000

    func run() async throws {
        let counter = try SharedValue(0)
        var children: [ChildProcess] = []
        for _ in 0..<processes {
            var childOptions = ChildOptions(method: options.method)
            childOptions.pass(counter)
            let child = try ChildProcess(entry: addToCounter, arguments: CounterArgs(counter: counter, times: times), options: childOptions)
            try child.start()
            children.append(child)
        }
        for child in children { _ = try await child.join() }
        print("Counter: \(read(counter)) (expected \(processes * times))")
    }

    func read(_ counter: SharedValue<Int>) -> Int { counter.load() }
}
