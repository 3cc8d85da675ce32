/// A ledger account: 128 bytes, fields in the reference order, little-endian on the wire.
///
/// Accounts are immutable once created except for the four balance fields and the
/// `closed` flag (set and cleared by closing transfers).
public struct Account: Sendable, Hashable, BitwiseCopyable {
    public var id: UInt128
    public var debitsPending: UInt128
    public var debitsPosted: UInt128
    public var creditsPending: UInt128
    public var creditsPosted: UInt128
    public var userData128: UInt128
    public var userData64: UInt64
    public var userData32: UInt32
    /// Must be zero.
    public var reserved: UInt32
    public var ledger: UInt32
    public var code: UInt16
    public var flags: AccountFlags
    /// Assigned by the ledger (or by the client when `flags.imported` is set).
    public var timestamp: UInt64

    public init(
        id: UInt128,
        debitsPending: UInt128 = 0,
        debitsPosted: UInt128 = 0,
        creditsPending: UInt128 = 0,
        creditsPosted: UInt128 = 0,
        userData128: UInt128 = 0,
        userData64: UInt64 = 0,
        userData32: UInt32 = 0,
        reserved: UInt32 = 0,
        ledger: UInt32,
        code: UInt16,
        flags: AccountFlags = [],
        timestamp: UInt64 = 0
    ) {
        self.id = id
        self.debitsPending = debitsPending
        self.debitsPosted = debitsPosted
        self.creditsPending = creditsPending
        self.creditsPosted = creditsPosted
        self.userData128 = userData128
        self.userData64 = userData64
        self.userData32 = userData32
        self.reserved = reserved
        self.ledger = ledger
        self.code = code
        self.flags = flags
        self.timestamp = timestamp
    }

    /// True when `flags.debitsMustNotExceedCredits` is set and debiting `amount` more
    /// would take debits (pending + posted) above posted credits.
    @inline(__always)
    func debitsExceedCredits(_ amount: UInt128) -> Bool {
        guard flags.contains(.debitsMustNotExceedCredits) else { return false }
        let (pending, o1) = debitsPending.addingReportingOverflow(debitsPosted)
        let (total, o2) = pending.addingReportingOverflow(amount)
        return o1 || o2 || total > creditsPosted
    }

    /// True when `flags.creditsMustNotExceedDebits` is set and crediting `amount` more
    /// would take credits (pending + posted) above posted debits.
    @inline(__always)
    func creditsExceedDebits(_ amount: UInt128) -> Bool {
        guard flags.contains(.creditsMustNotExceedDebits) else { return false }
        let (pending, o1) = creditsPending.addingReportingOverflow(creditsPosted)
        let (total, o2) = pending.addingReportingOverflow(amount)
        return o1 || o2 || total > debitsPosted
    }
}

/// Account flags, bit-compatible with the reference (u16).
public struct AccountFlags: OptionSet, Sendable, Hashable, BitwiseCopyable {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let linked = AccountFlags(rawValue: 1 << 0)
    public static let debitsMustNotExceedCredits = AccountFlags(rawValue: 1 << 1)
    public static let creditsMustNotExceedDebits = AccountFlags(rawValue: 1 << 2)
    public static let history = AccountFlags(rawValue: 1 << 3)
    public static let imported = AccountFlags(rawValue: 1 << 4)
    public static let closed = AccountFlags(rawValue: 1 << 5)

    /// Bits that must be zero.
    public static let reservedMask: UInt16 = 0xFFC0
}
