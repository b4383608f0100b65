import ForklineTestSupport
import Testing

@Suite("forkline-bench's command line")
struct BenchCommandTests {
    static let bench = TestSupport.executable("forkline-bench")

    @Test("an unknown argument is a usage error (exit 64) that names it, and nothing is measured")
    func unknownArgument() throws {
        let out = try TestSupport.run(Self.bench, ["--quik"], timeout: 30)
        #expect(out.status == 64)
        #expect(out.stderr.contains("unknown argument '--quik'"), "\(out.stderr)")
        #expect(out.stderr.contains("usage: forkline-bench"))
        #expect(out.stdout.isEmpty)
    }

    @Test("--help prints the usage and exits 0")
    func help() throws {
        let out = try TestSupport.run(Self.bench, ["--help"], timeout: 30)
        #expect(out.status == 0)
        #expect(out.stdout.hasPrefix("usage: forkline-bench"))
        #expect(out.stdout.contains("--quick"))
    }
}
