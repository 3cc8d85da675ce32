import LedgerCore
import LedgerWorkload

/// Batches for the benchmarks: `accounts` accounts on ledger 1 (one in 100 with history),
/// then single-phase transfers between random accounts, one in ten pending (no timeout).
struct BenchWorkload {
    let accounts: Int
    let batch: Int

    static func timestamp(batch index: Int) -> UInt64 { 1_000_000_000_000 + UInt64(index) * 10_000_000 }

    /// Account batches, in order.
    func accountBatches() -> [[Account]] {
        stride(from: 0, to: accounts, by: batch).map { start in
            (start..<min(start + batch, accounts)).map { i in
                Account(id: UInt128(i + 1), ledger: 1, code: 1, flags: i % 100 == 99 ? .history : [])
            }
        }
    }

    /// The transfer batch number `index` (0-based), `count` events.
    func transferBatch(_ index: Int, count: Int) -> [Transfer] {
        var random = SplitMix64(seed: UInt64(index) &* 0x9E37_79B9_7F4A_7C15 &+ 0x1234_5678)
        let n = UInt64(accounts)
        return (0..<count).map { k in
            let z = random.next()
            let dr = z % n
            var cr = (z >> 32) % n
            if cr == dr { cr = (cr + 1) % n }
            return Transfer(id: UInt128(index) << 32 | UInt128(k + 1), debitAccountId: UInt128(dr + 1),
                            creditAccountId: UInt128(cr + 1), amount: UInt128(1 + z % 1000), ledger: 1, code: 1,
                            flags: z >> 60 == 0 ? .pending : [])
        }
    }
}

/// Median of a few measurements.
func median(_ xs: [Double]) -> Double {
    let s = xs.sorted()
    guard !s.isEmpty else { return 0 }
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

/// Seconds as milliseconds with two decimals.
func ms(_ seconds: Double) -> String { String((seconds * 100_000).rounded() / 100) }
