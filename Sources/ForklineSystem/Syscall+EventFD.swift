#if canImport(Glibc)
import Glibc
#endif

extension Syscall {
    /// Adds one to an eventfd's counter (it becomes readable). The C function is `write`.
    package static func eventSignal(_ fd: Int32) {
        var one: UInt64 = 1
        _ = Glibc.write(fd, &one, 8)
    }

    /// Resets a non-blocking eventfd's counter to zero (it stops being readable). The C function
    /// is `read`.
    package static func eventDrain(_ fd: Int32) {
        var n: UInt64 = 0
        _ = Glibc.read(fd, &n, 8)
    }
}
