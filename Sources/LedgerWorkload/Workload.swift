public import LedgerCore

/// A deterministic stream of logged batches for crash tests and benchmarks: the batch at
/// each LSN (its operation, timestamp and events) is a pure function of the LSN and the
/// workload's parameters, so a checker can re-derive the exact state up to any LSN
/// without reading the log.
///
/// LSN 1 creates the accounts, LSN 2 funds the accounts that carry a balance limit, and
/// every later LSN is a mixed transfer batch (see `TransferMix`).
public struct Workload: Sendable {
    /// Ledgers used (1...ledgers); account 0 of each ledger is its operator, without limits.
    public let ledgers: Int
    /// Accounts per ledger, operator included.
    public let accountsPerLedger: Int
    /// Largest transfer batch (events) after the set-up LSNs.
    public let batchMax: Int

    public init(ledgers: Int = 2, accountsPerLedger: Int = 400, batchMax: Int = 120) {
        self.ledgers = max(1, ledgers)
        self.accountsPerLedger = max(2, accountsPerLedger)
        self.batchMax = min(max(1, batchMax), LedgerLimits.batchMax)
    }

    /// The first LSN whose batch is a transfer mix.
    public static let firstMixLSN: UInt64 = 3
    /// Nanoseconds between the timestamps of consecutive LSNs.
    public static let lsnSpacing: UInt64 = 10_000_000

    /// The batch timestamp of `lsn` (10 ms apart, so a 1 s timeout expires 100 LSNs later).
    public static func timestamp(lsn: UInt64) -> UInt64 { 1_000_000_000_000 + lsn &* lsnSpacing }

    /// The id of account `index` (0-based, 0 = operator) of ledger `ledger` (1-based).
    public func accountId(ledger: Int, index: Int) -> UInt128 { UInt128(ledger) * 1_000_000 + UInt128(index) + 1 }

    /// The flags of account `index`: a quarter each with a debit limit, history, a credit
    /// limit and none (the operator: none).
    public func accountFlags(index: Int) -> AccountFlags {
        guard index > 0 else { return [] }
        switch index % 4 {
        case 1: return .debitsMustNotExceedCredits
        case 2: return .history
        case 3: return .creditsMustNotExceedDebits
        default: return []
        }
    }

    /// Every account id, ledger by ledger.
    public var allAccountIds: [UInt128] {
        (1...ledgers).flatMap { l in (0..<accountsPerLedger).map { accountId(ledger: l, index: $0) } }
    }

    /// The batch logged at `lsn` (LSNs start at 1).
    public func batch(lsn: UInt64) -> WorkloadBatch {
        let timestamp = Self.timestamp(lsn: lsn)
        switch lsn {
        case 1:
            let accounts = (1...ledgers).flatMap { l in
                (0..<accountsPerLedger).map { i in
                    Account(id: accountId(ledger: l, index: i), userData64: UInt64(i), ledger: UInt32(l), code: 10,
                            flags: accountFlags(index: i))
                }
            }
            return WorkloadBatch(lsn: lsn, timestamp: timestamp, events: .accounts(accounts))
        case 2:
            return WorkloadBatch(lsn: lsn, timestamp: timestamp, events: .transfers(funding()))
        default:
            return WorkloadBatch(lsn: lsn, timestamp: timestamp, events: .transfers(TransferMix(workload: self).batch(lsn: lsn)))
        }
    }

    /// LSN 2: the operator credits each debit-limited account and is credited by each
    /// credit-limited one, so both kinds start with room to move.
    private func funding() -> [Transfer] {
        var out: [Transfer] = []
        for l in 1...ledgers {
            let op = accountId(ledger: l, index: 0)
            for i in 1..<accountsPerLedger {
                let id = UInt128(2) << 32 | UInt128(out.count + 1)
                let account = accountId(ledger: l, index: i)
                if accountFlags(index: i) == .debitsMustNotExceedCredits {
                    out.append(Transfer(id: id, debitAccountId: op, creditAccountId: account, amount: 5_000,
                                        ledger: UInt32(l), code: 1))
                } else if accountFlags(index: i) == .creditsMustNotExceedDebits {
                    out.append(Transfer(id: id, debitAccountId: account, creditAccountId: op, amount: 5_000,
                                        ledger: UInt32(l), code: 1))
                }
            }
        }
        return out
    }
}

/// One batch of the workload, ready to log and apply.
public struct WorkloadBatch: Sendable {
    /// The events of a batch.
    public enum Events: Sendable {
        case accounts([Account])
        case transfers([Transfer])
    }

    public let lsn: UInt64
    public let timestamp: UInt64
    public let events: Events

    public var operation: Operation {
        switch events {
        case .accounts: return .createAccounts
        case .transfers: return .createTransfers
        }
    }

    public var eventCount: Int {
        switch events {
        case .accounts(let a): return a.count
        case .transfers(let t): return t.count
        }
    }

    /// The body as the log stores it.
    public func encoded() -> [UInt8] {
        switch events {
        case .accounts(let a): return RecordCodec.encodeAccounts(a)
        case .transfers(let t): return RecordCodec.encodeTransfers(t)
        }
    }

    /// Applies the batch the way the live path does (not through the codec). Per-event
    /// failures are part of the workload; only a batch-level error throws.
    public func apply(to ledger: Ledger) throws(LedgerError) {
        switch events {
        case .accounts(let a): _ = try ledger.createAccounts(a, timestamp: timestamp)
        case .transfers(let t): _ = try ledger.createTransfers(t, timestamp: timestamp)
        }
    }
}
