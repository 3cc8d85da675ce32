/// The ledger operations. Raw values are the reference's operation codes.
public enum Operation: UInt8, Sendable, CaseIterable {
    /// Expires pending transfers whose timeout has passed; carries no events.
    case pulse = 128
    case lookupAccounts = 140
    case lookupTransfers = 141
    case getAccountTransfers = 142
    case getAccountBalances = 143
    case queryAccounts = 144
    case queryTransfers = 145
    case createAccounts = 146
    case createTransfers = 147
    /// Log records only, never on the wire: several client `create_accounts` requests in
    /// one record, each its own batch (`CoalescedRecordCodec`). Kept apart from the
    /// wire's admin codes (200-202) and the reference's.
    case coalescedCreateAccounts = 250
    /// Log records only, never on the wire: several client `create_transfers` requests.
    case coalescedCreateTransfers = 251

    /// True for operations that change state and therefore go through the log.
    public var isMutating: Bool {
        switch self {
        case .pulse, .createAccounts, .createTransfers, .coalescedCreateAccounts, .coalescedCreateTransfers: return true
        default: return false
        }
    }

    /// True for operations a client may call (the others exist in the log only).
    public var isClientCallable: Bool {
        switch self {
        case .pulse, .coalescedCreateAccounts, .coalescedCreateTransfers: return false
        default: return true
        }
    }
}

/// Limits shared by the state machine and the wire protocol.
public enum LedgerLimits {
    /// Most events in one batch, and most records in one reply.
    public static let batchMax = 8189
    /// Largest valid timestamp (the reference keeps the top bit of u64 reserved).
    public static let timestampMax: UInt64 = UInt64(Int64.max)
}
