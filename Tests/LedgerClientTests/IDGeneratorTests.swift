import LedgerClient
import Synchronization
import Testing

/// TigerBeetle's id layout: 48-bit milliseconds, then 80 random bits; strictly
/// increasing within a generator, from any number of threads.
@Suite struct IDGeneratorTests {
    /// A generator on a clock and a random source the test sets.
    final class Source: Sendable {
        let millis = Mutex<UInt64>(0)
        let random = Mutex<UInt128>(0)
        var generator: IDGenerator {
            IDGenerator(milliseconds: { self.millis.withLock { $0 } }, random: { self.random.withLock { $0 } })
        }
    }

    @Test func layoutIsMillisecondsThenRandomBits() {
        let source = Source()
        source.millis.withLock { $0 = 1_700_000_000_123 }
        source.random.withLock { $0 = 0xABCD_EF01_2345_6789_ABCD }
        let id = source.generator.next()
        #expect(id >> 80 == 1_700_000_000_123)
        #expect(id & ((1 << 80) - 1) == 0xABCD_EF01_2345_6789_ABCD)
        #expect(IDGenerator.milliseconds(of: id) == 1_700_000_000_123)
    }

    @Test func theSameMillisecondIncrementsTheRandomPart() {
        let source = Source()
        source.millis.withLock { $0 = 5_000 }
        source.random.withLock { $0 = 41 }
        let ids = source.generator
        let first = ids.next()
        source.random.withLock { $0 = 7 }  // ignored within the millisecond
        #expect(ids.next() == first + 1)
        #expect(ids.next() == first + 2)
        // A later millisecond draws fresh random bits.
        source.millis.withLock { $0 = 5_001 }
        #expect(ids.next() == UInt128(5_001) << 80 | 7)
        // The clock steps back: the time part stays, the random part counts on.
        source.millis.withLock { $0 = 4_000 }
        #expect(ids.next() == UInt128(5_001) << 80 | 8)
    }

    @Test func aFullRandomPartCarriesIntoTheTimePart() {
        let source = Source()
        source.millis.withLock { $0 = 9 }
        source.random.withLock { $0 = UInt128.max }  // only the low 80 bits are used
        let ids = source.generator
        #expect(ids.next() == UInt128(9) << 80 | ((1 << 80) - 1))
        #expect(ids.next() == UInt128(10) << 80)
    }

    @Test func realIdsAreCurrentNonZeroAndIncreasing() {
        let ids = IDGenerator()
        var last: UInt128 = 0
        for _ in 0..<10_000 {
            let id = ids.next()
            #expect(id > last)
            last = id
        }
        // Generated in this century: between 2020-01-01 and 2100-01-01.
        #expect((1_577_836_800_000...4_102_444_800_000).contains(IDGenerator.milliseconds(of: last)))
        #expect(IDGenerator.shared.next() != IDGenerator.shared.next())
    }

    @Test func concurrentCallersGetDistinctIncreasingIds() async {
        let ids = IDGenerator()
        let perTask = 2_000
        let batches = await withTaskGroup(of: [UInt128].self) { group in
            for _ in 0..<8 {
                group.addTask { (0..<perTask).map { _ in ids.next() } }
            }
            var all: [[UInt128]] = []
            for await batch in group { all.append(batch) }
            return all
        }
        for batch in batches { #expect(zip(batch, batch.dropFirst()).allSatisfy { $0 < $1 }) }
        #expect(Set(batches.joined()).count == 8 * perTask)
    }
}
