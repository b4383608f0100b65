import ForklinePool
import ForklineTestSupport
import Testing

/// What a user porting Python's Pool meets first: bad settings are usage errors, and an input
/// that cannot be encoded fails at its place (issue 10 item 12).
@Suite("Pool usage errors and inputs that cannot be encoded")
struct PoolUsageTests {
    @Test("workers: 0, maxTasksPerChild: 0 and prefetch: 0 are usage errors (PoolError invalidArgument), thrown before any worker starts",
          arguments: [(0, nil, 64), (-1, nil, 64), (2, 0, 64), (2, -3, 64), (2, nil, 0)] as [(Int, Int?, Int)])
    func badSettings(workers: Int, maxTasksPerChild: Int?, prefetch: Int) throws {
        do {
            let pool = try Pool(workers: workers, method: .fork, maxTasksPerChild: maxTasksPerChild, prefetch: prefetch)
            Issue.record("Pool(workers: \(workers), maxTasksPerChild: \(String(describing: maxTasksPerChild)), prefetch: \(prefetch)) started \(pool.workers) workers")
            _ = pool
        } catch {
            #expect(error.code == .invalidArgument, "\(error)")
            #expect(error.message.contains(workers < 1 ? "workers" : prefetch < 1 ? "prefetch" : "maxTasksPerChild"), "\(error.message)")
        }
    }

    @Test("imap over inputs one of which cannot be encoded yields the outputs before its chunk, the encoding error at its place, then the rest",
          arguments: ["fork", "spawn", "forkserver"], [1, 2])
    func imapEncodingFailure(method: String, chunksize: Int) throws {
        let (out, dir) = try TestSupport.runFixture(["pool-imap-encoding", method, String(chunksize)], timeout: 60)
        #expect(out.status == 0, "\(out.stderr)")
        let imap = chunksize == 1 ? "imap 1.0 2.0 encoding 4.0 5.0" : "imap 1.0 2.0 encoding encoding 5.0"
        #expect(out.lines == [imap, "map threw encoding", "after 7.0"])
        let (_, report) = try TestSupport.checkedTrace(dir)
        #expect(report.ok, "\(report.violations)")
    }
}
