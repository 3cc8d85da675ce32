/// A small deterministic random generator (SplitMix64): the whole workload is a pure
/// function of `--seed`, so a run can be replayed exactly.
package struct BenchRandom: Sendable {
    private var state: UInt64

    package init(seed: UInt64) {
        state = seed
    }

    /// A generator for one stream (one worker) derived from a run seed.
    package init(seed: UInt64, stream: UInt64) {
        var mixer = BenchRandom(seed: seed ^ (stream &* 0xD1B5_4A32_D192_ED03))
        state = mixer.next() ^ stream
    }

    /// The next 64 random bits.
    @inline(__always)
    package mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

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
