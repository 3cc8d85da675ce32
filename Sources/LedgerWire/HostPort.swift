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

    /// Parses `text`; nil unless it is a non-empty host without blanks, a colon and a port
    /// in 0...65535. The port is the part after the last colon, so `::1:80` is host `::1`.
    package init?(parsing text: String) {
        guard let parsed = try? HostPort(validating: text) else { return nil }
        self = parsed
    }

    /// Parses `text` as `init?(parsing:)` does, or throws what is wrong with it.
    package init(validating text: String) throws(HostPortError) {
        guard let colon = text.lastIndex(of: ":") else { throw HostPortError(.noPort) }
        var host = Substring(text[..<colon])
        let portText = text[text.index(after: colon)...]
        guard host.hasPrefix("[") == host.hasSuffix("]") else { throw HostPortError(.unbalancedBrackets) }
        if host.hasPrefix("[") { host = host.dropFirst().dropLast() }
        guard !portText.isEmpty else { throw HostPortError(.noPort) }
        guard let port = Int(portText) else { throw HostPortError(.portNotANumber, "'\(portText)'") }
        guard (0...65535).contains(port) else { throw HostPortError(.portOutOfRange, "\(port)") }
        guard !host.isEmpty else { throw HostPortError(.emptyHost) }
        guard !host.contains(where: \.isWhitespace) else { throw HostPortError(.blankInHost) }
        self.init(host: String(host), port: port)
    }

    /// `host:port`, with brackets around an IPv6 host.
    package var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

/// Why a `host:port` text does not parse.
package struct HostPortError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What is wrong.
    package enum Code: Sendable, Hashable {
        case noPort, unbalancedBrackets, portNotANumber, portOutOfRange, emptyHost, blankInHost
    }

    package var code: Code
    /// The offending part, quoted as the user wrote it ("" when there is none).
    package var part: String

    package init(_ code: Code, _ part: String = "") {
        self.code = code
        self.part = part
    }

    /// The problem in words, for messages.
    package var description: String {
        switch code {
        case .noPort: return "no port (write HOST:PORT, for example 127.0.0.1:4410)"
        case .unbalancedBrackets: return "unbalanced brackets around the host (write [IPv6]:PORT)"
        case .portNotANumber: return "the port \(part) is not a number"
        case .portOutOfRange: return "the port \(part) is not in 0...65535"
        case .emptyHost: return "the host is empty"
        case .blankInHost: return "the host contains a blank"
        }
    }
}
