// Channel fault scenarios (`forkline-fixture fault-* METHOD [N]`): shared memory on a full
// /dev/shm, queue producers and consumers killed inside their critical sections, barrier parties
// killed while they wait. Each prints one fact a line; the trace is the rest of the oracle.
import Forkline

#if canImport(Glibc)
import Glibc
#endif

enum ChannelFaults {
    static let entries: [any AnyEntryPoint] = []

    static func run(_ scenario: String, _ m: StartMethod, _ count: Int) throws {
        switch scenario {
        case "fault-shm-full": try shmFull()
        default:
            writeStderrLine("unknown scenario \(scenario)")
            exit(2)
        }
    }

    /// Describes how creating or attaching ended: "ok", or the error's code, call and errno.
    static func outcome(_ body: () throws(ChannelError) -> SharedMemory) -> (String, SharedMemory?) {
        do {
            let s = try body()
            // Every page is written: a segment without its pages dies here of SIGBUS.
            memset(s.bytes.baseAddress!, 0x5a, s.bytes.count)
            return ("ok", s)
        } catch {
            let named = error.message.contains("ENOSPC") ? " names-ENOSPC" : ""
            return ("\(error.code) \(error.syscall ?? "-") errno=\(error.errno.map(String.init) ?? "nil")\(named)", nil)
        }
    }

    /// Run with a 1 MiB tmpfs over /dev/shm (a private mount namespace): segments that do not fit
    /// fail at creation with ENOSPC, nothing is left behind, and what fits works.
    static func shmFull() throws {
        let (big, _) = outcome { () throws(ChannelError) in try SharedMemory(size: 4 << 20) }
        print("4MiB \(big)")
        let (first, kept) = outcome { () throws(ChannelError) in try SharedMemory(size: 768 << 10) }
        print("768KiB \(first)")
        let (second, _) = outcome { () throws(ChannelError) in try SharedMemory(size: 512 << 10) }
        print("512KiB more \(second)")
        // A segment another program sized with ftruncate alone (no pages): attaching reserves
        // them, or says there is no room, instead of a SIGBUS at the first write.
        let name = "forkline-fault-sparse-\(getpid())"
        let fd = shm_open("/" + name, O_RDWR | O_CREAT | O_EXCL, 0o600)
        _ = ftruncate(fd, 512 << 10)
        close(fd)
        let (attach, _) = outcome { () throws(ChannelError) in try SharedMemory(name: name, create: false) }
        print("attach sparse 512KiB \(attach)")
        shm_unlink("/" + name)
        kept?.close()
        let left = (try? listShm()) ?? []
        print("left in /dev/shm \(left.count)")
        let (after, s) = outcome { () throws(ChannelError) in try SharedMemory(size: 768 << 10) }
        print("768KiB after close \(after)")
        s?.close()
    }

    static func listShm() throws -> [String] {
        guard let d = opendir("/dev/shm") else { return [] }
        defer { closedir(d) }
        var out: [String] = []
        while let e = readdir(d) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
            if name != "." && name != ".." { out.append(name) }
        }
        return out
    }
}
