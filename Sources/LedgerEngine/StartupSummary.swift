#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
package import LedgerStorage

/// What opening a data directory found and did, for the server's recovery log lines:
/// the absolute directory, the snapshot used (and any skipped), the LSN range replayed,
/// the records replayed, a cut tail, removed temporaries and the time taken.
package struct StartupSummary: Sendable {
    /// The data directory, absolute.
    package let directory: String
    /// The directory check's verdict (cut, fallback, temporaries, overridden refusals).
    package let verdict: DirectoryCheck.Verdict
    /// The LSN the snapshot covered (0: none) and the range replayed after it.
    package let snapshotLSN: UInt64
    package let replayedFrom: UInt64
    package let replayedThrough: UInt64
    /// Records and events replayed from the log.
    package let replayedRecords: Int
    package let replayedEvents: Int
    /// Seconds from the start of the open to a ledger ready to serve.
    package let seconds: Double
    /// The start-up capacity reserved for `expected_transfers` (nil: none asked).
    package var capacity: StartupCapacity? = nil

    /// `path` made absolute against the working directory (no symlinks resolved away
    /// when the directory does not exist yet).
    package static func absolute(_ path: String) -> String {
        if let resolved = realpath(path, nil) {
            defer { free(resolved) }
            return String(cString: resolved)
        }
        if path.hasPrefix("/") { return path }
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX))
        guard getcwd(&buffer, buffer.count) != nil else { return path }
        let cwd = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return cwd + "/" + path
    }
}

/// Seconds on the monotonic clock (for timing the open).
func monotonicNow() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}
