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
}
