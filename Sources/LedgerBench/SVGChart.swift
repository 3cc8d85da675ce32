import Glibc

/// A line chart drawn as inline SVG (no script, no external resources): the HTML report
/// stays viewable offline and its data is in the markup.
package struct SVGChart {
    /// One line.
    package struct Series {
        package var name: String
        package var points: [(x: Double, y: Double)]
        package var dashed = false

        package init(name: String, points: [(x: Double, y: Double)], dashed: Bool = false) {
            self.name = name
            self.points = points
            self.dashed = dashed
        }
    }

    package var title: String
    package var xLabel: String
    package var yLabel: String
    package var series: [Series]
    /// Logarithmic y axis (values ≤ 0 are drawn at the bottom).
    package var logY = false
    /// Custom x ticks (value, label); nil: evenly spaced numbers.
    package var xTicks: [(Double, String)]?
    /// Formats y tick labels.
    package var yFormat: (Double) -> String = { SVGChart.short($0) }
    package var width = 1200.0
    package var height = 340.0

    package init(title: String, xLabel: String, yLabel: String, series: [Series]) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.series = series
    }

    static let palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22"]

    /// The `<svg>` element.
    package func render() -> String {
        let left = 80.0, right = 190.0, top = 34.0, bottom = 46.0
        let pw = width - left - right, ph = height - top - bottom
        let all = series.flatMap(\.points)
        var out = "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" width=\"\(Int(width))\" height=\"\(Int(height))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\">\n"
        out += "<text x=\"\(left)\" y=\"20\" class=\"title\">\(escape(title))</text>\n"
        guard !all.isEmpty else {
            return out + "<text x=\"\(left + 20)\" y=\"\(top + 40)\">no data</text>\n</svg>\n"
        }
        var xMin = all.map(\.x).min() ?? 0, xMax = all.map(\.x).max() ?? 1
        if let xTicks, let lo = xTicks.first?.0, let hi = xTicks.last?.0 { xMin = min(xMin, lo); xMax = max(xMax, hi) }
        if xMax <= xMin { xMax = xMin + 1 }
        let ys = all.map(\.y)
        var yMin: Double, yMax: Double
        var yTicks: [Double]
        if logY {
            let positive = ys.filter { $0 > 0 }
            let lo = positive.min() ?? 1, hi = positive.max() ?? 10
            yMin = pow(10, floor(log10(lo)))
            yMax = pow(10, ceil(log10(hi)))
            if yMax <= yMin { yMax = yMin * 10 }
            yTicks = []
            var d = yMin
            while d <= yMax * 1.0001 {
                for m in [1.0, 2.0, 5.0] where d * m <= yMax * 1.0001 { yTicks.append(d * m) }
                d *= 10
            }
        } else {
            yMin = 0
            let hi = ys.max() ?? 1
            let step = Self.niceStep(hi > 0 ? hi / 5 : 1)
            yMax = max(step, ceil(hi / step) * step)
            yTicks = stride(from: 0.0, through: yMax + step / 2, by: step).map { $0 }
        }
        func px(_ x: Double) -> Double { left + (x - xMin) / (xMax - xMin) * pw }
        func py(_ y: Double) -> Double {
            if logY {
                let v = y > 0 ? log10(y) : log10(yMin)
                return top + ph - (v - log10(yMin)) / (log10(yMax) - log10(yMin)) * ph
            }
            return top + ph - (y - yMin) / (yMax - yMin) * ph
        }
        out += "<rect x=\"\(left)\" y=\"\(top)\" width=\"\(pw)\" height=\"\(ph)\" class=\"plot\"/>\n"
        for t in yTicks {
            let y = Self.r(py(t))
            let yText = Self.r(py(t) + 4)
            out += "<line x1=\"\(left)\" y1=\"\(y)\" x2=\"\(left + pw)\" y2=\"\(y)\" class=\"grid\"/>"
            out += "<text x=\"\(left - 6)\" y=\"\(yText)\" class=\"ytick\">\(escape(yFormat(t)))</text>\n"
        }
        let xt = xTicks ?? {
            let step = Self.niceStep((xMax - xMin) / 8)
            return stride(from: ceil(xMin / step) * step, through: xMax, by: step).map { ($0, Self.short($0)) }
        }()
        for (v, label) in xt {
            let x = Self.r(px(v))
            out += "<line x1=\"\(x)\" y1=\"\(top)\" x2=\"\(x)\" y2=\"\(top + ph)\" class=\"grid\"/>"
            out += "<text x=\"\(x)\" y=\"\(top + ph + 16)\" class=\"xtick\">\(escape(label))</text>\n"
        }
        out += "<text x=\"\(left + pw / 2)\" y=\"\(height - 8)\" class=\"xlabel\">\(escape(xLabel))</text>\n"
        out += "<text x=\"16\" y=\"\(top + ph / 2)\" class=\"ylabel\" transform=\"rotate(-90 16 \(top + ph / 2))\">\(escape(yLabel))</text>\n"
        for (i, s) in series.enumerated() where !s.points.isEmpty {
            let color = Self.palette[i % Self.palette.count]
            let pts = s.points.map { "\(Self.r(px($0.x))),\(Self.r(py($0.y)))" }.joined(separator: " ")
            let dash = s.dashed ? " stroke-dasharray=\"6 4\"" : ""
            out += "<polyline data-series=\"\(escape(s.name))\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\"\(dash) points=\"\(pts)\"/>\n"
            let ly = top + 14 + Double(i) * 18
            out += "<line x1=\"\(left + pw + 14)\" y1=\"\(ly - 4)\" x2=\"\(left + pw + 34)\" y2=\"\(ly - 4)\" stroke=\"\(color)\" stroke-width=\"3\"\(dash)/>"
            out += "<text x=\"\(left + pw + 40)\" y=\"\(ly)\" class=\"legend\">\(escape(s.name))</text>\n"
        }
        return out + "</svg>\n"
    }

    /// 1, 2 or 5 times a power of ten, at least `raw`.
    static func niceStep(_ raw: Double) -> Double {
        guard raw > 0, raw.isFinite else { return 1 }
        let p = pow(10, floor(log10(raw)))
        for m in [1.0, 2.0, 5.0, 10.0] where p * m >= raw { return p * m }
        return p * 10
    }

    /// `1.5k`, `2M`, `0.25`.
    package static func short(_ v: Double) -> String {
        let a = abs(v)
        if a >= 1e9 { return trim(Format.fixed(v / 1e9, 2)) + "G" }
        if a >= 1e6 { return trim(Format.fixed(v / 1e6, 2)) + "M" }
        if a >= 1e3 { return trim(Format.fixed(v / 1e3, 2)) + "k" }
        if a >= 1 || a == 0 { return trim(Format.fixed(v, 2)) }
        return trim(Format.fixed(v, 4))
    }

    private static func trim(_ s: String) -> String {
        guard s.contains(".") else { return s }
        var t = s
        while t.hasSuffix("0") { t.removeLast() }
        if t.hasSuffix(".") { t.removeLast() }
        return t
    }

    static func r(_ v: Double) -> String { Format.fixed(v, 1) }

    func escape(_ s: String) -> String { HTMLReport.escape(s) }
}
