import LedgerCore
import LedgerEngine
import LedgerWire

/// Runs one decoded request against the ledger and builds the message that answers it.
///
/// Creates are answered only once their batch is durable (`DurableLedger` does the group
/// commit); lookups and queries wait until the state they saw is durable. Engine errors
/// become error replies; they never escape.
enum RequestExecutor {
    static func answer(_ request: Request, id: UInt64, ledger: DurableLedger?, node: any NodeControl) async -> Message {
        guard let ledger else {
            // A replicated node reopening its directory: only the admin operations work.
            switch request {
            case .status: return .reply(id: id, .status(await node.statusJSON()), stateLSN: 0)
            case .promote:
                do { return .reply(id: id, .promote(try await node.promote()), stateLSN: 0) } catch {
                    return .errorReply(errorReply(error, request: request, id: id))
                }
            default:
                return .errorReply(ErrorReply(
                    requestId: id, operation: request.code, rawCode: WireError.Code.busy.rawValue,
                    message: "the node is reopening its data directory (replication); not executed, retry"))
            }
        }
        do {
            let (reply, lsn) = try await reply(request, ledger: ledger, node: node)
            return .reply(id: id, reply, stateLSN: lsn)
        } catch {
            return .errorReply(errorReply(error, request: request, id: id))
        }
    }

    /// The reply and the LSN of the state it reflects (0 for the admin operations).
    private static func reply(
        _ request: Request, ledger: DurableLedger, node: any NodeControl
    ) async throws(EngineError) -> (Reply, UInt64) {
        switch request {
        case .createAccounts(let accounts):
            let (results, lsn) = try await ledger.createAccountsAt(accounts)
            return (.createAccounts(results), lsn)
        case .createTransfers(let transfers):
            let (results, lsn) = try await ledger.createTransfersAt(transfers)
            return (.createTransfers(results), lsn)
        case .lookupAccounts(let ids):
            let (found, lsn) = try await ledger.readAt { $0.lookupAccounts(ids) }
            return (.lookupAccounts(found), lsn)
        case .lookupTransfers(let ids):
            let (found, lsn) = try await ledger.readAt { $0.lookupTransfers(ids) }
            return (.lookupTransfers(found), lsn)
        case .getAccountTransfers(let filter):
            let (found, lsn) = try await ledger.readAt { $0.getAccountTransfers(filter) }
            return (.getAccountTransfers(found), lsn)
        case .getAccountBalances(let filter):
            let (found, lsn) = try await ledger.readAt { $0.getAccountBalances(filter) }
            return (.getAccountBalances(found), lsn)
        case .queryAccounts(let filter):
            let (found, lsn) = try await ledger.readAt { $0.queryAccounts(filter) }
            return (.queryAccounts(found), lsn)
        case .queryTransfers(let filter):
            let (found, lsn) = try await ledger.readAt { $0.queryTransfers(filter) }
            return (.queryTransfers(found), lsn)
        case .status:
            return (.status(await node.statusJSON()), 0)
        case .promote:
            return (.promote(try await node.promote()), 0)
        case .authenticate:
            // Answered by the connection's `SessionSecurity` before it gets here.
            return (.authenticate(SessionSecurity.json(.unauthenticated, auth: "off")), 0)
        case .digest:
            let (lsn, digest) = await ledger.status()
            return (.digest(Array(StatusJSON.object([("lsn", "\(lsn)"), ("digest", StatusJSON.string("\(digest)"))]).utf8)), lsn)
        }
    }

    /// Maps an engine failure to the wire's error codes.
    static func errorReply(_ error: EngineError, request: Request, id: UInt64) -> ErrorReply {
        let code: WireError.Code
        var message = error.message
        switch error.code {
        case .batchRefused: code = .batchRefused
        case .closed: code = .shuttingDown
        case .logFailed, .diverged, .recoveryFailed:
            code = .internalError
            // Their text may name files: those go to the server's log (`LogCondition`),
            // never to a client.
            message = "the server could not execute the request (\(error.code)); its log says why"
        case .notPrimary:
            code = .notPrimary
            // The body's first line is the primary's address (empty if unknown).
            message = "\(error.primaryAddress ?? "")\n\(error.message)"
        case .replicationTimeout: code = .replicationTimeout
        case .notFollower: code = .notFollower
        case .logUnavailable: code = .logUnavailable
        }
        return ErrorReply(
            requestId: id, operation: request.code, rawCode: code.rawValue, message: message)
    }
}
