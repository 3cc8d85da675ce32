/// A server's `host:port` (IPv6 hosts in brackets: `[::1]:4410`).
struct ServerAddress: Sendable, Hashable, CustomStringConvertible {
    /// Host name or IP address, without brackets.
    var host: String
    /// TCP port.
    var port: Int

    /// Parses `host:port`; throws `invalidArgument` when malformed.
    init(parsing text: String) throws(KaminoClientError) {
        guard let colon = text.lastIndex(of: ":"),
            let port = UInt16(text[text.index(after: colon)...]), port != 0
        else {
            throw KaminoClientError(.invalidArgument, "address '\(text)' is not host:port")
        }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else {
            throw KaminoClientError(.invalidArgument, "address '\(text)' has no host")
        }
        self.host = host
        self.port = Int(port)
    }

    var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}
