package import LedgerClient
import LedgerCore

/// What every worker of a run shares.
package struct WorkerContext: Sendable {
    package var configuration: BenchConfiguration
    package var identity: RunIdentity
    package var picker: AccountPicker
    package var recorder: Recorder
    package var control: RunControl
    /// Failure labels that are expected in this scenario (e.g. `busy` above capacity).
    package var expectedErrors: Set<String>
    /// The open model's schedule and counters; nil: closed model.
    package var open: OpenLoop?

    var shape: TransferShape {
        TransferShape(
            identity: identity, picker: picker, twoPhase: configuration.twoPhase, linked: configuration.linked,
            maxAmount: configuration.mix == .bank ? 10_000 : 1000)
    }
}

/// A worker's permission to send one request (or bank action).
struct Turn {
    /// Open model: the intended send time (monotonic nanoseconds), which latencies count
    /// from; nil in the closed model, where they count from the actual send.
    var due: UInt64?

    /// The time a request sent now counts from.
    @inline(__always)
    func origin() -> UInt64 { due ?? monotonicNanos() }
}

/// Waits while this worker is above the active level; false once the run stops.
private func awaitTurn(_ worker: Int, _ control: RunControl) async -> Bool {
    while !control.isStopped {
        if worker < control.activeWorkers { return true }
        try? await Task.sleep(for: .milliseconds(10))
    }
    return false
}

extension WorkerContext {
    /// The worker's next turn: in the closed model when the active level includes it, in
    /// the open model when the next request is due; nil once the run stops.
    func nextTurn(_ worker: Int) async -> Turn? {
        if let open {
            guard let due = await open.nextDue(control) else { return nil }
            return Turn(due: due)
        }
        return await awaitTurn(worker, control) ? Turn(due: nil) : nil
    }

    /// The worker's turn when it needs no waiting: in the closed model, the run goes on and
    /// the active level includes the worker (what `nextTurn` answers at once then). Checked
    /// before `nextTurn` so that the usual turn costs no async call (a task-frame allocation
    /// and two executor checks per request).
    @inline(__always)
    func readyTurn(_ worker: Int) -> Turn? {
        guard open == nil, !control.isStopped, worker < control.activeWorkers else { return nil }
        return Turn(due: nil)
    }

    /// The next turn: `readyTurn` when there is one, else `nextTurn`.
    @inline(__always)
    func turn(_ worker: Int) async -> Turn? {
        if let ready = readyTurn(worker) { return ready }
        return await nextTurn(worker)
    }

    /// The turn's request is answered (or failed).
    func finish(_ turn: Turn) {
        if turn.due != nil { open?.done() }
    }
}

/// Notes a failed request in the outcome (unknown outcome, unexpected) and returns its label.
private func noteFailure(_ error: KaminoClientError, _ context: WorkerContext, _ outcome: inout WorkerOutcome) -> String {
    let label = ErrorLabels.label(error)
    if ErrorLabels.mayHaveApplied(error) { outcome.outcomeUnknown = true }
    if !context.expectedErrors.contains(label) {
        outcome.unexpected += 1
        context.control.noteFailure(label)
    }
    return label
}

/// The transfers mix: `create_transfers` batches in a closed loop until the run stops.
package func runTransferWorker(_ worker: Int, client: KaminoClient, context: WorkerContext) async -> WorkerOutcome {
    var outcome = WorkerOutcome(worker: worker)
    var generator = TransferGenerator(shape: context.shape, seed: context.configuration.seed, worker: worker)
    let accounting = TransferAccounting(mix: context.configuration.mix)
    let batchSize = context.configuration.effectiveBatchSize
    while let turn = await context.turn(worker) {
        defer { context.finish(turn) }
        let size = context.control.reserveTransfers(batchSize)
        guard size > 0 else { break }
        let batch = generator.nextBatch(size: size)
        let start = turn.origin()
        do {
            let results = try await client.createTransfers(batch)
            let micros = (monotonicNanos() - start) / 1000
            context.control.noteSuccess()
            let (created, statuses, unexpected) = accounting.account(batch, results, into: &outcome)
            context.recorder.record(
                .operation(.createTransfers), worker: worker, micros: micros,
                error: unexpected > 0 ? "unexpected_result" : nil, statuses: statuses, transfers: created)
        } catch {
            let micros = (monotonicNanos() - start) / 1000
            let label = noteFailure(error, context, &outcome)
            context.recorder.record(.operation(.createTransfers), worker: worker, micros: micros, error: label)
        }
    }
    return outcome
}

/// The bank mix: one action at a time, drawn by its share, until the run stops.
package func runBankWorker(_ worker: Int, client: KaminoClient, context: WorkerContext) async -> WorkerOutcome {
    var outcome = WorkerOutcome(worker: worker)
    var rng = BenchRandom(seed: context.configuration.seed, stream: 0xBA4C_0000 &+ UInt64(worker))
    var generator = TransferGenerator(shape: context.shape, seed: context.configuration.seed, worker: worker)
    let accounting = TransferAccounting(mix: .bank)
    let identity = context.identity
    let recorder = context.recorder

    /// Records one finished request as `op`; returns its value, or nil after a failure
    /// or when `check` names something wrong with the answer.
    func settle<T>(_ op: BenchOperation, _ m: Measured<T>, check: (T) -> String? = { _ in nil }) -> T? {
        switch m.result {
        case .success(let value):
            context.control.noteSuccess()
            let bad = check(value)
            if bad != nil { outcome.unexpected += 1 }
            recorder.record(.operation(op), worker: worker, micros: m.micros, error: bad)
            return bad == nil ? value : nil
        case .failure(let error):
            let label = noteFailure(error, context, &outcome)
            recorder.record(.operation(op), worker: worker, micros: m.micros, error: label)
            return nil
        }
    }
    let one: @Sendable ([Account]) -> String? = { $0.count == 1 ? nil : "not_found" }

    while let turn = await context.turn(worker) {
        defer { context.finish(turn) }
        let action = BankAction.next(&rng)
        let user = identity.accountId(context.picker.pick(&rng))
        let start = turn.origin()
        // The action's first requests count from its start (its intended time in the open model).
        let first = turn.due
        var ok = true
        var created = 0
        switch action {
        case .balance:
            ok = settle(.lookupAccounts, await measure(from: first) { () throws(KaminoClientError) in try await client.lookupAccounts([user]) },
                        check: one) != nil
        case .statement:
            let firstPage = AccountFilter(accountId: user, limit: 20, flags: [.debits, .credits, .reversed])
            let page = settle(.getAccountTransfers, await measure(from: first) { () throws(KaminoClientError) in
                try await client.getAccountTransfers(firstPage)
            })
            ok = page != nil
            if let page, page.count == 20, let last = page.last, last.timestamp > 1 {
                var following = firstPage
                following.timestampMax = last.timestamp - 1
                let next = following
                ok = settle(.getAccountTransfers, await measure { () throws(KaminoClientError) in
                    try await client.getAccountTransfers(next)
                }) != nil
            }
        case .dashboard:
            let filter = AccountFilter(accountId: user, limit: 10, flags: [.debits, .credits, .reversed])
            async let account = measure(from: first) { () throws(KaminoClientError) in try await client.lookupAccounts([user]) }
            async let latest = measure(from: first) { () throws(KaminoClientError) in try await client.getAccountTransfers(filter) }
            let a = settle(.lookupAccounts, await account, check: one)
            let l = settle(.getAccountTransfers, await latest)
            ok = a != nil && l != nil
        case .transfer:
            let batch = generator.nextBatch(size: 1)
            let tStart = turn.origin()
            do {
                let results = try await client.createTransfers(batch)
                context.control.noteSuccess()
                let r = accounting.account(batch, results, into: &outcome)
                created = r.created
                ok = r.unexpected == 0
                recorder.record(.operation(.createTransfers), worker: worker, micros: (monotonicNanos() - tStart) / 1000,
                                error: ok ? nil : "unexpected_result", statuses: r.statuses, transfers: created)
            } catch {
                let label = noteFailure(error, context, &outcome)
                recorder.record(.operation(.createTransfers), worker: worker, micros: (monotonicNanos() - tStart) / 1000, error: label)
                ok = false
            }
        case .registration:
            let id = identity.registeredAccountId(worker: worker, sequence: outcome.registered)
            outcome.registered += 1
            let account = Account(id: id, ledger: identity.ledger, code: 10, flags: .debitsMustNotExceedCredits)
            ok = settle(.createAccounts, await measure(from: first) { () throws(KaminoClientError) in try await client.createAccounts([account]) },
                        check: { $0.first?.status == .created ? nil : ErrorLabels.snakeCase($0.first?.status ?? .created) }) != nil
            if ok { outcome.registeredCreated += 1 }
        }
        recorder.record(.action(action), worker: worker, micros: (monotonicNanos() - start) / 1000,
                        error: ok ? nil : "failed")
    }
    return outcome
}

/// A request's result and how long it took.
struct Measured<T: Sendable>: Sendable {
    var result: Result<T, KaminoClientError>
    var micros: UInt64
}

/// Runs one request and times it, from `origin` when given (the intended send time in the
/// open model), else from now.
func measure<T: Sendable>(
    from origin: UInt64? = nil, _ body: @Sendable () async throws(KaminoClientError) -> T
) async -> Measured<T> {
    let start = origin ?? monotonicNanos()
    do {
        let value = try await body()
        return Measured(result: .success(value), micros: (monotonicNanos() - start) / 1000)
    } catch {
        return Measured(result: .failure(error), micros: (monotonicNanos() - start) / 1000)
    }
}
