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
        let events = try BatchEvents.decode(operation: operation, body: body)
        _ = try events.requestTimestamps(last: timestamp)
        _ = try apply(events, timestamp: timestamp)
        return events.count
    }
}
