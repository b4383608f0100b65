/// Any number of arguments of a pool function, for ``Pool/starmap(_:_:chunksize:timeout:)``
/// over tuples of any length (Python's `starmap(f, [(a, b, c, d), ...])`).
///
/// ```swift
/// let volume = PoolFunction<Arguments<Double, Double, Double, String>, String>("volume") { w, h, d, unit in
///     "\(w * h * d) \(unit)"
/// }
/// let volumes = try await pool.starmap(volume, [(1, 2, 3, "m3"), (2, 2, 2, "cm3")])
/// ```
///
/// The values are encoded in order, in an unkeyed container (the binary codec sends each as
/// its own bytes). ``Arguments2`` and ``Arguments3`` remain for pairs and triples.
public struct Arguments<each T: Codable & Sendable>: Codable, Sendable {
    /// The arguments, in order.
    public var values: (repeat each T)

    /// Groups the arguments.
    public init(_ values: repeat each T) {
        self.values = (repeat each values)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.unkeyedContainer()
        for value in repeat each values { try c.encode(value) }
    }

    public init(from decoder: Decoder) throws {
        var c = try decoder.unkeyedContainer()
        func next<V: Decodable>(_ type: V.Type) throws -> V { try c.decode(type) }
        values = (repeat try next((each T).self))
    }
}

extension PoolFunction {
    /// A pool function of any number of arguments, for `starmap` over tuples of that length.
    ///
    /// ```swift
    /// let sum4 = PoolFunction<Arguments<Int, Int, Int, Int>, Int>("sum4") { a, b, c, d in a + b + c + d }
    /// ```
    public init<each A>(_ name: String, _ body: @escaping @Sendable (repeat each A) throws -> Output) where Input == Arguments<repeat each A> {
        self.init(name) { (args: Arguments<repeat each A>) in try body(repeat each args.values) }
    }
}

extension Pool {
    /// Python's `starmap` over tuples of any length: each input is the function's arguments.
    ///
    /// - Throws: as ``map(_:_:chunksize:timeout:)``.
    public func starmap<each A, Out, S: Sequence>(_ f: PoolFunction<Arguments<repeat each A>, Out>, _ inputs: S,
                                                  chunksize: Int? = nil, timeout: Duration? = nil) async throws -> [Out]
    where S.Element == (repeat each A) {
        try await map(f, Self.packed(inputs), chunksize: chunksize, timeout: timeout)
    }

    /// Python's `starmap_async` over tuples of any length; `callback` and `errorCallback` as
    /// ``mapAsync(_:_:chunksize:timeout:callback:errorCallback:)``.
    public func starmapAsync<each A, Out, S: Sequence>(_ f: PoolFunction<Arguments<repeat each A>, Out>, _ inputs: S,
                                                       chunksize: Int? = nil, timeout: Duration? = nil,
                                                       callback: (@Sendable ([Out]) -> Void)? = nil,
                                                       errorCallback: (@Sendable (PoolError) -> Void)? = nil) throws(PoolError) -> PoolTask<[Out]>
    where S.Element == (repeat each A) {
        try mapAsync(f, Self.packed(inputs), chunksize: chunksize, timeout: timeout,
                     callback: callback, errorCallback: errorCallback)
    }

    /// The tuples as ``Arguments``. A loop, not `map { ... }`: Swift 6.3.1's SILGen crashes
    /// (signal 11) on a closure that takes a tuple of a parameter pack.
    static func packed<each A, S: Sequence>(_ inputs: S) -> [Arguments<repeat each A>] where S.Element == (repeat each A) {
        var out: [Arguments<repeat each A>] = []
        out.reserveCapacity(inputs.underestimatedCount)
        for element in inputs { out.append(Arguments(repeat each element)) }
        return out
    }
}
