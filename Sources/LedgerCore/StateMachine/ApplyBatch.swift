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
        try applyLoggedBatch(operation: operation, timestamp: timestamp, body: body).events.count
    }

    /// `applyLogged`, returning the batch's events and what applying them answered (the
    /// change stream reads which events were created from them).
    package func applyLoggedBatch(operation: Operation, timestamp: UInt64, body: UnsafeRawBufferPointer)
        throws -> (events: BatchEvents, results: BatchResults)
    {
        let events = try BatchEvents.decode(operation: operation, body: body)
        _ = try events.requestTimestamps(last: timestamp)
        return (events, try apply(events, timestamp: timestamp))
    }
}
