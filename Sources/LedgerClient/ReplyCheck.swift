import LedgerCore
import LedgerWire

/// Checks that a decoded reply answers the request (operation byte) it was matched to.
enum ReplyCheck {
    /// True when `reply` has the request's operation and a possible record count:
    /// exactly one result per event for creates, at most one record per id for lookups.
    static func matches(_ reply: Reply, operation: UInt8, eventCount: Int) -> Bool {
        guard reply.code == operation else { return false }
        switch reply {
        case .createAccounts, .createTransfers: return reply.recordCount == eventCount
        case .lookupAccounts, .lookupTransfers: return reply.recordCount <= eventCount
        case .getAccountTransfers, .getAccountBalances, .queryAccounts, .queryTransfers, .status, .promote, .digest,
            .authenticate:
            return true
        }
    }
}
