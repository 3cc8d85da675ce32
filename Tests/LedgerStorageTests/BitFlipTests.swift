import Testing
@testable import LedgerStorage

@Suite struct BitFlipTests {
    /// Flips one random bit in the written part of a segment. A flip in the
    /// last commit group is a torn tail (cut, reported); anywhere else it is
    /// damage, refused with the file and the offset of the damaged record.
    /// Either way no damaged record is ever returned.
    @Test func randomBitFlipsAreAllDetected() async throws {
        let source = TempDir("flip-src")
        defer { source.remove() }
        let count = 60
        let bodies = try await writeSequential(source.path, count: count, segmentSize: 8192) { 150 + ($0 * 37) % 500 }
        let segments = try SegmentName.list(in: source.path)
        #expect(segments.count >= 3)
        let files = try segments.map { try readFile(source.file($0.fileName)) }
        var rng = SystemRandomNumberGenerator()
        var damaged = 0, cut = 0

        for _ in 0..<300 {
            let s = Int.random(in: 0..<segments.count, using: &rng)
            let records = recordOffsets(files[s])
            guard let end = records.last.map({ $0.offset + $0.length }) else { continue }
            let byte = Int.random(in: 0..<end, using: &rng)
            guard let hit = records.last(where: { $0.offset <= byte }) else { continue }
            let dir = TempDir("flip")
            defer { dir.remove() }
            try copyDirectory(source.path, dir.path)
            var bytes = files[s]
            bytes[byte] ^= UInt8(1 << Int.random(in: 0..<8, using: &rng))
            try writeFile(dir.file(segments[s].fileName), bytes)

            if hit.lsn == UInt64(count) {
                let report = try WALRecovery.recover(directory: dir.path, mode: .readOnly)
                #expect(report.lastLSN == hit.lsn - 1)
                #expect(report.cut?.file == segments[s].fileName && report.cut?.offset == hit.offset)
                cut += 1
            } else {
                switch Result(catching: { () throws(WALError) in try WALRecovery.recover(directory: dir.path, mode: .readOnly) }) {
                case .success:
                    Issue.record("flip at byte \(byte) of \(segments[s].fileName) (LSN \(hit.lsn)) was not detected")
                case let .failure(error):
                    #expect(error.code == .damaged)
                    #expect(error.file == segments[s].fileName)
                    #expect(error.offset == UInt64(hit.offset))
                    damaged += 1
                }
                // With the explicit override the log opens, cut just before the damage.
                let forced = try WALRecovery.recover(directory: dir.path, mode: .readOnly, allowDamaged: true)
                #expect(forced.damage != nil)
                #expect(forced.lastLSN == hit.lsn - 1)
            }
            // Whatever is readable is intact and stops before the damaged record.
            let readable = try readAll(dir.path)
            #expect(readable.count <= Int(hit.lsn - 1))
            for r in readable { #expect(r.body == bodies[Int(r.lsn) - 1]) }
        }
        #expect(damaged > 0)
        #expect(damaged + cut > 250)
    }
}
