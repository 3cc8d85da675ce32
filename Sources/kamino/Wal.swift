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

    /// `kamino wal verify DIR`: exit status 0 only when a start would neither refuse nor
    /// change anything. The decision is `DirectoryCheck`'s, the same one `serve` applies.
    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check every checksum and that the directory holds all its control file promises.",
            discussion: """
                Applies the same rules as a start of `kamino serve`, without changing anything. \
                Exit status: 0 when a start would go ahead unchanged; 1 when it would cut a torn \
                tail or remove stale temporary files (the normal trace of a crash); 2 when it would \
                refuse (damage, missing segments or snapshots, a log shorter than promised).
                """)
        @Argument(help: "The data directory.") var directory: String

        func run() throws {
            let inventory: DirectoryCheck.Inventory
            do {
                inventory = try DirectoryCheck.Inventory.read(directory: directory)
            } catch {
                print("DAMAGE: cannot read \(directory): \(error)")
                throw ExitCode(2)
            }
            let verdict = DirectoryCheck.evaluate(inventory)
            let log = inventory.log
            print("log: \(log.recordCount) records verified, LSN \(log.firstLSN)...\(log.lastLSN)")
            for snapshot in inventory.snapshots {
                print("snapshot LSN \(snapshot.lsn): " + (snapshot.problem.map { "INVALID: \($0)" } ?? "valid"))
            }
            if let control = inventory.control {
                print("control: snapshot LSN \(control.snapshotLSN), durable LSN \(control.durableLSN)"
                    + (control.cleanShutdown ? ", clean shutdown" : ""))
            }
            for note in verdict.notes { print("note: \(note)") }
            print("a start rebuilds LSN \(verdict.recoveredLSN)"
                + (verdict.snapshot.map { " from snapshot LSN \($0.lsn)" } ?? " from the log alone"))
            if let cut = verdict.cut {
                print("CUT: a start cuts the log at \(cut.file) offset \(cut.offset) (\(cut.reason)); LSN \(cut.firstMissingLSN) on is dropped"
                    + (cut.removedSegments.isEmpty ? "" : ", and segments \(cut.removedSegments.joined(separator: ", ")) are removed"))
            }
            for skipped in verdict.skippedSnapshots {
                print("FALLBACK: snapshot LSN \(skipped.lsn) is skipped: \(skipped.problem ?? "")")
            }
            for name in verdict.staleTemporaries {
                if name == SegmentPreparer.fileName {
                    print("note: a start removes \(name) (the next segment, prepared ahead: zeros, no record)")
                } else {
                    print("STALE: a start removes \(name)")
                }
            }
            if !verdict.refusals.isEmpty {
                for refusal in verdict.refusals { print("REFUSE: \(refusal)") }
                throw ExitCode(2)
            }
            if verdict.changesOrRefuses || !verdict.skippedSnapshots.isEmpty {
                print("ok, but a start changes the directory (see above)")
                throw ExitCode(1)
            }
            print("ok")
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
