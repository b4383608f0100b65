// forkline-examples: Python's classic multiprocessing programs, in Swift.
//
//   forkline-examples hello-process [--method fork|spawn|forkserver]
//   forkline-examples four-processes [--method ...]
//   forkline-examples queue-workers [--method ...]
//   forkline-examples pool-map | pool-crash | pool-callbacks [--method ...]
//   forkline-examples barrier-action
//   forkline-examples deadlock [--method ...] (hangs on purpose: try `replay status` on its trace)
//   forkline-examples cluster-map [--nodes 3] [--advertise HOST]   (inside a Slurm allocation)
import ArgumentParser
import Forkline

#if canImport(Glibc)
import Glibc
#endif

struct Task: Codable, Sendable { var name: String }
struct Numbered: Codable, Sendable { var number: Int }

/// `def task(name): print(f"Executing task: {name}")`
let executeTask = EntryPoint<Task>("execute-task") { task in
    print("Executing task: \(task.name)")
}

/// `def print_number(n): print(f"Process ID: {os.getpid()}, Number: {n}")`
let printNumber = EntryPoint<Numbered>("print-number") { args in
    print("Process ID: \(getpid()), Number: \(args.number)")
}


struct MethodOption: ParsableArguments {
    @Option(help: "Start method: fork, spawn or forkserver.",
            transform: { s in
                guard let m = StartMethod(name: s) else { throw ValidationError("unknown start method '\(s)': use fork, spawn or forkserver") }
                return m
            })
    var method: StartMethod = .forkserver
}

struct Examples: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "forkline-examples",
        abstract: "Runnable versions of the classic multiprocessing programs.",
        subcommands: [HelloProcess.self, FourProcesses.self, PipePingPong.self, SharedCounter.self, QueueWorkers.self,
                      PoolMap.self, PoolCrash.self, Deadlock.self, ClusterMap.self, PoolCallbacks.self, BarrierAction.self])
}

struct HelloProcess: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hello-process", abstract: "A child prints a line; the parent waits for it.")
    @OptionGroup var options: MethodOption

    func run() async throws {
        let child = try ChildProcess(entry: executeTask, arguments: Task(name: "Process 1"),
                                     options: ChildOptions(method: options.method))
        try child.start()
        _ = try await child.join()
        print("Process execution complete.")
    }
}

struct FourProcesses: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "four-processes", abstract: "Four children print their pid and a number.")
    @OptionGroup var options: MethodOption

    func run() async throws {
        var children: [ChildProcess] = []
        for n in 1...4 {
            let child = try ChildProcess(entry: printNumber, arguments: Numbered(number: n),
                                         options: ChildOptions(method: options.method))
            try child.start()
            children.append(child)
        }
        for child in children { _ = try await child.join() }
        print("All processes completed.")
    }
}

@main
enum ExamplesMain {
    static func main() async {
        // First: in spawn children and the forkserver, this runs the child's part and never returns.
        ChildProcess.bootstrap(entries: [executeTask, printNumber, pong, addToCounter, squareWorker, jobProducer, poolTask, riskyTask, transfer, workerHost, volume, parseNumber])
        await Examples.main()
    }
}
