/// Naming of log segment files: `log-<first LSN, 20 digits>.wal`.
package struct SegmentName: Sendable, Equatable, Comparable {
    /// LSN of the first record the segment holds (or will hold).
    package let firstLSN: UInt64

    package init(firstLSN: UInt64) { self.firstLSN = firstLSN }

    /// The file name, e.g. `log-00000000000000000001.wal`.
    package var fileName: String { "log-" + padded(firstLSN) + ".wal" }

    /// Parses a file name; nil for anything that is not a segment.
    package init?(fileName: String) {
        guard fileName.hasPrefix("log-"), fileName.hasSuffix(".wal") else { return nil }
        let digits = fileName.dropFirst(4).dropLast(4)
        guard digits.count == 20, digits.allSatisfy({ $0.isASCII && $0.isNumber }),
              let value = UInt64(digits), value > 0, value < UInt64.max / 2 else { return nil }
        self.firstLSN = value
    }

    package static func < (a: SegmentName, b: SegmentName) -> Bool { a.firstLSN < b.firstLSN }

    /// Segments in a directory, in LSN order.
    package static func list(in directory: String) throws(WALError) -> [SegmentName] {
        try FileIO.list(directory).compactMap { SegmentName(fileName: $0) }.sorted()
    }
}

/// Decimal zero-padded to 20 digits (the width of UInt64.max).
func padded(_ value: UInt64) -> String {
    let s = String(value)
    return String(repeating: "0", count: max(0, 20 - s.count)) + s
}
