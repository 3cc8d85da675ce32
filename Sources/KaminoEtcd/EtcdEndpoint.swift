/// One etcd client URL's host and port, parsed from `"host:port"` (an `http://` prefix is
/// accepted; TLS is not supported).
struct EtcdEndpoint: Sendable, Hashable, CustomStringConvertible {
    /// Host name or IP address.
    let host: String
    /// TCP port.
    let port: Int

    /// Parses `"127.0.0.1:2379"` or `"http://127.0.0.1:2379"`.
    init(parsing text: String) throws(EtcdError) {
        var rest = Substring(text)
        if rest.hasPrefix("http://") { rest = rest.dropFirst("http://".count) }
        if rest.hasSuffix("/") { rest = rest.dropLast() }
        guard let colon = rest.lastIndex(of: ":"), let port = Int(rest[rest.index(after: colon)...]), (1...65535).contains(port)
        else { throw EtcdError(.invalidArgument, "etcd endpoint \"\(text)\" is not host:port") }
        var host = rest[..<colon]
        if host.hasPrefix("[") && host.hasSuffix("]") { host = host.dropFirst().dropLast() }
        guard !host.isEmpty else { throw EtcdError(.invalidArgument, "etcd endpoint \"\(text)\" has no host") }
        self.host = String(host)
        self.port = port
    }

    /// The `Host` header value.
    var hostHeader: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// `host:port`.
    var description: String { hostHeader }
}
