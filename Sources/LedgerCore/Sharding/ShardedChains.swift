extension ShardedLedger {
    /// Decides, in the plan, a linked chain whose events are homed on several shards.
    ///
    /// Possible only when no event's result depends on state a parallel round changes:
    /// every event is a new (not post/void, not balancing) transfer whose existing accounts
    /// are free (see `whyNotFree`). Each event's result then follows from the batch-start
    /// state alone, so the chain's outcome is known before round 2: a failed chain's
    /// results are written now and its events skipped; a successful chain's events run on
    /// their homes as unlinked events (each is sure to be created). Writes only results
    /// and presets (and queues failed ids): a later serial fallback overwrites them.
    /// - Returns: false when the chain does not qualify (the batch then runs serially).
    func decideChain(_ b: ShardedTransferBatch, _ chain: ClosedRange<Int>) -> Bool {
        let r = resolutions
        for i in chain {
            let t = b.events[i]
            if t.isPostOrVoid || t.flags.contains(.balancingDebit) || t.flags.contains(.balancingCredit) {
                return false
            }
            for ref in [r.debit[i], r.credit[i]] where ref != 0 && whyNotFree(ref &- 1) != nil {
                return false
            }
        }
        // The shared driver over the chain alone, with the one rulebook over the
        // batch-start state (no event of the chain can change what another reads).
        let x = serialExecution
        CreateDriver.run(
            b.events, timestamp: b.timestamp, results: b.results, range: chain.lowerBound..<chain.upperBound + 1,
            mine: { _ in true }, unlinked: { _ in false },
            openChain: {}, discardChain: { _ in }, persistChain: {},
            create: { i, t, ts in verdict(t, i, at: ts, x) },
            failed: { t, status in if status.isTransient { chainOrphans.append(t.id) } })
        let broken = chain.contains { b.results[$0].status != .created }
        for i in chain { r.preset[i] = broken ? .skip : .unlinked }
        return true
    }

    /// The result creating `t` (event `i`) would have, decided by the one rulebook over the
    /// batch-start state (`x` is the serial executor: it reads every record whole).
    /// Changes nothing.
    private func verdict(_ t: Transfer, _ i: Int, at ts: UInt64, _ x: ShardExecution) -> (CreateTransferStatus, UInt64) {
        let view = ShardedTransferView(self, x)
        switch TransferRules.decide(t, event: i, at: ts, in: view) {
        case .done(let status, let timestamp): return (status, timestamp)
        case .create(_, _, _, let actual, _): return (.created, actual)
        case .resolve: preconditionFailure("a chain the plan decides has no post or void")
        }
    }
}
