import LedgerCore
import LedgerStorage

/// A batch's log record body and its checksum, made before the log's lock is taken, so
/// that the lock covers only the copy into the log's buffer.
///
/// A plain `create_accounts`/`create_transfers` batch is not encoded again: on
/// little-endian hosts its events array holds exactly the request's wire body (the codec's
/// canonical bytes, copied once when the request was decoded; `RecordCodec.copyBatch`), so
/// the log takes the bytes from there. A coalesced record is assembled once (its head and
/// each request's events back to back); a shipped record keeps the bytes it arrived with.
/// Either way the bytes are the record format of `docs/wal.md`, unchanged.
///
/// Not `Sendable`: a shipped body may point into the received frame, valid only while
/// the follower's receive path appends it (`DurableLedger.appendShipped`).
struct RecordBody {
    private enum Storage {
        /// A plain batch whose events' memory is its encoding.
        case events(BatchEvents)
        case bytes([UInt8])
        /// A shipped record's body in the received frame.
        case received(UnsafeRawBufferPointer)
    }

    private let storage: Storage
    /// The body's bytes.
    let count: Int
    /// `RecordHeader.bodyChecksum` of the body (padding included).
    let checksum: UInt32

    /// The body of `events` as the log records it.
    /// - Parameter wireChecksum: the checksum of the request body a plain batch's events
    ///   were copied from (`ReceivedMessage.bodyChecksum`), verified against those bytes on
    ///   receipt; nil, or any other batch: computed here. The events' memory is those bytes
    ///   (little-endian hosts) and 128-byte events need no padding, so it is the record's
    ///   `RecordHeader.bodyChecksum`; and it covers the copy from the received frame into
    ///   the events, which a checksum computed here would not.
    init(_ events: BatchEvents, wireChecksum: UInt32? = nil) {
        #if _endian(little)
        switch events {
        case .accounts, .transfers:
            storage = .events(events)
        case .pulse, .accountRequests, .transferRequests:
            storage = .bytes(events.encoded())
        }
        if let wireChecksum, case .events = storage {
            count = Self.withRaw(storage) { $0.count }
            checksum = wireChecksum
            assert(RecordHeader.paddedLength(count) == count, "events of 128 bytes need no padding")
            assert(Self.measure(storage).1 == wireChecksum, "the verified wire checksum is the record body's")
        } else {
            (count, checksum) = Self.measure(storage)
        }
        #else
        storage = .bytes(events.encoded())
        (count, checksum) = Self.measure(storage)
        #endif
        assert(Self.withRaw(storage) { [UInt8]($0) } == events.encoded(), "a record body is the batch's encoding")
    }

    /// A body received as bytes (a shipped record).
    init(bytes: [UInt8]) {
        storage = .bytes(bytes)
        (count, checksum) = Self.measure(storage)
    }

    /// A shipped record's body in the received frame (valid while it is appended), with the
    /// record checksum its receive path verified against these bytes: not computed again.
    init(received bytes: UnsafeRawBufferPointer, checksum: UInt32) {
        storage = .received(bytes)
        count = bytes.count
        self.checksum = checksum
        assert(RecordHeader.bodyChecksum(bytes) == checksum, "a received body's checksum was verified against it")
    }

    private static func measure(_ storage: Storage) -> (Int, UInt32) {
        withRaw(storage) { b in (b.count, RecordHeader.bodyChecksum(b)) }
    }

    /// Calls `body` with the bytes (valid only during the call).
    func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws(WALError) -> R) throws(WALError) -> R {
        let result: Result<R, WALError> = Self.withRaw(storage) { b in Result { () throws(WALError) in try body(b) } }
        return try result.get()
    }

    private static func withRaw<R>(_ storage: Storage, _ body: (UnsafeRawBufferPointer) -> R) -> R {
        switch storage {
        case .bytes(let bytes):
            return bytes.withUnsafeBytes(body)
        case .received(let bytes):
            return body(bytes)
        case .events(.accounts(let a)):
            assert(MemoryLayout<Account>.size == RecordCodec.accountSize, "an account's memory is its 128-byte encoding")
            return a.withUnsafeBytes(body)
        case .events(.transfers(let t)):
            assert(MemoryLayout<Transfer>.size == RecordCodec.transferSize, "a transfer's memory is its 128-byte encoding")
            return t.withUnsafeBytes(body)
        case .events:
            preconditionFailure("only plain batches are logged from their events' memory")
        }
    }
}
