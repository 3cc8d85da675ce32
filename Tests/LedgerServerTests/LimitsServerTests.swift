import KaminoTestSupport
import Glibc
import LedgerCore
import LedgerWire
import Testing

/// Connection caps and the slowloris timeout against the real binary, while a good
/// client keeps working.
@Suite("kamino serve: connection caps and timeouts", .serialized)
struct LimitsServerTests {
    static let otherMachine: UInt32 = 0x7F00_0002  // 127.0.0.2

    @Test("the connection caps and the first-frame timeout hold while a good client keeps working")
    func capsAndSlowloris() throws {
        try AuthServer.with(
            "limits", extra: ["--max-connections", "30", "--max-connections-per-address", "20", "--frame-timeout-seconds", "2"]
        ) { server in
            // A good client from 127.0.0.1, authenticated before the attack.
            let good = try #require(server.connect(AuthServer.token(rights: ["read", "write"])))
            #expect(allCreated(good.call(.createAccounts(accounts(1)))))

            // 40 slowloris connections from 127.0.0.2, each sending half a header.
            let half = Array(WireTestClient.frame(.authenticate(AuthServer.token(rights: ["read"])), id: 1).prefix(20))
            var attackers: [RawConnection] = []
            for _ in 0..<40 {
                guard let c = RawConnection(port: server.port, from: Self.otherMachine, timeoutSeconds: 8) else { continue }
                c.send(half)
                attackers.append(c)
            }
            #expect(attackers.count == 40)
            // The good client still works while they hold their places.
            #expect(allCreated(good.call(.createTransfers([transfer(1, from: 1, to: 2)]))))
            // A second good connection: the per-address cap keeps room for other addresses (20 + 1 < 30).
            let second = try #require(server.connect(AuthServer.token(rights: ["read"])))
            guard case .reply(_, .lookupTransfers(let found), _)? = second.call(.lookupTransfers([1])) else {
                Issue.record("the second good connection was not served")
                return
            }
            #expect(found.count == 1)

            // Each attacker gets too_many_connections at once (20 beyond the per-address
            // cap) or timed_out after the frame timeout, and is closed.
            let started = monotonicSeconds()
            var refused = 0
            var timedOut = 0
            for c in attackers {
                let (code, closed) = c.readUntilClose()
                #expect(closed)
                if code == WireError.Code.tooManyConnections.rawValue { refused += 1 }
                if code == WireError.Code.timedOut.rawValue { timedOut += 1 }
            }
            let waited = monotonicSeconds() - started
            #expect(refused == 20, "\(refused) refused by the per-address cap")
            #expect(timedOut == 20, "\(timedOut) closed by the frame timeout")
            #expect(waited < 6, "slowloris connections closed after \(waited) s")

            // The overall cap: 28 more connections fill it (2 good ones are open), the next is refused.
            var fill: [RawConnection] = []
            for _ in 0..<28 { if let c = RawConnection(port: server.port, timeoutSeconds: 1) { fill.append(c) } }
            let over = try #require(RawConnection(port: server.port, from: Self.otherMachine, timeoutSeconds: 5))
            #expect(over.readUntilClose().code == WireError.Code.tooManyConnections.rawValue)
            fill.removeAll()
            // The good client kept working throughout.
            #expect(allCreated(good.call(.createTransfers([transfer(2, from: 1, to: 2)]))))
            let metrics = server.server.output
            #expect(metrics.contains("connections_per_address"), "the audit log names the limit")
        }
    }
}
