import ArgumentParser
import LedgerCore
import LedgerEngine
import LedgerStorage

/// `kamino wal`: read, check and replay a data directory offline. Never changes it.
struct Wal: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Inspect, verify or replay a data directory offline (read-only).",
        subcommands: [Inspect.self, Verify.self, Replay.self])

    /// `kamino wal inspect DIR`
    struct Inspect: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List segments (LSN ranges, record counts) and snapshots.")
        @Argument(help: "The data directory.") var directory: String

        func run() throws {
            let report: RecoveryReport
            do {
                report = try WALRecovery.recover(directory: directory, mode: .readOnly, allowDamaged: true)
            } catch {
                throw ValidationError("cannot read \(directory): \(error)")
            }
            print("data directory: \(directory)")
            print("log: \(report.recordCount) records, LSN \(report.firstLSN)...\(report.lastLSN)")
            var first = report.firstLSN
            for segment in report.segments {
                let last = segment.lastLSN.map(String.init) ?? "-"
                print("  \(segment.name.fileName)  LSN \(first)...\(last)  records \(segment.records)  "
                    + "used \(segment.endOffset) of \(segment.fileSize) bytes")
                if let l = segment.lastLSN { first = l + 1 }
            }
            if let cut = report.cut {
                print("torn tail: \(cut.file) at offset \(cut.offset): \(cut.reason) (from LSN \(cut.firstMissingLSN))")
            }
            if let damage = report.damage { print("DAMAGE: \(damage)") }
            let store = SnapshotStore(directory: directory)
            let snapshots = (try? store.list()) ?? []
            print("snapshots: \(snapshots.count)")
            for (lsn, path) in snapshots {
                do {
                    let info = try store.verify(path: path)
                    print("  \(path)  LSN \(lsn)  \(info.contentLength) content bytes  valid")
                } catch {
                    print("  \(path)  LSN \(lsn)  INVALID: \(error)")
                }
            }
        }
    }

    /// `kamino wal verify DIR`: exit status 0 only when every checksum holds.
    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check every record and snapshot checksum; exit non-zero on damage.")
        @Argument(help: "The data directory.") var directory: String

        func run() throws {
            var problems: [String] = []
            do {
                let report = try WALRecovery.recover(directory: directory, mode: .readOnly)
                print("log: \(report.recordCount) records verified, LSN \(report.firstLSN)...\(report.lastLSN)")
                if let cut = report.cut {
                    // A torn final write is the normal trace of a crash, not damage.
                    print("note: torn tail at \(cut.file) offset \(cut.offset) (\(cut.reason)); start-up cuts it")
                }
            } catch {
                problems.append("log: \(error)")
            }
            let store = SnapshotStore(directory: directory)
            do {
                for (_, path) in try store.list() {
                    do {
                        let info = try store.verify(path: path)
                        print("snapshot LSN \(info.lsn): valid")
                    } catch {
                        problems.append("snapshot \(path): \(error)")
                    }
                }
            } catch {
                problems.append("snapshots: \(error)")
            }
            if problems.isEmpty {
                print("ok")
            } else {
                for p in problems { print("DAMAGE: \(p)") }
                throw ExitCode(2)
            }
        }
    }

    /// `kamino wal replay DIR`: rebuilds the state offline and prints its digest.
    struct Replay: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Rebuild the state (newest snapshot + log) without changing the directory; print the digest.")
        @Argument(help: "The data directory.") var directory: String
        @Flag(help: "Accept corruption before valid records (replays up to it).") var allowDamaged = false
        @Option(help: "Replay on a ledger sharded this many ways (1-16) through the shard actors; 0: the serial ledger.")
        var shards = 0

        func run() async throws {
            guard shards >= 0, shards <= ShardRouting.maxShards else {
                print("error: --shards must be between 0 and \(ShardRouting.maxShards)")
                throw ExitCode(64)
            }
            if shards > 0 { return try await runSharded() }
            let clock = ContinuousClock()
            let start = clock.now
            let outcome: LedgerRecovery.Outcome
            do {
                outcome = try LedgerRecovery.recover(directory: directory, repair: false, allowDamaged: allowDamaged)
            } catch {
                print("error: \(error)")
                throw ExitCode(2)
            }
            let elapsed = clock.now - start
            for invalid in outcome.invalidSnapshots { print("skipped invalid snapshot: \(invalid)") }
            if let s = outcome.snapshot { print("snapshot: LSN \(s.lsn)") }
            print("replayed: \(outcome.replayedRecords) records, \(outcome.replayedEvents) events")
            print("lsn: \(outcome.lsn)")
            print("accounts: \(outcome.ledger.accountCount)")
            print("transfers: \(outcome.ledger.transferCount)")
            print("elapsed: \(elapsed)")
            print("digest: \(outcome.ledger.digest())")
        }

        private func runSharded() async throws {
            let clock = ContinuousClock()
            let start = clock.now
            let outcome: LedgerRecovery.ShardedOutcome
            do {
                outcome = try await LedgerRecovery.recoverSharded(
                    directory: directory, shardCount: shards, allowDamaged: allowDamaged)
            } catch {
                print("error: \(error)")
                throw ExitCode(2)
            }
            let elapsed = clock.now - start
            let ledger = outcome.engine.ledger
            for invalid in outcome.invalidSnapshots { print("skipped invalid snapshot: \(invalid)") }
            if let s = outcome.snapshot { print("snapshot: LSN \(s.lsn)") }
            print("replayed: \(outcome.replayedRecords) records, \(outcome.replayedEvents) events")
            print("lsn: \(outcome.lsn)")
            print("shards: \(ledger.shardCount)")
            print("accounts: \(ledger.accountCount)")
            print("transfers: \(ledger.transferCount)")
            let stats = ledger.stats
            var reasons: [String] = []
            for reason in SerialReason.allCases where stats.serialBatches[reason.rawValue] > 0 {
                reasons.append("\(reason.label)=\(stats.serialBatches[reason.rawValue])")
            }
            print("parallel batches: \(stats.parallelBatches) (\(stats.parallelEvents) events, \(stats.crossShardEvents) cross-shard)")
            print("serial batches: \(stats.serialTotal)\(reasons.isEmpty ? "" : " (" + reasons.joined(separator: ", ") + ")")")
            print("elapsed: \(elapsed)")
            print("digest: \(ledger.digest())")
        }
    }
}
