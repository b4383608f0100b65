import CForkline
import ForklineTraceFormat
import Testing

/// The format module depends on nothing, so it spells the recorder's numbers itself: they must
/// be the C recorder's (CForkline.h), or the reader and the writer disagree.
@Suite("The format module and the C recorder agree")
struct FormatConstantsTests {
    @Test("version, header sizes, payload limit and the kinds the C side writes")
    func constants() {
        #expect(TraceFormat.version == UInt16(FL_TRACE_VERSION))
        #expect(TraceFormat.fileHeaderSize == Int(FL_TRACE_FILE_HEADER))
        #expect(TraceFormat.recordHeaderSize == Int(FL_TRACE_RECORD_HEADER))
        #expect(PayloadCodec.maxPayload == Int(FL_TRACE_MAX_PAYLOAD))
        #expect(TraceFormat.paddingKind == UInt16(FL_KIND_PADDING))
        #expect(EventKind.crash.rawValue == UInt16(FL_KIND_CRASH))
        #expect(EventKind.traceCut.rawValue == UInt16(FL_KIND_TRACE_CUT))
        #expect(EventKind.eventTruncated.rawValue == UInt16(FL_KIND_EVENT_TRUNCATED))
    }

    @Test("the wait kinds keep their numbers (32-39 are the waits' range) and fit the word path")
    func waitKinds() {
        #expect(EventKind.waitBegin.rawValue == 32 && EventKind.waitEnd.rawValue == 33)
        #expect(EventKind.waitBegin.arguments.map(\.name) == ["what", "object", "ref"])
        #expect(EventKind.waitEnd.arguments.map(\.name) == ["what", "object", "outcome"])
        #expect(WaitKind.allCases.map(\.rawValue) == Array(0...10))
        #expect(WaitOutcome.allCases.map(\.rawValue) == [0, 1, 2])
        #expect(EventKind(name: "waitBegin") == .waitBegin)
    }
}
