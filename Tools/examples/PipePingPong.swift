import ArgumentParser
import Forkline

/// The child's end of the pipe travels in the entry point's arguments.
struct PongArgs: Codable, Sendable { var conn: Connection }

/// `def pong(conn): for msg in iter(conn.recv, None): conn.send(msg.replace("ping", "pong"))`
let pong = EntryPoint<PongArgs>("pong") { args in
    while let message = try args.conn.receive(String.self) {
        try args.conn.send(message.hasPrefix("ping") ? "pong" + message.dropFirst(4) : message)
    }
}

/// Python's `Pipe()` ping-pong: the parent sends three pings, the child answers each.
struct PipePingPong: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pipe-pingpong", abstract: "A parent and a child talk over a duplex Pipe.")
    @OptionGroup var options: MethodOption

    func run() async throws {
        let (parentEnd, childEnd) = try Connection.pipe()
        var childOptions = ChildOptions(method: options.method)
        childOptions.pass(childEnd)
        let child = try ChildProcess(entry: pong, arguments: PongArgs(conn: childEnd), options: childOptions)
        try child.start()
        childEnd.close()
        for i in 1...3 {
            try parentEnd.send("ping \(i)")
            let answer: String? = try await parentEnd.receive(String.self)
            print("parent got: \(answer ?? "<end>")")
        }
        parentEnd.close()  // the child's receive returns nil: it ends
        _ = try await child.join()
        print("Ping-pong complete.")
    }
}
