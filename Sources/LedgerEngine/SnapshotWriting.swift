package import LedgerCore
package import LedgerStorage

extension SnapshotStore {
    /// Writes `snapshot` (captured when the state covered exactly `lsn`) as a snapshot file:
    /// temporary file, checksum, fsync, rename, directory fsync. Blocking: call it off the
    /// cooperative pool (e.g. through `DedicatedThread`).
    package func write(_ snapshot: any SnapshotImage, lsn: UInt64) throws(WALError) -> SnapshotInfo {
        try write(lsn: lsn) { (sink) throws(WALError) in
            var failure: WALError?
            snapshot.write { bytes in
                guard failure == nil else { return }
                do throws(WALError) {
                    try sink.write(bytes)
                } catch {
                    failure = error
                }
            }
            if let failure { throw failure }
        }
    }
}
