import ForklineTrace

/// A flag shared by processes that others can wait for: Python's `multiprocessing.Event`.
///
/// `set()` wakes every process waiting in ``wait(timeout:)``; the flag stays set until `clear()`.
/// Each clear-to-set change increments a generation kept in shared memory; `eventSet` and
/// `eventWait` carry it, so `replay` draws the set -> wait edge.
public final class Event: Sendable {
    /// The event's id in traces.
    public let id: UInt64
    let core: SyncCore
    // Fields: 0 flag (0/1), 1 generation.

    /// A new, clear event.
    public init() throws(ChannelError) {
        id = UInt64.random(in: 1...UInt64.max)
        core = try SyncCore(name: "forkline-event")
    }

    init(id: UInt64, core: SyncCore) {
        self.id = id
        self.core = core
    }

    /// True when the flag is set.
    public var isSet: Bool {
        core.lock()
        defer { core.unlock() }
        return core[0] == 1
    }

    /// Sets the flag and wakes every waiting process.
    public func set() {
        core.withLock { held in
            if core[0] == 0 {
                core[0] = 1
                core[1] &+= 1
            }
            Tracer.recordWords(.eventSet, id, core[1])
            core.signal(&held, Int32.max)
        }
    }

    /// Clears the flag: later waits block until the next `set()`.
    public func clear() {
        core.lock()
        core[0] = 0
        core.unlock()
    }

    /// Waits until the flag is set, up to `timeout` (nil: forever).
    /// - Returns: true when the flag is set, false when the timeout passed first.
    @available(*, noasync, message: "blocking; call from a thread that may block, or use a child process")
    @discardableResult
    public func wait(timeout: Duration? = nil) -> Bool {
        let end = deadline(after: timeout)
        core.lock()
        defer { core.unlock() }
        var began = false
        while core[0] == 0 {
            if !began { began = Tracer.waitBegin(.event, id, ref: core[1]) }
            if !core.sleep(until: end), core[0] == 0 { break }
        }
        let ok = core[0] == 1
        Tracer.waitEnd(began, .event, id, ok ? .done : .timedOut)
        Tracer.recordWords(.eventWait, id, core[1], ok ? 1 : 0)
        return ok
    }

    /// The descriptors a child needs (``ChildOptions/pass(_:)``).
    public var fileDescriptors: [Int32] { [core.segment.fd] }
}

extension Event: Codable {
    public func encode(to encoder: Encoder) throws { try SyncCoding.encode(id: id, fd: core.segment.fd, to: encoder) }

    /// Decodes an event passed by the parent (its shared memory is mapped again here).
    public convenience init(from decoder: Decoder) throws {
        let (id, core) = try SyncCoding.decode(from: decoder)
        self.init(id: id, core: core)
    }
}
