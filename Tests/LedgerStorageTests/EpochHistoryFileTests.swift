import Testing

@testable import LedgerStorage

/// A history from (epoch, first LSN) pairs.
func history(_ pairs: [(UInt64, UInt64)]) -> EpochHistoryFile {
    EpochHistoryFile(entries: pairs.map { EpochHistoryFile.Entry(epoch: $0.0, firstLSN: $0.1) })
}

@Suite struct EpochHistoryFileTests {
    @Test func lookupsAppendAndTruncate() {
        let empty = EpochHistoryFile()
        #expect(empty.current == 0 && empty.epoch(of: 1) == 0 && empty.epoch(of: 1000) == 0)
        let h = history([(1, 11), (3, 40), (4, 41)])
        #expect(h.current == 4)
        #expect(h.epoch(of: 1) == 0 && h.epoch(of: 10) == 0 && h.epoch(of: 11) == 1 && h.epoch(of: 39) == 1)
        #expect(h.epoch(of: 40) == 3 && h.epoch(of: 41) == 4 && h.epoch(of: 999) == 4)
        #expect(h.appending(epoch: 5, firstLSN: 60) == history([(1, 11), (3, 40), (4, 41), (5, 60)]))
        // An epoch that wrote nothing is replaced by the next one starting at the same LSN.
        #expect(h.appending(epoch: 6, firstLSN: 41) == history([(1, 11), (3, 40), (6, 41)]))
        #expect(h.truncated(after: 40) == history([(1, 11), (3, 40)]))
        #expect(h.truncated(after: 39) == history([(1, 11)]))
        #expect(h.truncated(after: 10) == empty)
        #expect(h.truncated(after: 41) == h)
    }

    @Test func fileRoundTripAndMissingFile() throws {
        let dir = TempDir("epochs")
        defer { dir.remove() }
        #expect(try EpochHistoryFile.read(directory: dir.path) == EpochHistoryFile())
        for h in [EpochHistoryFile(), history([(1, 1)]), history([(2, 5), (7, 100), (9, UInt64.max / 4)])] {
            try h.write(directory: dir.path)
            #expect(try EpochHistoryFile.read(directory: dir.path) == h)
            #expect(try readFile(dir.file(EpochHistoryFile.fileName)).count == 16 + 16 * h.entries.count + 4)
        }
        #expect(try FileIO.list(dir.path).sorted() == [EpochHistoryFile.fileName])
        // The layout of docs/wal.md.
        let bytes = try readFile(dir.file(EpochHistoryFile.fileName))
        #expect(Array(bytes[0..<4]) == Array("KEPO".utf8))
        #expect(bytes[4] == 1 && bytes[5] == 0 && bytes[8] == 3)
        #expect(bytes[16] == 2 && bytes[24] == 5)
    }

    @Test func corruptFileIsRefusedNamingIt() throws {
        let dir = TempDir("epochs-corrupt")
        defer { dir.remove() }
        let path = dir.file(EpochHistoryFile.fileName)
        try history([(1, 1), (2, 50)]).write(directory: dir.path)
        let good = try readFile(path)
        var cases: [[UInt8]] = []
        for position in [0, 4, 8, 17, 40, good.count - 1] {
            var bad = good
            bad[position] ^= 0x10
            cases.append(bad)
        }
        cases.append(Array(good.dropLast(1)))
        cases.append([])
        // Out of order, with a correct checksum.
        var unordered = EpochHistoryFile.encodeUnchecked([(2, 1), (1, 50)])
        cases.append(unordered)
        unordered = EpochHistoryFile.encodeUnchecked([(0, 1)])
        cases.append(unordered)
        for bytes in cases {
            try writeFile(path, bytes)
            let error = #expect(throws: WALError.self) { try EpochHistoryFile.read(directory: dir.path) }
            #expect(error?.code == .corrupt)
            #expect(error?.file == path)
            #expect(error?.message.contains(EpochHistoryFile.fileName) == true)
        }
    }

    /// One row of the log-matching table.
    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        let follower: [(UInt64, UInt64)]
        let followerLast: UInt64
        let primary: [(UInt64, UInt64)]
        let primaryLast: UInt64
        let expected: UInt64
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "equal histories", follower: [(1, 1), (2, 50)], followerLast: 100,
             primary: [(1, 1), (2, 50)], primaryLast: 100, expected: 100),
        Case(name: "follower behind in the same epoch", follower: [(1, 1)], followerLast: 30,
             primary: [(1, 1), (2, 50)], primaryLast: 100, expected: 30),
        Case(name: "follower behind, in the primary's older epoch", follower: [(1, 1), (2, 50)], followerLast: 60,
             primary: [(1, 1), (2, 50), (3, 80)], primaryLast: 100, expected: 60),
        Case(name: "follower ahead of the primary in the same epoch", follower: [(2, 1)], followerLast: 100,
             primary: [(2, 1)], primaryLast: 50, expected: 50),
        Case(name: "old primary with an unacknowledged tail", follower: [(1, 1)], followerLast: 70,
             primary: [(1, 1), (2, 61)], primaryLast: 100, expected: 60),
        Case(name: "old primary's tail shorter than the new epoch's start", follower: [(1, 1)], followerLast: 58,
             primary: [(1, 1), (2, 61)], primaryLast: 100, expected: 58),
        Case(name: "follower with an epoch the primary never had", follower: [(1, 1), (2, 50)], followerLast: 60,
             primary: [(1, 1), (3, 50)], primaryLast: 90, expected: 49),
        Case(name: "follower's unknown epoch starts after the primary's new one", follower: [(1, 1), (2, 55)], followerLast: 60,
             primary: [(1, 1), (3, 50)], primaryLast: 90, expected: 49),
        Case(name: "follower's unknown epoch starts before the primary's new one", follower: [(1, 1), (2, 45)], followerLast: 60,
             primary: [(1, 1), (3, 50)], primaryLast: 90, expected: 44),
        Case(name: "two stale epochs on the follower", follower: [(1, 1), (2, 20), (4, 30)], followerLast: 40,
             primary: [(1, 1), (2, 20), (3, 25), (5, 35)], primaryLast: 90, expected: 24),
        Case(name: "no common record", follower: [(1, 1)], followerLast: 10,
             primary: [(2, 1)], primaryLast: 10, expected: 0),
        Case(name: "empty histories (epoch 0 logs)", follower: [], followerLast: 10,
             primary: [], primaryLast: 20, expected: 10),
        Case(name: "epoch 0 prefix, follower never replicated", follower: [], followerLast: 40,
             primary: [(1, 31)], primaryLast: 50, expected: 30),
        Case(name: "epoch 0 prefix on both", follower: [(1, 31)], followerLast: 40,
             primary: [(1, 31)], primaryLast: 50, expected: 40),
        Case(name: "epoch 0 log against a primary replicated from LSN 1", follower: [], followerLast: 10,
             primary: [(1, 1)], primaryLast: 10, expected: 0),
        Case(name: "empty follower log", follower: [], followerLast: 0,
             primary: [(1, 1)], primaryLast: 10, expected: 0),
        Case(name: "empty primary log", follower: [(1, 1)], followerLast: 10,
             primary: [], primaryLast: 0, expected: 0),
        Case(name: "entries past both logs' ends do not matter", follower: [(1, 1), (2, 500)], followerLast: 40,
             primary: [(1, 1), (3, 400)], primaryLast: 90, expected: 40),
    ]

    @Test(arguments: cases)
    func commonPrefix(_ c: Case) {
        let follower = history(c.follower)
        let primary = history(c.primary)
        #expect(EpochHistoryFile.commonPrefix(follower: follower, followerLastLSN: c.followerLast,
                                              primary: primary, primaryLastLSN: c.primaryLast) == c.expected)
        // Symmetric: the same prefix agrees whichever side asks.
        #expect(EpochHistoryFile.commonPrefix(follower: primary, followerLastLSN: c.primaryLast,
                                              primary: follower, primaryLastLSN: c.followerLast) == c.expected)
        #expect(c.expected == naivePrefix(follower, c.followerLast, primary, c.primaryLast))
    }

    /// LSN by LSN, the definition itself.
    func naivePrefix(_ f: EpochHistoryFile, _ fl: UInt64, _ p: EpochHistoryFile, _ pl: UInt64) -> UInt64 {
        var l: UInt64 = 0
        while l < min(fl, pl), f.epoch(of: l + 1) == p.epoch(of: l + 1) { l += 1 }
        return l
    }

    @Test func commonPrefixMatchesTheDefinitionOnRandomHistories() {
        var rng = SplitMix(seed: 7)
        for _ in 0..<2000 {
            func randomHistory() -> EpochHistoryFile {
                var pairs: [(UInt64, UInt64)] = []
                var epoch: UInt64 = 0
                var lsn: UInt64 = 0
                for _ in 0..<(rng.next() % 5) {
                    epoch += 1 + rng.next() % 2
                    lsn += 1 + rng.next() % 15
                    pairs.append((epoch, lsn))
                }
                return history(pairs)
            }
            // A shared past, then possibly diverging entries.
            let base = randomHistory()
            var f = base
            var p = base
            if rng.next() % 2 == 0 { f = f.appending(epoch: f.current + 1 + rng.next() % 2, firstLSN: (f.entries.last?.firstLSN ?? 0) + 1 + rng.next() % 10) }
            if rng.next() % 2 == 0 { p = p.appending(epoch: p.current + 1 + rng.next() % 2, firstLSN: (p.entries.last?.firstLSN ?? 0) + 1 + rng.next() % 10) }
            let fl = rng.next() % 80
            let pl = rng.next() % 80
            #expect(EpochHistoryFile.commonPrefix(follower: f, followerLastLSN: fl, primary: p, primaryLastLSN: pl)
                        == naivePrefix(f, fl, p, pl))
        }
    }
}

/// A small deterministic generator for the property tests.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension EpochHistoryFile {
    /// The file bytes for entries that `init` would refuse (to test that `read` refuses them).
    static func encodeUnchecked(_ pairs: [(UInt64, UInt64)]) -> [UInt8] {
        var bytes: [UInt8] = []
        func put<T: FixedWidthInteger>(_ value: T) { withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) } }
        put(magic)
        put(formatVersion)
        put(UInt16(0))
        put(UInt32(pairs.count))
        put(UInt32(0))
        for (epoch, lsn) in pairs {
            put(epoch)
            put(lsn)
        }
        put(CRC32C.checksum(bytes))
        return bytes
    }
}
