/// Selects the transfers (or balances) of one account: `get_account_transfers` and
/// `get_account_balances`. 128 bytes on the wire. Zero fields do not filter.
public struct AccountFilter: Sendable, Hashable {
    public var accountId: UInt128
    public var userData128: UInt128
    public var userData64: UInt64
    public var userData32: UInt32
    public var code: UInt16
    /// True when the 58 reserved bytes on the wire were all zero.
    public var reservedIsZero: Bool
    /// Inclusive; 0 means no lower bound.
    public var timestampMin: UInt64
    /// Inclusive; 0 means no upper bound.
    public var timestampMax: UInt64
    public var limit: UInt32
    public var flags: AccountFilterFlags

    public init(
        accountId: UInt128, userData128: UInt128 = 0, userData64: UInt64 = 0,
        userData32: UInt32 = 0, code: UInt16 = 0, reservedIsZero: Bool = true,
        timestampMin: UInt64 = 0, timestampMax: UInt64 = 0, limit: UInt32,
        flags: AccountFilterFlags = [.debits, .credits]
    ) {
        self.accountId = accountId
        self.userData128 = userData128
        self.userData64 = userData64
        self.userData32 = userData32
        self.code = code
        self.reservedIsZero = reservedIsZero
        self.timestampMin = timestampMin
        self.timestampMax = timestampMax
        self.limit = limit
        self.flags = flags
    }
}

/// Flags of an `AccountFilter` (u32 on the wire).
public struct AccountFilterFlags: OptionSet, Sendable, Hashable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public static let debits = AccountFilterFlags(rawValue: 1 << 0)
    public static let credits = AccountFilterFlags(rawValue: 1 << 1)
    public static let reversed = AccountFilterFlags(rawValue: 1 << 2)
    public static let reservedMask: UInt32 = ~0b111
}

/// Selects accounts or transfers by their indexed fields, ANDed together:
/// `query_accounts` and `query_transfers`. 64 bytes on the wire. Zero fields do not filter.
public struct QueryFilter: Sendable, Hashable {
    public var userData128: UInt128
    public var userData64: UInt64
    public var userData32: UInt32
    public var ledger: UInt32
    public var code: UInt16
    /// True when the 6 reserved bytes on the wire were all zero.
    public var reservedIsZero: Bool
    public var timestampMin: UInt64
    public var timestampMax: UInt64
    public var limit: UInt32
    public var flags: QueryFilterFlags

    public init(
        userData128: UInt128 = 0, userData64: UInt64 = 0, userData32: UInt32 = 0,
        ledger: UInt32 = 0, code: UInt16 = 0, reservedIsZero: Bool = true,
        timestampMin: UInt64 = 0, timestampMax: UInt64 = 0, limit: UInt32,
        flags: QueryFilterFlags = []
    ) {
        self.userData128 = userData128
        self.userData64 = userData64
        self.userData32 = userData32
        self.ledger = ledger
        self.code = code
        self.reservedIsZero = reservedIsZero
        self.timestampMin = timestampMin
        self.timestampMax = timestampMax
        self.limit = limit
        self.flags = flags
    }
}

/// Flags of a `QueryFilter` (u32 on the wire).
public struct QueryFilterFlags: OptionSet, Sendable, Hashable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public static let reversed = QueryFilterFlags(rawValue: 1 << 0)
    public static let reservedMask: UInt32 = ~0b1
}
