import ForklinePool
import NIOCore

/// swift-nio's `ByteBuffer` as a pool task's input and output: a service hands a request body to
/// a pool and gets bytes back, without JSON. On the wire the buffer's readable bytes travel as
/// `[UInt8]`, which the pool's binary codec sends as the bytes themselves (a length, then the
/// bytes: `docs/codec.md`); one copy out of the buffer on each side, none to text.
///
/// Only `ForklineService` depends on swift-nio: `import ForklinePool` stays without it.
///
/// ```swift
/// let upper = ByteBufferFunction("upper") { buffer in
///     ByteBuffer(bytes: buffer.readableBytesView.map { $0 >= 97 && $0 <= 122 ? $0 - 32 : $0 })
/// }
/// let reply: ByteBuffer = try await pool.apply(upper, request.body)
/// ```
public typealias ByteBufferFunction = PoolFunction<[UInt8], [UInt8]>

extension PoolFunction where Input == [UInt8], Output == [UInt8] {
    /// A pool function from a `ByteBuffer` to a `ByteBuffer` (registered by `name`, as every
    /// ``PoolFunction``: list it in `bootstrap(entries:)` or `ForklineCommand.forklineEntries`).
    public init(_ name: String, buffers body: @escaping @Sendable (ByteBuffer) throws -> ByteBuffer) {
        self.init(name) { (bytes: [UInt8]) in
            let out = try body(ByteBuffer(bytes: bytes))
            return Array(out.readableBytesView)
        }
    }
}

extension Pool {
    /// Runs `f` on the readable bytes of `input` in a worker and returns its output as a
    /// `ByteBuffer` (Python's `apply`).
    ///
    /// - Throws: as ``Pool/apply(_:_:timeout:)``.
    public func apply(_ f: ByteBufferFunction, _ input: ByteBuffer, timeout: Duration? = nil) async throws -> ByteBuffer {
        ByteBuffer(bytes: try await apply(f, Array(input.readableBytesView), timeout: timeout))
    }

    /// Applies `f` to every buffer in the workers and returns the outputs in input order
    /// (Python's `map`).
    ///
    /// - Throws: as ``Pool/map(_:_:chunksize:timeout:)``.
    public func map(_ f: ByteBufferFunction, _ inputs: some Sequence<ByteBuffer>, chunksize: Int? = nil,
                    timeout: Duration? = nil) async throws -> [ByteBuffer] {
        try await map(f, inputs.map { Array($0.readableBytesView) }, chunksize: chunksize, timeout: timeout).map { ByteBuffer(bytes: $0) }
    }
}
