/// The ids and ledger number of one run, derived from its seed, so that runs against a
/// shared server never collide (a different seed gives different ids and a different
/// ledger) and a run can be repeated exactly on a fresh server.
///
/// Ids: the high 64 bits are the run tag; the low 64 bits say what the id is
/// (bit 63: pool account, bit 62: account registered during the run, bit 61: the bank's
/// funding account, otherwise a transfer) and, for generated ones, which worker made it.
package struct RunIdentity: Sendable, Equatable {
    /// High 64 bits of every id of the run (never 0).
    package let tag: UInt64
    /// The ledger every account and transfer of the run uses (never 0).
    package let ledger: UInt32

    package init(seed: UInt64) {
        var rng = BenchRandom(seed: seed, stream: 0x4B41_4D49_4E4F)
        tag = rng.next() | 1
        ledger = UInt32(truncatingIfNeeded: rng.next() % 4_000_000_000) + 1_000
    }

    /// The id of pool account `index`.
    @inline(__always)
    package func accountId(_ index: Int) -> UInt128 {
        UInt128(tag) << 64 | UInt128(1) << 63 | UInt128(UInt64(index) + 1)
    }

    /// The bank mix's funding account (the bank's own money: no balance limit).
    package var fundingAccountId: UInt128 {
        UInt128(tag) << 64 | UInt128(1) << 61
    }

    /// The id of the `sequence`-th account registered by `worker` during the run.
    package func registeredAccountId(worker: Int, sequence: UInt64) -> UInt128 {
        UInt128(tag) << 64 | UInt128(1) << 62 | UInt128(UInt64(worker)) << 40 | UInt128(sequence + 1)
    }

    /// The id of the `sequence`-th transfer made by `worker` (worker < 2^20, sequence < 2^40).
    @inline(__always)
    package func transferId(worker: Int, sequence: UInt64) -> UInt128 {
        UInt128(tag) << 64 | UInt128(UInt64(worker) & 0xF_FFFF) << 40 | UInt128(sequence + 1)
    }

    /// The id of the `index`-th set-up transfer (bank funding), worker 0xFFFFF.
    package func setupTransferId(_ index: Int) -> UInt128 {
        transferId(worker: 0xF_FFFF, sequence: UInt64(index))
    }
}
