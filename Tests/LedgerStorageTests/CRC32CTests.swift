import CKaminoCRC
import Testing
@testable import LedgerStorage

@Suite struct CRC32CTests {
    static let vectors: [([UInt8], UInt32)] = [
        (Array("123456789".utf8), 0xE306_9283),
        ([UInt8](repeating: 0, count: 32), 0x8A91_36AA),
        ([UInt8](repeating: 0xFF, count: 32), 0x62A8_AB43),
        ((0..<32).map { UInt8($0) }, 0x46DD_794E),
        ((0..<32).reversed().map { UInt8($0) }, 0x113F_DB5C),
        ([], 0),
    ]

    @Test func knownVectorsAllImplementations() {
        for (bytes, expected) in Self.vectors {
            bytes.withUnsafeBytes { b in
                #expect(kamino_crc32c_portable(0, b.baseAddress, b.count) == expected)
                #expect(kamino_crc32c_hardware(0, b.baseAddress, b.count) == expected)
            }
            #expect(CRC32C.checksum(bytes) == expected)
        }
    }

    @Test func hardwareIsAvailableHere() {
        #expect(CRC32C.usesHardware)
    }

    @Test func hardwareMatchesPortableAtEveryAlignmentAndLength() {
        let data = testBody(7, length: 4096 + 64)
        data.withUnsafeBytes { b in
            guard let base = b.baseAddress else { return }
            for start in 0..<9 {
                for length in [0, 1, 7, 8, 9, 31, 32, 33, 63, 100, 1000, 4096] {
                    #expect(kamino_crc32c_portable(0, base + start, length) == kamino_crc32c_hardware(0, base + start, length))
                }
            }
        }
    }

    /// Lengths around the three-way loops' block sizes (3 x 256 and 3 x 8192 bytes) and a
    /// 1 MiB body: the combined chains give the single chain's checksum.
    @Test func threeWayBlocksMatchPortable() {
        let data = testBody(11, length: (1 << 20) + 64)
        data.withUnsafeBytes { b in
            guard let base = b.baseAddress else { return }
            for start in [0, 1, 8, 13] {
                for length in [767, 768, 769, 1536, 3 * 8192 - 1, 3 * 8192, 3 * 8192 + 1, 3 * 8192 + 777, 1 << 20] {
                    #expect(kamino_crc32c_portable(0x5A5A, base + start, length)
                        == kamino_crc32c_hardware(0x5A5A, base + start, length))
                }
            }
        }
    }

    @Test func continuingEqualsOneShot() {
        let data = testBody(3, length: 1000)
        let whole = CRC32C.checksum(data)
        let part = CRC32C.checksum(Array(data[0..<333]))
        #expect(CRC32C.checksum(Array(data[333...]), continuing: part) == whole)
    }
}
