/// Number and latency formatting for the table and the progress line.
package enum Format {
    /// `1234567` → `1,234,567`.
    package static func grouped(_ value: Int) -> String {
        let digits = String(value.magnitude)
        var out = ""
        for (i, ch) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
            out.append(ch)
        }
        return value < 0 ? "-" + out : out
    }

    /// A rate rounded to an integer, grouped: `1,023,456`.
    package static func rate(_ value: Double) -> String {
        grouped(Int(value.rounded()))
    }

    /// A latency in microseconds: `850 µs`, `12.3 ms`, `1.25 s`.
    package static func micros(_ us: UInt64) -> String {
        if us < 1000 { return "\(us) µs" }
        if us < 10_000 { return fixed(Double(us) / 1000, 2) + " ms" }
        if us < 1_000_000 { return fixed(Double(us) / 1000, 1) + " ms" }
        return fixed(Double(us) / 1_000_000, 2) + " s"
    }

    /// `value` with exactly `decimals` decimals (no Foundation).
    package static func fixed(_ value: Double, _ decimals: Int) -> String {
        guard value.isFinite else { return "\(value)" }
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let scaled = (abs(value) * scale).rounded()
        let whole = Int(scaled / scale)
        var frac = String(Int(scaled - Double(whole) * scale))
        while frac.count < decimals { frac = "0" + frac }
        let sign = value < 0 && scaled > 0 ? "-" : ""
        return decimals == 0 ? sign + "\(whole)" : sign + "\(whole).\(frac)"
    }

    /// Pads on the left to `width`.
    package static func left(_ s: String, _ width: Int) -> String {
        s.count >= width ? s : String(repeating: " ", count: width - s.count) + s
    }

    /// Pads on the right to `width`.
    package static func right(_ s: String, _ width: Int) -> String {
        s.count >= width ? s : s + String(repeating: " ", count: width - s.count)
    }

    /// Bytes as `1.23 GiB` / `456.7 MiB`.
    package static func bytes(_ n: Int) -> String {
        if n >= 1 << 30 { return fixed(Double(n) / Double(1 << 30), 2) + " GiB" }
        return fixed(Double(n) / Double(1 << 20), 1) + " MiB"
    }
}
