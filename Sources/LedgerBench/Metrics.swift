/// The protocol operations the bench sends, named as in docs/protocol.md.
package enum BenchOperation: Int, Sendable, CaseIterable {
    case createAccounts, createTransfers, lookupAccounts, lookupTransfers, getAccountTransfers

    /// The operation's protocol name, e.g. `create_transfers`.
    package var name: String {
        switch self {
        case .createAccounts: return "create_accounts"
        case .createTransfers: return "create_transfers"
        case .lookupAccounts: return "lookup_accounts"
        case .lookupTransfers: return "lookup_transfers"
        case .getAccountTransfers: return "get_account_transfers"
        }
    }
}

/// What a recorder slot measures: one protocol operation (one request each) or one bank
/// action (one or more requests).
package enum Metric: Sendable, Hashable {
    case operation(BenchOperation)
    case action(BankAction)

    /// Slots in a recorder.
    package static let count = BenchOperation.allCases.count + BankAction.allCases.count

    /// The slot index.
    @inline(__always)
    package var index: Int {
        switch self {
        case .operation(let op): return op.rawValue
        case .action(let a): return BenchOperation.allCases.count + a.rawValue
        }
    }

    /// The metric of a slot index.
    package static func at(_ index: Int) -> Metric {
        let n = BenchOperation.allCases.count
        if index < n, let op = BenchOperation(rawValue: index) { return .operation(op) }
        return .action(BankAction(rawValue: index - n) ?? .balance)
    }

    /// Name in reports.
    package var name: String {
        switch self {
        case .operation(let op): return op.name
        case .action(let a): return a.name
        }
    }

    /// True for protocol operations (one request per sample).
    package var isOperation: Bool {
        if case .operation = self { return true }
        return false
    }
}

/// The figures of one metric over one progress interval (about a second).
package struct IntervalFigures: Sendable, Equatable {
    package var count: Int
    package var errors: Int
    package var p50: UInt64
    package var p90: UInt64
    package var p99: UInt64
    package var max: UInt64
}

/// One point of the time series: what happened in the interval ending at `t`.
package struct TickPoint: Sendable {
    /// Seconds since the measured phase began (end of the interval).
    package var t: Double
    /// Length of the interval in seconds.
    package var seconds: Double
    /// The target concurrency at the end of the interval (closed model), or the requests
    /// in flight then (open model).
    package var workers: Int
    /// Transfers created in the interval.
    package var transfers: Int
    /// Figures per metric slot (`Metric.index`); nil where nothing was recorded.
    package var figures: [IntervalFigures?]
    /// Resident memory of the server the bench started, if known.
    package var serverRSSBytes: Int?
    /// Open model: the intended rate (requests per second) at the end of the interval.
    package var targetRate: Double?

    package init(t: Double, seconds: Double, workers: Int, transfers: Int, figures: [IntervalFigures?], serverRSSBytes: Int?) {
        self.t = t
        self.seconds = seconds
        self.workers = workers
        self.transfers = transfers
        self.figures = figures
        self.serverRSSBytes = serverRSSBytes
    }
}
