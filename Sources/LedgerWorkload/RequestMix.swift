package import LedgerCore

/// Small create requests that lean on per-request batch semantics: linked chains left
/// open at the request's end, chains that roll back, imported batches (in order, out of
/// order, mixed with plain events), ids repeated across requests, posts and voids of
/// earlier pending transfers, empty requests. Coalescing many such requests into one
/// log record must give each exactly the results it gets alone (the coalescing tests).
///
/// The first event of every non-empty request carries the request's number in
/// `userData64` (`Request.tag`), so a test can tell which request a log entry holds.
package enum RequestMix {
    /// A request: create accounts or create transfers.
    package enum Request: Sendable, Hashable {
        case accounts([Account])
        case transfers([Transfer])

        /// The request number its first event carries (nil for an empty request).
        package var tag: UInt64? {
            switch self {
            case .accounts(let a): return a.first?.userData64
            case .transfers(let t): return t.first?.userData64
            }
        }
    }

    /// The accounts every mix runs on (ids 1...16); created before the mix.
    package static let accounts: [Account] = (1...16).map { i in
        Account(id: UInt128(i), ledger: 1, code: 1,
                flags: i % 4 == 0 ? .debitsMustNotExceedCredits : i % 4 == 1 ? .history : [])
    }

    /// `count` requests from `seed`; imported timestamps start at `importedBase` (pick it
    /// above the accounts' creation and well below the batches' wall clock).
    package static func requests(count: Int, seed: UInt64, importedBase: UInt64) -> [Request] {
        var rng = SplitMix64(seed: seed)
        var out: [Request] = []
        out.reserveCapacity(count)
        var nextId: UInt128 = 1_000
        var created: [Transfer] = []
        var pendingIds: [UInt128] = []
        var imported = importedBase
        func pick(_ n: Int) -> Int { Int(rng.next() % UInt64(n)) }
        func plain(_ tag: UInt64, flags: TransferFlags = []) -> Transfer {
            let dr = UInt128(pick(16) + 1)
            var cr = UInt128(pick(16) + 1)
            if cr == dr { cr = dr % 16 + 1 }
            nextId += 1
            return Transfer(id: nextId, debitAccountId: dr, creditAccountId: cr, amount: UInt128(pick(50) + 1),
                            userData64: tag, ledger: 1, code: 1, flags: flags)
        }
        for n in 0..<count {
            let tag = UInt64(n + 1)
            var events: [Transfer] = []
            switch pick(11) {
            case 0, 1, 2:
                for _ in 0...pick(4) { events.append(plain(tag, flags: pick(4) == 0 ? .pending : [])) }
            case 3:
                // A chain left open at the request's end: `linked_event_chain_open`.
                for _ in 0...pick(3) { events.append(plain(tag, flags: .linked)) }
            case 4:
                // A closed chain with a failing member: the whole chain rolls back.
                events = [plain(tag, flags: .linked), plain(tag, flags: .linked), plain(tag)]
                events[1].creditAccountId = events[1].debitAccountId
            case 5 where !created.isEmpty:
                // Ids seen before, after one new event: `exists` (an exact copy),
                // `exists_with_different_*`, `id_already_failed`.
                events.append(plain(tag))
                for _ in 0...pick(2) {
                    var again = created[pick(created.count)]
                    if pick(2) == 0 { again.amount += 1 }
                    events.append(again)
                }
            case 6:
                // An imported request; now and then a timestamp that regresses.
                for _ in 0...pick(3) {
                    var t = plain(tag, flags: .imported)
                    imported += UInt64(pick(3) + 1)
                    t.timestamp = pick(8) == 0 ? imported - 50 : imported
                    events.append(t)
                }
            case 7:
                // Imported and plain events mixed in one request.
                var t = plain(tag, flags: .imported)
                imported += 1
                t.timestamp = imported
                events = pick(2) == 0 ? [t, plain(tag)] : [plain(tag), t]
            case 8 where !pendingIds.isEmpty:
                let target = pendingIds[pick(pendingIds.count)]
                nextId += 1
                events = [Transfer(id: nextId, pendingId: target, userData64: tag, ledger: 1, code: 1,
                                   flags: pick(2) == 0 ? .postPendingTransfer : .voidPendingTransfer)]
            case 9:
                events = []
            default:
                for _ in 0..<(pick(3) + 1) { events.append(plain(tag)) }
            }
            for t in events {
                created.append(t)
                if t.flags.contains(.pending) { pendingIds.append(t.id) }
            }
            if pick(20) == 0 {
                // Now and then a create_accounts request, repeating ids (`exists`) or new.
                let id = pick(2) == 0 ? UInt128(pick(16) + 1) : UInt128(100 + n)
                out.append(.accounts([Account(id: id, userData64: tag, ledger: 1, code: 1)]))
            } else {
                out.append(.transfers(events))
            }
        }
        return out
    }
}
