@testable import LedgerCore
import Testing

/// What the status suites drive: the serial `Ledger` or the `ShardedLedger`.
protocol LedgerUnderTest: AnyObject, LedgerReading {
    var lastTimestamp: UInt64 { get }
    func createAccounts(_ events: [Account], timestamp: UInt64) throws(LedgerError) -> [CreateAccountResult]
    func createTransfers(_ events: [Transfer], timestamp: UInt64) throws(LedgerError) -> [CreateTransferResult]
    func pulse(timestamp: UInt64) throws(LedgerError)
    func pendingStatus(ofTransfer id: UInt128) -> PendingStatus?
}

extension Ledger: LedgerUnderTest {}
extension ShardedLedger: LedgerUnderTest {}

/// The layouts every status and precedence suite runs against (`@Test(arguments:)`).
enum Layout: String, CaseIterable, Sendable, CustomTestStringConvertible {
    /// The serial reference `Ledger`.
    case serial
    /// Two shards, every batch in parallel rounds where the parallel rules allow.
    case shardedRounds
    /// Two shards, batches small enough to run serially over all shards.
    case shardedSerial

    /// The layout `TestLedger()` builds: set around a parameterised test's body.
    @TaskLocal static var current: Layout = .serial

    var testDescription: String { rawValue }

    func make() -> any LedgerUnderTest {
        switch self {
        case .serial:
            return Ledger()
        case .shardedRounds:
            let ledger = ShardedLedger(shardCount: 2)
            ledger.parallelThreshold = 1
            return ledger
        case .shardedSerial:
            return ShardedLedger(shardCount: 2)
        }
    }
}

/// Wraps a ledger (of the current `Layout`) with a test clock: each batch gets the batch
/// timestamp `next` (`clock + step`), so event `i` of an `n`-event batch has `next - n + i + 1`.
final class TestLedger {
    /// One millisecond between batches: far more than any test batch's event count.
    static let step: UInt64 = 1_000_000
    static let start: UInt64 = 1_000_000_000_000
    static let second: UInt64 = 1_000_000_000

    let ledger: any LedgerUnderTest
    /// Timestamp of the last batch applied (or the start time).
    private(set) var clock: UInt64

    init(start: UInt64 = TestLedger.start, layout: Layout = Layout.current) {
        ledger = layout.make()
        clock = start
    }

    /// The batch timestamp the next batch will use.
    var next: UInt64 { clock + Self.step }

    /// Moves the test clock forward without applying a batch.
    func advance(by nanoseconds: UInt64) { clock += nanoseconds }

    /// Moves the test clock so the next batch timestamp is exactly `timestamp`.
    func setNext(_ timestamp: UInt64) {
        precondition(timestamp > ledger.lastTimestamp && timestamp >= Self.step)
        clock = timestamp - Self.step
    }

    @discardableResult
    func createAccounts(_ accounts: [Account]) throws -> [CreateAccountResult] {
        let t = next
        let results = try ledger.createAccounts(accounts, timestamp: t)
        clock = t
        return results
    }

    @discardableResult
    func createTransfers(_ transfers: [Transfer]) throws -> [CreateTransferResult] {
        let t = next
        let results = try ledger.createTransfers(transfers, timestamp: t)
        clock = t
        return results
    }

    /// Creates accounts that must all succeed.
    func setupAccounts(_ accounts: [Account], sourceLocation: SourceLocation = #_sourceLocation) throws {
        let results = try createAccounts(accounts)
        #expect(results.map(\.status) == Array(repeating: .created, count: accounts.count),
                sourceLocation: sourceLocation)
    }

    /// Creates transfers that must all succeed.
    func setupTransfers(_ transfers: [Transfer], sourceLocation: SourceLocation = #_sourceLocation) throws {
        let results = try createTransfers(transfers)
        #expect(results.map(\.status) == Array(repeating: .created, count: transfers.count),
                sourceLocation: sourceLocation)
    }

    /// Statuses of one create_accounts batch.
    func accountStatuses(_ accounts: [Account]) throws -> [CreateAccountStatus] {
        try createAccounts(accounts).map(\.status)
    }

    /// Statuses of one create_transfers batch.
    func transferStatuses(_ transfers: [Transfer]) throws -> [CreateTransferStatus] {
        try createTransfers(transfers).map(\.status)
    }

    /// The status of a single-event create_accounts batch.
    func status(_ account: Account) throws -> CreateAccountStatus {
        try createAccounts([account])[0].status
    }

    /// The status of a single-event create_transfers batch.
    func status(_ transfer: Transfer) throws -> CreateTransferStatus {
        try createTransfers([transfer])[0].status
    }

    /// Applies a pulse at the next batch timestamp.
    func pulse() throws {
        let t = next
        try ledger.pulse(timestamp: t)
        clock = t
    }

    func account(_ id: UInt128) -> Account? { ledger.lookupAccounts([id]).first }
    func transfer(_ id: UInt128) -> Transfer? { ledger.lookupTransfers([id]).first }

    /// The four balances of an account (zeros if it does not exist).
    func balances(_ id: UInt128) -> Balances {
        guard let a = account(id) else { return Balances() }
        return Balances(a)
    }
}

/// An account's four balances, for compact equality checks.
struct Balances: Equatable, CustomStringConvertible {
    var debitsPending: UInt128 = 0
    var debitsPosted: UInt128 = 0
    var creditsPending: UInt128 = 0
    var creditsPosted: UInt128 = 0

    init(debitsPending: UInt128 = 0, debitsPosted: UInt128 = 0,
         creditsPending: UInt128 = 0, creditsPosted: UInt128 = 0) {
        self.debitsPending = debitsPending
        self.debitsPosted = debitsPosted
        self.creditsPending = creditsPending
        self.creditsPosted = creditsPosted
    }

    init(_ a: Account) {
        self.init(debitsPending: a.debitsPending, debitsPosted: a.debitsPosted,
                  creditsPending: a.creditsPending, creditsPosted: a.creditsPosted)
    }

    init(_ b: AccountBalance) {
        self.init(debitsPending: b.debitsPending, debitsPosted: b.debitsPosted,
                  creditsPending: b.creditsPending, creditsPosted: b.creditsPosted)
    }

    var description: String {
        "dp=\(debitsPending) dP=\(debitsPosted) cp=\(creditsPending) cP=\(creditsPosted)"
    }
}

/// An account on ledger 1 with code 1 unless told otherwise.
func acct(
    _ id: UInt128, ledger: UInt32 = 1, code: UInt16 = 1, flags: AccountFlags = [],
    userData128: UInt128 = 0, userData64: UInt64 = 0, userData32: UInt32 = 0,
    timestamp: UInt64 = 0
) -> Account {
    Account(id: id, userData128: userData128, userData64: userData64, userData32: userData32,
            ledger: ledger, code: code, flags: flags, timestamp: timestamp)
}

/// A transfer on ledger 1 with code 1 unless told otherwise.
func xfer(
    _ id: UInt128, _ debit: UInt128, _ credit: UInt128, _ amount: UInt128,
    flags: TransferFlags = [], pendingId: UInt128 = 0, timeout: UInt32 = 0,
    ledger: UInt32 = 1, code: UInt16 = 1,
    userData128: UInt128 = 0, userData64: UInt64 = 0, userData32: UInt32 = 0,
    timestamp: UInt64 = 0
) -> Transfer {
    Transfer(id: id, debitAccountId: debit, creditAccountId: credit, amount: amount,
             pendingId: pendingId, userData128: userData128, userData64: userData64,
             userData32: userData32, timeout: timeout, ledger: ledger, code: code,
             flags: flags, timestamp: timestamp)
}

/// A post (or void) of pending transfer `pendingId`: every optional field left zero.
func post(_ id: UInt128, _ pendingId: UInt128, _ amount: UInt128 = .max, flags: TransferFlags = []) -> Transfer {
    Transfer(id: id, amount: amount, pendingId: pendingId, flags: flags.union(.postPendingTransfer))
}

func void(_ id: UInt128, _ pendingId: UInt128, _ amount: UInt128 = 0, flags: TransferFlags = []) -> Transfer {
    Transfer(id: id, amount: amount, pendingId: pendingId, flags: flags.union(.voidPendingTransfer))
}

/// A named scenario that ends with the status of the event under test.
struct StatusScenario<Status: Sendable>: Sendable, CustomTestStringConvertible {
    let expected: Status
    let label: String
    let run: @Sendable () throws -> Status

    init(_ expected: Status, _ label: String = "", _ run: @escaping @Sendable () throws -> Status) {
        self.expected = expected
        self.label = label
        self.run = run
    }

    var testDescription: String { label.isEmpty ? "\(expected)" : "\(expected) (\(label))" }
}
