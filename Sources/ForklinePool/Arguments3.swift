/// Three arguments of a pool function, for `Pool.starmap`
/// over triples.
public struct Arguments3<A: Codable & Sendable, B: Codable & Sendable, C: Codable & Sendable>: Codable, Sendable {
    public var first: A
    public var second: B
    public var third: C

    /// Groups three arguments.
    public init(_ first: A, _ second: B, _ third: C) {
        self.first = first
        self.second = second
        self.third = third
    }
}

extension PoolFunction {
    /// A pool function of three arguments, for `starmap` over triples.
    ///
    /// ```swift
    /// let fma = PoolFunction<Arguments3<Int, Int, Int>, Int>("fma") { a, b, c in a * b + c }
    /// ```
    public init<A, B, C>(_ name: String, _ body: @escaping @Sendable (A, B, C) throws -> Output) where Input == Arguments3<A, B, C> {
        self.init(name) { args in try body(args.first, args.second, args.third) }
    }
}

extension Pool {
    /// Python's `starmap` over triples of arguments.
    public func starmap<A, B, C, Out>(_ f: PoolFunction<Arguments3<A, B, C>, Out>, _ inputs: some Sequence<(A, B, C)>,
                                      chunksize: Int? = nil, timeout: Duration? = nil) async throws -> [Out] {
        try await map(f, inputs.map { Arguments3($0.0, $0.1, $0.2) }, chunksize: chunksize, timeout: timeout)
    }
}
