import LedgerCore
import LedgerEngine
import LedgerWire

/// Runs one decoded request against the ledger and builds the message that answers it.
///
/// Creates are answered only once their batch is durable (`DurableLedger` does the group
/// commit); lookups and queries wait until the state they saw is durable. Engine errors
/// become error replies; they never escape.
enum RequestExecutor {
    static func answer(_ request: Request, id: UInt64, ledger: DurableLedger?) async -> Message {
        guard let ledger else {
            return .errorReply(ErrorReply(
                requestId: id, operation: request.operation.rawValue, rawCode: WireError.Code.busy.rawValue,
                message: "the node is reopening its data directory (replication); not executed, retry"))
        }
        do {
            return .reply(id: id, try await reply(request, ledger: ledger))
        } catch {
            return .errorReply(errorReply(error, request: request, id: id))
        }
    }

    private static func reply(_ request: Request, ledger: DurableLedger) async throws(EngineError) -> Reply {
        switch request {
        case .createAccounts(let accounts):
            return .createAccounts(try await ledger.createAccounts(accounts))
        case .createTransfers(let transfers):
            return .createTransfers(try await ledger.createTransfers(transfers))
        case .lookupAccounts(let ids):
            return .lookupAccounts(try await ledger.read { $0.lookupAccounts(ids) })
        case .lookupTransfers(let ids):
            return .lookupTransfers(try await ledger.read { $0.lookupTransfers(ids) })
        case .getAccountTransfers(let filter):
            return .getAccountTransfers(try await ledger.read { $0.getAccountTransfers(filter) })
        case .getAccountBalances(let filter):
            return .getAccountBalances(try await ledger.read { $0.getAccountBalances(filter) })
        case .queryAccounts(let filter):
            return .queryAccounts(try await ledger.read { $0.queryAccounts(filter) })
        case .queryTransfers(let filter):
            return .queryTransfers(try await ledger.read { $0.queryTransfers(filter) })
        }
    }

    /// Maps an engine failure to the wire's error codes.
    static func errorReply(_ error: EngineError, request: Request, id: UInt64) -> ErrorReply {
        let code: WireError.Code
        switch error.code {
        case .batchRefused: code = .batchRefused
        case .closed: code = .shuttingDown
        case .logFailed, .diverged, .recoveryFailed: code = .internalError
        case .notPrimary: code = .notPrimary
        case .replicationTimeout: code = .replicationTimeout
        case .notFollower: code = .notFollower
        }
        // `not_primary`: the body's first line is the primary's address (empty if unknown).
        let message = error.code == .notPrimary ? "\(error.primaryAddress ?? "")\n\(error.message)" : error.message
        return ErrorReply(
            requestId: id, operation: request.operation.rawValue, rawCode: code.rawValue, message: message)
    }
}
