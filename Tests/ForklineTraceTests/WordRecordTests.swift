@testable import ForklineTrace
import Testing

@Suite("The word-argument recording path")
struct WordRecordTests {
    @Test("writes the same payload as the table-driven codec for every kind it supports")
    func sameBytes() throws {
        let values: [UInt64] = [0x0123_4567_89AB_CDEF, 42, 1, 0xFE, 0x7766_5544_3322_1100, 3]
        var supported = 0
        for kind in EventKind.allCases {
            guard let layout = WordLayout.of(kind) else { continue }
            supported += 1
            let args = kind.arguments.enumerated().map { i, spec in
                TraceValue.uint(spec.type == .u8 ? values[i] & 0xFF : values[i])
            }
            let expected = PayloadCodec.encode(kind, args)
            var got = [UInt8](repeating: 0, count: Int(layout.size))
            got.withUnsafeMutableBytes { WordLayout.encode(layout, values[0], values[1], values[2], values[3], values[4], values[5], into: $0.baseAddress!) }
            #expect(got == expected, "\(kind.name)")
        }
        #expect(supported >= 13, "the lock and synchronisation kinds use it")
        #expect(WordLayout.of(.fork) == nil)
        // The pool's per-task records of five and six words (a traced map's submit and result).
        #expect(WordLayout.of(.poolSubmit) != nil)
        #expect(WordLayout.of(.poolResult) != nil)
        // fl_trace_record_words takes at most four: wider kinds go through reserve + encode.
        #expect(WordLayout.packed[Int(EventKind.poolSubmit.rawValue)] == WordLayout.unsupportedPacked)
        #expect(WordLayout.packed[Int(EventKind.recv.rawValue)] == 4 | 32 << 16)
    }
}
