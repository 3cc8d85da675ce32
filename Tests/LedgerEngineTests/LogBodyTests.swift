import Testing

@testable import LedgerCore
import LedgerEngine
import LedgerStorage

/// The client write path logs a plain batch's bytes as received (no second encoding):
/// the record body must still be the canonical encoding, field by field, whatever the
/// field values (undefined flag bits, a timestamp the state machine refuses, ...), and
/// replay must rebuild the same state.
@Suite("Log bodies as received")
struct LogBodyTests {
    /// Transfers with every field set to varied bit patterns (most of them fail to apply:
    /// their bytes are logged all the same).
    static func transfers(_ n: Int, seed: UInt64) -> [Transfer] {
        var x = seed
        func next() -> UInt64 {
            x = x &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return x
        }
        func wide() -> UInt128 { UInt128(next()) << 64 | UInt128(next()) }
        var out: [Transfer] = []
        for k in 0..<n {
            let id: UInt128 = k % 3 == 0 ? UInt128(k + 1) : wide()
            let pendingId: UInt128 = k % 7 == 0 ? wide() : 0
            let userData128 = wide()
            let amount = UInt128(next() % 1_000)
            let userData64 = next()
            let userData32 = UInt32(truncatingIfNeeded: next())
            let timeout: UInt32 = k % 11 == 0 ? UInt32(truncatingIfNeeded: next()) : 0
            let code = UInt16(truncatingIfNeeded: next()) | 1
            let flags = TransferFlags(rawValue: k % 13 == 0 ? UInt16(truncatingIfNeeded: next()) : 0)
            let timestamp: UInt64 = k % 17 == 0 ? next() : 0
            var t = Transfer(id: id, amount: amount, pendingId: pendingId, userData128: userData128)
            t.debitAccountId = UInt128(k % 4 + 1)
            t.creditAccountId = UInt128(k % 5 + 1)
            t.userData64 = userData64
            t.userData32 = userData32
            t.timeout = timeout
            t.ledger = k % 9 == 0 ? 2 : 1
            t.code = code
            t.flags = flags
            t.timestamp = timestamp
            out.append(t)
        }
        return out
    }

    /// Closes `ledger` and expects its log in `directory` to hold exactly `bodies`, one
    /// record each (the reader checks every record's body checksum: a mismatch throws), and
    /// a reopen to replay them to the same digest.
    static func expectLogged(_ bodies: [[UInt8]], by ledger: DurableLedger, in directory: String) async throws {
        let before = await ledger.status()
        await ledger.close()
        var logged: [[UInt8]] = []
        var records = try WALReader(directory: directory).records(from: 1)
        while let record = try records.next() { logged.append(Array(record.body)) }
        #expect(logged == bodies)
        let reopened = try await DurableLedger.open(directory: directory, segmentSize: 8 << 20)
        #expect(await reopened.status().digest == before.digest)
        #expect(await reopened.status().lsn == UInt64(bodies.count))
        await reopened.close()
    }

    @Test("Plain and coalesced records hold the canonical encoding, and replay to the same digest")
    func bodiesAreCanonical() async throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let ledger = try await DurableLedger.open(directory: dir.path, segmentSize: 8 << 20)
        let accounts = (1...5).map { Account(id: UInt128($0), ledger: 1, code: 1) }
        let plain = Self.transfers(300, seed: 1)
        let requests = [Self.transfers(40, seed: 2), [], Self.transfers(7, seed: 3)]
        var expected: [[UInt8]] = []
        for events in [BatchEvents.accounts(accounts), .transfers(plain), .transferRequests(requests)] {
            let write = try ledger.enqueueWrite(events)
            _ = try await withCheckedThrowingContinuation { continuation in
                ledger.whenSettled(write) { continuation.resume(with: $0) }
            }
            switch events {
            case .accounts(let a): expected.append(RecordCodec.encodeFieldByField(a))
            case .transfers(let t): expected.append(RecordCodec.encodeFieldByField(t))
            case .transferRequests(let r):
                expected.append(CoalescedRecordCodec.encode(r, encodeBatch: RecordCodec.encodeFieldByField))
            default: Issue.record("unexpected events")
            }
        }
        try await Self.expectLogged(expected, by: ledger, in: dir.path)
    }

    @Test("Plain batches logged with the request's wire checksum read back verified and replay to the same digest")
    func wireChecksumIsTheRecordChecksum() async throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let ledger = try await DurableLedger.open(directory: dir.path, segmentSize: 8 << 20)
        let accounts = (1...5).map { Account(id: UInt128($0), ledger: 1, code: 1) }
        let batches: [BatchEvents] = [.accounts(accounts), .transfers(Self.transfers(300, seed: 4)),
                                      .transfers(Self.transfers(1, seed: 5))]
        var expected: [[UInt8]] = []
        for events in batches {
            // What the server's decoder verified: CRC32C from 0 of the wire body, the
            // canonical encoding the events were copied from.
            let wire = events.encoded()
            let write = try ledger.enqueueWrite(events, wireChecksum: CRC32C.checksum(wire))
            _ = try await withCheckedThrowingContinuation { continuation in
                ledger.whenSettled(write) { continuation.resume(with: $0) }
            }
            expected.append(wire)
        }
        try await Self.expectLogged(expected, by: ledger, in: dir.path)
    }
}
