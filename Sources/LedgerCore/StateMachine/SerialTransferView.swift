/// The serial `Ledger` as `TransferRules.decide` reads it. Uses the prefetch pipeline's
/// guesses for event `i` (its id tag, account refs and records, pending transfer) once
/// the stored ids confirm them; the id-index probe of the event's own id goes back to
/// the applier for the insert that follows an accepted decision.
///
/// Holds the ledger's stores as plain values (pointer structs), made once per batch: a
/// reference to the ledger would cost reference counting on every event, and a view made
/// for each event cost 45 instructions per transfer more (callgrind).
struct SerialTransferView: TransferDecisionView {
    /// A found account: its ref and its record, read and changed in place.
    struct AccountSlot {
        let ref: Int
        let slot: UnsafeMutablePointer<Account>
    }

    private let accounts: ChunkedStore<Account>
    private let accountIndex: IdIndex
    private let accountIds: Ledger.AccountIds
    private let transfers: ChunkedStore<Transfer>
    private let pendingStatuses: ChunkedStore<UInt8>
    private let transferIndex: IdIndex
    private let transferIds: Ledger.TransferIds
    /// The prefetch pipeline's record per event of the batch (`Ledger.prefetched`).
    private let prefetched: UnsafeMutablePointer<PrefetchedEvent>

    init(_ ledger: Ledger) {
        accounts = ledger.accounts
        accountIndex = ledger.accountIndex
        accountIds = ledger.accountIds
        transfers = ledger.transfers
        pendingStatuses = ledger.pendingStatuses
        transferIndex = ledger.transferIndex
        transferIds = ledger.transferIds
        prefetched = ledger.prefetched
    }

    @inline(__always)
    func existing(_ t: Transfer, event i: Int) -> StoredTransferId<Int, IdIndex.Probe> {
        // Room for this insert was reserved for the whole batch (`reserve`).
        let probe = transferIndex.find(t.id, tag: prefetched[i].idTag, in: transferIds)
        guard let ref = probe.ref else { return .none(probe) }
        return ref & Ledger.orphanBit != 0 ? .failed : .transfer(Int(ref))
    }

    @inline(__always)
    func pendingTransfer(_ t: Transfer, event i: Int) -> Int? {
        let guess = Int(prefetched[i].pendingRef)
        if guess >= 0, guess < transfers.count, transfers.pointer(at: guess).pointee.id == t.pendingId {
            return guess  // created transfer ids are unique
        }
        guard let ref = transferIndex.find(t.pendingId, in: transferIds).ref, ref & Ledger.orphanBit == 0 else {
            return nil
        }
        return Int(ref)
    }

    @inline(__always)
    func transfer(_ ref: Int) -> Transfer { transfers[ref] }

    @inline(__always)
    func pendingStatus(_ ref: Int) -> UInt8 { pendingStatuses[ref] }

    @inline(__always)
    func debitAccount(_ t: Transfer, event i: Int) -> AccountSlot? {
        account(t.debitAccountId, guess: prefetched[i].debitRef, guessSlot: prefetched[i].debitSlot)
    }

    @inline(__always)
    func creditAccount(_ t: Transfer, event i: Int) -> AccountSlot? {
        account(t.creditAccountId, guess: prefetched[i].creditRef, guessSlot: prefetched[i].creditSlot)
    }

    @inline(__always)
    func pendingAccounts(_ p: Transfer, event i: Int) -> (debit: AccountSlot, credit: AccountSlot) {
        let e = prefetched + i
        guard let dr = account(p.debitAccountId, guess: e.pointee.debitRef, guessSlot: e.pointee.debitSlot),
            let cr = account(p.creditAccountId, guess: e.pointee.creditRef, guessSlot: e.pointee.creditSlot)
        else { preconditionFailure("a pending transfer's accounts always exist: accounts are never deleted") }
        return (dr, cr)
    }

    /// The record is read where it lives: copying two 128-byte accounts to the stack cost
    /// about 45 instructions per transfer; nothing is written while deciding, so the
    /// compiler loads only the fields the rules read.
    @inline(__always)
    func account(_ ref: AccountSlot, event i: Int) -> Account { ref.slot.pointee }

    /// Strictly after every transfer and different from every account's timestamp.
    func importedTimestampRegresses(_ ts: UInt64) -> Bool {
        if transfers.count > 0, ts <= transfers[transfers.count - 1].timestamp { return true }
        let accounts = self.accounts
        return Ledger.containsTimestamp(ts, count: accounts.count) { accounts[$0].timestamp }
    }

    /// The account with `id`, trying first the ref the prefetch pipeline guessed (or -1)
    /// and its record `guessSlot`: exact once the stored id matches, as ids are unique and
    /// accounts never move.
    @inline(__always)
    private func account(_ id: UInt128, guess: Int32, guessSlot: UnsafeMutablePointer<Account>?) -> AccountSlot? {
        if guess >= 0, let slot = guessSlot, slot.pointee.id == id { return AccountSlot(ref: Int(guess), slot: slot) }
        guard let ref = accountIndex.find(id, in: accountIds).ref else { return nil }
        return AccountSlot(ref: Int(ref), slot: accounts.pointer(at: Int(ref)))
    }
}
