import LedgerWorkload

/// The benchmark's deterministic random numbers: the whole workload is a pure function of
/// `--seed`, so a run can be replayed exactly. The bits come from the package's one
/// SplitMix64 (`LedgerWorkload`); this adds per-worker streams and the draws a workload needs.
package struct BenchRandom: Sendable {
    private var generator: SplitMix64

    package init(seed: UInt64) {
        generator = SplitMix64(seed: seed)
    }

    /// A generator for one stream (one worker) derived from a run seed.
    package init(seed: UInt64, stream: UInt64) {
        var mixer = SplitMix64(seed: seed ^ (stream &* 0xD1B5_4A32_D192_ED03))
        generator = SplitMix64(seed: mixer.next() ^ stream)
    }

    /// The next 64 random bits.
    @inline(__always)
    package mutating func next() -> UInt64 { generator.next() }

    /// Uniform in `0..<bound` (bound > 0), by multiply-high (bias below 2^-32 for the
    /// bounds used here).
    @inline(__always)
    package mutating func below(_ bound: Int) -> Int {
        Int(next().multipliedFullWidth(by: UInt64(bound)).high)
    }

    /// Uniform in [0, 1).
    @inline(__always)
    package mutating func unit() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    /// True with probability `p`.
    @inline(__always)
    package mutating func chance(_ p: Double) -> Bool {
        p > 0 && unit() < p
    }
}
