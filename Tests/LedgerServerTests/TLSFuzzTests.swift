import Glibc
import KaminoTestSupport
import LedgerClient
import LedgerCore
import Testing
import LedgerWorkload

/// Sends over 100,000 random and mutated TLS records to a live TLS server (before and
/// after a real handshake); the server survives and a good client keeps working.
@Suite("TLS fuzz on the real binary", .serialized)
struct TLSFuzzTests {
    /// splitmix64: reproducible records from the printed seed.
    struct Random {
        var state: UInt64
        /// Random bytes that record bodies are sliced from (generating each byte is slow
        /// in a debug build).
        let pool: [UInt8]

        init(state: UInt64) {
            self.state = state
            var filler = state
            var bytes: [UInt8] = []
            bytes.reserveCapacity(1 << 20)
            while bytes.count < 1 << 20 {
                filler = filler &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                withUnsafeBytes(of: filler) { bytes += $0 }
            }
            pool = bytes
        }
        mutating func next() -> UInt64 {
            var generator = SplitMix64(seed: state)
            defer { state = generator.state }
            return generator.next()
        }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
        mutating func bytes(_ count: Int) -> [UInt8] {
            let start = below(pool.count - count)
            return Array(pool[start..<start + count])
        }
    }

    /// One record: random bytes, a random header with a random body, or a mutated
    /// ClientHello; after a handshake, application data that does not decrypt.
    static func record(_ random: inout Random, hello: [UInt8], afterHandshake: Bool) -> [UInt8] {
        switch random.below(afterHandshake ? 3 : 4) {
        case 0:
            let type: [UInt8] = [20, 21, 22, 23, 24, UInt8(truncatingIfNeeded: random.next())]
            let versions: [UInt16] = [0x0301, 0x0303, 0x0304, UInt16(truncatingIfNeeded: random.next())]
            let version = versions[random.below(versions.count)]
            let length = random.below(4) == 0 ? random.below(20_000) : random.below(300)
            let declared = random.below(8) == 0 ? UInt16(truncatingIfNeeded: random.next()) : UInt16(length)
            return [type[random.below(type.count)], UInt8(version >> 8), UInt8(version & 0xFF),
                    UInt8(declared >> 8), UInt8(declared & 0xFF)] + random.bytes(length)
        case 1:
            // Application data of a plausible size that was never encrypted with the key.
            let length = 17 + random.below(400)
            return [23, 3, 3, UInt8(length >> 8), UInt8(length & 0xFF)] + random.bytes(length)
        case 2 where !afterHandshake:
            return random.bytes(1 + random.below(600))
        default:
            var mutated = hello
            for _ in 0..<(1 + random.below(8)) {
                let at = random.below(mutated.count)
                switch random.below(4) {
                case 0: mutated[at] ^= UInt8(truncatingIfNeeded: 1 + random.below(255))
                case 1: mutated[at] = UInt8(truncatingIfNeeded: random.next())
                case 2: mutated = Array(mutated[0..<max(1, at)])
                default: mutated.insert(contentsOf: random.bytes(1 + random.below(16)), at: at)
                }
            }
            return mutated
        }
    }

    @Test func serverSurvivesRandomAndMutatedRecords() async throws {
        let certificates = try #require(TestCertificates.make())
        defer { certificates.remove() }
        let server = try #require(ServerProcess.start(
            dataDir: temporaryDataDir("tlsfuzz"),
            extra: ["--tls-cert", certificates.serverCertificate, "--tls-key", certificates.serverKey]))
        defer { server.terminate() }
        let hello = try #require(TLSProbe.clientHello(caFile: certificates.caCertificate))
        var options = KaminoClientOptions(requestTimeout: .seconds(5), retry: .none)
        options.tls = KaminoTLSOptions(caFile: certificates.caCertificate)
        let good = try KaminoClient(addresses: ["127.0.0.1:\(server.port)"], options: options)
        #expect(try await good.createAccounts([Account(id: 1, ledger: 700, code: 10)]).map(\.status) == [.created])

        let seed = UInt64(monotonicClockSeconds() * 1000)
        print("tls fuzz seed \(seed)")
        var random = Random(state: seed)
        let target = 100_000
        let deadline = monotonicClockSeconds() + 40
        var sent = 0
        var connections = 0
        var handshaken = 0
        while sent < target && monotonicClockSeconds() < deadline {
            connections += 1
            // One connection in eight fuzzes after a real handshake.
            let probe = connections % 8 == 0 ? TLSProbe(port: server.port, caFile: certificates.caCertificate) : nil
            if probe != nil { handshaken += 1 }
            guard let fd = probe?.fd ?? connectLoopback(server.port, timeoutSeconds: 2) else {
                Issue.record("connection \(connections) failed after \(sent) records")
                break
            }
            // 32 records in one write (the server stops reading at the first it refuses); a record counts once written to the socket whole.
            var stream: [UInt8] = []
            var ends: [Int] = []
            for _ in 0..<32 {
                stream += Self.record(&random, hello: hello, afterHandshake: probe != nil)
                ends.append(stream.count)
            }
            let written = sendCounting(fd, stream)
            sent += ends.count { $0 <= written }
            if probe == nil { close(fd) }
            if connections % 200 == 0 {
                #expect(try await good.lookupAccounts([1]).count == 1, "the good client failed after \(sent) records")
            }
        }
        print("tls fuzz: \(sent) records on \(connections) connections (\(handshaken) after a handshake)")
        #expect(sent >= target, "only \(sent) records in the time allowed")
        var status: Int32 = 0
        #expect(waitpid(server.pid, &status, WNOHANG) == 0, "the server exited")
        #expect(try await good.lookupAccounts([1]).count == 1)
        #expect(try await good.createAccounts([Account(id: 2, ledger: 700, code: 10)]).map(\.status) == [.created])
        await good.close()
        server.expectCleanExit()
    }
}
