@testable import ForklineTrace
import Testing

@Suite("The word-argument recording path")
struct WordRecordTests {
    @Test("writes the same payload as the table-driven codec for every kind it supports")
    func sameBytes() throws {
        let values: [UInt64] = [0x0123_4567_89AB_CDEF, 42, 1, 0xFE]
        var supported = 0
        for kind in EventKind.allCases {
            guard let layout = WordLayout.of(kind) else { continue }
            supported += 1
            let args = kind.arguments.enumerated().map { i, spec in
                TraceValue.uint(spec.type == .u8 ? values[i] & 0xFF : values[i])
            }
            let expected = PayloadCodec.encode(kind, args)
            var got = [UInt8](repeating: 0, count: Int(layout.size))
            got.withUnsafeMutableBytes { WordLayout.encode(layout, values[0], values[1], values[2], values[3], into: $0.baseAddress!) }
            #expect(got == expected, "\(kind.name)")
        }
        #expect(supported >= 13, "the lock and synchronisation kinds use it")
        #expect(WordLayout.of(.fork) == nil)
    }
}
