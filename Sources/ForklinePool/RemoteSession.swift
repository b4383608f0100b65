import ForklineChannels
import ForklineSpawn
import ForklineSystem
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// What one remote worker's local end is started with (in ``WorkerArguments``): where to
/// listen, what to tell the worker, how to launch it. Never the key, only its file.
struct RemoteSpec: Codable, Sendable {
    var launcher: WorkerLauncher
    var listenHost: String
    var advertisedHost: String
    var keyFile: String
    var connectTimeout: Duration
    var program: String
    var slot: Int
}

/// What a launched worker finds in `FORKLINE_REMOTE_WORKER` (JSON): the address to connect
/// back to and the key file.
struct RemoteWorkerArguments: Codable, Sendable {
    var driver: NetworkAddress
    var keyFile: String
    var slot: Int
    /// The local end's process name (`PoolWorker-3`) and puid, for the worker's trace
    /// (ForklineSpawn's `remoteOrigin` reads them from the same JSON).
    var worker: String?
    var localEnd: UInt64?
}

/// A remote worker's first message: where it runs.
struct RemoteHello: Codable, Sendable {
    var host: String
    var pid: Int32
}

/// The local end's answer: the pool and the initializer to run there.
struct RemoteSetup: Codable, Sendable {
    var pool: UInt64
    var initializer: String?
    var initializerArguments: [UInt8]?
}

/// A pool's remote side, owned by its driver: the resolved settings and the key file it made
/// (removed, with its private directory, when the driver goes).
package final class RemoteSession: Sendable {
    let settings: RemoteWorkers
    let keyFile: String
    let advertisedHost: String
    let program: String
    /// The private directory the pool made for a fresh key, removed at the end.
    let madeDirectory: String?
    let workers: Int

    init(_ settings: RemoteWorkers, workers: Int) throws(PoolError) {
        self.settings = settings
        self.workers = workers
        guard let program = Syscall.executablePath() else {
            throw PoolError(.systemCallFailed, "a pool with remote workers: cannot read this program's path (/proc/self/exe)")
        }
        self.program = program
        advertisedHost = settings.advertisedHost ?? (settings.launcher == .processes ? "127.0.0.1" : Syscall.hostName())
        if let file = settings.keyFile {
            do { _ = try AuthKey.read(from: file) } catch {
                throw PoolError(.invalidArgument, "a pool with remote workers: the key file cannot be used: \(error.message)")
            }
            keyFile = file
            madeDirectory = nil
        } else {
            let tmp = getenvString("TMPDIR") ?? "/tmp"
            guard case .success(let dir) = Syscall.makePrivateDirectory(prefix: tmp + "/forkline-pool-") else {
                throw PoolError(.systemCallFailed, "a pool with remote workers: cannot make a private directory in \(tmp) for its key")
            }
            do { try AuthKey.random().write(to: dir + "/key") } catch {
                Syscall.remove(dir, directory: true)
                throw PoolError(.systemCallFailed, "a pool with remote workers: \(error.message)")
            }
            keyFile = dir + "/key"
            madeDirectory = dir
        }
    }

    let removed = Atomic<Bool>(false)

    deinit { removeKey() }

    /// Removes the key file and the private directory the pool made for it (once; called when
    /// the driver ends, since a program may exit before the pool is freed).
    func removeKey() {
        guard let madeDirectory, !removed.exchange(true, ordering: .relaxed) else { return }
        Syscall.remove(keyFile)
        Syscall.remove(madeDirectory, directory: true)
    }

    /// The spec of the worker the scheduler numbered `id` (slot: its place in the pool, which a
    /// replacement inherits modulo the pool's size).
    func spec(for id: UInt64) -> RemoteSpec {
        RemoteSpec(launcher: settings.launcher, listenHost: settings.listenHost, advertisedHost: advertisedHost, keyFile: keyFile,
                   connectTimeout: settings.connectTimeout, program: program, slot: Int(id % UInt64(max(1, workers))))
    }
}

/// A remote worker's account of how it was lost, carried to the driver as the worker's
/// `initFailed` note: the host goes into ``PoolError/workerHost``.
enum RemoteNote {
    static let mark = "\u{1}remote-host="

    static func make(host: String, _ message: String) -> String { mark + host + "\u{1}" + message }

    /// The host and message of a note made by ``make(host:_:)``; nil for any other text.
    static func parse(_ note: String) -> (host: String, message: String)? {
        guard note.hasPrefix(mark) else { return nil }
        let rest = note.dropFirst(mark.count)
        guard let end = rest.firstIndex(of: "\u{1}") else { return nil }
        return (String(rest[..<end]), String(rest[rest.index(after: end)...]))
    }
}

func getenvString(_ name: String) -> String? {
    guard let v = getenv(name), v.pointee != 0 else { return nil }
    return String(cString: v)
}
