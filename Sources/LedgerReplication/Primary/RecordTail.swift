import LedgerStorage
package import NIOCore
import Synchronization

/// The newest log records in memory, as the writer thread submitted them (the exact
/// bytes written), so that followers receive a batch while the primary's own fsync runs.
/// Holds at most `capacity` bytes; older records are read back from the segments.
///
/// Fed by the log's writer thread (`WALShipper`); read by follower sessions, which wait
/// on a signal stream for new records.
package final class RecordTail: WALShipper, Sendable {
    /// Consecutive records: the bytes of one log write.
    package struct Chunk: Sendable {
        package let firstLSN: UInt64
        package let lastLSN: UInt64
        package let bytes: ByteBuffer
    }

    private struct State {
        var chunks: [Chunk] = []
        var bytes = 0
        /// The last LSN shipped (records up to it are in memory or on disk).
        var lastLSN: UInt64
        var listeners: [Int: AsyncStream<Void>.Continuation] = [:]
        var nextListener = 0
    }

    private let state: Mutex<State>
    private let capacity: Int
    private let allocator = ByteBufferAllocator()

    /// - Parameters:
    ///   - lastLSN: the log's last LSN when shipping starts (records up to it are on disk
    ///     once durable; a write in flight at that moment may be missed here and is read
    ///     back from the segments).
    ///   - capacity: bytes kept in memory.
    package init(lastLSN: UInt64, capacity: Int = 64 << 20) {
        state = Mutex(State(lastLSN: lastLSN))
        self.capacity = capacity
    }

    /// The last LSN handed over by the log.
    package var lastLSN: UInt64 { state.withLock { $0.lastLSN } }

    package func ship(_ records: UnsafeRawBufferPointer, firstLSN: UInt64, lastLSN: UInt64, count: Int) {
        var buffer = allocator.buffer(capacity: records.count)
        buffer.writeBytes(records)
        let chunk = Chunk(firstLSN: firstLSN, lastLSN: lastLSN, bytes: buffer)
        let listeners = state.withLock { s -> [AsyncStream<Void>.Continuation] in
            // Shipping may start while a write is in flight: the first chunk may begin
            // after records that were never shipped (they are read back from disk).
            precondition(s.chunks.isEmpty || firstLSN == s.lastLSN + 1, "the log ships LSN \(firstLSN) after \(s.lastLSN)")
            s.chunks.append(chunk)
            s.bytes += records.count
            s.lastLSN = lastLSN
            var drop = 0
            while s.bytes > capacity, drop < s.chunks.count - 1 {
                s.bytes -= s.chunks[drop].bytes.readableBytes
                drop += 1
            }
            if drop > 0 { s.chunks.removeFirst(drop) }
            return Array(s.listeners.values)
        }
        for l in listeners { l.yield() }
    }

    /// What a follower at `nextLSN` can be sent from memory.
    package enum Read: Sendable {
        /// Records from `nextLSN` on, at most about `limit` bytes (whole records).
        case records(ByteBuffer, firstLSN: UInt64, lastLSN: UInt64, count: Int)
        /// Nothing after `nextLSN - 1` yet.
        case upToDate
        /// `nextLSN` is older than memory holds: read the segments up to `oldestInMemory - 1`.
        case onDisk(oldestInMemory: UInt64)
    }

    /// Records from `nextLSN`, up to `limit` bytes (at least one record). They are the
    /// bytes the log's writer handed over, so their body checksums were computed from
    /// these very bytes in this process (`Records(ownLog:...)` need not check them again).
    package func read(from nextLSN: UInt64, limit: Int) -> Read {
        let (chunks, last) = state.withLock { ($0.chunks, $0.lastLSN) }
        if nextLSN > last { return .upToDate }
        guard let first = chunks.first, nextLSN >= first.firstLSN else {
            return .onDisk(oldestInMemory: chunks.first?.firstLSN ?? last + 1)
        }
        // A follower that is up to date starts at a chunk (one log write) that makes a frame
        // on its own: hand out the chunk's bytes, no copy.
        if let i = chunks.firstIndex(where: { $0.firstLSN == nextLSN }) {
            let chunk = chunks[i]
            let size = chunk.bytes.readableBytes
            if size <= limit, i == chunks.count - 1 || size + chunks[i + 1].bytes.readableBytes > limit {
                return .records(chunk.bytes, firstLSN: chunk.firstLSN, lastLSN: chunk.lastLSN,
                                count: Int(chunk.lastLSN - chunk.firstLSN + 1))
            }
        }
        var out = allocator.buffer(capacity: 0)
        var firstOut: UInt64 = 0, lastOut: UInt64 = 0, count = 0
        for chunk in chunks where chunk.lastLSN >= nextLSN {
            var view = chunk.bytes
            var lsn = chunk.firstLSN
            while view.readableBytes >= RecordHeader.size {
                let length = view.withUnsafeReadableBytes { b -> Int in
                    guard let base = b.baseAddress else { return 0 }
                    return RecordHeader.recordLength(at: base)
                }
                precondition(length >= RecordHeader.size && length <= view.readableBytes, "the tail holds whole records")
                if lsn >= nextLSN {
                    if count > 0 && out.readableBytes + length > limit {
                        return .records(out, firstLSN: firstOut, lastLSN: lastOut, count: count)
                    }
                    if count == 0 { firstOut = lsn }
                    var slice = view.getSlice(at: view.readerIndex, length: length) ?? ByteBuffer()
                    out.writeBuffer(&slice)
                    lastOut = lsn
                    count += 1
                }
                view.moveReaderIndex(forwardBy: length)
                lsn += 1
            }
            assert(lsn == chunk.lastLSN + 1, "a chunk holds its LSN range")
        }
        return count == 0 ? .upToDate : .records(out, firstLSN: firstOut, lastLSN: lastOut, count: count)
    }

    /// A stream that yields whenever new records arrive (coalesced), until `stopListening`.
    package func listen() -> (id: Int, signals: AsyncStream<Void>) {
        let (stream, continuation) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let id = state.withLock { s -> Int in
            let id = s.nextListener
            s.nextListener += 1
            s.listeners[id] = continuation
            return id
        }
        return (id, stream)
    }

    /// Wakes the listener `id` (a heartbeat tick).
    package func poke(_ id: Int) {
        let continuation = state.withLock { $0.listeners[id] }
        continuation?.yield()
    }

    /// Ends the stream `listen` returned under `id`.
    package func stopListening(_ id: Int) {
        let continuation = state.withLock { $0.listeners.removeValue(forKey: id) }
        continuation?.finish()
    }

    /// Ends every listener's stream (the primary stops shipping).
    package func finishAll() {
        let all = state.withLock { s -> [AsyncStream<Void>.Continuation] in
            defer { s.listeners.removeAll() }
            return Array(s.listeners.values)
        }
        for c in all { c.finish() }
    }
}
