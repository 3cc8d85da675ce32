/// What the prefetch pipeline of `create_transfers` found for one event of the batch, ahead
/// of applying it: one record per event (one or two cache lines), instead of a strided
/// array per field. Guesses decide nothing: an account or pending ref is used only once the
/// stored record's id confirms it.
struct PrefetchedEvent {
    /// Id-index tag of the transfer's id.
    var idTag: UInt32 = 0
    /// Id-index tag of the debit account's id; for a post or void, of the pending id.
    var debitTag: UInt32 = 0
    /// Id-index tag of the credit account's id (unused for a post or void).
    var creditTag: UInt32 = 0
    /// For a post or void: the pending transfer's guessed ref (-1: none).
    var pendingRef: Int32 = -1
    /// The accounts' guessed refs (-1: none).
    var debitRef: Int32 = -1
    var creditRef: Int32 = -1
    /// The records of those refs (meaningful where the ref is not -1).
    var debitSlot: UnsafeMutablePointer<Account>? = nil
    var creditSlot: UnsafeMutablePointer<Account>? = nil
}

/// The one owner of the prefetch records of a batch (`LedgerLimits.batchMax` of them),
/// reused by every batch and freed with its ledger. `events` is valid while it lives.
struct PrefetchScratch: ~Copyable {
    let events: UnsafeMutablePointer<PrefetchedEvent>

    init() {
        events = .allocate(capacity: LedgerLimits.batchMax)
        events.initialize(repeating: PrefetchedEvent(), count: LedgerLimits.batchMax)
    }

    deinit { events.deallocate() }
}
