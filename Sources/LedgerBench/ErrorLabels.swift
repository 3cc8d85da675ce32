package import LedgerClient
import LedgerCore

/// Names of failures and statuses in reports (snake_case, as in the protocol docs).
package enum ErrorLabels {
    /// The label of a client error, e.g. `busy`, `timeout`, `server_error_7`.
    package static func label(_ error: KaminoClientError) -> String {
        switch error.code {
        case .timeout: return "timeout"
        case .connectionFailed: return "connection_failed"
        case .outcomeUnknown: return "outcome_unknown"
        case .circuitOpen: return "circuit_open"
        case .serverError(.busy): return "busy"
        case .serverError(.shuttingDown): return "shutting_down"
        case .serverError(.notPrimary): return "not_primary"
        case .serverError(.replicationTimeout): return "replication_timeout"
        case .serverError(.logUnavailable): return "log_unavailable"
        case .serverError(let code): return "server_error_\(code.rawValue)"
        case .invalidReply: return "invalid_reply"
        case .invalidArgument: return "invalid_argument"
        case .closed: return "closed"
        case .cancelled: return "cancelled"
        }
    }

    /// True when the failed request may have been applied.
    package static func mayHaveApplied(_ error: KaminoClientError) -> Bool {
        switch error.code {
        case .timeout, .connectionFailed, .outcomeUnknown, .invalidReply: return true
        case .serverError(let code): return !code.isRetryable
        default: return false
        }
    }

    /// `snake_case` of a status's Swift name (`exceedsCredits` → `exceeds_credits`).
    package static func snakeCase<S>(_ status: S) -> String {
        var out = ""
        for ch in "\(status)" {
            if ch.isUppercase {
                out += "_" + ch.lowercased()
            } else {
                out.append(ch)
            }
        }
        return out
    }
}
