/// A TCP address: a host (a name, an IPv4 address, or an IPv6 address) and a port. Written
/// `host:port`, with an IPv6 address in brackets: `127.0.0.1:5000`, `[::1]:5000`, `node3:5000`.
/// Python's `(host, port)` address of `multiprocessing.connection.Listener`.
public struct NetworkAddress: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The host name or numeric address (IPv6 without brackets).
    public var host: String
    /// The port; 0 asks a ``Listener`` to pick a free one (its ``Listener/address`` tells which).
    public var port: UInt16

    /// An address from its parts.
    public init(host: String, port: UInt16) {
        self.host = host
        self.port = port
    }

    /// Parses `host:port` or `[ipv6]:port`.
    ///
    /// - Throws: ``ChannelError`` `invalidArgument` naming what is wrong (no port, a port out of
    ///   range, an IPv6 address without brackets).
    public init(parsing text: String) throws(ChannelError) {
        func bad(_ why: String) -> ChannelError {
            ChannelError(.invalidArgument, "'\(text)' is not a network address (host:port, or [ipv6]:port): \(why)")
        }
        let host: Substring, port: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { throw bad("no ']' after the IPv6 address") }
            host = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else { throw bad("no ':port' after ']'") }
            port = rest.dropFirst()
        } else {
            guard let colon = text.lastIndex(of: ":") else { throw bad("no ':port'") }
            host = text[..<colon]
            port = text[text.index(after: colon)...]
            if host.contains(":") { throw bad("write an IPv6 address in brackets, as [::1]:5000") }
        }
        guard !host.isEmpty else { throw bad("no host") }
        guard let p = UInt16(port) else { throw bad("the port must be a number from 0 to 65535") }
        self.init(host: String(host), port: p)
    }

    /// `host:port`, an IPv6 host in brackets.
    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}
