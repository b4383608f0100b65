// libFuzzer target for the trace reader: Tools/fuzz-trace builds it with `swiftc -sanitize=fuzzer`
// over the ForklineTrace and ForklineReplay sources and runs it on Fixtures/fuzz/trace-reader/.
//
// Each input is one trace file: JSON Lines when it begins with `{`, the binary format otherwise.
// Whatever it holds, reading must not trap, and neither may checking, drawing, exporting or
// measuring what was read.
import ForklineReplay
import ForklineTrace

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    var processes: [ProcessTrace] = []
    if bytes.first == UInt8(ascii: "{") {
        guard let ps = try? JSONLines.parse(Array(bytes), source: "fuzz") else { return 0 }
        processes = ps
    } else {
        guard let p = try? ProcessTrace(bytes: bytes, source: "fuzz") else { return 0 }
        processes = [p]
        // What the reader read must write back and read again to the same events.
        let again = Array(p.binaryBytes())
        let back = again.withUnsafeBytes { try? ProcessTrace(bytes: $0, source: "again") }
        if back?.events != p.events { fatalError("binary round trip changed the events") }
    }
    let trace = Trace(processes: processes)
    _ = check(trace).json()
    _ = Timeline(width: 60).render(trace)
    _ = trace.statsJSON()
    _ = ChromeTrace.export(trace)
    _ = ShiVizLog.export(trace)
    _ = JSONLines.export(trace)
    return 0
}
