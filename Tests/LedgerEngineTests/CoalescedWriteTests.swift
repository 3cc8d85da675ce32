import KaminoTestSupport
import Testing

import LedgerCore
import LedgerEngine
import LedgerStorage
import LedgerWorkload

/// A clock that never moves: every batch is stamped right after the last one, so the
/// timestamps of requests logged one at a time and coalesced can be compared exactly.
private struct StoppedClock: BatchClock {
    func nanosecondsSinceEpoch() -> UInt64 { 1_700_000_000_000_000_000 }
}

/// Coalesced records: several client requests logged as one record must each get exactly
/// the results they get alone, leave the same state, and replay to it.
@Suite("Coalesced records: each request its own batch")
struct CoalescedWriteTests {
    /// Above the accounts' creation, below most batches' timestamps (some imported
    /// requests come too early and are refused, most are applied).
    static let importedBase: UInt64 = 1_700_000_000_000_000_000 + 300

    /// The results of one request, comparable whatever its operation.
    enum Answer: Equatable {
        case accounts([CreateAccountResult])
        case transfers([CreateTransferResult])
    }

    static func events(_ request: RequestMix.Request) -> BatchEvents {
        switch request {
        case .accounts(let a): return .accounts(a)
        case .transfers(let t): return .transfers(t)
        }
    }

    /// Applies every request alone, in order.
    static func oneAtATime(_ ledger: DurableLedger, _ requests: [RequestMix.Request]) async throws -> [Answer] {
        var out: [Answer] = []
        for r in requests {
            switch r {
            case .accounts(let a): out.append(.accounts(try await ledger.createAccounts(a)))
            case .transfers(let t): out.append(.transfers(try await ledger.createTransfers(t)))
            }
        }
        return out
    }

    /// Applies the requests in groups of 1...`maxGroup` consecutive requests of one
    /// operation, each group as one record (a group of one is a plain batch).
    static func coalesced(_ ledger: DurableLedger, _ requests: [RequestMix.Request], maxGroup: Int, seed: UInt64)
        async throws -> [Answer]
    {
        var rng = SplitMix64(seed: seed)
        var out: [Answer] = []
        var start = 0
        while start < requests.count {
            var end = start + 1
            let limit = start + Int(rng.next() % UInt64(maxGroup)) + 1
            while end < min(limit, requests.count), sameOperation(requests[start], requests[end]) { end += 1 }
            let group = Array(requests[start..<end])
            let events: BatchEvents
            if group.count == 1 {
                events = Self.events(group[0])
            } else if case .accounts = group[0] {
                events = .accountRequests(group.map { if case .accounts(let a) = $0 { return a } else { return [] } })
            } else {
                events = .transferRequests(group.map { if case .transfers(let t) = $0 { return t } else { return [] } })
            }
            let write = try ledger.enqueueWrite(events)
            let results = try await withCheckedThrowingContinuation { continuation in
                ledger.whenSettled(write) { continuation.resume(with: $0) }
            }
            switch results {
            case .accounts(let r): out.append(.accounts(r))
            case .transfers(let r): out.append(.transfers(r))
            case .accountRequests(let each): out += each.map { .accounts($0) }
            case .transferRequests(let each): out += each.map { .transfers($0) }
            case .none: Issue.record("a create answered as a pulse")
            }
            start = end
        }
        return out
    }

    static func sameOperation(_ a: RequestMix.Request, _ b: RequestMix.Request) -> Bool {
        switch (a, b) {
        case (.accounts, .accounts), (.transfers, .transfers): return true
        default: return false
        }
    }

    @Test("Coalesced requests get exactly their one-at-a-time results, state and replay", arguments: [1, 2])
    func sameResultsAsOneAtATime(shards: Int) async throws {
        let requests = RequestMix.requests(count: 600, seed: 42, importedBase: Self.importedBase)
        let alone = TemporaryDirectory()
        let together = TemporaryDirectory()
        defer {
            alone.remove()
            together.remove()
        }
        let reference = try await DurableLedger.open(directory: alone.path, segmentSize: 1 << 20, clock: StoppedClock())
        _ = try await reference.createAccounts(RequestMix.accounts)
        let expected = try await Self.oneAtATime(reference, requests)
        let expectedState = await reference.status()
        await reference.close()

        let open = { () async throws -> DurableLedger in
            shards == 1
                ? try await DurableLedger.open(directory: together.path, segmentSize: 1 << 20, clock: StoppedClock())
                : try await DurableLedger.openSharded(directory: together.path, shards: shards, segmentSize: 1 << 20,
                                                      clock: StoppedClock())
        }
        let ledger = try await open()
        _ = try await ledger.createAccounts(RequestMix.accounts)
        let got = try await Self.coalesced(ledger, requests, maxGroup: 40, seed: 7)
        #expect(got.count == expected.count)
        for (i, (g, e)) in zip(got, expected).enumerated() where g != e {
            Issue.record("request \(i + 1) (\(requests[i])): coalesced \(g), alone \(e)")
            break
        }
        // The mix exercised what it is for.
        let statuses = Set(expected.flatMap { a -> [String] in
            switch a {
            case .accounts(let r): return r.map { "\($0.status)" }
            case .transfers(let r): return r.map { "\($0.status)" }
            }
        })
        for needed in ["linkedEventChainOpen", "exists", "existsWithDifferentAmount", "importedEventTimestampMustNotRegress",
                       "importedEventExpected", "importedEventNotExpected", "linkedEventFailed", "created"]
        where !statuses.contains(needed) {
            Issue.record("no request got \(needed); got \(statuses.sorted())")
        }
        let state = await ledger.status()
        #expect(state.digest == expectedState.digest)
        #expect(state.lsn < expectedState.lsn, "requests were coalesced into fewer records")
        await ledger.close()

        // Replay of the coalesced records rebuilds the same state.
        let reopened = try await open()
        #expect(await reopened.status().digest == expectedState.digest)
        await reopened.close()

        // A follower takes the coalesced records as shipped (their bytes and timestamps as
        // logged) and reaches the same state.
        let followerDir = TemporaryDirectory()
        defer { followerDir.remove() }
        let follower = try await DurableLedger.open(
            directory: followerDir.path, segmentSize: 1 << 20, clock: StoppedClock(), role: .follower(primary: nil))
        var records = try WALReader(directory: together.path).records(from: 1)
        var shipped = 0
        while let r = try records.next() {
            let (batch, applying) = try follower.appendShipped(
                lsn: r.lsn, epoch: r.epoch, timestamp: r.timestamp, operation: r.operation, eventCount: r.eventCount,
                body: r.body)
            try await follower.settleShipped(batch, applying)
            shipped += 1
        }
        #expect(shipped == Int(state.lsn))
        #expect(await follower.status().digest == expectedState.digest)
        await follower.close()
    }

    @Test("Coalesced record bodies: round trip and refusals")
    func codec() throws {
        let requests: [[Transfer]] = [[Transfer(id: 1)], [], [Transfer(id: 2), Transfer(id: 3)]]
        let body = CoalescedRecordCodec.encode(requests, encodeBatch: RecordCodec.encodeTransfers)
        #expect(body.count == CoalescedRecordCodec.eventsOffset(requests: 3) + 3 * 128)
        let back = try body.withUnsafeBytes {
            try CoalescedRecordCodec.decode($0, recordSize: 128, decodeBatch: RecordCodec.decodeTransfers)
        }
        #expect(back == requests)
        #expect(try CoalescedRecordCodec.timestamps(counts: [1, 0, 2], last: 100) == [97, 98, 100])
        #expect(throws: CodecError.self) { try CoalescedRecordCodec.timestamps(counts: [1, 5], last: 5) }
        func refused(_ bytes: [UInt8]) -> Bool {
            (try? bytes.withUnsafeBytes {
                try CoalescedRecordCodec.decode($0, recordSize: 128, decodeBatch: RecordCodec.decodeTransfers)
            }) == nil
        }
        #expect(!refused(body))
        #expect(refused(Array(body.dropLast())))  // short events
        #expect(refused(body + [UInt8](repeating: 0, count: 128)))  // an event no count covers
        var zeroRequests = body
        zeroRequests[0] = 0
        #expect(refused(zeroRequests))
        var reserved = body
        reserved[5] = 1
        #expect(refused(reserved))
        var padding = body
        padding[CoalescedRecordCodec.eventsOffset(requests: 3) - 1] = 1
        #expect(refused(padding))
        var tooMany = body
        tooMany.withUnsafeMutableBytes { $0.storeBytes(of: UInt32(9000).littleEndian, toByteOffset: 8, as: UInt32.self) }
        #expect(refused(tooMany))
        #expect(refused([]))
    }
}
