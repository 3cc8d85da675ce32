import LedgerEngine
import LedgerReplication
import Synchronization
import Testing

/// Sync replication's gate: answers wait for the quorum, time out with
/// `replicationTimeout`, fail at once once stopped, and publish admissions first.
@Suite struct SyncQuorumTests {
    @Test func aBatchWaitsForTheQuorumThenPasses() async throws {
        let quorum = SyncQuorum(quorum: 1, commitLSN: 0, timeout: .seconds(30))
        let waiter = Task { () -> EngineError? in
            do throws(EngineError) { try await quorum.waitReplicated(3) } catch { return error }
            return nil
        }
        quorum.progress("f1", durable: 2)
        #expect(quorum.commitLSN == 2)
        quorum.progress("f1", durable: 3)
        #expect(await waiter.value == nil)
        #expect(quorum.members == ["f1"])
    }

    @Test func withoutAFollowerTheAnswerIsReplicationTimeout() async {
        let quorum = SyncQuorum(quorum: 1, commitLSN: 10, timeout: .milliseconds(100))
        let began = ContinuousClock.now
        do throws(EngineError) {
            try await quorum.waitReplicated(11)
            Issue.record("LSN 11 passed without a follower")
        } catch {
            #expect(error.code == .replicationTimeout)
        }
        #expect(ContinuousClock.now - began >= .milliseconds(100))
        // What was committed before passes at once.
        do throws(EngineError) { try await quorum.waitReplicated(10) } catch { Issue.record("LSN 10 was committed") }
    }

    @Test func stoppingFailsEveryWait() async {
        let quorum = SyncQuorum(quorum: 1, commitLSN: 0, timeout: .seconds(30))
        let waiter = Task { () -> EngineError? in
            do throws(EngineError) { try await quorum.waitReplicated(1) } catch { return error }
            return nil
        }
        try? await Task.sleep(for: .milliseconds(20))
        quorum.stop(EngineError(.notPrimary, "fenced"))
        #expect(await waiter.value?.code == .notPrimary)
        do throws(EngineError) {
            try await quorum.waitReplicated(1)
            Issue.record("a stopped quorum passed a wait")
        } catch {
            #expect(error.code == .notPrimary)
        }
    }

    @Test func anAdmissionIsPublishedBeforeItCounts() async throws {
        let published = Mutex<[[String]]>([])
        let quorum = SyncQuorum(quorum: 1, commitLSN: 0, timeout: .seconds(30)) { members in
            published.withLock { $0.append(members) }
            return true
        }
        quorum.progress("f1", durable: 5)
        for _ in 0..<200 where quorum.commitLSN < 5 { try await Task.sleep(for: .milliseconds(5)) }
        #expect(quorum.commitLSN == 5)
        #expect(published.withLock { $0 } == [["f1"]])
        // A departed member stops counting at once and is only replaced in the published set.
        quorum.remove("f1")
        quorum.progress("f2", durable: 4)
        try await Task.sleep(for: .milliseconds(20))
        #expect(quorum.members.isEmpty, "f2 lacks the committed LSN 5")
        quorum.progress("f2", durable: 6)
        for _ in 0..<200 where quorum.commitLSN < 6 { try await Task.sleep(for: .milliseconds(5)) }
        #expect(published.withLock { $0 } == [["f1"], ["f2"]])
    }
}
