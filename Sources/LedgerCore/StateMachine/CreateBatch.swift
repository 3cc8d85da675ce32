/// An event of a create batch (an `Account` or a `Transfer`), as the batch driver sees it.
protocol CreateEvent {
    var id: UInt128 { get }
    var timestamp: UInt64 { get }
    var isLinked: Bool { get }
    var isImported: Bool { get }
}

/// The status codes every create operation shares.
protocol CreateStatus: Equatable {
    static var created: Self { get }
    static var exists: Self { get }
    static var linkedEventFailed: Self { get }
    static var linkedEventChainOpen: Self { get }
    static var importedEventExpected: Self { get }
    static var importedEventNotExpected: Self { get }
    static var timestampMustBeZero: Self { get }
    static var importedEventTimestampOutOfRange: Self { get }
    static var importedEventTimestampMustNotAdvance: Self { get }
}

/// A per-event result record of a create batch.
protocol CreateResultRecord {
    associatedtype Status: CreateStatus
    init(timestamp: UInt64, status: Status)
    var status: Status { get set }
}

extension Account: CreateEvent {
    var isLinked: Bool { flags.contains(.linked) }
    var isImported: Bool { flags.contains(.imported) }
}

extension Transfer: CreateEvent {
    var isLinked: Bool { flags.contains(.linked) }
    var isImported: Bool { flags.contains(.imported) }
}

extension CreateAccountStatus: CreateStatus {}
extension CreateTransferStatus: CreateStatus {}
extension CreateAccountResult: CreateResultRecord {}
extension CreateTransferResult: CreateResultRecord {}

extension Ledger {
    /// How many events ahead the prefetch pipeline fetches id-index slots, and records.
    /// 96 for slots measured 10-15 % faster than 32 at 10M transfers on these VMs (a
    /// random slot of a 128 MiB table is a DRAM miss plus a nested page walk).
    static var prefetchSlotDistance: Int { 96 }
    static var prefetchRecordDistance: Int { 16 }
    static var prefetchPendingDistance: Int { 8 }
    /// Index tables up to this size stay in a core's L2 cache (512 KiB here).
    static var cacheResidentIndexBytes: Int { 256 << 10 }

    /// Checks the batch timestamp, expires due pending transfers and returns the
    /// timestamp of the first event.
    func beginBatch(count: Int, timestamp: UInt64) throws(LedgerError) -> UInt64 {
        try CreateDriver.checkBatch(count: count, timestamp: timestamp, after: lastTimestamp)
        let first = timestamp - UInt64(count) + 1
        if expirePending(before: first) { lastExpiryTimestamp = timestamp }
        return first
    }

    /// True when a create batch of `count` events cannot exceed the stores' capacity, so
    /// that (with a timestamp from `nextBatchTimestamp`) applying it cannot throw.
    public func canAccept(count: Int) -> Bool {
        count <= LedgerLimits.batchMax && accounts.count + count <= Self.refMax
            && transfers.count + count <= Self.refMax && orphanIds.count + count <= Self.refMax
    }

    /// The smallest valid timestamp for a batch of `count` events at or after `wallClock`.
    public func nextBatchTimestamp(wallClock: UInt64, count: Int) -> UInt64 {
        max(wallClock, lastTimestamp + UInt64(max(count, 1)))
    }

    /// Applies a create batch: imported-mode and timestamp checks, linked chains with
    /// exact rollback, then `create` for each event that passes them.
    ///
    /// `create` returns a status and, for `created`/`exists`, the object's timestamp.
    /// `failed` is called for each event that did not succeed, after any rollback.
    @inline(__always)
    func executeCreate<Event: CreateEvent, Result: CreateResultRecord>(
        _ events: UnsafeBufferPointer<Event>,
        timestamp: UInt64,
        results: UnsafeMutablePointer<Result>,
        create: (Int, Event, UInt64) -> (Result.Status, UInt64),
        failed: (Event, Result.Status) -> Void,
        prefetch: (Int) -> Void = { _ in }
    ) {
        CreateDriver.run(
            events, timestamp: timestamp, results: results,
            mine: { prefetch($0); return true }, unlinked: { _ in false },
            openChain: { scopeOpen() }, discardChain: { _ in scopeDiscard() }, persistChain: { scopePersist() },
            create: create, failed: failed)
        // The driver applies imported events only in a batch whose first event is imported.
        if events.count > 0 && events[0].isImported { lastImportBatchTimestamp = timestamp }
        lastTimestamp = timestamp
    }
}

/// The create-batch driver both ledgers share: imported-mode and timestamp checks, linked
/// chains with exact rollback (the reference's rules), then `create` for each event that
/// passes them.
enum CreateDriver {
    /// The batch rule of every ledger: at most `batchMax` events, and a batch timestamp
    /// that leaves each event its own timestamp after `lastTimestamp` (the ledger's clock).
    static func checkBatch(count: Int, timestamp: UInt64, after lastTimestamp: UInt64) throws(LedgerError) {
        guard count <= LedgerLimits.batchMax else {
            throw LedgerError(.batchTooLarge, "\(count) events; at most \(LedgerLimits.batchMax)")
        }
        guard timestamp <= LedgerLimits.timestampMax, timestamp >= UInt64(count),
            timestamp - UInt64(count) >= lastTimestamp, timestamp > lastTimestamp
        else {
            throw LedgerError(
                .timestampNotIncreasing,
                "batch timestamp \(timestamp) for \(count) events after \(lastTimestamp)")
        }
    }

    /// Runs the events for which `mine` is true (all of them, or one shard's). An event
    /// for which `unlinked` is true runs as if not linked (a chain already decided).
    /// `discardChain` gets the indices of the chain's events before the failing one.
    /// `range` limits the run to some events (whole chains) of the batch.
    @inline(__always)
    static func run<Event: CreateEvent, Result: CreateResultRecord>(
        _ events: UnsafeBufferPointer<Event>,
        timestamp: UInt64,
        results: UnsafeMutablePointer<Result>,
        range: Range<Int>? = nil,
        mine: (Int) -> Bool,
        unlinked: (Int) -> Bool,
        openChain: () -> Void,
        discardChain: (Range<Int>) -> Void,
        persistChain: () -> Void,
        create: (Int, Event, UInt64) -> (Result.Status, UInt64),
        failed: (Event, Result.Status) -> Void
    ) {
        typealias Status = Result.Status
        let n = events.count
        var chainStart: Int? = nil
        var chainBroken = false
        let batchImported = n > 0 && events[0].isImported
        let firstTimestamp = timestamp &- UInt64(n) &+ 1  // the caller checked timestamp >= n

        for index in range ?? 0..<n where mine(index) {
            let event = events[index]
            let isLinked = event.isLinked && !unlinked(index)
            let eventTimestamp = firstTimestamp &+ UInt64(index)
            var status: Status
            var resultTimestamp = eventTimestamp
            checks: do {
                if isLinked {
                    if chainStart == nil {
                        chainStart = index
                        openChain()
                    }
                    if index == n - 1 {
                        status = .linkedEventChainOpen
                        break checks
                    }
                }
                if chainBroken {
                    status = .linkedEventFailed
                    break checks
                }
                if batchImported != event.isImported {
                    status = event.isImported ? .importedEventNotExpected : .importedEventExpected
                    break checks
                }
                if event.isImported {
                    if event.timestamp == 0 || event.timestamp > LedgerLimits.timestampMax {
                        status = .importedEventTimestampOutOfRange
                        break checks
                    }
                    if event.timestamp >= timestamp {
                        status = .importedEventTimestampMustNotAdvance
                        break checks
                    }
                } else if event.timestamp != 0 {
                    status = .timestampMustBeZero
                    break checks
                }
                let (created, actual) = create(index, event, eventTimestamp)
                status = created
                if created == .created || created == .exists { resultTimestamp = actual }
            }

            if status != .created {
                if let start = chainStart, !chainBroken {
                    chainBroken = true
                    discardChain(start..<index)
                    for k in start..<index { results[k].status = .linkedEventFailed }
                }
                failed(event, status)
            }
            results[index] = Result(timestamp: resultTimestamp, status: status)

            if chainStart != nil, !isLinked || status == .linkedEventChainOpen {
                if !chainBroken { persistChain() }
                chainStart = nil
                chainBroken = false
            }
        }
    }
}
