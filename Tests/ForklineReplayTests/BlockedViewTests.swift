import Foundation
import ForklineReplay
import ForklineTestSupport
import ForklineTrace
import Testing

/// Issue 13 item 6: `show`, `html` and the Chrome export draw blocked intervals as such.
@Suite("Blocked intervals in the views")
struct BlockedViewTests {
    @Test("the Chrome export has a 'blocked' slice per wait, named for what it waited on and who held it")
    func chromeSlices() throws {
        let ended = try ChromeDetailTests.events(try ExportTests.load("valid/waits-ended.jsonl"))
        let slices = ended.filter { $0["cat"] as? String == "blocked" }
        #expect(slices.map { $0["name"] as? String ?? "" } == ["blocked on lock 000000000000000a (held by taker (pid 501))", "blocked joining taker (pid 501)"])
        // From waitBegin (4 us) to waitEnd (6 us): the fixture's clock steps 1 us an event.
        #expect(slices.first?["ts"] as? Double == 4 && slices.first?["dur"] as? Double == 2, "\(slices)")
        #expect(ChromeDetailTests.args(slices[0])["what"] as? String == "lock" && ChromeDetailTests.args(slices[0])["object"] as? String == "0xa")
        let hung = try ChromeDetailTests.events(try ExportTests.load("invalid/deadlock-lock-order.jsonl"))
        let open = hung.filter { $0["cat"] as? String == "blocked" }.compactMap { $0["name"] as? String }
        #expect(open.contains("blocked on lock 000000000000000b held by taker-ba (pid 502), where the trace ends"), "\(open)")
        #expect(open.contains("blocked to join taker-ab (pid 501) (blocked), where the trace ends"), "\(open)")
    }

    @Test("show fills a blocked stretch with '=' and prints an open wait under its lane")
    func showMarks() throws {
        let text = Timeline(width: 100).render(try ExportTests.load("valid/waits-ended.jsonl"))
        let main = try #require(text.split(separator: "\n").first { $0.hasPrefix("500 main") })
        #expect(main.contains("="), "\(text)")
        #expect(text.contains("= blocked (waiting)"))
        let hung = Timeline(width: 100).render(try ExportTests.load("invalid/deadlock-lock-order.jsonl"))
        #expect(hung.contains("= blocked on lock 000000000000000a held by taker-ab (pid 501), where the trace ends"), "\(hung)")
        let plain = Timeline(width: 100).render(try ExportTests.load("valid/lock-handoffs.jsonl"))
        #expect(!plain.contains("="), "no wait, no blocked mark")
    }

    @Test("the html page carries the blocked intervals as bars of their own with their labels")
    func htmlBars() throws {
        let page = HTMLPage.render(try ExportTests.load("invalid/deadlock-receive-cycle.jsonl"))
        #expect(page.contains("\"blocked\":true"))
        #expect(page.contains("blocked to receive on channel 000000000000000c (could be ended by receiver (pid 501)), where the trace ends"))
        #expect(page.contains("BLOCKED"))
        #expect(!HTMLPage.render(try ExportTests.load("valid/lock-handoffs.jsonl")).contains("\"blocked\":true"))
    }
}
