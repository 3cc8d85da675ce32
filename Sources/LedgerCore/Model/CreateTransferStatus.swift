/// The outcome of creating one transfer. Raw values are the reference's wire codes.
///
/// Cases are declared in the reference's order of precedence: when several errors apply,
/// the first one listed is returned. (`amount_must_not_be_zero`, code 18, is deprecated
/// in the reference and never produced: zero amounts are valid.)
public enum CreateTransferStatus: UInt32, Sendable, CaseIterable {
    case created = 0xFFFF_FFFF
    case linkedEventFailed = 1
    case linkedEventChainOpen = 2
    case importedEventExpected = 56
    case importedEventNotExpected = 57
    case timestampMustBeZero = 3
    case importedEventTimestampOutOfRange = 58
    case importedEventTimestampMustNotAdvance = 59
    case reservedFlag = 4
    case idMustNotBeZero = 5
    case idMustNotBeIntMax = 6
    case existsWithDifferentFlags = 36
    case existsWithDifferentPendingId = 40
    case existsWithDifferentTimeout = 44
    case existsWithDifferentDebitAccountId = 37
    case existsWithDifferentCreditAccountId = 38
    case existsWithDifferentAmount = 39
    case existsWithDifferentUserData128 = 41
    case existsWithDifferentUserData64 = 42
    case existsWithDifferentUserData32 = 43
    case existsWithDifferentLedger = 67
    case existsWithDifferentCode = 45
    case exists = 46
    case idAlreadyFailed = 68
    case flagsAreMutuallyExclusive = 7
    case debitAccountIdMustNotBeZero = 8
    case debitAccountIdMustNotBeIntMax = 9
    case creditAccountIdMustNotBeZero = 10
    case creditAccountIdMustNotBeIntMax = 11
    case accountsMustBeDifferent = 12
    case pendingIdMustBeZero = 13
    case pendingIdMustNotBeZero = 14
    case pendingIdMustNotBeIntMax = 15
    case pendingIdMustBeDifferent = 16
    case timeoutReservedForPendingTransfer = 17
    case closingTransferMustBePending = 64
    case ledgerMustNotBeZero = 19
    case codeMustNotBeZero = 20
    case debitAccountNotFound = 21
    case creditAccountNotFound = 22
    case accountsMustHaveTheSameLedger = 23
    case transferMustHaveTheSameLedgerAsAccounts = 24
    case pendingTransferNotFound = 25
    case pendingTransferNotPending = 26
    case pendingTransferHasDifferentDebitAccountId = 27
    case pendingTransferHasDifferentCreditAccountId = 28
    case pendingTransferHasDifferentLedger = 29
    case pendingTransferHasDifferentCode = 30
    case exceedsPendingTransferAmount = 31
    case pendingTransferHasDifferentAmount = 32
    case pendingTransferAlreadyPosted = 33
    case pendingTransferAlreadyVoided = 34
    case pendingTransferExpired = 35
    case importedEventTimestampMustNotRegress = 60
    case importedEventTimestampMustPostdateDebitAccount = 61
    case importedEventTimestampMustPostdateCreditAccount = 62
    case importedEventTimeoutMustBeZero = 63
    case debitAccountAlreadyClosed = 65
    case creditAccountAlreadyClosed = 66
    case overflowsDebitsPending = 47
    case overflowsCreditsPending = 48
    case overflowsDebitsPosted = 49
    case overflowsCreditsPosted = 50
    case overflowsDebits = 51
    case overflowsCredits = 52
    case overflowsTimeout = 53
    case exceedsCredits = 54
    case exceedsDebits = 55

    /// Transient errors depend on state that may change later; an id that failed with one
    /// can never be used again (`id_already_failed`), so a retry never changes the outcome.
    public var isTransient: Bool {
        switch self {
        case .debitAccountNotFound, .creditAccountNotFound, .pendingTransferNotFound,
            .exceedsCredits, .exceedsDebits, .debitAccountAlreadyClosed,
            .creditAccountAlreadyClosed:
            return true
        default:
            return false
        }
    }
}

/// The result of one `create_transfers` event.
public struct CreateTransferResult: Sendable, Hashable {
    /// For `created` and `exists`: the transfer's timestamp; otherwise the event's time.
    public var timestamp: UInt64
    public var status: CreateTransferStatus
    public init(timestamp: UInt64, status: CreateTransferStatus) {
        self.timestamp = timestamp
        self.status = status
    }
}
