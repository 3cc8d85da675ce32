package import LedgerCore

/// The shape of the transfers a run creates.
package struct TransferShape: Sendable {
    /// Ids and ledger of the run.
    package var identity: RunIdentity
    /// Which accounts transfers go between (indexes into the pool).
    package var picker: AccountPicker
    /// Share of transfers that are two-phase: pending ones and the posts or voids that
    /// resolve them (about half each).
    package var twoPhase: Double
    /// Share of transfers that are in linked chains (of 2 to 4 transfers, never across
    /// a batch's end).
    package var linked: Double
    /// Amounts are uniform in `1...maxAmount`.
    package var maxAmount: UInt64
    /// The transfer code.
    package var code: UInt16 = 1

    package init(identity: RunIdentity, picker: AccountPicker, twoPhase: Double, linked: Double, maxAmount: UInt64 = 1000) {
        self.identity = identity
        self.picker = picker
        self.twoPhase = min(max(twoPhase, 0), 1)
        self.linked = min(max(linked, 0), 1)
        self.maxAmount = max(1, maxAmount)
    }
}

/// Makes the transfers of one worker: a pure function of the shape, the seed and the
/// worker number (the results of earlier batches never change what comes next).
///
/// Two-phase: a two-phase slot resolves (posts, or 1 in 10 voids) the oldest pending
/// transfer this worker made in an earlier batch, or makes a new pending one when there
/// is none. Posts and voids repeat the pending transfer's accounts, amount, ledger and
/// code.
package struct TransferGenerator: Sendable {
    package let shape: TransferShape
    package let worker: Int
    private var rng: BenchRandom
    private var sequence: UInt64 = 0
    private var batchNumber = 0
    /// Pending transfers not yet resolved, oldest first, with the batch that made them.
    private var outstanding: [(transfer: Transfer, batch: Int)] = []
    private var outstandingHead = 0

    package init(shape: TransferShape, seed: UInt64, worker: Int) {
        self.shape = shape
        self.worker = worker
        rng = BenchRandom(seed: seed, stream: UInt64(worker) &+ 1)
    }

    /// Pending transfers made and not yet resolved by a generated post or void.
    package var unresolvedPending: Int { outstanding.count - outstandingHead }

    /// The next batch of `size` transfers.
    package mutating func nextBatch(size: Int) -> [Transfer] {
        var batch: [Transfer] = []
        batch.reserveCapacity(size)
        let chainStart = shape.linked / (3 - 2 * shape.linked)
        while batch.count < size {
            let room = size - batch.count
            if room >= 2 && rng.chance(chainStart) {
                let length = min(room, 2 + rng.below(3))
                for i in 0..<length {
                    var t = plain()
                    if i < length - 1 { t.flags.insert(.linked) }
                    batch.append(t)
                }
                continue
            }
            if rng.chance(shape.twoPhase) {
                batch.append(twoPhaseEvent())
            } else {
                batch.append(plain())
            }
        }
        batchNumber += 1
        if outstandingHead > 4096 && outstandingHead * 2 > outstanding.count {
            outstanding.removeFirst(outstandingHead)
            outstandingHead = 0
        }
        return batch
    }

    private mutating func nextId() -> UInt128 {
        defer { sequence += 1 }
        return shape.identity.transferId(worker: worker, sequence: sequence)
    }

    private mutating func plain() -> Transfer {
        let (d, c) = shape.picker.pickPair(&rng)
        return Transfer(
            id: nextId(), debitAccountId: shape.identity.accountId(d), creditAccountId: shape.identity.accountId(c),
            amount: UInt128(1 + UInt64(rng.below(Int(shape.maxAmount)))),
            ledger: shape.identity.ledger, code: shape.code)
    }

    private mutating func twoPhaseEvent() -> Transfer {
        if outstandingHead < outstanding.count, outstanding[outstandingHead].batch < batchNumber {
            let pending = outstanding[outstandingHead].transfer
            outstandingHead += 1
            let void = rng.below(10) == 0
            return Transfer(
                id: nextId(), debitAccountId: pending.debitAccountId, creditAccountId: pending.creditAccountId,
                amount: pending.amount, pendingId: pending.id, ledger: pending.ledger, code: pending.code,
                flags: void ? .voidPendingTransfer : .postPendingTransfer)
        }
        var t = plain()
        t.flags = .pending
        outstanding.append((t, batchNumber))
        return t
    }
}
