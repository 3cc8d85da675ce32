package import LedgerCore

/// One committed change of the ledger, as the change stream (`kamino cdc`, docs/cdc.md)
/// publishes it: an account created, a transfer created (of one of four kinds), or a
/// pending transfer expired, with the LSN of the log record that made it.
package struct ChangeEvent: Sendable, Hashable {
    /// What happened; the raw value is the JSON `type`.
    package enum Kind: String, Sendable, CaseIterable {
        case accountCreated = "account_created"
        /// A transfer with none of `pending`, `post_pending_transfer`, `void_pending_transfer`.
        case singlePhase = "single_phase"
        /// A pending transfer (`flags.pending`) was created: its amount is reserved.
        case twoPhasePending = "two_phase_pending"
        /// A transfer posting a pending one (`flags.post_pending_transfer`) was created.
        case twoPhasePosted = "two_phase_posted"
        /// A transfer voiding a pending one (`flags.void_pending_transfer`) was created.
        case twoPhaseVoided = "two_phase_voided"
        /// A pending transfer reached its timeout and was released (no transfer is created).
        case twoPhaseExpired = "two_phase_expired"

        /// The kind of a created transfer, from its flags.
        package static func created(_ t: Transfer) -> Kind {
            if t.flags.contains(.pending) { return .twoPhasePending }
            if t.flags.contains(.postPendingTransfer) { return .twoPhasePosted }
            if t.flags.contains(.voidPendingTransfer) { return .twoPhaseVoided }
            return .singlePhase
        }
    }

    /// The object an event carries.
    package enum Object: Sendable, Hashable {
        case account(Account)
        case transfer(Transfer)
    }

    /// The LSN of the log record whose apply made the change.
    package let lsn: UInt64
    /// The object's timestamp for a creation; for an expiry, the time it expired at (the
    /// time just before the first event of the batch whose start expired it; a pulse's
    /// timestamp).
    package let timestamp: UInt64
    package let kind: Kind
    /// The account as created, or the transfer as the ledger stores it (for an expiry: the
    /// pending transfer that expired).
    package let object: Object
    /// The event's position among the events its record publishes (0-based).
    package var index: Int
    /// How many events its record publishes: the record's last event has
    /// `index == recordEvents - 1`, so a consumer knows when it has all of a record.
    package var recordEvents: Int

    package init(lsn: UInt64, timestamp: UInt64, kind: Kind, object: Object, index: Int = 0, recordEvents: Int = 1) {
        precondition(index >= 0 && index < recordEvents, "an event is one of its record's events")
        self.lsn = lsn
        self.timestamp = timestamp
        self.kind = kind
        self.object = object
        self.index = index
        self.recordEvents = recordEvents
    }
}

extension ChangeEvent {
    /// A pending transfer the ledger expired, and the cutoff it expired at
    /// (`Ledger.expiryObserver`).
    package typealias Expiry = (transfer: Transfer, cutoff: UInt64)

    /// The committed events of one applied log record, in the order the ledger made them:
    /// request by request (a coalesced record holds several), the expiries at a request's
    /// start, then its created events in event order. Events whose result is not `created`
    /// (including the members of a failed linked chain) are left out.
    ///
    /// - Parameters:
    ///   - expired: what the ledger's `expiryObserver` saw while the record applied, in order.
    ///   - ledger: the ledger right after the record applied (created transfers are read
    ///     back from it: their stored amount, e.g. of a balancing or post transfer, is what
    ///     moved).
    package static func events(
        lsn: UInt64, timestamp: UInt64, batch: BatchEvents, results: BatchResults, expired: [Expiry], ledger: Ledger
    ) -> [ChangeEvent] {
        var out: [ChangeEvent] = []
        out.reserveCapacity(batch.count + expired.count)
        var nextExpiry = 0
        let stamps = batch.checkedRequestTimestamps(last: timestamp)
        let counts = batch.requestCounts
        assert(stamps.count == counts.count, "one timestamp per request")
        for (request, (stamp, count)) in zip(stamps, counts).enumerated() {
            // A request's start expires what is due by the time just before its first event.
            let cutoff = stamp - UInt64(count)
            while nextExpiry < expired.count, expired[nextExpiry].cutoff <= cutoff {
                let e = expired[nextExpiry]
                out.append(ChangeEvent(lsn: lsn, timestamp: e.cutoff, kind: .twoPhaseExpired, object: .transfer(e.transfer)))
                nextExpiry += 1
            }
            switch (batch, results) {
            case (.accounts(let a), .accounts(let r)):
                appendAccounts(a, r, lsn: lsn, to: &out)
            case (.accountRequests(let a), .accountRequests(let r)):
                appendAccounts(a[request], r[request], lsn: lsn, to: &out)
            case (.transfers(let t), .transfers(let r)):
                appendTransfers(t, r, lsn: lsn, ledger: ledger, to: &out)
            case (.transferRequests(let t), .transferRequests(let r)):
                appendTransfers(t[request], r[request], lsn: lsn, ledger: ledger, to: &out)
            case (.pulse, .none):
                break
            default:
                preconditionFailure("a batch's results have the batch's shape")
            }
        }
        precondition(nextExpiry == expired.count, "pending transfers expire only at the start of a request or pulse")
        for i in out.indices {
            out[i].index = i
            out[i].recordEvents = out.count
        }
        return out
    }

    private static func appendAccounts(
        _ accounts: [Account], _ results: [CreateAccountResult], lsn: UInt64, to out: inout [ChangeEvent]
    ) {
        precondition(accounts.count == results.count, "one result per event")
        for (account, result) in zip(accounts, results) where result.status == .created {
            // The ledger stores the event as it came, with its timestamp (balances are zero).
            var created = account
            created.timestamp = result.timestamp
            out.append(ChangeEvent(lsn: lsn, timestamp: result.timestamp, kind: .accountCreated, object: .account(created)))
        }
    }

    private static func appendTransfers(
        _ transfers: [Transfer], _ results: [CreateTransferResult], lsn: UInt64, ledger: Ledger,
        to out: inout [ChangeEvent]
    ) {
        precondition(transfers.count == results.count, "one result per event")
        for (transfer, result) in zip(transfers, results) where result.status == .created {
            guard let stored = ledger.lookupTransfers([transfer.id]).first else {
                preconditionFailure("a created transfer is in the ledger")
            }
            assert(stored.timestamp == result.timestamp, "a created result carries the transfer's timestamp")
            out.append(ChangeEvent(lsn: lsn, timestamp: stored.timestamp, kind: .created(stored), object: .transfer(stored)))
        }
    }
}
