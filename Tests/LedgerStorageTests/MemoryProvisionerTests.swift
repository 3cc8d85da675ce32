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
}
