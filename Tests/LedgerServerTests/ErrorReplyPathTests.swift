import LedgerCore
import LedgerEngine
@testable import LedgerServer
import LedgerStorage
import LedgerWire
import Testing

/// Error replies never carry the server's paths: engine failures whose text names files
/// (a log write, a divergence, a recovery) reach clients as a code and words without
/// them; the details go to the server's log.
@Suite("Error replies carry no paths")
struct ErrorReplyPathTests {
    static let path = "/var/lib/kamino/data/log-00000000000000000001.wal"

    @Test(arguments: [EngineError.Code.logFailed, .diverged, .recoveryFailed])
    func failuresNamingFilesAreAnsweredWithoutThem(_ code: EngineError.Code) {
        let error = EngineError(code, "cannot write \(Self.path) at offset 4096: Input/output error",
                                cause: .log(WALError(.io, "write failed", errno: 5, file: Self.path, offset: 4096)))
        let reply = RequestExecutor.errorReply(error, request: .lookupAccounts([1]), id: 7)
        #expect(reply.rawCode == WireError.Code.internalError.rawValue)
        #expect(reply.requestId == 7)
        #expect(!reply.message.contains("/"), "a path in the reply: \(reply.message)")
        #expect(!reply.message.isEmpty)
    }

    @Test(arguments: [WALError.Code.noSpace, .io, .stopped])
    func logUnavailableGivesTheReasonWithoutThePath(_ code: WALError.Code) {
        let wal = WALError(code, "cannot write \(Self.path)", errno: code == .stopped ? nil : 28, file: Self.path, offset: 64)
        let reply = RequestExecutor.errorReply(.logUnavailable(wal), request: .createTransfers([]), id: 9)
        #expect(reply.rawCode == WireError.Code.logUnavailable.rawValue)
        #expect(!reply.message.contains("/"), "a path in the reply: \(reply.message)")
        if code != .stopped { #expect(reply.message.contains("errno 28"), "\(reply.message)") }
    }
}
