// forkserver-faults: the page faults of a forkserver child that runs the `work` entry point on a
// small and on a larger argument (`Number`, 7 and 19 bytes of JSON), beside a bare fork of this
// process, counted by getrusage over the reaped children. The children of the server's owner are forked as its own
// (CLONE_PARENT), so this process reaps them and getrusage counts them. Every page a child
// writes and every first read of a library's text is a fault, so the count is what the child's
// path through the entry's argument decoding to `_exit` touches, without timing anything.
import Forkline

#if canImport(Glibc)
import Glibc
#endif

enum ForkServerFaults {
    static func run(count: Int) throws {
        let n = max(count, 20)
        for _ in 0..<3 { try start(1) }  // the first start launches the server
        // `{"n":1}` is 7 bytes, an inline `Data`; `{"n":1000000000000}` is 19, a slice: the
        // decoder reads the two through different code with type metadata of its own.
        let small = try StartFaults.childFaults(n) { try start(1) }
        let large = try StartFaults.childFaults(n) { try start(1_000_000_000_000) }
        let bare = try StartFaults.childFaults(n) { StartFaults.bareFork() }
        print("small=\(small) large=\(large) bare=\(bare)")
    }

    static func start(_ value: Int) throws {
        let c = try ChildProcess(entry: work, arguments: Number(n: value), options: ChildOptions(method: .forkserver))
        try c.start()
        let status = try c.join(timeout: nil)
        if status != .exited(0) {
            print("forkserver child ended \(status)")
            exit(1)
        }
    }
}
