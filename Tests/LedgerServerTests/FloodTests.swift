import Testing

import KaminoTestSupport
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

    @Test("--max-requests-in-flight 4: a pipelined burst past it is answered busy, and no busy request was executed")
    func configuredPerConnectionLimit() throws {
        let dir = temporaryDataDir("flood-limit")
        defer { removeDataDir(dir) }
        let server = try #require(
            ServerProcess.start(dataDir: dir, extra: ["--max-requests-in-flight", "4"]), "kamino serve did not start")
        defer { server.terminate() }
        #expect(String(decoding: fileBytes(server.outputPath), as: UTF8.self).contains("max_requests_in_flight"))
        let client = try #require(WireTestClient(port: server.port))
        #expect(allCreated(client.call(.createAccounts(accounts(1)))))
        var idOfRequest: [UInt64: UInt128] = [:]
        for i in 0..<200 {
            let id = UInt128(70_000 + i)
            idOfRequest[client.send(.createTransfers([transfer(id, from: 1, to: 2)]))] = id
        }
        var created: [UInt128] = []
        var busy: [UInt128] = []
        for _ in 0..<200 {
            guard let message = client.receive(), let id = idOfRequest[message.requestId] else { break }
            if case .errorReply(let error) = message {
                #expect(error.rawCode == 12, "refused with \(error.rawCode), not busy")
                busy.append(id)
            } else if allCreated(message) {
                created.append(id)
            }
        }
        #expect(created.count + busy.count == 200)
        // 200 requests arrive at once and at most 4 may wait for the log: most are refused.
        #expect(busy.count > 100, "only \(busy.count) of 200 were refused with a limit of 4")
        guard case .reply(_, .lookupTransfers(let found), _) = client.call(.lookupTransfers(created + busy)) else {
            Issue.record("no lookup reply")
            return
        }
        #expect(Set(found.map(\.id)) == Set(created), "a request refused busy was executed")
    }

    @Test("--max-requests-in-flight out of range is refused at start with the key named")
    func limitOutOfRange() throws {
        let dir = temporaryDataDir("flood-limit-bad")
        defer { removeDataDir(dir) }
        #expect(ServerProcess.start(dataDir: dir, extra: ["--max-requests-in-flight", "0"]) == nil)
        #expect(String(decoding: fileBytes(dir + ".out"), as: UTF8.self).contains("--max-requests-in-flight: `0` is not an integer"))
    }
}
