import Foundation
import ForklineTestSupport
import ForklineTrace
import Testing

/// `withChild`: the scope's end always ends and joins the child: a grace period, then SIGTERM,
/// then SIGKILL, as swift-subprocess's teardown does.
@Suite("Scoped children always end")
struct ScopedChildTests {
    @Test("withChild gives the body's value and the status; grace, SIGTERM, SIGKILL; a throwing body still ends the child",
          arguments: [StartMethod.fork, .spawn, .forkserver])
    func scoped(method: StartMethod) throws {
        let (out, dir) = try TestSupport.runFixture(["scoped", method.description], timeout: 120)
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.lines.contains("exits value 7 exited(0)"), "\(out.lines)")
        #expect(out.lines.contains("sleeps value 7 signaled(SIGTERM)"), "\(out.lines)")
        #expect(out.lines.contains("ignores value 7 signaled(SIGKILL)"), "\(out.lines)")
        #expect(out.lines.contains("throws threw ScopeFailure"), "\(out.lines)")
        #expect(out.lines.contains("zombies 0"))
        #expect(out.lines.contains("closure with spawn unsupported"), "a closure is not silently forked")
        let (_, report) = try TestSupport.checkedTrace(dir)
        #expect(report.ok, "\(report.violations.map { "\($0)" })")
    }

    @Test("a child reaped by the program itself (waitpid) makes join throw ECHILD instead of inventing SIGKILL",
          arguments: [StartMethod.fork, .spawn])
    func foreignReap(method: StartMethod) throws {
        let (out, _) = try TestSupport.runFixture(["foreign-reap", method.description], traced: false, timeout: 60)
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.lines == ["join systemCallFailed errno=10"], "\(out.lines)")
    }

    @Test("Tracer.withTracing traces its scope only: the child inside is in the trace, the one after is not; check passes",
          arguments: [StartMethod.fork, .spawn, .forkserver])
    func scopedTracing(method: StartMethod) throws {
        let dir = TestSupport.temporaryDirectory("forkline-scoped-trace")
        let (out, _) = try TestSupport.runFixture(["scoped-tracing", method.description, dir], traced: false, timeout: 60)
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.lines == ["inside exited(0) tracing false", "after exited(0)"], "\(out.lines)")
        let (trace, report) = try TestSupport.checkedTrace(dir)
        #expect(report.ok, "\(report.violations.map { "\($0)" })")
        let root = try #require(trace.processes.first { $0.events.first?["method"]?.uint == UInt64(StartMethod.root.rawValue) })
        #expect(root.events.last?.kind == .traceCut && root.events.last?["errno"]?.int == 0)
        let children = trace.processes.filter { $0.header.puid != root.header.puid && $0.name != "forkserver" }
        #expect(children.count == 1, "only the child inside the scope was started traced: \(children.map(\.name))")
    }
}
