import Glibc
import Testing

import LedgerCore
import LedgerEngine
import LedgerReplication

/// A fresh temporary directory (created), removed by the caller.
private func makeTemporaryDirectory(_ tag: String) -> String? {
    var template = Array("/tmp/kamino-\(tag)-XXXXXX".utf8CString)
    return template.withUnsafeMutableBufferPointer { $0.baseAddress.flatMap { mkdtemp($0) } }.map { String(cString: $0) }
}

/// True when this process may mount a tmpfs (root in a permissive sandbox).
private func mayMountTmpfs() -> Bool {
    guard let probe = makeTemporaryDirectory("mount-probe") else { return false }
    defer { rmdir(probe) }
    guard mount("tmpfs", probe, "tmpfs", 0, "size=64k") == 0 else { return false }
    umount2(probe, Int32(MNT_DETACH))
    return true
}

/// A replicated primary (a `PrimaryGate` on its answers) whose log fails on a full
/// tmpfs: it fences itself instead of rolling back (its records may be on followers),
/// its writes answer `logUnavailable`, it answers no read, and it stays fenced after
/// space is back and when a role is set; a reopen has exactly what was acknowledged.
@Suite struct LogFailureFenceTests {
    @Test(.enabled(if: mayMountTmpfs(), "needs mount -t tmpfs (root)"))
    func aReplicatedPrimaryFencesItself() async throws {
        let mountPoint = try #require(makeTemporaryDirectory("fence"))
        defer { rmdir(mountPoint) }
        try #require(mount("tmpfs", mountPoint, "tmpfs", 0, "size=320k") == 0)
        defer { umount2(mountPoint, Int32(MNT_DETACH)) }
        let dir = mountPoint + "/data"
        let ledger = try await DurableLedger.open(directory: dir, segmentSize: 128 << 10)
        ledger.setGate(PrimaryGate(quorum: nil, lease: nil, isPrimary: { ledger.role == .primary }))
        _ = try await ledger.createAccounts([1, 2].map { Account(id: $0, ledger: 1, code: 1) })
        var acknowledged = 0
        var refused: [UInt128] = []
        var next: UInt128 = 1_000
        while refused.isEmpty && next < 1_000_000 {
            let events = (0..<50).map { Transfer(id: next + UInt128($0), debitAccountId: 1, creditAccountId: 2, amount: 1, ledger: 1, code: 1) }
            next += 50
            do throws(EngineError) {
                _ = try await ledger.createTransfers(events)
                acknowledged += events.count
            } catch {
                #expect(error.code == .logUnavailable, "\(error)")
                refused = events.map(\.id)
            }
        }
        try #require(!refused.isEmpty, "the log never failed")
        // The log tells the ledger's health listener (which fences) before it refuses an
        // append or fails a waiter: the node is fenced by the time any refusal arrives.
        guard case .fenced = ledger.role else {
            Issue.record("the primary did not fence itself: \(ledger.role)")
            return
        }
        await #expect(throws: EngineError.self) { _ = try await ledger.read { $0.lookupAccounts([1]) } }
        #expect(mount("tmpfs", mountPoint, "tmpfs", UInt(MS_REMOUNT), "size=4m") == 0)
        try await Task.sleep(for: .milliseconds(300))
        ledger.setRole(.primary)
        guard case .fenced = ledger.role else {
            Issue.record("a role was set on a node fenced by its log: \(ledger.role)")
            return
        }
        #expect(!ledger.acceptsWrites)
        do throws(EngineError) {
            _ = try await ledger.createTransfers([Transfer(id: 9, debitAccountId: 1, creditAccountId: 2, amount: 1, ledger: 1, code: 1)])
            Issue.record("a fenced node accepted a write")
        } catch {
            #expect(error.code == .logUnavailable)
        }
        await ledger.close()

        let reopened = try await DurableLedger.open(directory: dir, segmentSize: 128 << 10)
        #expect(try await reopened.read { $0.lookupAccounts([1]) }.first?.debitsPosted == UInt128(acknowledged))
        #expect(try await reopened.read { $0.lookupTransfers(refused) }.isEmpty)
        await reopened.close()
    }
}
