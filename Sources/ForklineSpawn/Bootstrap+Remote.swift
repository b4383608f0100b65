import FoundationEssentials
import ForklineSystem
import ForklineTrace

extension ChildProcess {
    /// What a remote worker's trace says of it: named after its local end, with its host
    /// ("PoolWorker-3 (remote, flnode2)"), that local end its logical parent. The JSON is
    /// ForklinePool's `RemoteWorkerArguments`; one without the names (a launcher of an older
    /// Forkline) gives a root named "main", as before.
    static func remoteOrigin(_ json: String) -> Tracer.Origin {
        struct Names: Decodable {
            var worker: String?
            var localEnd: UInt64?
        }
        guard let names = try? JSONDecoder().decode(Names.self, from: Data(json.utf8)), let worker = names.worker,
              let localEnd = names.localEnd else { return .root() }
        return .remote(name: "\(worker) (remote, \(Syscall.hostName()))", localEnd: localEnd, entry: "forkline-remote-worker")
    }
}
