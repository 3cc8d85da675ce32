import Testing

import LedgerCore
import LedgerWire

/// Backpressure: far more pipelined requests than a connection may have in flight.
@Suite("kamino serve under a flood of pipelined requests")
struct FloodTests {
    @Test("2,000 pipelined creates: each answered once, and a busy one was never executed")
    func everyRequestAnsweredOnce() throws {
        try withServer("flood") { server in
            let client = try #require(WireTestClient(port: server.port))
            #expect(allCreated(client.call(.createAccounts(accounts(1)))))
            var idOfRequest: [UInt64: UInt128] = [:]
            for i in 0..<2_000 {
                let id = UInt128(50_000 + i)
                idOfRequest[client.send(.createTransfers([transfer(id, from: 1, to: 2)]))] = id
            }
            var created: [UInt128] = []
            var refused: [UInt128] = []
            var answered: Set<UInt64> = []
            for _ in 0..<2_000 {
                guard let message = client.receive() else { break }
                let request = message.requestId
                #expect(answered.insert(request).inserted, "request \(request) answered twice")
                guard let id = idOfRequest[request] else {
                    Issue.record("reply to an unknown request \(request)")
                    continue
                }
                if case .errorReply = message { refused.append(id) } else if allCreated(message) { created.append(id) }
            }
            print("flood test: \(created.count) created, \(refused.count) refused (busy) of 2000 pipelined")
            #expect(answered.count == 2_000)
            #expect(created.count + refused.count == 2_000)
            guard case .reply(_, .lookupTransfers(let found), _) = client.call(.lookupTransfers(created + refused)) else {
                Issue.record("no lookup reply")
                return
            }
            #expect(Set(found.map(\.id)) == Set(created), "\(refused.count) refused with busy; none may exist")
        }
    }
}
