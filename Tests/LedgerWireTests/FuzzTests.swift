import LedgerWorkload
import LedgerCore
import NIOCore
import Testing

@testable import LedgerWire

/// Feeds over a million random and mutated frames through the decoder, split at random
/// points across several buffers. The decoder must never crash, never yield a message
/// that is not byte-identical to a valid frame that was sent, and otherwise either ask for
/// more bytes or throw a `WireError`; after recoverable errors it must stay in sync.
@Suite("Decoder fuzzing")
struct FuzzTests {
    /// Valid frames (small bodies, so the generator stays cheap) and their messages.
    struct Pool {
        var frames: [[UInt8]] = []
        var messages: [Message] = []
        let role: KaminoMessageDecoder.Role

        init(role: KaminoMessageDecoder.Role, seed: UInt64) {
            self.role = role
            var r = SplitMix64(seed: seed)
            for i in 0..<256 {
                let op = Samples.clientOperations[i % Samples.clientOperations.count]
                let n = Int(r.next() % 4)
                let message: Message
                switch (role, i % 16) {
                case (.requests, _): message = .request(id: UInt64(i), Samples.request(op, n, &r))
                case (.replies, 15):
                    message = .errorReply(ErrorReply(requestId: UInt64(i), operation: op.rawValue, rawCode: UInt16(1 + i % 15), message: "e\(i)"))
                case (.replies, _): message = .reply(id: UInt64(i), Samples.reply(op, n, &r))
                }
                var b = ByteBuffer()
                try? MessageEncoding.encode(message, into: &b)
                frames.append(Wire.bytes(b))
                messages.append(message)
            }
        }
    }

    /// How one frame of a session was altered.
    enum Mutation: CaseIterable {
        case none, bitFlips, bodyFlip, truncate, lengthLie, countLie, badOperation, badKind, garbage
    }

    /// Counters of one fuzz run.
    struct Stats {
        var frames = 0
        var sessions = 0
        var accepted = 0
        var needMoreAtEnd = 0
        var errors: [WireError.Code: Int] = [:]
        var mutations: [Mutation: Int] = [:]
    }

    static func mutate(_ frame: [UInt8], _ m: Mutation, _ r: inout SplitMix64) -> [UInt8] {
        var f = frame
        let n = f.count
        switch m {
        case .none: break
        case .bitFlips:
            var flipped = Set<Int>()
            for _ in 0..<(1 + Int(r.next() % 3)) {
                var bit = Int(r.next() % UInt64(n * 8))
                while flipped.contains(bit) { bit = (bit + 1) % (n * 8) }
                flipped.insert(bit)
                f[bit >> 3] ^= UInt8(1 << (bit & 7))
            }
        case .bodyFlip:
            guard n > 48 else { break }
            f[48 + Int(r.next() % UInt64(n - 48))] ^= UInt8(1 << (r.next() & 7))
        case .truncate:
            f.removeSubrange(Int(r.next() % UInt64(n))...)
        case .lengthLie:
            let old = UInt32(n - 48)
            let lie: UInt32
            switch r.next() % 3 {
            case 0: lie = old &+ UInt32(1 + r.next() % 200)
            case 1: lie = old > 0 ? UInt32(r.next() % UInt64(old)) : 1
            default: lie = UInt32(truncatingIfNeeded: r.next())
            }
            Wire.setU32(lie, at: 16, in: &f)
            Wire.resealHeader(&f)
        case .countLie:
            Wire.setU32(UInt32(truncatingIfNeeded: r.next() % 9000) | 0x8000_0000 >> UInt32(r.next() % 2 * 31), at: 20, in: &f)
            Wire.resealHeader(&f)
        case .badOperation:
            if f[7] == MessageKind.errorReply.rawValue {
                // Any operation byte is valid in an error reply; a zero error code is not.
                Wire.setU16(0, at: 24, in: &f)
            } else {
                let ops: [UInt8] = [0, 1, 127, 128, 139, 148, 204, 255]
                f[6] = ops[Int(r.next() % UInt64(ops.count))]
            }
            Wire.resealHeader(&f)
        case .badKind:
            f[7] = [0, 4, 9, 0xFF][Int(r.next() % 4)]
            Wire.resealHeader(&f)
        case .garbage:
            f = (0..<(1 + Int(r.next() % 96))).map { _ in UInt8(truncatingIfNeeded: r.next()) }
            if r.next() % 4 == 0, f.count >= 4 { f.replaceSubrange(0..<4, with: Array("KMNO".utf8)) }
        }
        return f
    }

    /// Runs sessions until `frameBudget` frames were fed; returns the counters.
    static func run(pool: Pool, seed: UInt64, frameBudget: Int) -> Stats {
        var r = SplitMix64(seed: seed)
        var stats = Stats()
        let mutations = Mutation.allCases
        var stream: [UInt8] = []
        var expected: [Int] = []  // pool indexes of the unaltered frames, in order
        while stats.frames < frameBudget {
            stats.sessions += 1
            stream.removeAll(keepingCapacity: true)
            expected.removeAll(keepingCapacity: true)
            var recoverableOnly = true
            for _ in 0..<(1 + Int(r.next() % 8)) {
                let index = Int(r.next() % UInt64(pool.frames.count))
                // Half the frames are sent intact, the rest spread over the mutations.
                let m = r.next() % 2 == 0 ? .none : mutations[Int(r.next() % UInt64(mutations.count))]
                stats.mutations[m, default: 0] += 1
                let frame = pool.frames[index]
                let altered = mutate(frame, m, &r)
                if altered == frame {
                    expected.append(index)
                } else if m != .bodyFlip && m != .countLie && m != .badOperation && m != .badKind {
                    recoverableOnly = false
                }
                stream.append(contentsOf: altered)
                stats.frames += 1
            }
            // Split the stream at up to 4 random points.
            var cuts = (0..<Int(r.next() % 5)).map { _ in Int(r.next() % UInt64(stream.count + 1)) }
            cuts.append(0)
            cuts.append(stream.count)
            cuts.sort()
            let processor = NIOSingleStepByteToMessageProcessor(KaminoMessageDecoder(accepting: pool.role))
            var got: [Message] = []
            func feed(_ chunk: ByteBuffer, last: Bool) {
                var input = chunk
                while true {
                    do {
                        if last {
                            try processor.finishProcessing(seenEOF: true) { got.append($0) }
                        } else {
                            try processor.process(buffer: input) { got.append($0) }
                        }
                        return
                    } catch let e as WireError {
                        stats.errors[e.code, default: 0] += 1
                        input = ByteBuffer()  // continue with the bytes after the rejected frame
                    } catch {
                        Issue.record("non-WireError thrown: \(error)")
                        return
                    }
                }
            }
            for i in 1..<cuts.count {
                feed(ByteBuffer(bytes: stream[cuts[i - 1]..<cuts[i]]), last: false)
            }
            feed(ByteBuffer(), last: true)
            // Every yielded message is one of the intact frames, in order.
            var next = 0
            for message in got {
                while next < expected.count && pool.messages[expected[next]] != message { next += 1 }
                if next == expected.count {
                    Issue.record("decoder yielded a message that was not sent intact: \(message)")
                    return stats
                }
                next += 1
            }
            stats.accepted += got.count
            // With only recoverable damage, no intact frame may be lost.
            if recoverableOnly && got.count != expected.count {
                Issue.record("lost sync: \(got.count) of \(expected.count) intact frames decoded")
                return stats
            }
        }
        return stats
    }

    @Test("1,000,000+ random and mutated frames", arguments: [
        (KaminoMessageDecoder.Role.requests, UInt64(1)), (.requests, 2), (.replies, 3), (.replies, 4),
    ])
    func fuzz(role: KaminoMessageDecoder.Role, seed: UInt64) {
        let pool = Pool(role: role, seed: seed)
        let stats = Self.run(pool: pool, seed: seed &* 0x9E37_79B9, frameBudget: 250_000)
        print("fuzz \(role) seed \(seed): \(stats.frames) frames in \(stats.sessions) sessions, \(stats.accepted) accepted, errors \(stats.errors.sorted { $0.key.rawValue < $1.key.rawValue }.map { "\($0.key)=\($0.value)" })")
        #expect(stats.frames >= 250_000)
        #expect(stats.accepted > 0)
        for code: WireError.Code in [.badMagic, .badHeaderChecksum, .badBodyChecksum, .unknownOperation, .badBodySize, .invalidHeader, .truncatedFrame, .frameTooLarge] {
            #expect(stats.errors[code, default: 0] > 0, "never saw \(code)")
        }
    }
}
