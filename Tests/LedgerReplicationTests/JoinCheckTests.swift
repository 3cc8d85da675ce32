import LedgerStorage
import Testing

@testable import LedgerReplication

/// The join check's parts: the welcome carries it only with a stream plan (in
/// `truncate_to` and `snapshot_lsn`, which survive the wire), and a fingerprint tells
/// apart records that differ in any field the log keeps for them.
@Suite struct JoinCheckTests {
    @Test func aDivergedFollowerBacksOffUpToAMinute() {
        let waits = (1...9).map { ReplicatedNode.divergedBackoff(refusals: $0) }
        #expect(waits == [1, 2, 4, 8, 16, 32, 60, 60, 60].map { Duration.seconds($0) })
        #expect(ReplicatedNode.divergedBackoff(refusals: 1_000_000) == .seconds(60))
    }

    @Test func aStreamWelcomeCarriesTheCheckAcrossTheWire() throws {
        let stream = ReplicationMessage.Welcome(
            nodeId: "p", clientAddress: "127.0.0.1:1", action: .stream, startLSN: 6, truncateTo: 5,
            snapshotLSN: 0xDEAD_BEEF_0123_4567, history: EpochHistory())
        let decoded = Wire.decode(try Wire.encode(ReplicationFrame(epoch: 2, message: .welcome(stream))))
        guard case .welcome(let w)? = decoded.frames.first?.message else {
            Issue.record("no welcome decoded: \(String(describing: decoded.error))")
            return
        }
        #expect(w.checkLSN == 5)
        #expect(w.checkFingerprint == 0xDEAD_BEEF_0123_4567)
        let cut = ReplicationMessage.Welcome(
            nodeId: "p", clientAddress: "", action: .truncate, truncateTo: 5, history: EpochHistory())
        #expect(cut.checkLSN == 0 && cut.checkFingerprint == 0, "only a stream plan asks for the check")
    }

    @Test func fingerprintsDifferWhenAnyKeptFieldDiffers() {
        let base = LogRecord(lsn: 7, timestamp: 1_000, operation: 147, eventCount: 1, body: Array(repeating: 3, count: 128), epoch: 2)
        let variants = [
            LogRecord(lsn: 8, timestamp: 1_000, operation: 147, eventCount: 1, body: base.body, epoch: 2),
            LogRecord(lsn: 7, timestamp: 1_001, operation: 147, eventCount: 1, body: base.body, epoch: 2),
            LogRecord(lsn: 7, timestamp: 1_000, operation: 146, eventCount: 1, body: base.body, epoch: 2),
            LogRecord(lsn: 7, timestamp: 1_000, operation: 147, eventCount: 1, body: base.body, epoch: 3),
            LogRecord(lsn: 7, timestamp: 1_000, operation: 147, eventCount: 1, body: Array(repeating: 4, count: 128), epoch: 2),
        ]
        #expect(JoinCheck.fingerprint(base) == JoinCheck.fingerprint(base))
        for v in variants { #expect(JoinCheck.fingerprint(v) != JoinCheck.fingerprint(base)) }
    }
}
