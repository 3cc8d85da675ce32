import Glibc
import KaminoAuth
import KaminoTestSupport
import LedgerCore
import LedgerWire
import Synchronization
import Testing
import LedgerWorkload

/// 100,000 random and mutated `authenticate` messages to a live `kamino serve --auth jwt`:
/// the server survives, refuses them all, and a good client keeps working.
@Suite("kamino serve --auth jwt under fuzzed authenticate messages", .serialized)
struct AuthFuzzTests {
    /// Messages sent (KAMINO_AUTH_FUZZ overrides, for longer local runs).
    static let messages = getenv("KAMINO_AUTH_FUZZ").flatMap { Int(String(cString: $0)) } ?? 100_000
    static let threads = 4

    @Test("100,000 random and mutated authenticate messages: the server survives and a good client keeps working")
    func fuzzAuthenticate() throws {
        try AuthServer.with("auth-fuzz", extra: ["--max-connections-per-address", "100000"]) { server in
            let good = try #require(server.connect(AuthServer.token(rights: ["read", "write"])))
            #expect(allCreated(good.call(.createAccounts(accounts(1)))))
            let valid = AuthServer.token(rights: ["read", "write", "admin"])
            let frame = WireTestClient.frame(.authenticate(valid), id: 7)
            let counters = FuzzCounters()
            let port = server.port
            let started = monotonicSeconds()
            let perThread = Self.messages / Self.threads
            var workers: [pthread_t] = []
            for t in 0..<Self.threads {
                let job = FuzzJob(port: port, count: perThread, seed: UInt64(t + 1) &* 0x9E37_79B9_7F4A_7C15, token: valid, frame: frame,
                                  counters: counters)
                workers.append(try #require(job.start()))
            }
            // The good client keeps working while the fuzzers run.
            var goodOps = 0
            var n: UInt128 = 100
            while counters.sent.load(ordering: .relaxed) < perThread * Self.threads, monotonicSeconds() - started < 120 {
                n += 1
                if allCreated(good.call(.createTransfers([transfer(n, from: 1, to: 2)]))) { goodOps += 1 } else { break }
                usleep(20_000)
            }
            for w in workers { pthread_join(w, nil) }
            let seconds = monotonicSeconds() - started
            print("auth fuzz: \(counters.sent.load(ordering: .relaxed)) messages in \(Int(seconds)) s, \(counters.accepted.load(ordering: .relaxed)) accepted (unmutated), good client \(goodOps) creates")
            #expect(counters.sent.load(ordering: .relaxed) >= Self.messages - Self.threads)
            #expect(goodOps > 0)
            #expect(allCreated(good.call(.createTransfers([transfer(n + 1, from: 1, to: 2)]))), "the good client still works")
            let fresh = try #require(server.connect(AuthServer.token(rights: ["read"])), "a new client still authenticates")
            guard case .reply(_, .lookupAccounts(let found), _)? = fresh.call(.lookupAccounts([1, 2])) else {
                Issue.record("no lookup reply after the fuzz")
                return
            }
            #expect(found.count == 2)
        }
    }
}

/// Messages sent and accepted by the fuzzing threads.
final class FuzzCounters: Sendable {
    let sent = Atomic<Int>(0)
    let accepted = Atomic<Int>(0)
}

/// One fuzzing thread: connects, sends one random or mutated `authenticate` frame, reads
/// until the server answers or closes, resets the connection.
/// Confined to its thread once started (`rng` is its own).
final class FuzzJob: @unchecked Sendable {
    let port: UInt16
    let count: Int
    var rng: UInt64
    let token: [UInt8]
    let frame: [UInt8]
    let counters: FuzzCounters

    init(port: UInt16, count: Int, seed: UInt64, token: [UInt8], frame: [UInt8], counters: FuzzCounters) {
        self.port = port
        self.count = count
        self.rng = seed
        self.token = token
        self.frame = frame
        self.counters = counters
    }

    func next() -> UInt64 {
        var generator = SplitMix64(seed: rng)
        defer { rng = generator.state }
        return generator.next()
    }

    /// A fuzzed message: random bytes, a mutated valid frame, or a valid frame around a mutated token.
    func message() -> [UInt8] {
        switch next() % 4 {
        case 0:
            return (0..<Int(next() % 200)).map { _ in UInt8(truncatingIfNeeded: next()) }
        case 1:
            var f = frame
            for _ in 0..<(1 + Int(next() % 4)) { f[Int(next() % UInt64(f.count))] ^= UInt8(truncatingIfNeeded: next() | 1) }
            return f
        default:
            var t = token
            switch next() % 5 {
            case 0: for _ in 0..<(1 + Int(next() % 3)) { t[Int(next() % UInt64(t.count))] = UInt8(truncatingIfNeeded: next()) }
            case 1: t = Array(t.prefix(Int(next() % UInt64(t.count))))
            case 2: t += (0..<Int(next() % 64)).map { _ in UInt8(truncatingIfNeeded: next()) }
            case 3:
                // Swap in base64url claims of random JSON-ish text.
                let parts = t.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
                let junk = "{\"exp\":\(next() % 4_000_000_000),\"aud\":[\(next() % 9)],\"kamino_rights\":[\"admin\"]}"
                t = Array(parts[0]) + [UInt8(ascii: ".")] + Array(Base64URL.encode(Array(junk.utf8)).utf8) + [UInt8(ascii: ".")] + Array(parts[2])
            default: t = Array(Base64URL.encode((0..<Int(next() % 300)).map { _ in UInt8(truncatingIfNeeded: next()) }).utf8)
            }
            return WireTestClient.frame(.authenticate(t), id: next())
        }
    }

    func run() {
        for _ in 0..<count {
            let bytes = message()
            guard let c = RawConnection(port: port, timeoutSeconds: 5) else { continue }
            c.send(bytes)
            // The answer's header, then a reset (no TIME_WAIT on either side, which would
            // make later connections wait for SYN retransmits). A partial frame gets no
            // answer: half-close, and the server answers truncated_frame.
            var header = c.readHeader(timeoutMillis: 20)
            if header == nil {
                shutdown(c.fd, Int32(SHUT_WR))
                header = c.readHeader(timeoutMillis: 5000)
            }
            if let header, header.count >= 26, header[24] == 0, header[25] == 0 { counters.accepted.add(1, ordering: .relaxed) }
            counters.sent.add(1, ordering: .relaxed)
        }
    }

    func start() -> pthread_t? {
        var thread = pthread_t()
        let box = Unmanaged.passRetained(self).toOpaque()
        let rc = pthread_create(&thread, nil, { raw in
            let job = Unmanaged<FuzzJob>.fromOpaque(raw!).takeRetainedValue()
            job.run()
            return nil
        }, box)
        return rc == 0 ? thread : nil
    }
}
