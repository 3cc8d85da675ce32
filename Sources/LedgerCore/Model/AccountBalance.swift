/// An account's balances right after one transfer touched it (accounts with `flags.history`).
///
/// 128 bytes on the wire (the last 56 are reserved zeros).
public struct AccountBalance: Sendable, Hashable, BitwiseCopyable {
    public var debitsPending: UInt128
    public var debitsPosted: UInt128
    public var creditsPending: UInt128
    public var creditsPosted: UInt128
    /// The timestamp of the transfer that produced these balances.
    public var timestamp: UInt64

    public init(
        debitsPending: UInt128, debitsPosted: UInt128,
        creditsPending: UInt128, creditsPosted: UInt128, timestamp: UInt64
    ) {
        self.debitsPending = debitsPending
        self.debitsPosted = debitsPosted
        self.creditsPending = creditsPending
        self.creditsPosted = creditsPosted
        self.timestamp = timestamp
    }

    init(of account: Account, at timestamp: UInt64) {
        self.init(
            debitsPending: account.debitsPending, debitsPosted: account.debitsPosted,
            creditsPending: account.creditsPending, creditsPosted: account.creditsPosted,
            timestamp: timestamp)
    }
}
