import Glibc
import KaminoTestSupport
import LedgerWire
import Testing

/// `kamino serve`'s security settings: auth off refused off loopback, the metrics bearer
/// token, and the security counters on /metrics.
@Suite("kamino serve: security settings", .serialized)
struct SecurityConfigTests {
    @Test("authentication off is refused on a non-loopback listener; jwt without a key is refused")
    func authOffNeedsLoopback() throws {
        let kamino = try #require(builtExecutable("kamino"))
        let dir = temporaryDataDir("auth-off")
        defer { removeDataDir(dir) }
        let log = dir + ".log"
        let exposed = runProcess([kamino, "serve", "--data", dir, "--listen", "0.0.0.0:0", "--metrics", "off"], log: log)
        #expect(exposed != nil && exposed != 0)
        #expect(String(decoding: fileBytes(log), as: UTF8.self).contains("not a loopback address"))
        let exposedMetrics = runProcess([kamino, "serve", "--data", dir, "--listen", "127.0.0.1:0", "--metrics", "0.0.0.0:0"], log: log)
        #expect(exposedMetrics != nil && exposedMetrics != 0)
        let noKey = runProcess([kamino, "serve", "--data", dir, "--listen", "127.0.0.1:0", "--auth", "jwt"], log: log)
        #expect(noKey != nil && noKey != 0)
        #expect(String(decoding: fileBytes(log), as: UTF8.self).contains("jwt needs a key"))
    }

    @Test("auth off on loopback is logged loudly, and authenticate is answered")
    func authOffIsLoud() throws {
        try withServer("auth-off-loud") { server in
            #expect(server.output.contains("AUTHENTICATION IS OFF"))
            let client = try #require(WireTestClient(port: server.port))
            guard case .reply(_, .authenticate(let json), _)? = client.call(.authenticate(Array("anything".utf8))) else {
                Issue.record("authenticate not answered with auth off")
                return
            }
            #expect(String(decoding: json, as: UTF8.self).contains("\"auth\":\"off\""))
        }
    }

    @Test("/metrics needs the bearer token when one is configured, and shows the security counters")
    func metricsBearerToken() throws {
        let dir = temporaryDataDir("metrics-token")
        defer { removeDataDir(dir) }
        let tokenPath = String(dir.dropLast("/data".count)) + "/metrics-token"
        let token = "0123456789abcdef0123456789abcdef-metrics"
        try writeFile(tokenPath, Array((token + "\n").utf8))
        let server = try #require(
            ServerProcess.start(dataDir: dir, extra: ["--metrics-token-file", tokenPath], metrics: true), "did not start")
        defer { server.terminate() }
        let port = try #require(server.metricsPort)
        #expect(Self.get(port: port, path: "/metrics", bearer: nil)?.status == 401)
        #expect(Self.get(port: port, path: "/metrics", bearer: "wrong")?.status == 401)
        #expect(Self.get(port: port, path: "/healthz", bearer: nil)?.status == 200)
        let ok = try #require(Self.get(port: port, path: "/metrics", bearer: token))
        #expect(ok.status == 200)
        #expect(ok.body.contains("kamino_auth_success_total"))
    }

    @Test("the security keys come from the config file too")
    func securityFromConfigFile() throws {
        let dir = temporaryDataDir("auth-config")
        defer { removeDataDir(dir) }
        let parent = String(dir.dropLast("/data".count))
        try writeFile(parent + "/secret", AuthServer.secret)
        try writeFile(
            parent + "/kamino.toml",
            Array("auth = \"jwt\"\nauth_hs256_secret_file = \"\(parent)/secret\"\nmax_connections = 2\n".utf8))
        let server = try #require(ServerProcess.start(dataDir: dir, extra: ["--config", parent + "/kamino.toml"]), "did not start")
        defer { server.terminate() }
        let first = try #require(AuthServer(server: server).connect(AuthServer.token(rights: ["read"], audience: nil)))
        let second = try #require(WireTestClient(port: server.port, timeoutSeconds: 5))
        let third = try #require(RawConnection(port: server.port, timeoutSeconds: 5))
        #expect(third.readUntilClose().code == WireError.Code.tooManyConnections.rawValue, "max_connections = 2 from the file")
        // Authentication is on (auth = "jwt" from the file): a request before authenticate is refused.
        #expect(errorCode(second.call(.lookupAccounts([1]))) == .unauthenticated)
        guard case .reply(_, .lookupAccounts, _)? = first.call(.lookupAccounts([1])) else {
            Issue.record("the authenticated connection was not served")
            return
        }
    }

    /// One HTTP/1.1 GET with an optional bearer token: the status code and the body.
    static func get(port: UInt16, path: String, bearer: String?) -> (status: Int, body: String)? {
        guard let c = RawConnection(port: port, timeoutSeconds: 5) else { return nil }
        let auth = bearer.map { "Authorization: Bearer \($0)\r\n" } ?? ""
        c.send(Array("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n\(auth)Connection: close\r\n\r\n".utf8))
        var response: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(c.fd, $0.baseAddress, $0.count, 0) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            response += chunk[0..<n]
        }
        let text = String(decoding: response, as: UTF8.self)
        guard let split = text.range(of: "\r\n\r\n") else { return nil }
        let parts = (text[..<split.lowerBound].split(separator: "\r\n").first ?? "").split(separator: " ")
        guard parts.count >= 2, let status = Int(parts[1]) else { return nil }
        return (status, String(text[split.upperBound...]))
    }
}
