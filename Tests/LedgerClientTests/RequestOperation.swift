import LedgerCore
import LedgerWire

extension Request {
    /// The ledger operation of a request the fake servers answer (they get no admin
    /// requests, `status` and `promote`).
    var operation: Operation {
        guard let op = ledgerOperation else { preconditionFailure("the fake servers get no admin requests") }
        return op
    }
}
