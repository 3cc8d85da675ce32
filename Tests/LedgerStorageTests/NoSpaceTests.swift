#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Testing
@testable import LedgerStorage
import Synchronization

/// True when this process may mount a tmpfs (root in a permissive sandbox).
func canMountTmpfs() -> Bool {
    let probe = TempDir("mount-probe")
    defer { probe.remove() }
    guard mount("tmpfs", probe.path, "tmpfs", 0, "size=64k") == 0 else { return false }
    umount2(probe.path, Int32(MNT_DETACH))
    return true
}

/// Acknowledged and failed LSNs, collected from concurrent appenders.
final class Outcome: Sendable {
    let acked = Mutex<[UInt64: Int]>([:])
    let failed = Mutex<[UInt64: WALError.Code]>([:])
}

@Suite struct NoSpaceTests {
    /// Fills a 1 MiB tmpfs. Batches acknowledged before the failure stay
    /// readable and intact; every batch not yet durable gets `.noSpace`
    /// (never success); later appends are refused with `.stopped`.
    @Test(.enabled(if: canMountTmpfs(), "needs mount -t tmpfs (root)"),
          arguments: [WALConfiguration.Preallocation.fallocate, .none])
    func diskFullFailsUnacknowledgedBatchesOnly(preallocation: WALConfiguration.Preallocation) async throws {
        let mnt = TempDir("enospc")
        defer { mnt.remove() }
        #expect(mount("tmpfs", mnt.path, "tmpfs", 0, "size=1m") == 0)
        defer { umount2(mnt.path, Int32(MNT_DETACH)) }
        let dir = mnt.path + "/data"
        let config = WALConfiguration(directory: dir, segmentSize: 192 << 10, preallocation: preallocation)
        let (w, _) = try WALWriter.open(config)

        let outcome = Outcome()
        await withTaskGroup(of: Void.self) { group in
            for appender in 0..<8 {
                group.addTask {
                    for i in 0..<100 {
                        let seed = appender * 1000 + i
                        let lsn: UInt64
                        do throws(WALError) {
                            lsn = try w.append(operation: 1, timestamp: 0, eventCount: 1, body: testBody(seed, length: 9000 + i))
                        } catch {
                            #expect(error.code == .stopped || error.code == .noSpace)
                            return
                        }
                        do throws(WALError) {
                            try await w.waitDurable(lsn)
                            outcome.acked.withLock { $0[lsn] = seed }
                        } catch {
                            outcome.failed.withLock { $0[lsn] = error.code }
                        }
                    }
                }
            }
        }
        let failure = w.failure
        let durable = w.durableLSN
        await w.close()
        #expect(failure?.code == .noSpace, "\(String(describing: failure))")
        let ackedSnapshot = outcome.acked.withLock { $0 }
        let failedSnapshot = outcome.failed.withLock { $0 }
        #expect(!ackedSnapshot.isEmpty)
        #expect(!failedSnapshot.isEmpty)
        #expect(failedSnapshot.values.allSatisfy { $0 == .noSpace })
        #expect(ackedSnapshot.keys.allSatisfy { $0 <= durable })
        #expect(failedSnapshot.keys.allSatisfy { $0 > durable })
        #expect(Set(ackedSnapshot.keys).isDisjoint(with: failedSnapshot.keys))

        // Reads keep working: everything acknowledged is there and intact.
        let report = try WALRecovery.recover(directory: dir, mode: .readOnly)
        #expect(report.lastLSN >= durable)
        let records = try readAll(dir)
        let byLSN = Dictionary(uniqueKeysWithValues: records.map { ($0.lsn, $0) })
        for (lsn, seed) in ackedSnapshot {
            #expect(byLSN[lsn]?.body == testBody(seed, length: 9000 + seed % 1000))
        }
    }
}
