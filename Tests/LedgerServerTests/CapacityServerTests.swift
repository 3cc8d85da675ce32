import Glibc
import KaminoTestSupport
import LedgerCore
import LedgerWire
import Testing

/// `kamino serve --expected-transfers`: the capacity set aside before `listening on`.
@Suite("Start-up capacity (expected_transfers)", .serialized)
struct CapacityServerTests {
    /// The `key=value` fields of the `reserved capacity` log line, if there is one before
    /// the `listening on` line.
    static func reservation(in output: String) -> [String: String]? {
        let lines = output.split(separator: "\n")
        guard let at = lines.firstIndex(where: { $0.contains("reserved capacity") }),
            let listening = lines.firstIndex(where: { $0.hasPrefix("listening on ") }), at < listening
        else { return nil }
        var fields: [String: String] = [:]
        for word in lines[at].split(separator: " ") {
            let parts = word.split(separator: "=", maxSplits: 1)
            if parts.count == 2 { fields[String(parts[0])] = String(parts[1]) }
        }
        return fields
    }

    /// The value of a metric line `name VALUE` on the server's /metrics page.
    static func metric(_ name: String, port: UInt16) -> Double? {
        guard let page = loopbackHTTPGet(port: port, path: "/metrics") else { return nil }
        return page.body.split(separator: "\n").first { $0.hasPrefix(name + " ") }
            .flatMap { Double($0.dropFirst(name.count + 1)) }
    }

    @Test func reservesBeforeListeningServesAndReservesTheRestAfterRecovery() throws {
        let dir = temporaryDataDir("capacity")
        defer { removeDataDir(dir) }
        let accounts = (1...20).map { Account(id: UInt128($0), ledger: 1, code: 1) }
        let ids = (1...3 * 8189).map { UInt128($0) << 8 }
        do {
            let server = try #require(ServerProcess.start(dataDir: dir, extra: ["--expected-transfers", "40000"], metrics: true))
            defer { server.terminate() }
            let fields = try #require(Self.reservation(in: server.output), "no `reserved capacity` line before `listening on`")
            #expect(fields["expected_transfers"] == "40000")
            // 3 chunks of 2 MiB of records, 3 of status bytes and an index of 65,536 slots.
            let bytes = try #require(fields["bytes"].flatMap { Int($0) })
            #expect(bytes >= 3 * (2 << 20) + 3 * 16_384 + 65_536 * 8)
            #expect(fields["threads"].flatMap { Int($0) }.map { $0 >= 1 } == true)
            let port = try #require(server.metricsPort)
            #expect(Self.metric("kamino_capacity_reserved_transfers", port: port) == 40_000)
            #expect(Self.metric("kamino_capacity_reserved_bytes", port: port) == Double(bytes))

            let client = try #require(WireTestClient(port: server.port))
            #expect(allCreated(client.call(.createAccounts(accounts))))
            for start in stride(from: 0, to: ids.count, by: 8189) {
                let batch = ids[start..<start + 8189].enumerated().map { k, id in
                    transfer(id, from: UInt128(1 + k % 20), to: UInt128(1 + (k + 3) % 20), amount: 2)
                }
                #expect(allCreated(client.call(.createTransfers(batch))))
            }
            #expect(server.terminate() == 0)
        }
        // Restarted with more expected: recovery keeps every transfer and reserves the rest.
        do {
            let server = try #require(ServerProcess.start(dataDir: dir, extra: ["--expected-transfers", "100000"], metrics: true))
            defer { server.terminate() }
            let fields = try #require(Self.reservation(in: server.output), "no `reserved capacity` line after recovery")
            #expect(fields["expected_transfers"] == "100000")
            // 7 chunks in each store for 100,000, of which 2 held the recovered 24,567.
            let bytes = try #require(fields["bytes"].flatMap { Int($0) })
            #expect(bytes >= 5 * (2 << 20) + 5 * 16_384)
            let client = try #require(WireTestClient(port: server.port))
            guard case .reply(_, .lookupTransfers(let found), _) = client.call(.lookupTransfers(Array(ids.suffix(100)))) else {
                Issue.record("no lookup_transfers reply after restart")
                return
            }
            #expect(found.map(\.id) == Array(ids.suffix(100)))
            guard case .reply(_, .lookupAccounts(let balances), _) = client.call(.lookupAccounts([1])) else {
                Issue.record("no lookup_accounts reply after restart")
                return
            }
            // Account 1 is the debit of event k of each batch when k % 20 == 0, the credit when k % 20 == 17.
            let perBatch = (0..<8189).filter { $0 % 20 == 0 || $0 % 20 == 17 }.count
            #expect(balances.first.map { $0.debitsPosted + $0.creditsPosted } == UInt128(3 * perBatch * 2))
            #expect(allCreated(client.call(.createTransfers([transfer(1, from: 1, to: 2, amount: 1)]))))
            #expect(server.terminate() == 0)
        }
        // A capacity the machine cannot hold (2e9 transfers: about 280 GB) is refused at start.
        if let refused = ServerProcess.start(dataDir: dir, extra: ["--expected-transfers", "2000000000"]) {
            refused.terminate()
            Issue.record("a server started with --expected-transfers 2000000000")
        }
        // Without the setting: nothing reserved, nothing logged.
        let server = try #require(ServerProcess.start(dataDir: dir, metrics: true))
        defer { server.terminate() }
        #expect(!server.output.contains("reserved capacity"))
        let port = try #require(server.metricsPort)
        #expect(Self.metric("kamino_capacity_reserved_transfers", port: port) == 0)
    }
}
