import FoundationEssentials
import ForklineChannels
import ForklineSpawn

/// A named function a pool's workers run: Python's `pool.map(square, ...)` target.
///
/// spawn and forkserver workers start fresh, so they find the function by name: list every pool
/// function in ``ChildProcess/bootstrap(entries:)`` at the top of `main` (that also registers the
/// pool's worker loop). fork workers inherit the functions created before the pool started.
///
/// ```swift
/// let square = PoolFunction<Int, Int>("square") { $0 * $0 }
/// // main: ChildProcess.bootstrap(entries: [square]) first, then
/// let squares = try await withPool(workers: 2) { pool in try await pool.map(square, 1...10) }
/// ```
///
/// The body runs in a worker, synchronously (fork workers cannot run Dispatch or Swift tasks).
/// An error it throws goes back to the caller as ``PoolError`` `taskFailed` with the error's
/// type and description; the worker goes on.
public struct PoolFunction<Input: Codable & Sendable, Output: Codable & Sendable>: Sendable {
    /// The name workers find the function by; unique among the program's entry points.
    public let name: String
    let body: @Sendable (Input) throws -> Output

    /// Creates a pool function called `name`, and registers it in this process.
    public init(_ name: String, _ body: @escaping @Sendable (Input) throws -> Output) {
        self.name = name
        self.body = body
        ChildProcess.register(entries: [self])
    }
}

/// A pool function with its types erased, as workers run it.
protocol AnyPoolFunction: Sendable {
    /// Runs the function on every input of the chunk `payload` (``JSONChunks``), in order.
    func runChunk(_ payload: ArraySlice<UInt8>, pool: UInt64, task: UInt64) -> TaskReply
    /// Runs what ``runChunk(_:pool:task:)`` runs around the body (decoding `payload`, building
    /// and encoding outputs and failures), without the body: see ``PoolWorker/rehearse(_:)``.
    func rehearse(_ payload: ArraySlice<UInt8>)
}

/// An item that threw: its error's type and description, and where it was thrown.
struct ThrownItem {
    var type: String
    var description: String
    /// The throw site's frames (``ThrowSites/take()``).
    var backtrace: [RemoteFrame]?
}

extension PoolFunction: AnyPoolFunction {
    // Specialized for the scalar chunks (ScalarChunks): `runChunk` is reached through the
    // `AnyPoolFunction` existential, so without these it runs unspecialized, and each item's
    // copy, call and store goes through value-witness and metadata look-ups. Other types get
    // the generic code, which dispatches to these when the types match.
    @_specialize(where Input == Int, Output == Int)
    @_specialize(where Input == Int, Output == Double)
    @_specialize(where Input == Double, Output == Double)
    @_specialize(where Input == Double, Output == Int)
    @_specialize(where Input == Int, Output == UInt64)
    @_specialize(where Input == UInt64, Output == UInt64)
    @_specialize(where Input == Int, Output == Bool)
    @_specialize(where Input == String, Output == String)
    @_specialize(where Input == Int, Output == String)
    func runChunk(_ payload: ArraySlice<UInt8>, pool: UInt64, task: UInt64) -> TaskReply {
        if let inTag = ScalarChunks.wordTag(Input.self), let outTag = ScalarChunks.wordTag(Output.self),
           let count = ScalarChunks.wordCount(payload, tag: inTag) {
            return runWords(payload, count: count, tag: outTag)
        }
        let inputs: [Input]
        do { inputs = try JSONChunks.decodeChunk(payload, as: Input.self) } catch {
            return .badInput("\(name): cannot decode its inputs as [\(Input.self)]: \(error)")
        }
        // One output buffer at its final size, filled through pointers: no per-item append
        // (uniqueness and capacity checks) and no per-item array subscript. A non-generic
        // failure record: an `enumerated()` or a dictionary of tuples costs runtime
        // generic-metadata look-ups. Items that threw leave no slot; `failures` says where.
        var failures: [Int: ThrownItem] = [:]
        let outputs = [Output](unsafeUninitializedCapacity: inputs.count) { out, n in
            inputs.withUnsafeBufferPointer { items in
                var next = 0
                var i = 0
                while i < items.count {
                    do {
                        (out.baseAddress! + next).initialize(to: try body(items[i]))
                        next += 1
                    } catch {
                        failures[i] = Self.thrown(error)
                    }
                    i += 1
                }
                n = next
            }
        }
        if failures.isEmpty {
            do { return .values(try JSONChunks.encodeChunk(outputs)) } catch {
                return .badInput("\(name): cannot encode its outputs [\(Output.self)]: \(error)")
            }
        }
        return mixed(outputs, failures: failures, count: inputs.count)
    }

    /// ``runChunk(_:pool:task:)`` of scalars to scalars, `payload` a well-formed chunk of
    /// `count` inputs: each input read from its word in the payload, each output's word written
    /// straight into the reply's chunk, allocated at its final size (decoding into an `[Input]`,
    /// filling an `[Output]` and encoding that were three buffers and two more copies of each
    /// value). The reply's bytes are those of ``JSONChunks/encodeChunk(_:)`` of the outputs.
    func runWords(_ payload: ArraySlice<UInt8>, count: Int, tag: UInt8) -> TaskReply {
        var failures: [Int: ThrownItem] = [:]
        let chunk = [UInt8](unsafeUninitializedCapacity: 5 + count * 8) { buf, n in
            let out = UnsafeMutableRawPointer(buf.baseAddress!)
            var next = 0
            payload.withUnsafeBytes { src in
                let words = src.baseAddress! + 5
                var i = 0
                while i < count {
                    let x = ScalarChunks.value(word: UInt64(littleEndian: words.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self)), as: Input.self)
                    do {
                        out.storeBytes(of: ScalarChunks.word(of: try body(x)).littleEndian, toByteOffset: 5 + 8 * next, as: UInt64.self)
                        next += 1
                    } catch {
                        failures[i] = Self.thrown(error)
                    }
                    i += 1
                }
            }
            out.storeBytes(of: tag, as: UInt8.self)
            out.storeBytes(of: UInt32(next).littleEndian, toByteOffset: 1, as: UInt32.self)
            n = 5 + 8 * next
        }
        if failures.isEmpty { return .values(chunk) }
        return mixed(ScalarChunks.unwords(chunk[...], count: count - failures.count, as: Output.self), failures: failures, count: count)
    }

    /// The outcome of an item that threw `error`, with its throw site.
    static func thrown(_ error: any Error) -> ThrownItem {
        ThrownItem(type: String(reflecting: type(of: error)), description: String(describing: error), backtrace: ThrowSites.take())
    }

    /// The `mixed` reply of a chunk of `count` items where those in `failures` threw and
    /// `outputs` are the others' outputs, in order.
    func mixed(_ outputs: [Output], failures: [Int: ThrownItem], count: Int) -> TaskReply {
        var mixed: [ItemOutcome<Output>] = []
        var next = 0
        var i = 0
        while i < count {
            if let f = failures[i] {
                mixed.append(.thrown(type: f.type, description: f.description, backtrace: f.backtrace))
            } else {
                mixed.append(.value(outputs[next]))
                next += 1
            }
            i += 1
        }
        do { return .mixed(try BinaryEncoder().encode(mixed)) } catch {
            return .badInput("\(name): cannot encode its outputs [\(Output.self)]: \(error)")
        }
    }
}

extension PoolFunction {
    func rehearse(_ payload: ArraySlice<UInt8>) {
        _ = try? JSONChunks.decodeChunk(payload, as: Input.self)
        if ScalarChunks.wordTag(Input.self) != nil, let tag = ScalarChunks.wordTag(Output.self) {
            _ = runWords(ScalarChunks.words(tag, ArraySlice<Input>())[...], count: 0, tag: tag)
        }
        let outputs = [Output](unsafeUninitializedCapacity: 1) { _, n in n = 0 }
        var failures: [Int: ThrownItem] = [:]
        failures[0] = ThrownItem(type: "", description: "", backtrace: [RemoteFrame(address: 0, file: "", offset: 0)])
        _ = failures[0]
        _ = try? JSONChunks.encodeChunk(outputs)
        var mixed: [ItemOutcome<Output>] = []
        mixed.append(.thrown(type: "", description: "", backtrace: [RemoteFrame(address: 0, file: "", offset: 0)]))
        _ = try? BinaryEncoder().encode(mixed)
    }
}

extension PoolFunction: RunnableEntryPoint, CompanionEntries {
    /// Registering a pool function registers the pool's worker loop with it.
    package var companions: [any AnyEntryPoint] { [PoolWorker.entry, RemoteWorker.entry] }

    /// Runs the function once on the decoded input, as a plain entry point (its output is dropped).
    package func run(encodedArguments: [UInt8]) throws {
        _ = try body(try JSONDecoder().decode(Input.self, from: Data(encodedArguments)))
    }
}

/// Two arguments for ``Pool/starmap(_:_:chunksize:timeout:)``: Python's `starmap(f, [(a, b)])`.
public struct Arguments2<A: Codable & Sendable, B: Codable & Sendable>: Codable, Sendable {
    public var first: A
    public var second: B

    /// Pairs two arguments.
    public init(_ first: A, _ second: B) {
        self.first = first
        self.second = second
    }
}

extension PoolFunction {
    /// A pool function of two arguments, for ``Pool/starmap(_:_:chunksize:timeout:)``.
    ///
    /// ```swift
    /// let power = PoolFunction<Arguments2<Int, Int>, Int>("power") { a, b in ... }
    /// ```
    public init<A, B>(_ name: String, _ body: @escaping @Sendable (A, B) throws -> Output) where Input == Arguments2<A, B> {
        self.init(name) { args in try body(args.first, args.second) }
    }
}

/// Code every worker runs once when it starts (Python's `initializer` and `initargs`): a
/// registered ``EntryPoint`` and its arguments, in the binary codec (docs/codec.md).
public struct PoolInitializer: Sendable {
    let entry: String
    let arguments: [UInt8]

    /// Runs `entry` with `arguments` in each worker before its first task. List `entry` in
    /// `bootstrap(entries:)` for spawn and forkserver workers.
    ///
    /// - Throws: ``PoolError`` `encoding` when the arguments cannot be encoded.
    public init<A>(_ entry: EntryPoint<A>, arguments: A) throws(PoolError) {
        self.entry = entry.name
        do { self.arguments = try BinaryEncoder().encode(arguments) } catch {
            throw PoolError(.encoding, "initializer '\(entry.name)': cannot encode its arguments: \(error)")
        }
        ChildProcess.register(entries: [entry])
    }
}

/// An entry point a pool worker runs as its initializer, on arguments in the binary codec.
protocol BinaryArgumentsEntry {
    func run(binaryArguments: [UInt8]) throws
}

extension EntryPoint: BinaryArgumentsEntry {
    func run(binaryArguments: [UInt8]) throws {
        let args: Arguments
        do { args = try BinaryDecoder().decode(Arguments.self, from: binaryArguments) } catch {
            throw PoolError(.encoding, "initializer '\(name)': cannot decode its arguments: \(error)")
        }
        try body(args)
    }
}
