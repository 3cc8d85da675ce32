import KaminoTestSupport
import LedgerClient
import LedgerCore
import LedgerWorkload

/// The accounts of the replication tests, on ledger 1: a bank without limits, customers
/// (every other one with `debits_must_not_exceed_credits`), and a linked pair of accounts.
enum ClusterBook {
    static let ledger: UInt32 = 1
    static let bank: UInt128 = 1_000
    static let customers = 12
    static let funding: UInt128 = 5_000

    static func customer(_ i: Int) -> UInt128 { 1_010 + UInt128(i) }

    static var accounts: [Account] {
        [Account(id: bank, ledger: ledger, code: 1)]
            + (0..<customers).map { i in
                Account(id: customer(i), ledger: ledger, code: 2, flags: i % 2 == 0 ? .debitsMustNotExceedCredits : [])
            }
            // A linked chain of two accounts.
            + [
                Account(id: 1_900, ledger: ledger, code: 3, flags: .linked),
                Account(id: 1_901, ledger: ledger, code: 3),
            ]
    }

    /// Bank to every customer (ids 1...customers).
    static var fundingTransfers: [Transfer] {
        (0..<customers).map { i in
            Transfer(id: UInt128(i + 1), debitAccountId: bank, creditAccountId: customer(i), amount: funding,
                     ledger: ledger, code: 1)
        }
    }

    /// Creates the accounts and funds them; records both in `acks`.
    static func setUp(_ client: KaminoClient, acks: AckLog, node: String) async throws {
        let accounts = self.accounts
        acks.recordAccounts(accounts, results: try await client.createAccounts(accounts))
        let funding = fundingTransfers
        acks.recordTransfers(funding, results: try await client.createTransfers(funding), node: node)
    }
}

/// A small deterministic random source (SplitMix64).
struct LoadRandom {
    var state: UInt64

    mutating func next() -> UInt64 {
        var generator = SplitMix64(seed: state)
        defer { state = generator.state }
        return generator.next()
    }

    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
}

/// A mixed load through `KaminoClient`: batches of plain transfers between customers,
/// pending transfers then posted or voided, and linked chains of three. Every
/// acknowledged transfer goes to the `AckLog`. Ids are `idBase + n`, so loads with
/// different bases never collide.
struct MixedLoad {
    let client: KaminoClient
    let acks: AckLog
    let node: String
    var random: LoadRandom
    var nextId: UInt128
    /// Client errors seen (for example while a follower restarts: none expected on the primary).
    var errors: [String] = []

    init(client: KaminoClient, acks: AckLog, node: String, idBase: UInt128, seed: UInt64) {
        self.client = client
        self.acks = acks
        self.node = node
        random = LoadRandom(state: seed)
        nextId = idBase
    }

    private mutating func freshId() -> UInt128 {
        nextId += 1
        return nextId
    }

    private mutating func plain() -> Transfer {
        let a = random.below(ClusterBook.customers)
        let b = (a + 1 + random.below(ClusterBook.customers - 1)) % ClusterBook.customers
        return Transfer(id: freshId(), debitAccountId: ClusterBook.customer(a), creditAccountId: ClusterBook.customer(b),
                        amount: UInt128(1 + random.below(20)), userData64: UInt64(random.below(1_000)),
                        ledger: ClusterBook.ledger, code: 7)
    }

    /// One round: a batch of plain transfers, two pending transfers, their post and void,
    /// and a linked chain. Returns the transfers acknowledged.
    @discardableResult
    mutating func round() async -> Int {
        var acked = 0
        let batch = (0..<(8 + random.below(24))).map { _ in plain() }
        acked += await send(batch)
        let customer = ClusterBook.customer(random.below(ClusterBook.customers))
        let toPost = Transfer(id: freshId(), debitAccountId: ClusterBook.bank, creditAccountId: customer, amount: 50,
                              ledger: ClusterBook.ledger, code: 8, flags: .pending)
        let toVoid = Transfer(id: freshId(), debitAccountId: ClusterBook.bank, creditAccountId: customer, amount: 30,
                              ledger: ClusterBook.ledger, code: 8, flags: .pending)
        acked += await send([toPost, toVoid])
        let post = Transfer(id: freshId(), debitAccountId: ClusterBook.bank, creditAccountId: customer, amount: 50,
                            pendingId: toPost.id, ledger: ClusterBook.ledger, code: 8, flags: .postPendingTransfer)
        let void = Transfer(id: freshId(), debitAccountId: ClusterBook.bank, creditAccountId: customer, amount: 30,
                            pendingId: toVoid.id, ledger: ClusterBook.ledger, code: 8, flags: .voidPendingTransfer)
        acked += await send([post, void])
        var chain = (0..<3).map { _ in plain() }
        chain[0].flags = .linked
        chain[1].flags = .linked
        acked += await send(chain)
        return acked
    }

    private mutating func send(_ transfers: [Transfer]) async -> Int {
        do {
            return acks.recordTransfers(transfers, results: try await client.createTransfers(transfers), node: node)
        } catch {
            errors.append("\(error)")
            return 0
        }
    }
}
