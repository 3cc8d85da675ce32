import LedgerWire

/// The address of a Kamino server: a host and a TCP port.
///
/// Parse one from the `HOST:PORT` form people write (an IPv6 host in brackets:
/// `[::1]:4410`), or build it from its parts:
///
/// ```swift
/// let primary = try ServerAddress("10.0.0.5:4410")
/// let local = try ServerAddress(host: "127.0.0.1", port: 4410)
/// ```
///
/// Both throw ``KaminoClientError`` with code `invalidArgument` and a message that says
/// what is wrong with the text.
public struct ServerAddress: Sendable, Hashable, CustomStringConvertible {
    /// Host name or IP address, without brackets.
    public let host: String
    /// TCP port, 1...65535.
    public let port: Int

    /// An address from its parts; throws `invalidArgument` for an empty host, a host
    /// with blanks, or a port outside 1...65535.
    public init(host: String, port: Int) throws(KaminoClientError) {
        guard !host.isEmpty else { throw Self.invalid("the host is empty", in: "\(host):\(port)") }
        guard !host.contains(where: \.isWhitespace) else {
            throw Self.invalid("the host '\(host)' contains a blank", in: "\(host):\(port)")
        }
        guard (1...65535).contains(port) else {
            throw Self.invalid("the port \(port) is not in 1...65535", in: "\(host):\(port)")
        }
        self.host = host
        self.port = port
    }

    /// Parses `HOST:PORT` (the package's one parser). The port is what follows the
    /// last colon, so an IPv6 host needs brackets (`[::1]:4410`). Throws
    /// `invalidArgument` naming the problem: no port, a port that is not a number or not
    /// in 1...65535, an empty host, a blank in the host, unbalanced brackets.
    public init(_ text: String) throws(KaminoClientError) {
        let parsed: HostPort
        do {
            parsed = try HostPort(validating: text)
        } catch {
            throw Self.invalid(error.code == .portOutOfRange ? "the port \(error.part) is not in 1...65535" : "\(error)", in: text)
        }
        guard parsed.port != 0 else { throw Self.invalid("the port 0 is not in 1...65535", in: text) }
        self.host = parsed.host
        self.port = parsed.port
    }

    /// `HOST:PORT`, with brackets around an IPv6 host: what ``init(_:)`` parses back.
    public var description: String { HostPort(host: host, port: port).description }

    private static func invalid(_ problem: String, in text: String) -> KaminoClientError {
        KaminoClientError(.invalidArgument, "bad server address '\(text)': \(problem)")
    }
}
