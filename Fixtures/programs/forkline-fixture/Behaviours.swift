#if canImport(Glibc)
import Glibc
#endif

struct Failure: Error, CustomStringConvertible {
    var description: String { "the child threw on purpose" }
}

/// What a child does in the `statuses` scenario; the test knows the status each must give.
enum Behaviours {
    static let all = ["return", "throw", "exit3", "segv", "abort", "fatal", "bus", "sleep"]

    static func run(_ name: String) throws {
        switch name {
        case "return": return
        case "throw": throw Failure()
        case "exit3": exit(3)
        case "segv": crashHere()
        case "abort": abort()
        case "fatal": fatalHere()
        case "bus": busHere()
        case "sleep": sleep(600)
        case "raise-after-opens": raiseAfterOpens()
        default: exit(99)
        }
    }

    @inline(never)
    static func crashHere() {
        let p = UnsafeMutablePointer<Int>(bitPattern: 16)!
        p.pointee = 42
    }

    @inline(never)
    static func fatalHere() {
        fatalError("the child failed on purpose")
    }

    /// Opens readable files first, so that any descriptor number the child does not own (one
    /// left from the process it was forked from) now names one of them, then raises SIGSEGV.
    @inline(never)
    static func raiseAfterOpens() {
        for _ in 0..<12 { _ = open("/proc/self/exe", O_RDONLY) }
        raise(SIGSEGV)
    }

    /// Touches a page of a file mapping beyond the file's end: SIGBUS.
    @inline(never)
    static func busHere() {
        let path = "/tmp/forkline-bus-\(getpid())"
        let fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0o600)
        unlink(path)
        let p = mmap(nil, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)!
        p.storeBytes(of: 1, toByteOffset: 4096, as: UInt8.self)
    }
}

enum Zombies {
    /// Children of this process in state Z.
    static func count() -> Int {
        let me = getpid()
        guard let d = opendir("/proc") else { return -1 }
        defer { closedir(d) }
        var n = 0
        while let e = readdir(d) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
            guard let pid = Int32(name), let f = fopen("/proc/\(pid)/stat", "r") else { continue }
            var buf = [CChar](repeating: 0, count: 512)
            let line = fgets(&buf, 512, f) == nil ? "" : String(decoding: buf.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            fclose(f)
            // pid (comm) S ppid ...
            guard let close = line.lastIndex(of: ")") else { continue }
            let fields = line[line.index(after: close)...].split(separator: " ")
            if fields.count > 1, fields[0] == "Z", Int32(fields[1]) == me { n += 1 }
        }
        return n
    }
}
