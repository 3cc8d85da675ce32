/// The live progress line: rate, transfers, worst p99 and errors of the last interval.
package enum ProgressLine {
    package static func text(_ p: TickPoint, scenario: String) -> String {
        var requests = 0
        var errors = 0
        var worst: (String, UInt64)?
        for (i, f) in p.figures.enumerated() {
            guard let f, Metric.at(i).isOperation else { continue }
            requests += f.count
            errors += f.errors
            if worst == nil || f.p99 > (worst?.1 ?? 0) { worst = (Metric.at(i).name, f.p99) }
        }
        let secs = max(p.seconds, 0.001)
        var line = "\(Format.left(Format.fixed(p.t, 0), 4))s \(scenario) "
        if let rate = p.targetRate {
            line += "rate \(Threshold.format(rate, .rate)) in flight \(p.workers)"
        } else {
            line += "workers \(p.workers)"
        }
        line += "  requests \(Format.rate(Double(requests) / secs))/s"
        line += "  transfers \(Format.rate(Double(p.transfers) / secs))/s"
        if let worst { line += "  p99 \(Format.micros(worst.1)) (\(worst.0))" }
        line += "  errors \(errors)"
        if let rss = p.serverRSSBytes { line += "  server rss \(Format.bytes(rss))" }
        return line
    }
}
