import Glibc
import KaminoTestSupport
import LedgerCore
import LedgerEngine
import LedgerStorage
import Testing

/// The change stream's pieces (docs/cdc.md): the exact JSON of an event, the order of the
/// events of a coalesced record with an expiry between its requests, and the refusal of a
/// resume point whose records were removed after a snapshot (by the real `kamino cdc`).
@Suite("Change stream: JSON lines, event order, resume points")
struct ChangeStreamTests {
    @Test("A transfer's JSON line: every field, u64 and u128 as decimal strings, flags by name")
    func transferJSON() {
        let t = Transfer(
            id: UInt128.max, debitAccountId: 1, creditAccountId: 340_282_366_920_938_463_463_374_607_431_768_211_454,
            amount: 18_446_744_073_709_551_616, pendingId: 7, userData128: 12_345_678_901_234_567_890_123,
            userData64: UInt64.max, userData32: UInt32.max, timeout: 60, ledger: 700, code: 65535,
            flags: [.linked, .postPendingTransfer, .closingCredit], timestamp: 1_796_670_427_602_517_476)
        let event = ChangeEvent(lsn: 42, timestamp: t.timestamp, kind: .created(t), object: .transfer(t), index: 2, recordEvents: 5)
        #expect(event.kind == .twoPhasePosted)
        #expect(event.jsonLine == """
            {"lsn":"42","index":2,"record_events":5,"timestamp":"1796670427602517476","type":"two_phase_posted","transfer":{\
            "id":"340282366920938463463374607431768211455","debit_account_id":"1",\
            "credit_account_id":"340282366920938463463374607431768211454","amount":"18446744073709551616",\
            "pending_id":"7","user_data_128":"12345678901234567890123","user_data_64":"18446744073709551615",\
            "user_data_32":4294967295,"timeout":60,"ledger":700,"code":65535,\
            "flags":["linked","post_pending_transfer","closing_credit"],"timestamp":"1796670427602517476"}}
            """)
        let plain = Transfer(id: 5, debitAccountId: 1, creditAccountId: 2, amount: 0, ledger: 1, code: 1, timestamp: 9)
        #expect(ChangeEvent.Kind.created(plain) == .singlePhase)
        #expect(ChangeEvent.json(plain).contains("\"flags\":[],"))
        #expect(ChangeEvent.Kind.created(Transfer(id: 1, flags: .pending)) == .twoPhasePending)
        #expect(ChangeEvent.Kind.created(Transfer(id: 1, flags: .voidPendingTransfer)) == .twoPhaseVoided)
        let expired = ChangeEvent(lsn: 3, timestamp: 10, kind: .twoPhaseExpired, object: .transfer(plain))
        #expect(expired.jsonLine.hasPrefix("{\"lsn\":\"3\",\"index\":0,\"record_events\":1,\"timestamp\":\"10\",\"type\":\"two_phase_expired\",\"transfer\":{\"id\":\"5\","))
    }

    @Test("u64 and u128 values in decimal: every size, the zero-padded inner parts of a u128 beyond 2^64")
    func decimals() {
        var values: [UInt128] = [0, 9, 10, 99, 100, UInt128(UInt64.max) - 1, UInt128(UInt64.max), UInt128(UInt64.max) + 1,
                                 UInt128.max, UInt128.max - 1]
        var p: UInt128 = 1
        for _ in 0..<38 {
            p *= 10
            values += [p - 1, p, p + 1, p + 7 * (p / 10)]
        }
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<200 { values.append(UInt128.random(in: 0...UInt128.max, using: &rng) >> Int.random(in: 0..<128, using: &rng)) }
        for v in values {
            let json = ChangeEvent.json(Transfer(id: v, userData64: UInt64(truncatingIfNeeded: v), timestamp: UInt64(truncatingIfNeeded: v >> 3)))
            #expect(json.hasPrefix("{\"id\":\"\(v)\","), "\(v): \(json)")
            #expect(json.contains("\"user_data_64\":\"\(UInt64(truncatingIfNeeded: v))\","), "\(v): \(json)")
            #expect(json.hasSuffix("\"timestamp\":\"\(UInt64(truncatingIfNeeded: v >> 3))\"}"), "\(v): \(json)")
        }
    }

    @Test("An account's JSON line: every field but the reserved one, flags by name")
    func accountJSON() {
        let a = Account(
            id: 1 << 100, debitsPending: 1, debitsPosted: 2, creditsPending: 3, creditsPosted: UInt128.max,
            userData128: 4, userData64: 5, userData32: 6, ledger: 7, code: 8,
            flags: [.debitsMustNotExceedCredits, .history, .closed], timestamp: 123)
        let event = ChangeEvent(lsn: 1, timestamp: 123, kind: .accountCreated, object: .account(a))
        #expect(event.jsonLine == """
            {"lsn":"1","index":0,"record_events":1,"timestamp":"123","type":"account_created","account":{"id":"1267650600228229401496703205376",\
            "debits_pending":"1","debits_posted":"2","credits_pending":"3",\
            "credits_posted":"340282366920938463463374607431768211455","user_data_128":"4","user_data_64":"5",\
            "user_data_32":6,"ledger":7,"code":8,"flags":["debits_must_not_exceed_credits","history","closed"],\
            "timestamp":"123"}}
            """)
        #expect(ChangeEvent.accountFlagNames.count == 6 && ChangeEvent.transferFlagNames.count == 9)
    }

    /// Applies `batch` logged at `timestamp` to `ledger` the way replay does and returns its events.
    func applied(_ ledger: Ledger, lsn: UInt64, _ batch: BatchEvents, at timestamp: UInt64) throws -> [ChangeEvent] {
        var expired: [ChangeEvent.Expiry] = []
        ledger.expiryObserver = { expired.append(($0, $1)) }
        defer { ledger.expiryObserver = nil }
        let body = batch.encoded()
        let (events, results) = try body.withUnsafeBytes {
            try ledger.applyLoggedBatch(operation: batch.operation, timestamp: timestamp, body: $0)
        }
        return ChangeEvent.events(lsn: lsn, timestamp: timestamp, batch: events, results: results, expired: expired, ledger: ledger)
    }

    @Test("A coalesced record: the expiry its second request's start makes comes between the two requests' events")
    func expiryBetweenRequests() throws {
        let ledger = Ledger()
        let accounts = [Account(id: 1, ledger: 1, code: 1), Account(id: 2, ledger: 1, code: 1)]
        let made = try applied(ledger, lsn: 1, .accounts(accounts), at: 1_000)
        #expect(made.map(\.kind) == [.accountCreated, .accountCreated])
        #expect(made.map(\.timestamp) == [999, 1_000])
        let pending = Transfer(id: 10, debitAccountId: 1, creditAccountId: 2, amount: 5, timeout: 1, ledger: 1, code: 1,
                               flags: .pending)
        #expect(try applied(ledger, lsn: 2, .transfers([pending]), at: 2_000).map(\.kind) == [.twoPhasePending])
        // Deadline 2_000 + 1 s. Requests of one and two events in a record stamped D + 2: the
        // first event at D (its start, cutoff D - 1, is before the deadline), the second
        // request's events at D + 1 and D + 2 (its start, cutoff D, reaches the deadline).
        let deadline: UInt64 = 2_000 + 1_000_000_000
        let a = Transfer(id: 11, debitAccountId: 1, creditAccountId: 2, amount: 1, ledger: 1, code: 1)
        let b = Transfer(id: 12, debitAccountId: 2, creditAccountId: 1, amount: 2, ledger: 1, code: 1)
        // A failed request in between: an unknown account (burns the id, creates nothing).
        let bad = Transfer(id: 13, debitAccountId: 1, creditAccountId: 99, amount: 1, ledger: 1, code: 1)
        let events = try applied(ledger, lsn: 3, .transferRequests([[a], [b, bad]]), at: deadline + 2)
        var stored = pending
        stored.timestamp = 2_000
        var createdA = a
        createdA.timestamp = deadline
        var createdB = b
        createdB.timestamp = deadline + 1
        #expect(events == [
            ChangeEvent(lsn: 3, timestamp: deadline, kind: .singlePhase, object: .transfer(createdA), index: 0, recordEvents: 3),
            ChangeEvent(lsn: 3, timestamp: deadline, kind: .twoPhaseExpired, object: .transfer(stored), index: 1, recordEvents: 3),
            ChangeEvent(lsn: 3, timestamp: deadline + 1, kind: .singlePhase, object: .transfer(createdB), index: 2, recordEvents: 3),
        ])
        #expect(ledger.pendingStatus(ofTransfer: 10) == .expired)
        // A pulse with nothing due: no event.
        #expect(try applied(ledger, lsn: 4, .pulse, at: deadline + 10).isEmpty)
    }

    @Test("A resume point whose records were removed after a snapshot is refused, naming the first LSN available")
    func trimmedLogIsRefused() async throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        // Small segments and a snapshot every 5 records: old segments are removed.
        let ledger = try await DurableLedger.open(directory: dir.path, segmentSize: 16 << 10, snapshotEvery: 5)
        _ = try await ledger.createAccounts((1...20).map { Account(id: UInt128($0), ledger: 1, code: 1) })
        for round in 0..<60 {
            let batch = (0..<10).map { k in
                Transfer(id: UInt128(1_000 + round * 10 + k), debitAccountId: UInt128(k + 1), creditAccountId: UInt128(k + 11),
                         amount: 1, ledger: 1, code: 1)
            }
            _ = try await ledger.createTransfers(batch)
            await ledger.snapshotsSettled()
        }
        let last = await ledger.status().lsn
        await ledger.close()
        let firstLogLSN = try #require(SegmentName.list(in: dir.path).first).firstLSN
        try #require(firstLogLSN > 2, "no segment was removed")
        let snapshots = try SnapshotStore(directory: dir.path).list().map(\.lsn)
        // The oldest snapshot the log reaches back to: the earliest resume point.
        let earliest = try #require(snapshots.filter { firstLogLSN <= $0 + 1 }.min())

        let kamino = try #require(builtExecutable("kamino"))
        let out = dir.path + "/cdc.out"
        let err = dir.path + "/cdc.err"
        func run(_ from: UInt64) -> (Int32?, [String], String) {
            _ = unlink(out)
            _ = unlink(err)
            let status = runProcessSplit([kamino, "cdc", "--data", dir.path, "--from", "\(from)"], stdout: out, stderr: err)
            let lines = String(decoding: fileBytes(out), as: UTF8.self).split(separator: "\n").map(String.init)
            return (status, lines, String(decoding: fileBytes(err), as: UTF8.self))
        }
        let (status, lines, message) = run(1)
        #expect(status == 2)
        #expect(lines.isEmpty)
        #expect(message.contains("cannot resume after LSN 1: the log starts at LSN \(firstLogLSN)"), "\(message)")
        #expect(message.contains("the first LSN still available is \(earliest + 1) (resume with --from \(earliest) or later)"),
                "\(message)")
        // From the earliest point on: exactly the transfers of the records after it, in order.
        let (okStatus, okLines, okMessage) = run(earliest)
        #expect(okStatus == 0, "\(okMessage)")
        let ids = okLines.compactMap { line -> Int? in
            guard let r = line.range(of: "\"transfer\":{\"id\":\"") else { return nil }
            return Int(line[r.upperBound...].prefix { $0 != "\"" })
        }
        let firstRound = Int(earliest) - 1  // LSN 1 holds the accounts; LSN 2 + r holds round r
        #expect(ids == Array((1_000 + firstRound * 10)..<(1_000 + 60 * 10)))
        #expect(UInt64(60 - firstRound) == last - earliest)
    }
}

/// Runs `argv` to completion with stdout and stderr in separate files; its exit status.
private func runProcessSplit(_ argv: [String], stdout: String, stderr: String) -> Int32? {
    guard let pid = spawnProcess(argv, stdout: stdout, stderr: stderr) else { return nil }
    var status: Int32 = 0
    guard waitpid(pid, &status, 0) == pid, status & 0x7F == 0 else { return nil }
    return (status >> 8) & 0xFF
}
