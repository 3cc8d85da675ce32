/// A `host:port` address as users write it (`[v6]:port` for IPv6 literals): the one
/// parser of the package, used by the server's settings and by the client.
package struct HostPort: Sendable, Hashable, CustomStringConvertible {
    /// Host name or IP address, without brackets.
    package var host: String
    /// TCP port, 0...65535 (0: any free port, for a listener).
    package var port: Int

    package init(host: String, port: Int) {
        precondition((0...65535).contains(port), "a TCP port is 0...65535")
        self.host = host
        self.port = port
    }

    /// Parses `text`; nil unless it is a non-empty host without spaces, a colon and a port
    /// in 0...65535. The port is the part after the last colon, so `::1:80` is host `::1`.
    package init?(parsing text: String) {
        guard let colon = text.lastIndex(of: ":") else { return nil }
        var host = Substring(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = host.dropFirst().dropLast() }
        guard !host.isEmpty, !host.contains(" "), let port = Int(text[text.index(after: colon)...]),
              (0...65535).contains(port)
        else { return nil }
        self.init(host: String(host), port: port)
    }

    /// `host:port`, with brackets around an IPv6 host.
    package var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}
