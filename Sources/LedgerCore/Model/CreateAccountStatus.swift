/// The outcome of creating one account. Raw values are the reference's wire codes.
///
/// Cases are declared in the reference's order of precedence: when several errors apply,
/// the first one listed is returned.
public enum CreateAccountStatus: UInt32, Sendable, CaseIterable {
    case created = 0xFFFF_FFFF
    case linkedEventFailed = 1
    case linkedEventChainOpen = 2
    case importedEventExpected = 22
    case importedEventNotExpected = 23
    case timestampMustBeZero = 3
    case importedEventTimestampOutOfRange = 24
    case importedEventTimestampMustNotAdvance = 25
    case reservedField = 4
    case reservedFlag = 5
    case idMustNotBeZero = 6
    case idMustNotBeIntMax = 7
    case existsWithDifferentFlags = 15
    case existsWithDifferentUserData128 = 16
    case existsWithDifferentUserData64 = 17
    case existsWithDifferentUserData32 = 18
    case existsWithDifferentLedger = 19
    case existsWithDifferentCode = 20
    case exists = 21
    case flagsAreMutuallyExclusive = 8
    case debitsPendingMustBeZero = 9
    case debitsPostedMustBeZero = 10
    case creditsPendingMustBeZero = 11
    case creditsPostedMustBeZero = 12
    case ledgerMustNotBeZero = 13
    case codeMustNotBeZero = 14
    case importedEventTimestampMustNotRegress = 26
}

/// The result of one `create_accounts` event.
public struct CreateAccountResult: Sendable, Hashable {
    /// For `created` and `exists`: the account's timestamp; otherwise the event's time.
    public var timestamp: UInt64
    public var status: CreateAccountStatus
    public init(timestamp: UInt64, status: CreateAccountStatus) {
        self.timestamp = timestamp
        self.status = status
    }
}
