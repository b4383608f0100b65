import ForklineTrace
import Testing

@Suite("Process mappings and backtraces")
struct ModuleTests {
    @Test("the executable mappings include libc and this test binary")
    func currentModules() {
        let modules = Module.current()
        #expect(modules.contains { $0.path.contains("libc.so") })
        #expect(modules.allSatisfy { $0.start < $0.end && $0.path.hasPrefix("/") })
    }

    @Test("a backtrace has frames when libunwind loads, and is explicitly unavailable otherwise")
    func capture() {
        let bt = Backtrace.capture()
        #expect(bt.frames.map { $0.count > 2 } ?? true)
    }
}
