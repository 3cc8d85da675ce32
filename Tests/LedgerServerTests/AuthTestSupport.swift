import Glibc
import KaminoAuth
import KaminoTestSupport
import LedgerCore
import LedgerWire
import Testing

/// A `kamino serve` with authentication on (HS256 with a secret file in the data dir's
/// parent, audience `kamino`, issuer `kamino-tests`), and tokens for it.
struct AuthServer {
    static let secret = Array("kamino-test-secret-0123456789abcdef-0123".utf8)
    static let audience = "kamino"
    static let issuer = "kamino-tests"

    let server: ServerProcess
    /// The HS256 secret file the server reads (at start and on SIGHUP); empty when the
    /// server was started otherwise.
    var secretPath = ""

    /// Starts one for a test and always stops it by pid.
    static func with(_ tag: String, extra: [String] = [], _ body: (AuthServer) throws -> Void) throws {
        let dir = temporaryDataDir(tag)
        defer { removeDataDir(dir) }
        let secretPath = String(dir.dropLast("/data".count)) + "/secret"
        try writeFile(secretPath, secret)
        let server = try #require(
            ServerProcess.start(
                dataDir: dir,
                extra: ["--auth", "jwt", "--auth-hs256-secret-file", secretPath, "--auth-audience", audience,
                        "--auth-issuer", issuer] + extra),
            "kamino serve --auth jwt did not start")
        defer { server.terminate() }
        try body(AuthServer(server: server, secretPath: secretPath))
    }

    var port: UInt16 { server.port }

    /// A token signed with the server's secret.
    static func token(
        rights: [String], ledgers: [UInt32]? = nil, lifetime: Int64 = 600, audience: String? = Self.audience,
        subject: String = "tester", secret: [UInt8] = Self.secret
    ) -> [UInt8] {
        let claims = TokenSigner.claims(
            subject: subject, rights: rights, ledgers: ledgers, audience: audience, issuer: issuer, now: wallSeconds(),
            lifetime: lifetime)
        return Array(((try? TokenSigner(secret: secret).sign(claimsJSON: claims)) ?? "").utf8)
    }

    /// A connection that presented `token` and got an `authenticate` reply; nil otherwise.
    func connect(_ token: [UInt8]) -> WireTestClient? {
        guard let client = WireTestClient(port: port), case .reply(_, .authenticate, _)? = client.call(.authenticate(token)) else {
            return nil
        }
        return client
    }
}

func wallSeconds() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return Int64(ts.tv_sec)
}

func writeFile(_ path: String, _ bytes: [UInt8]) throws {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    guard fd >= 0 else { throw AuthTestError("cannot write \(path)") }
    defer { close(fd) }
    guard bytes.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) == bytes.count else {
        throw AuthTestError("short write \(path)")
    }
}

struct AuthTestError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A raw TCP connection to 127.0.0.1 from a chosen loopback source address (127.0.0.2
/// plays another client machine), for the connection-limit and slowloris tests.
final class RawConnection {
    let fd: Int32

    init?(port: UInt16, from source: UInt32 = 0x7F00_0001, timeoutSeconds: Int = 10) {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        var tv = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        // Close with a reset: thousands of fuzz connections leave no TIME_WAIT behind.
        var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
        var local = sockaddr_in()
        local.sin_family = sa_family_t(AF_INET)
        local.sin_addr.s_addr = source.bigEndian
        var remote = sockaddr_in()
        remote.sin_family = sa_family_t(AF_INET)
        remote.sin_port = port.bigEndian
        remote.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        let ok = withUnsafePointer(to: &local) { l in
            l.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        } && withUnsafePointer(to: &remote) { r in
            r.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
        guard ok else {
            close(fd)
            return nil
        }
    }

    deinit { close(fd) }

    @discardableResult
    func send(_ bytes: [UInt8]) -> Bool {
        sendAll(fd, bytes)
    }

    /// The first 48 bytes the server sends (a message header), or what came before it
    /// closed; nil when nothing came within `timeoutMillis`.
    func readHeader(timeoutMillis: Int32) -> [UInt8]? {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 48)
        while bytes.count < 48 {
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&p, 1, timeoutMillis)
            if ready < 0 && errno == EINTR { continue }
            if ready <= 0 { return bytes.isEmpty ? nil : bytes }
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, 48 - bytes.count, 0) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return bytes }
            bytes.append(contentsOf: chunk[0..<n])
        }
        return bytes
    }

    /// Everything the server sends until it closes (or the receive timeout): the error
    /// code of the first message and whether the connection was closed.
    func readUntilClose() -> (code: UInt16?, closed: Bool) {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 && errno == EINTR { continue }
            let code: UInt16? = bytes.count >= 26 ? UInt16(bytes[24]) | UInt16(bytes[25]) << 8 : nil
            if n == 0 || (n < 0 && errno == ECONNRESET) { return (code, true) }
            if n < 0 { return (code, false) }
            bytes.append(contentsOf: chunk[0..<n])
        }
    }
}
