import KaminoTestSupport
import Foundation
import Glibc
import LedgerCore
import LedgerEngine
import LedgerStorage
import LedgerWire
import LedgerWorkload
import Synchronization
import Testing

/// Many connections' small creates are coalesced by the real server: each request must get
/// exactly the results it gets when applied alone in the order the log holds, and replay
/// of the coalesced log must give the same state.
@Suite("kamino serve coalesces small requests from many connections")
struct CoalescingServerTests {
    static let connections = 32
    static let requests = 1_600

    @Test func interleavedRequestsGetTheirOneAtATimeResults() throws {
        let dir = temporaryDataDir("coalesce")
        defer { removeDataDir(dir) }
        var server = try #require(ServerProcess.start(dataDir: dir))
        defer { _ = server.killHard() }
        let setup = try #require(WireTestClient(port: server.port))
        guard case .reply(_, .createAccounts(let made), _) = setup.call(.createAccounts(RequestMix.accounts)),
              let accountsTime = made.first?.timestamp else {
            Issue.record("the accounts were not created")
            return
        }
        // Imported events are stamped just after the accounts: most are applied, some are
        // refused (regressing, or mixed with plain events), as the mix intends.
        let mix = RequestMix.requests(count: Self.requests, seed: 2026, importedBase: accountsTime + 1_000)

        // Each connection sends its share pipelined in one write, from its own thread, all
        // at once, then reads every reply (matched by request id).
        let answers = Mutex<[Int: Reply]>([:])
        let failures = Mutex<[String]>([])
        let port = server.port
        let done = DispatchGroup()
        for c in 0..<Self.connections {
            DispatchQueue.global().async(group: done) {
                guard let client = WireTestClient(port: port) else {
                    failures.withLock { $0.append("connection \(c) failed") }
                    return
                }
                let mine = Array(stride(from: c, to: mix.count, by: Self.connections))
                var bytes: [UInt8] = []
                for i in mine {
                    let request: Request
                    switch mix[i] {
                    case .accounts(let a): request = .createAccounts(a)
                    case .transfers(let t): request = .createTransfers(t)
                    }
                    bytes += WireTestClient.frame(request, id: UInt64(i + 1))
                }
                client.sendRaw(bytes)
                for _ in mine {
                    guard case .reply(let id, let reply, _) = client.receive() else {
                        failures.withLock { $0.append("connection \(c): a request got no reply") }
                        return
                    }
                    answers.withLock { $0[Int(id) - 1] = reply }
                }
            }
        }
        #expect(done.wait(timeout: .now() + 60) == .success, "the clients did not finish in 60 s")
        #expect(failures.withLock { $0 } == [])
        let got = answers.withLock { $0 }
        #expect(got.count == mix.count)

        guard case .reply(_, .digest(let live), _) = setup.call(.digest) else {
            Issue.record("no digest")
            return
        }
        server.expectCleanExit()

        // The oracle: the log's requests, in its order, each applied alone to a fresh ledger
        // under the timestamp it was logged with.
        let oracle = Ledger()
        var expected: [UInt64: Reply] = [:]
        var coalescedRecords = 0
        var records = try WALReader(directory: dir).records(from: 1)
        while let record = try records.next() {
            let operation = try #require(Operation(rawValue: record.operation))
            let events = try record.body.withUnsafeBytes { try BatchEvents.decode(operation: operation, body: $0) }
            let stamps = try events.requestTimestamps(last: record.timestamp)
            switch events {
            case .accounts(let a):
                let r = try oracle.createAccounts(a, timestamp: record.timestamp)
                if let tag = a.first?.userData64, tag > 0 { expected[tag] = .createAccounts(r) }
            case .transfers(let t):
                let r = try oracle.createTransfers(t, timestamp: record.timestamp)
                if let tag = t.first?.userData64 { expected[tag] = .createTransfers(r) }
            case .accountRequests(let each):
                coalescedRecords += 1
                for (a, ts) in zip(each, stamps) {
                    let r = try oracle.createAccounts(a, timestamp: ts)
                    if let tag = a.first?.userData64 { expected[tag] = .createAccounts(r) }
                }
            case .transferRequests(let each):
                coalescedRecords += 1
                for (t, ts) in zip(each, stamps) {
                    let r = try oracle.createTransfers(t, timestamp: ts)
                    if let tag = t.first?.userData64 { expected[tag] = .createTransfers(r) }
                }
            case .pulse:
                try oracle.pulse(timestamp: record.timestamp)
            }
        }
        #expect(coalescedRecords > 0, "no request was coalesced")
        var compared = 0
        for (i, request) in mix.enumerated() {
            guard let tag = request.tag else {
                #expect(got[i] == .createTransfers([]) || got[i] == .createAccounts([]))
                continue
            }
            #expect(got[i] == expected[tag], "request \(i + 1): the server answered \(String(describing: got[i])), alone it gets \(String(describing: expected[tag]))")
            compared += 1
        }
        #expect(compared > Self.requests * 8 / 10)
        let liveText = String(decoding: live, as: UTF8.self)
        #expect(liveText.contains("\"digest\":\"\(oracle.digest())\""), "the live state is the oracle's: \(liveText)")

        // Replay of the coalesced log gives the same state.
        server = try #require(ServerProcess.start(dataDir: dir), "the restart failed")
        let again = try #require(WireTestClient(port: server.port))
        guard case .reply(_, .digest(let replayed), _) = again.call(.digest) else {
            Issue.record("no digest after the restart")
            return
        }
        #expect(replayed == live)
        server.expectCleanExit()
    }
}
