import Glibc

/// How the bench picks accounts: every account alike, or a few hot ones (Zipf).
package enum AccountDistribution: Sendable, Equatable {
    /// Every account equally likely.
    case uniform
    /// Zipf with exponent `theta` (0 < theta < 1; 0.99 is YCSB's default): account 0 is
    /// the hottest, then account 1, and so on.
    case zipf(theta: Double)

    /// `uniform`, `zipf` (theta 0.99), `zipf:THETA` or `hot` (= zipf 0.99).
    package init?(parsing text: String) {
        let lower = text.lowercased()
        if lower == "uniform" { self = .uniform; return }
        if lower == "zipf" || lower == "hot" { self = .zipf(theta: 0.99); return }
        if lower.hasPrefix("zipf:"), let theta = Double(lower.dropFirst(5)), theta > 0, theta < 1 {
            self = .zipf(theta: theta)
            return
        }
        return nil
    }

    /// The name used in reports.
    package var name: String {
        switch self {
        case .uniform: return "uniform"
        case .zipf(let theta): return "zipf:\(theta)"
        }
    }
}

/// Picks account indexes in `0..<count` by a distribution. Immutable once built, so
/// one picker is shared by every worker (each brings its own random stream).
package struct AccountPicker: Sendable {
    package let count: Int
    private let zipf: ZipfSampler?

    package init(count: Int, distribution: AccountDistribution) {
        self.count = max(1, count)
        switch distribution {
        case .uniform: zipf = nil
        case .zipf(let theta): zipf = ZipfSampler(count: self.count, theta: theta)
        }
    }

    /// One account index.
    @inline(__always)
    package func pick(_ rng: inout BenchRandom) -> Int {
        if let zipf { return zipf.sample(rng.unit()) }
        return rng.below(count)
    }

    /// Two distinct account indexes (debit, credit); needs at least 2 accounts.
    @inline(__always)
    package func pickPair(_ rng: inout BenchRandom) -> (Int, Int) {
        let a = pick(&rng)
        guard count > 1 else { return (a, a) }
        var b = pick(&rng)
        var tries = 0
        while b == a {
            tries += 1
            // A very hot account 0 could loop for long under Zipf: fall back to uniform.
            b = tries < 8 ? pick(&rng) : rng.below(count)
        }
        return (a, b)
    }
}

/// Zipf sampling in O(1) per draw after an O(n) set-up (Gray et al., "Quickly generating
/// billion-record synthetic databases", as in YCSB's ZipfianGenerator).
package struct ZipfSampler: Sendable {
    private let count: Int
    private let theta: Double
    private let zetaN: Double
    private let alpha: Double
    private let eta: Double
    private let half: Double

    package init(count: Int, theta: Double) {
        self.count = max(1, count)
        self.theta = theta
        var zeta = 0.0
        for i in 1...self.count { zeta += 1 / pow(Double(i), theta) }
        zetaN = zeta
        let zeta2 = 1 + 1 / pow(2, theta)
        alpha = 1 / (1 - theta)
        eta = (1 - pow(2 / Double(self.count), 1 - theta)) / (1 - zeta2 / zeta)
        half = pow(0.5, theta)
    }

    /// The index for a uniform draw `u` in [0, 1).
    @inline(__always)
    package func sample(_ u: Double) -> Int {
        let uz = u * zetaN
        if uz < 1 { return 0 }
        if uz < 1 + half { return min(1, count - 1) }
        let v = Int(Double(count) * pow(eta * u - eta + 1, alpha))
        return min(max(v, 0), count - 1)
    }

    /// The probability of index `i` (for tests).
    package func probability(of i: Int) -> Double {
        1 / pow(Double(i + 1), theta) / zetaN
    }
}
