import ArgumentParser
import Forkline

/// A worker's queues travel in the entry point's arguments.
struct WorkerArgs: Codable, Sendable { var jobs: JoinableQueue<Int?>; var results: Queue<[Int]> }
/// The producer's job list.
struct ProducerArgs: Codable, Sendable { var jobs: JoinableQueue<Int?>; var count: Int }

/// ```python
/// def worker(jobs, results):
///     while (n := jobs.get()) is not None:
///         results.put((n, n * n)); jobs.task_done()
///     jobs.task_done()
/// ```
let squareWorker = EntryPoint<WorkerArgs>("square-worker") { args in
    while let n = try args.jobs.get() {
        try args.results.put([n, n * n])
        try args.jobs.taskDone()
    }
    try args.jobs.taskDone()
}

/// `def producer(jobs, count): for n in range(1, count + 1): jobs.put(n)`
let jobProducer = EntryPoint<ProducerArgs>("job-producer") { args in
    for n in 1...args.count { try args.jobs.put(n) }
}

/// Python's `JoinableQueue` workers: a producer child puts jobs, several worker children square
/// them, the parent waits with `join()` until every job is done and prints the results in order.
struct QueueWorkers: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "queue-workers", abstract: "A producer, several workers and a JoinableQueue.")
    @OptionGroup var options: MethodOption
    @Option(help: "Number of worker processes.") var workers = 3
    @Option(help: "Number of jobs.") var jobs = 10

    func run() async throws {
        let jobQueue = try JoinableQueue<Int?>(), results = try Queue<[Int]>()
        var children: [ChildProcess] = []
        for i in 1...workers {
            var o = ChildOptions(name: "worker\(i)", method: options.method)
            o.pass(jobQueue, results)
            children.append(try ChildProcess(entry: squareWorker, arguments: WorkerArgs(jobs: jobQueue, results: results), options: o))
        }
        var o = ChildOptions(name: "producer", method: options.method)
        o.pass(jobQueue)
        let producer = try ChildProcess(entry: jobProducer, arguments: ProducerArgs(jobs: jobQueue, count: jobs), options: o)
        for child in children + [producer] { try child.start() }
        _ = try await producer.join()
        try await jobQueue.join()
        var squares: [[Int]] = []
        for _ in 0..<jobs { squares.append(try await results.get()) }
        for pair in squares.sorted(by: { $0[0] < $1[0] }) { print("\(pair[0]) squared is \(pair[1])") }
        // One stop sign per worker.
        for _ in 0..<workers { try await jobQueue.put(nil) }
        for child in children { _ = try await child.join() }
        print("All \(jobs) jobs done by \(workers) workers.")
    }
}
