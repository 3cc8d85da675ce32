#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
@testable import LedgerStorage
import Testing

@Suite("DataDirectoryLock")
struct DataDirectoryLockUnitTests {
    @Test func secondWriterIsRefusedUntilTheFirstCloses() async throws {
        let dir = TempDir("lock")
        defer { dir.remove() }
        let (writer, _) = try WALWriter.open(WALConfiguration(directory: dir.path, segmentSize: 1 << 16))
        _ = try await writer.appendDurably(operation: 1, timestamp: 1, eventCount: 1, body: testBody(1, length: 100))
        do {
            _ = try WALWriter.open(WALConfiguration(directory: dir.path, segmentSize: 1 << 16))
            Issue.record("a second writer opened a locked directory")
        } catch {
            #expect(error.code == .locked)
            #expect(error.message.contains("pid \(getpid())"))
        }
        await writer.close()
        // Closed: the directory is free again, and the record is there.
        let (reopened, report) = try WALWriter.open(WALConfiguration(directory: dir.path, segmentSize: 1 << 16))
        #expect(report.lastLSN == 1)
        await reopened.close()
    }

    @Test func lockIsReleasedWhenItsOwnerIsDropped() throws {
        let dir = TempDir("lock-drop")
        defer { dir.remove() }
        do {
            let held = try DataDirectoryLock.acquire(directory: dir.path)
            #expect(throws: WALError.self) { _ = try DataDirectoryLock.acquire(directory: dir.path) }
            held.release()
        }
        let again = try DataDirectoryLock.acquire(directory: dir.path)
        #expect(String(decoding: fileBytes(again.path), as: UTF8.self) == "\(getpid())\n")
        again.release()
    }
}

private func fileBytes(_ path: String) -> [UInt8] {
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else { return [] }
    defer { close(fd) }
    var buffer = [UInt8](repeating: 0, count: 64)
    let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
    return n > 0 ? Array(buffer.prefix(n)) : []
}
