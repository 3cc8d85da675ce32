/// A transfer between two accounts of one ledger: 128 bytes, fields in the reference order.
///
/// Transfers are immutable once created; the ledger stores them append-only.
public struct Transfer: Sendable, Hashable, BitwiseCopyable {
    public var id: UInt128
    public var debitAccountId: UInt128
    public var creditAccountId: UInt128
    public var amount: UInt128
    /// For post/void transfers: the id of the pending transfer they resolve.
    public var pendingId: UInt128
    public var userData128: UInt128
    public var userData64: UInt64
    public var userData32: UInt32
    /// Seconds after which a pending transfer expires (0: never). Pending transfers only.
    public var timeout: UInt32
    public var ledger: UInt32
    public var code: UInt16
    public var flags: TransferFlags
    /// Assigned by the ledger (or by the client when `flags.imported` is set).
    public var timestamp: UInt64

    public init(
        id: UInt128,
        debitAccountId: UInt128 = 0,
        creditAccountId: UInt128 = 0,
        amount: UInt128 = 0,
        pendingId: UInt128 = 0,
        userData128: UInt128 = 0,
        userData64: UInt64 = 0,
        userData32: UInt32 = 0,
        timeout: UInt32 = 0,
        ledger: UInt32 = 0,
        code: UInt16 = 0,
        flags: TransferFlags = [],
        timestamp: UInt64 = 0
    ) {
        self.id = id
        self.debitAccountId = debitAccountId
        self.creditAccountId = creditAccountId
        self.amount = amount
        self.pendingId = pendingId
        self.userData128 = userData128
        self.userData64 = userData64
        self.userData32 = userData32
        self.timeout = timeout
        self.ledger = ledger
        self.code = code
        self.flags = flags
        self.timestamp = timestamp
    }

    /// The timeout in nanoseconds (cannot overflow: 2^32 s * 10^9 < 2^63).
    @inline(__always)
    var timeoutNanoseconds: UInt64 { UInt64(timeout) &* 1_000_000_000 }
}

/// Transfer flags, bit-compatible with the reference (u16).
public struct TransferFlags: OptionSet, Sendable, Hashable, BitwiseCopyable {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let linked = TransferFlags(rawValue: 1 << 0)
    public static let pending = TransferFlags(rawValue: 1 << 1)
    public static let postPendingTransfer = TransferFlags(rawValue: 1 << 2)
    public static let voidPendingTransfer = TransferFlags(rawValue: 1 << 3)
    public static let balancingDebit = TransferFlags(rawValue: 1 << 4)
    public static let balancingCredit = TransferFlags(rawValue: 1 << 5)
    public static let closingDebit = TransferFlags(rawValue: 1 << 6)
    public static let closingCredit = TransferFlags(rawValue: 1 << 7)
    public static let imported = TransferFlags(rawValue: 1 << 8)

    /// Bits that must be zero.
    public static let reservedMask: UInt16 = 0xFE00
}

/// The state of a pending (two-phase) transfer.
public enum PendingStatus: UInt8, Sendable {
    /// Not a pending transfer.
    case none = 0
    case pending = 1
    case posted = 2
    case voided = 3
    case expired = 4
}
