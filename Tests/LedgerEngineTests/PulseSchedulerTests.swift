import Synchronization
import Testing

import LedgerCore
import LedgerEngine

/// A wall clock the test moves by hand.
final class SteppedClock: BatchClock {
    let now = Atomic<UInt64>(1_700_000_000_000_000_000)
    func nanosecondsSinceEpoch() -> UInt64 { now.load(ordering: .acquiring) }
    func advance(seconds: UInt64) { now.add(seconds * 1_000_000_000, ordering: .acquiringAndReleasing) }
}

/// The layouts a `DurableLedger` opens with.
enum PulseLayout: String, CaseIterable, Sendable {
    case serial, sharded

    func open(_ dir: String, clock: any BatchClock) async throws -> DurableLedger {
        switch self {
        case .serial: return try await DurableLedger.open(directory: dir, segmentSize: 1 << 20, clock: clock)
        case .sharded: return try await DurableLedger.openSharded(directory: dir, shards: 4, segmentSize: 1 << 20, clock: clock)
        }
    }
}

/// Polls `condition` every 10 ms for up to `seconds`; true once it holds.
func eventually(within seconds: Double, _ condition: () async throws -> Bool) async rethrows -> Bool {
    let clock = ContinuousClock()
    let end = clock.now + .milliseconds(Int(seconds * 1000))
    while clock.now < end {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(10))
    }
    return try await condition()
}

@Suite("PulseScheduler: pending transfers expire on an idle ledger")
struct PulseSchedulerTests {
    let accounts = [Account(id: 1, ledger: 1, code: 1), Account(id: 2, ledger: 1, code: 1)]

    func pending(_ id: UInt128, timeout: UInt32, amount: UInt128 = 10) -> Transfer {
        Transfer(id: id, debitAccountId: 1, creditAccountId: 2, amount: amount, timeout: timeout, ledger: 1, code: 1,
                 flags: .pending)
    }

    /// Account 1's debits pending and account 2's credits pending.
    func pendingAmounts(_ ledger: DurableLedger) async throws -> [UInt128] {
        try await ledger.read { r in
            let found = r.lookupAccounts([1, 2])
            return found.count == 2 ? [found[0].debitsPending, found[1].creditsPending] : []
        }
    }

    @Test("A due pending transfer expires through one logged pulse, and only once", arguments: PulseLayout.allCases)
    func dueTransferExpiresOnce(layout: PulseLayout) async throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let clock = SteppedClock()
        let ledger = try await layout.open(dir.path, clock: clock)
        _ = try await ledger.createAccounts(accounts)
        #expect(ledger.expiries.deadline == nil)
        let results = try await ledger.createTransfers([pending(10, timeout: 1), pending(11, timeout: 5, amount: 3)])
        #expect(results.allSatisfy { $0.status == .created })
        let created = try await ledger.read { $0.lookupTransfers([10]).first?.timestamp }
        let stamp = try #require(created)
        #expect(ledger.expiries.deadline == stamp + 1_000_000_000)

        let scheduler = try PulseScheduler.start(ledger, recheck: .milliseconds(10))
        let lsn = ledger.loggedLSN
        // Not due yet: nothing is logged however long the scheduler rechecks.
        try await Task.sleep(for: .milliseconds(100))
        #expect(ledger.loggedLSN == lsn)
        #expect(try await pendingAmounts(ledger) == [13, 13])

        clock.advance(seconds: 2)
        #expect(try await eventually(within: 5) { try await pendingAmounts(ledger) == [3, 3] })
        #expect(ledger.loggedLSN == lsn + 1, "one pulse record")
        // The count follows the pulse's answer, which may come just after the state shows it.
        #expect(await eventually(within: 5) { scheduler.pulsesLogged == 1 })
        #expect(ledger.expiries.deadline == stamp + 5_000_000_000 + 1, "the second transfer is next")
        // Nothing else is due: no further pulse.
        try await Task.sleep(for: .milliseconds(100))
        #expect(ledger.loggedLSN == lsn + 1)

        let post = Transfer(id: 20, debitAccountId: 1, creditAccountId: 2, amount: 10, pendingId: 10, ledger: 1,
                            code: 1, flags: .postPendingTransfer)
        #expect(try await ledger.createTransfers([post]).map(\.status) == [.pendingTransferExpired])
        await scheduler.stop()
        let before = await ledger.status()
        await ledger.close()

        let reopened = try await layout.open(dir.path, clock: clock)
        #expect(await reopened.status().lsn == before.lsn)
        #expect(await reopened.status().digest == before.digest)
        #expect(reopened.expiries.deadline == stamp + 5_000_000_000 + 1)
        await reopened.close()
    }

    @Test("A posted pending transfer leaves no deadline: no pulse is logged", arguments: PulseLayout.allCases)
    func resolvedTransferNeedsNoPulse(layout: PulseLayout) async throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let clock = SteppedClock()
        let ledger = try await layout.open(dir.path, clock: clock)
        _ = try await ledger.createAccounts(accounts)
        _ = try await ledger.createTransfers([pending(10, timeout: 1)])
        #expect(ledger.expiries.deadline != nil)
        let void = Transfer(id: 20, debitAccountId: 1, creditAccountId: 2, amount: 0, pendingId: 10, ledger: 1,
                            code: 1, flags: .voidPendingTransfer)
        #expect(try await ledger.createTransfers([void]).map(\.status) == [.created])
        #expect(ledger.expiries.deadline == nil, "the voided transfer's queued expiry is dropped")
        // A chain left open at the end of the batch fails as a whole: no deadline either.
        var open = pending(30, timeout: 1)
        open.flags.insert(.linked)
        #expect(try await ledger.createTransfers([open]).map(\.status) == [.linkedEventChainOpen])
        #expect(ledger.expiries.deadline == nil)

        let scheduler = try PulseScheduler.start(ledger, recheck: .milliseconds(10))
        let lsn = ledger.loggedLSN
        clock.advance(seconds: 10)
        try await Task.sleep(for: .milliseconds(150))
        #expect(ledger.loggedLSN == lsn)
        #expect(scheduler.pulsesLogged == 0)
        // Asked directly, the ledger refuses to log a pulse that expires nothing.
        #expect(try await ledger.pulseIfDue() == false)
        #expect(ledger.loggedLSN == lsn)
        await scheduler.stop()
        await ledger.close()
    }

    @Test("Only a primary pulses: a follower waits, and pulses once it becomes the primary")
    func onlyThePrimaryPulses() async throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let clock = SteppedClock()
        let ledger = try await PulseLayout.serial.open(dir.path, clock: clock)
        _ = try await ledger.createAccounts(accounts)
        _ = try await ledger.createTransfers([pending(10, timeout: 1)])
        let scheduler = try PulseScheduler.start(ledger, recheck: .milliseconds(10))
        ledger.setRole(.follower(primary: nil))
        let lsn = ledger.loggedLSN
        clock.advance(seconds: 2)
        try await Task.sleep(for: .milliseconds(150))
        #expect(ledger.loggedLSN == lsn, "a follower logs no pulse")
        #expect(try await pendingAmounts(ledger) == [10, 10])

        ledger.setRole(.primary)
        #expect(try await eventually(within: 5) { try await pendingAmounts(ledger) == [0, 0] })
        #expect(ledger.loggedLSN == lsn + 1)
        await scheduler.stop()
        await ledger.close()
    }

    @Test("A new pending transfer wakes a scheduler that sleeps with nothing pending (real clock)")
    func newDeadlineWakesTheScheduler() async throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let ledger = try await DurableLedger.open(directory: dir.path, segmentSize: 1 << 20)
        _ = try await ledger.createAccounts(accounts)
        // With an hour between rechecks, only the published deadline can wake it in time.
        let scheduler = try PulseScheduler.start(ledger, recheck: .seconds(3600))
        try await Task.sleep(for: .milliseconds(50))
        _ = try await ledger.createTransfers([pending(10, timeout: 1)])
        // Generous windows for a loaded CI machine (the pulse is logged and fsynced), still
        // far below the hour between rechecks that would be the only other way to wake.
        #expect(try await eventually(within: 60) { try await pendingAmounts(ledger) == [0, 0] })
        #expect(await eventually(within: 60) { scheduler.pulsesLogged == 1 })
        await scheduler.stop()
        await ledger.close()
    }
}
