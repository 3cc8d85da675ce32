import LedgerWire

/// A server's `host:port` (IPv6 hosts in brackets: `[::1]:4410`).
struct ServerAddress: Sendable, Hashable, CustomStringConvertible {
    /// Host name or IP address, without brackets.
    var host: String
    /// TCP port.
    var port: Int

    /// Parses `host:port` (the package's one parser, `HostPort`); throws `invalidArgument`
    /// when malformed or when the port is 0.
    init(parsing text: String) throws(KaminoClientError) {
        guard let parsed = HostPort(parsing: text), parsed.port != 0 else {
            throw KaminoClientError(.invalidArgument, "address '\(text)' is not host:port")
        }
        self.host = parsed.host
        self.port = parsed.port
    }

    var description: String { HostPort(host: host, port: port).description }
}
