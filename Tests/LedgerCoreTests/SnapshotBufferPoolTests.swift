import Testing

@testable import LedgerCore

/// The snapshot copy buffers: a block given back is grown off the capture when the state
/// outgrows it, so the next capture finds one already mapped.
@Suite("Snapshot buffer pool")
struct SnapshotBufferPoolTests {
    @Test("A large block given back is replaced by one with room to grow, which the next take reuses")
    func growsOffTheCapture() {
        let pool = SnapshotBufferPool()
        let first = 3 << 20
        let block = pool.take(bytes: first)
        #expect(block.bytes >= first)
        pool.give(block)
        // 1.25x of the request is below its eighth plus 4 MiB: replaced on the way back.
        #expect(pool.spareBytes == SnapshotBufferPool.headroom(for: first))
        #expect(pool.spareBytes >= first + SnapshotBufferPool.minimumGrowth)
        // A state grown by several MiB still fits the spare: the capture maps nothing.
        let grown = first + (6 << 20)
        let spare = pool.spareBytes
        let again = pool.take(bytes: grown)
        #expect(again.bytes == spare)
        #expect(pool.spareBytes == 0)
        pool.give(again)
        #expect(pool.spareBytes >= grown + grown / 8)
    }

    @Test("A pool that follows the transfers keeps room for a state twice as large: the next capture maps nothing")
    func followsTransfersDoubles() {
        let pool = SnapshotBufferPool(followsTransfers: true)
        // The statuses at 8.5 M transfers, then at 17 M (a snapshot under the byte trigger).
        let first = 8_480_000
        pool.give(pool.take(bytes: first))
        #expect(pool.spareBytes == SnapshotBufferPool.headroom(for: first, followsTransfers: true))
        let doubled = 2 * first + 100_000
        let spare = pool.spareBytes
        let again = pool.take(bytes: doubled)
        #expect(again.bytes == spare)
        pool.give(again)
        #expect(pool.spareBytes >= 2 * doubled)
        // An ordinary pool keeps a quarter: the same doubling would map inside the capture.
        #expect(SnapshotBufferPool.headroom(for: first) < doubled)
    }

    @Test("Small requests keep a quarter of headroom and are never grown")
    func smallRequestsStaySmall() {
        let pool = SnapshotBufferPool()
        let block = pool.take(bytes: 100_000)
        #expect(block.bytes == 125_000)
        pool.give(block)
        #expect(pool.spareBytes == 125_000)
        // The larger block is kept, the smaller freed.
        let other = pool.take(bytes: 200_000)
        let kept = pool.take(bytes: 1)
        pool.give(other)
        pool.give(kept)
        #expect(pool.spareBytes == 250_000)
    }
}
