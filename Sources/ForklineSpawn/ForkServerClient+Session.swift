import CForkline
import ForklineSystem

#if canImport(Glibc)
import Glibc
#endif

/// The owner's kept connection to its forkserver. The process that started the server asks for
/// all its children over one connection: the server makes each a child of the owner
/// (CLONE_PARENT), so the connection carries no child's status and can carry the next request.
/// That takes a connect, an accept, a peer check and two closes out of each start. One thread
/// at a time uses it; a thread that finds it in use connects for its child as any other
/// requester does. A fork child inherits the descriptor's number but never uses it (it is not
/// the owner: its requests are relayed).
extension ForkServerClient {
    /// The kept connection for one request, if this process may use it now.
    enum SessionUse {
        /// Taken: use it, then ``giveBackSession(_:keep:)``.
        case taken(Int32)
        /// Another thread is using it: connect for this child.
        case busy
        /// None is kept (or this process is not the one that made it): connect, and ask the
        /// server to keep that connection.
        case none
    }

    /// Takes the kept connection for one request.
    static func takeSession() -> SessionUse {
        let me = fl_getpid()
        let uid = geteuid()
        return state.withLock { s -> SessionUse in
            guard var server = s, server.owned, server.uid == uid else { return .none }
            guard server.session >= 0, server.sessionPid == me else { return .none }
            if server.sessionBusy { return .busy }
            server.sessionBusy = true
            s = server
            return .taken(server.session)
        }
    }

    /// Gives the kept connection back after a request: kept for the next one, or closed (the
    /// server hung up, or the exchange broke off mid-message). One the server replaced meanwhile
    /// (this process changed its uid) is closed here.
    static func giveBackSession(_ fd: Int32, keep: Bool) {
        let ours = state.withLock { s -> Bool in
            guard var server = s, server.session == fd, server.sessionBusy else { return false }
            server.sessionBusy = false
            if !keep { server.session = -1 }
            s = server
            return true
        }
        if !ours || !keep { Sys.close(fd) }
    }

    /// Keeps `fd`, a new connection to the server at `address` on which it made a child ours, as
    /// the connection for the owner's next requests; false (the caller closes it) when one is
    /// kept already, or the server was replaced meanwhile.
    static func keepSession(_ fd: Int32, to address: String) -> Bool {
        let me = fl_getpid()
        let uid = geteuid()
        return state.withLock { s -> Bool in
            guard var server = s, server.owned, server.uid == uid, server.address == address,
                  server.session < 0 else { return false }
            server.session = fd
            server.sessionPid = me
            server.sessionBusy = false
            s = server
            return true
        }
    }
}
