import LedgerStorage
import NIOCore

extension FollowerLink {
    /// Downloads the primary's newest snapshot into the directory (resuming a partial
    /// download) and installs it, replacing the directory's log and snapshots. Call with
    /// the ledger closed: the download and the install take the directory's lock.
    /// `lastLSN`/`durableLSN` are the closed ledger's, for the `hello`. Returns the LSN of
    /// the installed snapshot.
    package func fetchSnapshot(lastLSN: UInt64, durableLSN: UInt64) async throws -> UInt64 {
        progress.update { $0.state = "snapshot" }
        let channel = try await connect()
        return try await channel.executeThenClose { inbound, outbound in
            let (hello, _) = try await Self.hello(
                nodeId: nodeId, clientAddress: clientAddress, directory: directory, lastLSN: lastLSN,
                durableLSN: durableLSN, token: try presentedToken())
            try await outbound.write(hello)
            var frames = inbound.makeAsyncIterator()
            guard let answer = try await frames.next() else {
                throw ReplicationFailure(.disconnected, "the primary closed the connection before its welcome")
            }
            guard case .welcome(let welcome) = answer.message, welcome.action == .snapshot else {
                // The primary's answer changed (it has the log now, or it is gone): reconnect normally.
                throw ReplicationFailure(.refused, "the primary no longer offers a snapshot: \(answer.message.type)")
            }
            guard let history = EpochHistoryFile(validating: welcome.history) else {
                throw ReplicationFailure(.protocolError, "the primary's epoch history is not in order")
            }
            let lsn = welcome.snapshotLSN
            let directory = self.directory
            let began = monotonicNow()
            let download = try await DedicatedThread.run { () throws(WALError) in
                DownloadBox(try SnapshotDownload.begin(directory: directory, lsn: lsn, offset: welcome.snapshotOffset))
            }
            var expected = welcome.snapshotOffset
            logger.notice("replication: fetching the primary's snapshot", metadata: [
                "snapshot_lsn": "\(lsn)", "bytes": "\(welcome.snapshotSize)", "resume_at": "\(expected)",
            ])
            while let next = try await frames.next() {
                switch next.message {
                case .snapshotChunk(let chunk):
                    guard chunk.snapshotLSN == lsn, chunk.offset == expected, chunk.totalSize == welcome.snapshotSize else {
                        throw ReplicationFailure(.protocolError, "snapshot chunk at \(chunk.offset) of LSN \(chunk.snapshotLSN), expected \(expected) of \(lsn)")
                    }
                    let bytes = Array(chunk.bytes.readableBytesView)
                    let at = chunk.offset
                    try await DedicatedThread.run { () throws(WALError) in try download.value.write(bytes, at: at) }
                    expected += UInt64(bytes.count)
                    progress.update { $0.receivedSnapshotBytes += UInt64(bytes.count) }
                case .snapshotDone(let done):
                    guard done.snapshotLSN == lsn, done.totalSize == expected else {
                        throw ReplicationFailure(.protocolError, "snapshot ended at \(expected) bytes, the primary says \(done.totalSize)")
                    }
                    let epochs = history.truncated(after: lsn)
                    try await DedicatedThread.run { () throws(WALError) in
                        try download.value.finish()
                        try SnapshotDownload.install(directory: directory, lsn: lsn, epochs: epochs)
                    }
                    let seconds = monotonicNow() - began
                    logger.notice("replication: snapshot installed", metadata: [
                        "snapshot_lsn": "\(lsn)", "bytes": "\(done.totalSize)", "seconds": "\(seconds)",
                        "mb_per_second": "\(Double(done.totalSize - welcome.snapshotOffset) / 1e6 / max(seconds, 1e-6))",
                    ])
                    return lsn
                case .refuse(let refusal):
                    throw ReplicationFailure(.refused, "the primary stopped the snapshot: \(refusal.code) \(refusal.message)")
                default:
                    throw ReplicationFailure(.protocolError, "unexpected \(next.message.type) during a snapshot")
                }
            }
            throw ReplicationFailure(.disconnected, "the primary closed the connection during the snapshot")
        }
    }
}

/// Moves the download between the connection's task and the file threads. Unchecked: it is
/// used by one thread at a time, each use awaited before the next.
private final class DownloadBox: @unchecked Sendable {
    let value: SnapshotDownload
    init(_ value: SnapshotDownload) { self.value = value }
}
