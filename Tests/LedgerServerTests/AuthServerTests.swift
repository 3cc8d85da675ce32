import Glibc
import KaminoAuth
import KaminoTestSupport
import LedgerCore
import LedgerWire
import Testing

/// Authentication and rights against the real binary (`kamino serve --auth jwt`).
@Suite("kamino serve --auth jwt: tokens and rights", .serialized)
struct AuthServerTests {
    /// Sends `authenticate` with `token` on a fresh connection: the error code of the
    /// answer, and whether the server closed the connection after it.
    func refusal(_ server: AuthServer, _ token: [UInt8]) -> (WireError.Code?, Bool) {
        guard let client = WireTestClient(port: server.port, timeoutSeconds: 5) else { return (nil, false) }
        let answer = client.call(.authenticate(token))
        return (errorCode(answer), client.waitForClose())
    }

    @Test("expired, wrongly signed, wrong-audience, malformed and missing tokens are refused and the connection closed")
    func badTokensAreRefused() throws {
        try AuthServer.with("auth-refused") { server in
            let expired = AuthServer.token(rights: ["read", "write"], lifetime: -3600)
            let wrongKey = AuthServer.token(rights: ["read", "write"], secret: Array("some-other-secret-0123456789abcdefgh".utf8))
            let wrongAudience = AuthServer.token(rights: ["read", "write"], audience: "another-service")
            for (name, token) in [("expired", expired), ("wrong key", wrongKey), ("wrong audience", wrongAudience),
                                  ("malformed", Array("not.a.jwt".utf8)), ("empty", [])] {
                let (code, closed) = refusal(server, token)
                #expect(code == .unauthenticated, "\(name): \(String(describing: code))")
                #expect(closed, "\(name): the connection stays open")
            }
            // No token at all: a request before authenticate.
            let client = try #require(WireTestClient(port: server.port, timeoutSeconds: 5))
            #expect(errorCode(client.call(.createAccounts(accounts(1)))) == .unauthenticated)
            #expect(client.waitForClose())
            // Nothing of it was applied; a good token reads and writes.
            let good = try #require(server.connect(AuthServer.token(rights: ["read", "write"])))
            guard case .reply(_, .lookupAccounts(let found), _)? = good.call(.lookupAccounts([1, 2])) else {
                Issue.record("no lookup reply")
                return
            }
            #expect(found.isEmpty)
            #expect(allCreated(good.call(.createAccounts(accounts(1)))))
            #expect(server.server.output.contains("event=auth_failed"), "the audit log records refusals")
        }
    }

    @Test("SIGHUP re-reads the key files: a rotated secret verifies new tokens, the old one no longer does, and a bad file keeps the keys")
    func sighupRotatesTheVerificationKeys() throws {
        try AuthServer.with("auth-rotate") { server in
            let rotated = Array("kamino-rotated-secret-0123456789abcdef-99".utf8)
            let before = try #require(server.connect(AuthServer.token(rights: ["read", "write"])))
            #expect(allCreated(before.call(.createAccounts(accounts(1)))))

            func hangUpAndWait(for line: String, count: Int) -> Bool {
                kill(server.server.pid, SIGHUP)
                for _ in 0..<250 {
                    if server.server.output.components(separatedBy: line).count - 1 >= count { return true }
                    usleep(20_000)
                }
                return false
            }
            try writeFile(server.secretPath, rotated)
            #expect(hangUpAndWait(for: "verification keys reloaded", count: 1), "\(server.server.output)")
            #expect(server.connect(AuthServer.token(rights: ["read", "write"], secret: rotated)) != nil)
            let (code, closed) = refusal(server, AuthServer.token(rights: ["read", "write"]))
            #expect(code == .unauthenticated && closed, "a token of the old secret still verifies")
            // The connection authenticated before the rotation keeps its rights until exp.
            #expect(allCreated(before.call(.createAccounts(accounts(5)))))

            // A file that cannot be used (a secret shorter than 32 bytes): the keys stay.
            try writeFile(server.secretPath, Array("short".utf8))
            #expect(hangUpAndWait(for: "key reload failed", count: 1), "\(server.server.output)")
            #expect(server.connect(AuthServer.token(rights: ["read"], secret: rotated)) != nil)
        }
    }

    @Test("a read token reads but cannot write; admin operations need admin; import needs import")
    func readTokenCannotWrite() throws {
        try AuthServer.with("auth-rights") { server in
            let writer = try #require(server.connect(AuthServer.token(rights: ["write"])))
            #expect(allCreated(writer.call(.createAccounts(accounts(1)))))
            #expect(errorCode(writer.call(.lookupAccounts([1]))) == .forbidden, "write without read reads nothing")
            let reader = try #require(server.connect(AuthServer.token(rights: ["read"])))
            #expect(errorCode(reader.call(.createTransfers([transfer(10, from: 1, to: 2)]))) == .forbidden)
            #expect(errorCode(reader.call(.createAccounts(accounts(5)))) == .forbidden)
            #expect(errorCode(reader.call(.status)) == .forbidden)
            // Forbidden leaves the connection open, and nothing was applied.
            guard case .reply(_, .lookupTransfers(let t), _)? = reader.call(.lookupTransfers([10])),
                  case .reply(_, .lookupAccounts(let a), _)? = reader.call(.lookupAccounts([1, 2, 5, 6]))
            else {
                Issue.record("no lookup replies")
                return
            }
            #expect(t.isEmpty)
            #expect(a.map(\.id) == [1, 2])
            // An imported event needs import.
            var imported = Account(id: 20, ledger: 1, code: 1)
            imported.flags = .imported
            imported.timestamp = 1
            #expect(errorCode(writer.call(.createAccounts([imported]))) == .forbidden)
            let admin = try #require(server.connect(AuthServer.token(rights: ["admin"])))
            guard case .reply(_, .status, _)? = admin.call(.status) else {
                Issue.record("admin token: no status")
                return
            }
        }
    }

    @Test("a token limited to ledger 7 neither sees nor touches ledger 8")
    func ledgerLimitedToken() throws {
        try AuthServer.with("auth-ledgers") { server in
            let all = try #require(server.connect(AuthServer.token(rights: ["read", "write"])))
            let setup: [Account] = [
                Account(id: 71, ledger: 7, code: 1), Account(id: 72, ledger: 7, code: 1),
                Account(id: 81, ledger: 8, code: 1), Account(id: 82, ledger: 8, code: 1),
            ]
            #expect(allCreated(all.call(.createAccounts(setup))))
            let t8 = Transfer(id: 800, debitAccountId: 81, creditAccountId: 82, amount: 5, ledger: 8, code: 1)
            let t7 = Transfer(id: 700, debitAccountId: 71, creditAccountId: 72, amount: 5, ledger: 7, code: 1)
            #expect(allCreated(all.call(.createTransfers([t8, t7]))))

            let seven = try #require(server.connect(AuthServer.token(rights: ["read", "write"], ledgers: [7])))
            guard case .reply(_, .lookupAccounts(let accounts), _)? = seven.call(.lookupAccounts([71, 81, 72, 82])),
                  case .reply(_, .lookupTransfers(let transfers), _)? = seven.call(.lookupTransfers([700, 800])),
                  case .reply(_, .queryAccounts(let queried), _)? = seven.call(.queryAccounts(QueryFilter(limit: 100))),
                  case .reply(_, .queryAccounts(let queried8), _)? = seven.call(.queryAccounts(QueryFilter(ledger: 8, limit: 100))),
                  case .reply(_, .queryTransfers(let queriedT), _)? = seven.call(.queryTransfers(QueryFilter(limit: 100))),
                  case .reply(_, .getAccountTransfers(let of81), _)? = seven.call(.getAccountTransfers(AccountFilter(accountId: 81, limit: 10))),
                  case .reply(_, .getAccountTransfers(let of71), _)? = seven.call(.getAccountTransfers(AccountFilter(accountId: 71, limit: 10)))
            else {
                Issue.record("a read was not answered")
                return
            }
            #expect(accounts.map(\.id) == [71, 72])
            #expect(transfers.map(\.id) == [700])
            #expect(queried.map(\.id) == [71, 72])
            #expect(queried8.isEmpty)
            #expect(queriedT.map(\.id) == [700])
            #expect(of81.isEmpty)
            #expect(of71.map(\.id) == [700])

            // Writes on ledger 8, alone or in a batch with ledger 7, are refused whole.
            let touch8 = Transfer(id: 801, debitAccountId: 81, creditAccountId: 82, amount: 1, ledger: 8, code: 1)
            let also7 = Transfer(id: 701, debitAccountId: 71, creditAccountId: 72, amount: 1, ledger: 7, code: 1)
            #expect(errorCode(seven.call(.createTransfers([also7, touch8]))) == .forbidden)
            #expect(errorCode(seven.call(.createAccounts([Account(id: 83, ledger: 8, code: 1)]))) == .forbidden)
            // Ledger 0 (a post or void may leave it to the pending transfer) is refused too.
            let ledger0 = Transfer(id: 702, debitAccountId: 81, creditAccountId: 82, amount: 1, ledger: 0, code: 1)
            #expect(errorCode(seven.call(.createTransfers([ledger0]))) == .forbidden)
            guard case .reply(_, .lookupTransfers(let after), _)? = all.call(.lookupTransfers([701, 801, 702])),
                  case .reply(_, .lookupAccounts(let after8), _)? = all.call(.lookupAccounts([83]))
            else {
                Issue.record("no lookup replies")
                return
            }
            #expect(after.isEmpty, "nothing of a refused request applied")
            #expect(after8.isEmpty)
            // Ledger 7 itself works.
            #expect(allCreated(seven.call(.createTransfers([also7]))))
        }
    }

    @Test("the rate limit answers rate_limited and applies nothing")
    func rateLimit() throws {
        try AuthServer.with("auth-rate", extra: ["--rate-requests-per-second", "5"]) { server in
            let client = try #require(server.connect(AuthServer.token(rights: ["read", "write"])))
            var ids: [UInt64: UInt128] = [:]
            for i in 0..<40 {
                let account = Account(id: UInt128(1000 + i), ledger: 1, code: 1)
                ids[client.send(.createAccounts([account]))] = account.id
            }
            var created: Set<UInt128> = []
            var limited: Set<UInt128> = []
            for _ in 0..<40 {
                guard let message = client.receive(), let id = ids[message.requestId] else { break }
                if errorCode(message) == .rateLimited { limited.insert(id) } else if allCreated(message) { created.insert(id) }
            }
            #expect(created.count + limited.count == 40)
            #expect(created.count <= 6, "a burst of at most one second of the rate (5) passes; \(created.count) did")
            #expect(limited.count >= 34)
            // Another subject has its own bucket: it reads what was created, and nothing refused exists.
            let reader = try #require(server.connect(AuthServer.token(rights: ["read"], subject: "auditor")))
            guard case .reply(_, .lookupAccounts(let found), _)? = reader.call(.lookupAccounts(Array(limited) + Array(created))) else {
                Issue.record("no lookup reply")
                return
            }
            #expect(Set(found.map(\.id)) == created)
        }
    }
}

/// `--auth-public-key-file`: ES256 tokens verified with a P-256 key made by the `openssl`
/// command line at test time; a token signed by another key is refused.
@Suite("kamino serve --auth jwt with a public key file", .serialized)
struct PublicKeyServerTests {
    @Test("an ES256 token signed by the configured key is accepted; one from another key is refused")
    func es256WithPublicKeyFile() throws {
        let dir = temporaryDataDir("auth-pem")
        defer { removeDataDir(dir) }
        let parent = String(dir.dropLast("/data".count))
        for step in [
            "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out \(parent)/ec.pem",
            "openssl pkey -in \(parent)/ec.pem -pubout -out \(parent)/ec.pub.pem",
            "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out \(parent)/other.pem",
        ] {
            #expect(runProcess(["/bin/sh", "-c", step], log: "/dev/null") == 0, "\(step)")
        }
        let server = try #require(ServerProcess.start(
            dataDir: dir, extra: ["--auth", "jwt", "--auth-public-key-file", "\(parent)/ec.pub.pem", "--auth-issuer", AuthServer.issuer]))
        defer { server.terminate() }
        let claims = TokenSigner.claims(subject: "svc", rights: ["read"], issuer: AuthServer.issuer, now: wallSeconds())
        let good = try TokenSigner(privateKeyPEM: String(decoding: fileBytes("\(parent)/ec.pem"), as: UTF8.self)).sign(claimsJSON: claims)
        let other = try TokenSigner(privateKeyPEM: String(decoding: fileBytes("\(parent)/other.pem"), as: UTF8.self)).sign(claimsJSON: claims)
        let client = try #require(AuthServer(server: server).connect(Array(good.utf8)), "the ES256 token was refused")
        guard case .reply(_, .lookupAccounts, _)? = client.call(.lookupAccounts([1])) else {
            Issue.record("not served")
            return
        }
        let refused = try #require(WireTestClient(port: server.port, timeoutSeconds: 5))
        #expect(errorCode(refused.call(.authenticate(Array(other.utf8)))) == .unauthenticated)
        #expect(server.output.contains("bad_signature"))
    }
}
