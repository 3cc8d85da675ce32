public import LedgerCore

/// The transfer batch at an LSN ≥ 3: single-phase transfers, pending transfers (some with
/// a 1 s timeout), posts and voids of earlier pending ones, linked chains (some broken on
/// purpose) and events that fail (same account twice, unknown account, reused ids,
/// exceeded limits). Every event is a function of (LSN, index), so a post can name an
/// earlier pending transfer without regenerating its batch.
public struct TransferMix: Sendable {
    public let workload: Workload

    public init(workload: Workload) { self.workload = workload }

    /// What an event is, from its hash.
    enum Kind {
        case single, pending, post, void, linked, invalid, reused
        init(_ roll: UInt64) {
            switch roll % 100 {
            case 0..<48: self = .single
            case 48..<63: self = .pending
            case 63..<73: self = .post
            case 73..<80: self = .void
            case 80..<93: self = .linked
            case 93..<97: self = .invalid
            default: self = .reused
            }
        }
    }

    private static let sizeSalt: UInt64 = 0x51
    private static let kindSalt: UInt64 = 0x4B
    private static let fieldSalt: UInt64 = 0xF1

    /// Events in the batch at `lsn`.
    public func size(lsn: UInt64) -> Int {
        guard lsn >= Workload.firstMixLSN else { return 0 }
        return 1 + Int(Mix.hash(lsn, 0, Self.sizeSalt) % UInt64(workload.batchMax))
    }

    func kind(lsn: UInt64, index: Int) -> Kind { Kind(Mix.hash(lsn, UInt64(index), Self.kindSalt)) }

    /// The id of event `index` of the batch at `lsn`.
    public static func transferId(lsn: UInt64, index: Int) -> UInt128 { UInt128(lsn) << 32 | UInt128(index + 1) }

    public func batch(lsn: UInt64) -> [Transfer] {
        (0..<size(lsn: lsn)).map { event(lsn: lsn, index: $0) }
    }

    func event(lsn: UInt64, index: Int) -> Transfer {
        let h = Mix.hash(lsn, UInt64(index), Self.fieldSalt)
        let id = Self.transferId(lsn: lsn, index: index)
        switch kind(lsn: lsn, index: index) {
        case .single:
            return plain(id: id, h: h, flags: [])
        case .pending:
            let timeout: UInt32 = h >> 40 % 3 == 0 ? 1 : 0
            var t = plain(id: id, h: h, flags: .pending)
            t.timeout = timeout
            return t
        case .post:
            // Full amount, or 1 (a partial post; pending amounts are at least 1).
            let amount: UInt128 = h >> 50 & 1 == 0 ? .max : 1
            return Transfer(id: id, amount: amount, pendingId: earlierPending(lsn: lsn, h: h), flags: .postPendingTransfer)
        case .void:
            return Transfer(id: id, amount: 0, pendingId: earlierPending(lsn: lsn, h: h), flags: .voidPendingTransfer)
        case .linked:
            // One in six links moves far more than any balance: the whole chain must roll back.
            var t = plain(id: id, h: h, flags: .linked)
            if h >> 44 % 6 == 0 { t.amount = 1_000_000_000 }
            return t
        case .invalid:
            var t = plain(id: id, h: h, flags: [])
            if h & 1 == 0 { t.creditAccountId = t.debitAccountId } else { t.creditAccountId = 999 }
            return t
        case .reused:
            // Another event's id: "exists"/"exists with different ..." if it was created,
            // or a fresh transfer under that id if it was not.
            let back = 1 + (h >> 8) % 12
            let other = lsn > back + Workload.firstMixLSN ? lsn - back : lsn
            return plain(id: Self.transferId(lsn: other, index: Int((h >> 20) % UInt64(workload.batchMax))), h: h, flags: [])
        }
    }

    /// A single-phase or pending transfer between two accounts of one ledger.
    private func plain(id: UInt128, h: UInt64, flags: TransferFlags) -> Transfer {
        let n = UInt64(workload.accountsPerLedger)
        let ledger = 1 + Int(h % UInt64(workload.ledgers))
        let dr = Int((h >> 8) % n)
        var cr = Int((h >> 24) % n)
        if cr == dr { cr = (cr + 1) % Int(n) }
        return Transfer(id: id, debitAccountId: workload.accountId(ledger: ledger, index: dr),
                        creditAccountId: workload.accountId(ledger: ledger, index: cr),
                        amount: 1 + UInt128((h >> 32) % 1_000), userData64: h, ledger: UInt32(ledger),
                        code: UInt16(1 + (h >> 56) % 9), flags: flags)
    }

    /// The id of a pending event 1...40 LSNs back (it may have failed, expired or been
    /// resolved already; then the post or void fails, as it should).
    private func earlierPending(lsn: UInt64, h: UInt64) -> UInt128 {
        let back = 1 + (h >> 8) % 40
        guard lsn >= Workload.firstMixLSN + back else { return UInt128(h >> 16) | 1 }
        let target = lsn - back
        let count = size(lsn: target)
        let start = Int((h >> 16) % UInt64(count))
        for step in 0..<8 {
            let index = (start + step) % count
            if case .pending = kind(lsn: target, index: index) { return Self.transferId(lsn: target, index: index) }
        }
        return Self.transferId(lsn: target, index: start)
    }
}
