/// A change to one account's balances made by one side of a transfer (or an expiry):
/// applied at once by the account's shard, or sent to it when another shard decided.
struct AccountLeg: BitwiseCopyable {
    enum Kind: UInt8 {
        /// A new transfer: `amount` added to the pending or posted balance.
        case create
        /// `pendingAmount` released from pending, `amount` added to posted.
        case post
        /// `pendingAmount` released from pending (void or expiry).
        case release
    }

    var account: UInt32
    var kind: Kind
    var isDebit: Bool
    var isPending: Bool
    /// `create`: close the account; `release`: reopen it.
    var toggleClosed: Bool
    var amount: UInt128
    var pendingAmount: UInt128
    /// The packed ref of the transfer to append to the account's list (`none`: no entry).
    var transfer: UInt32
    var timestamp: UInt64
    /// The event's index in its batch: legs from several shards apply in this order.
    var event: Int32

    static let none: UInt32 = .max
}

/// A directory insert decided by a home shard, done later by the partition's owner.
struct DirectoryInsert: BitwiseCopyable {
    var id: UInt128
    /// Packed transfer ref, or `ShardRouting.orphanBit` for a failed id.
    var ref: UInt32
}

/// One undoable change (for linked chains): what to put back, newest first.
enum ShardChange {
    case accountCreated(shard: Int)
    case accountUpdated(account: UInt32, previous: Account)
    case listAppended(account: UInt32, history: Bool)
    case transferCreated(shard: Int)
    case directoryInserted(partition: Int, id: UInt128)
    case pendingStatusChanged(transfer: UInt32, previous: UInt8)
}

/// The working state of one executor of a batch: the whole ledger in serial mode, or one
/// home shard in a parallel round. Holds the chain undo log and, in parallel mode, what
/// this shard sends to the others (foreign legs per target shard, directory inserts per
/// partition). The fields the hot path touches live behind raw pointers (no dynamic
/// exclusivity checks, no copy-on-write checks).
final class ShardExecution {
    /// True for a parallel-round executor: writes to other shards are sent, not done.
    let deferred: Bool
    /// The shard this executor runs for in a parallel round.
    let home: Int
    let shardCount: Int

    private struct State {
        var chainOpen = false
        var serialReason: SerialReason? = nil
    }

    private let state: UnsafeMutablePointer<State>
    var undo: [ShardChange] = []
    /// Expiries of pending transfers created in the open chain (home shard, entry).
    var chainExpiries: [(shard: Int, entry: ExpiryQueue.Entry)] = []
    /// Outbox lengths when the chain opened, to drop what a failed chain sent.
    private let legMarks: UnsafeMutablePointer<Int>
    private let insertMarks: UnsafeMutablePointer<Int>

    /// Foreign legs per target shard, in event order.
    let legs: UnsafeMutablePointer<GrowableBuffer<AccountLeg>>
    /// Directory inserts per partition, in event order.
    let inserts: UnsafeMutablePointer<GrowableBuffer<DirectoryInsert>>
    /// Scratch: indices of the events this shard handles in a round.
    let events: UnsafeMutablePointer<Int32>

    init(shardCount: Int, deferred: Bool, home: Int) {
        self.shardCount = shardCount
        self.deferred = deferred
        self.home = home
        state = .allocate(capacity: 1)
        state.initialize(to: State())
        legMarks = .allocate(capacity: shardCount)
        legMarks.initialize(repeating: 0, count: shardCount)
        insertMarks = .allocate(capacity: shardCount)
        insertMarks.initialize(repeating: 0, count: shardCount)
        legs = .allocate(capacity: shardCount)
        legs.initialize(repeating: GrowableBuffer(), count: shardCount)
        inserts = .allocate(capacity: shardCount)
        inserts.initialize(repeating: GrowableBuffer(), count: shardCount)
        events = .allocate(capacity: LedgerLimits.batchMax)
    }

    deinit {
        for k in 0..<shardCount {
            legs[k].deallocate()
            inserts[k].deallocate()
        }
        legs.deallocate()
        inserts.deallocate()
        legMarks.deallocate()
        insertMarks.deallocate()
        state.deallocate()
        events.deallocate()
    }

    var chainOpen: Bool {
        @inline(__always) get { state.pointee.chainOpen }
    }

    /// The first reason this executor found to run the batch serially (round one).
    var serialReason: SerialReason? {
        get { state.pointee.serialReason }
        set { state.pointee.serialReason = newValue }
    }

    func resetOutbox() {
        for k in 0..<shardCount {
            legs[k].truncate(to: 0)
            inserts[k].truncate(to: 0)
        }
        state.pointee.serialReason = nil
    }

    func openChain() {
        state.pointee.chainOpen = true
        undo.removeAll(keepingCapacity: true)
        chainExpiries.removeAll(keepingCapacity: true)
        for k in 0..<shardCount {
            legMarks[k] = legs[k].count
            insertMarks[k] = inserts[k].count
        }
    }

    func closeChain() {
        state.pointee.chainOpen = false
        undo.removeAll(keepingCapacity: true)
        chainExpiries.removeAll(keepingCapacity: true)
    }

    /// Drops the legs and inserts sent since the chain opened.
    func truncateOutbox() {
        for k in 0..<shardCount {
            legs[k].truncate(to: legMarks[k])
            inserts[k].truncate(to: insertMarks[k])
        }
    }

    @inline(__always)
    func record(_ change: @autoclosure () -> ShardChange) {
        if state.pointee.chainOpen { undo.append(change()) }
    }
}

/// Why a batch ran serially instead of in parallel rounds.
package enum SerialReason: Int, CaseIterable, Sendable {
    /// Fewer events than make parallel rounds worthwhile.
    case smallBatch
    /// `create_accounts` batches always run serially.
    case createAccounts
    /// Imported events need the global order of timestamps.
    case imported
    /// A transfer closes an account.
    case closing
    /// A balancing transfer in a batch with cross-shard transfers.
    case balancing
    /// Two events of the batch share an id.
    case duplicateId
    /// A cross-shard transfer touches an account whose result depends on order
    /// (balance limits, history, closed).
    case orderedAccount
    /// A cross-shard void reopens a closed account.
    case reopening
    /// A linked chain spans shards.
    case crossShardChain
    /// The batch's amounts could overflow a balance.
    case overflowBound

    package var label: String {
        switch self {
        case .smallBatch: "small_batch"
        case .createAccounts: "create_accounts"
        case .imported: "imported"
        case .closing: "closing"
        case .balancing: "balancing"
        case .duplicateId: "duplicate_id"
        case .orderedAccount: "ordered_account"
        case .reopening: "reopening"
        case .crossShardChain: "cross_shard_chain"
        case .overflowBound: "overflow_bound"
        }
    }
}

/// How a sharded ledger ran its batches.
package struct ShardingStats: Sendable, Equatable {
    /// Batches run in parallel rounds.
    package var parallelBatches = 0
    /// Batches run serially, by reason.
    package var serialBatches: [Int] = Array(repeating: 0, count: SerialReason.allCases.count)
    /// Events in parallel batches, and those whose accounts are on two shards.
    package var parallelEvents = 0
    package var crossShardEvents = 0

    package var serialTotal: Int { serialBatches.reduce(0, +) }

    /// Create-transfer batches that fell back to serial for a semantic reason (not
    /// size, not create_accounts).
    package var fallbackBatches: Int {
        serialTotal - serialBatches[SerialReason.smallBatch.rawValue]
            - serialBatches[SerialReason.createAccounts.rawValue]
    }
}
