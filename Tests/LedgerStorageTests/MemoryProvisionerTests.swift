#if canImport(Glibc)
import Glibc
#endif
import Testing

@testable import LedgerStorage

@Suite("Memory provisioner")
struct MemoryProvisionerTests {
    static let hugePage = 2 << 20

    @Test("The provisioner reports a request done, serves urgent ones, and cancels cleanly")
    func provisionerTickets() throws {
        let bytes = 4 * Self.hugePage
        let table = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: Self.hugePage)
        let chunk = UnsafeMutableRawPointer.allocate(byteCount: Self.hugePage, alignment: Self.hugePage)
        for k in stride(from: 0, to: bytes, by: 4096) { table.storeBytes(of: UInt8(truncatingIfNeeded: k >> 12), toByteOffset: k, as: UInt8.self) }
        let provisioner = MemoryProvisioner.shared
        let ticket = provisioner.populate(table, bytes: bytes)
        #expect(provisioner.populate(chunk, bytes: Self.hugePage, urgent: true) == 0)
        var waited = 0
        while !provisioner.isDone(ticket), waited < 10_000 {  // at most 10 s
            usleep(1_000)
            waited += 1
        }
        #expect(provisioner.isDone(ticket))
        // Populating never changes contents.
        #expect(stride(from: 0, to: bytes, by: 4096).allSatisfy { table.load(fromByteOffset: $0, as: UInt8.self) == UInt8(truncatingIfNeeded: $0 >> 12) })
        provisioner.cancel(table, bytes: bytes)
        provisioner.cancel(chunk, bytes: Self.hugePage)
        table.deallocate()
        chunk.deallocate()
    }

    @Test("Blocks come from a stock mapped and faulted in ahead; blocks handed back are freed there")
    func blockStock() throws {
        let provisioner = MemoryProvisioner.shared
        guard MemoryProvisioner.usableCPUs() >= 2 else {
            #expect(provisioner.takeBlock(bytes: Self.hugePage) == nil)  // off on one CPU
            return
        }
        var block = provisioner.takeBlock(bytes: Self.hugePage)
        var waited = 0
        while block == nil, waited < 10_000 {  // the first call starts the stock; at most 10 s
            usleep(1_000)
            waited += 1
            block = provisioner.takeBlock(bytes: Self.hugePage)
        }
        let b = try #require(block)
        #expect(Int(bitPattern: b) % Self.hugePage == 0)
        // The block is the caller's: written and read back whole.
        for k in stride(from: 0, to: Self.hugePage, by: 4096) { b.storeBytes(of: UInt8(truncatingIfNeeded: k >> 12 | 1), toByteOffset: k, as: UInt8.self) }
        #expect(stride(from: 0, to: Self.hugePage, by: 4096).allSatisfy { b.load(fromByteOffset: $0, as: UInt8.self) == UInt8(truncatingIfNeeded: $0 >> 12 | 1) })
        #expect(provisioner.free(b, bytes: Self.hugePage))
        // More blocks keep coming: the stock is refilled after each take.
        var more: [UnsafeMutableRawPointer] = []
        waited = 0
        while more.count < 3, waited < 10_000 {
            if let next = provisioner.takeBlock(bytes: Self.hugePage) { more.append(next) } else { usleep(1_000); waited += 1 }
        }
        #expect(more.count == 3)
        #expect(Set(more.map { UInt(bitPattern: $0) }).count == more.count)
        for m in more { #expect(provisioner.free(m, bytes: Self.hugePage)) }
    }

    @Test("A large request completes, and cancelling it waits for at most the piece in progress")
    func largeRequestCompletesAndCancels() throws {
        let bytes = 16 * Self.hugePage
        let provisioner = MemoryProvisioner.shared
        for cancelEarly in [false, true] {
            let table = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: Self.hugePage)
            let ticket = provisioner.populate(table, bytes: bytes)
            if cancelEarly {
                var began = timespec()
                clock_gettime(CLOCK_MONOTONIC, &began)
                provisioner.cancel(table, bytes: bytes)
                var ended = timespec()
                clock_gettime(CLOCK_MONOTONIC, &ended)
                // At most the one piece in progress is waited for, never the rest of the queue.
                #expect(ended.tv_sec - began.tv_sec < 2)
            }
            var waited = 0
            while !provisioner.isDone(ticket), waited < 10_000 {  // at most 10 s
                usleep(1_000)
                waited += 1
            }
            #expect(provisioner.isDone(ticket))
            if !cancelEarly { provisioner.cancel(table, bytes: bytes) }
            table.deallocate()
        }
    }
}
