extension Ledger {
    /// Applies one logged batch of a mutating operation from its canonical bytes (as the
    /// write-ahead log stores it) and returns how many events it held.
    ///
    /// This is the function replay, recovery and followers share: the state after a
    /// sequence of logged batches is a pure function of their bytes and timestamps.
    @discardableResult
    public func applyLogged(operation: Operation, timestamp: UInt64, body: UnsafeRawBufferPointer)
        throws -> Int
    {
        switch operation {
        case .createAccounts:
            let events = try RecordCodec.decodeAccounts(body)
            _ = try createAccounts(events, timestamp: timestamp)
            return events.count
        case .createTransfers:
            let events = try RecordCodec.decodeTransfers(body)
            _ = try createTransfers(events, timestamp: timestamp)
            return events.count
        case .pulse:
            try pulse(timestamp: timestamp)
            return 0
        case .coalescedCreateAccounts:
            let requests = try CoalescedRecordCodec.decode(
                body, recordSize: RecordCodec.accountSize, decodeBatch: RecordCodec.decodeAccounts)
            let stamps = try CoalescedRecordCodec.timestamps(counts: requests.map(\.count), last: timestamp)
            for (events, t) in zip(requests, stamps) { _ = try createAccounts(events, timestamp: t) }
            return requests.reduce(0) { $0 + $1.count }
        case .coalescedCreateTransfers:
            let requests = try CoalescedRecordCodec.decode(
                body, recordSize: RecordCodec.transferSize, decodeBatch: RecordCodec.decodeTransfers)
            let stamps = try CoalescedRecordCodec.timestamps(counts: requests.map(\.count), last: timestamp)
            for (events, t) in zip(requests, stamps) { _ = try createTransfers(events, timestamp: t) }
            return requests.reduce(0) { $0 + $1.count }
        default:
            throw CodecError(.unknownOperation, "operation \(operation) is not logged")
        }
    }
}
