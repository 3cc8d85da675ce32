import KaminoTestSupport
import LedgerCore
import LedgerWire
import NIOCore

/// Malformed frames for the bad-input tests.
enum BadFrames {
    /// A valid `lookup_accounts` frame.
    static func valid(id: UInt64) -> [UInt8] {
        WireTestClient.frame(.lookupAccounts([1, 2]), id: id)
    }

    /// The first byte of the magic changed: framing is lost.
    static func badMagic(id: UInt64) -> [UInt8] {
        var f = valid(id: id)
        f[0] = 0x58
        return f
    }

    /// A header byte changed without fixing the header checksum: framing is lost.
    static func badHeaderChecksum(id: UInt64) -> [UInt8] {
        var f = valid(id: id)
        f[30] ^= 0x01
        return f
    }

    /// A correctly checksummed header announcing a 2 MiB body.
    static func oversized(id: UInt64) -> [UInt8] {
        var f = Array(valid(id: id)[0..<WireLimits.headerSize])
        writeU32(&f, at: 16, 2 << 20)
        resealHeader(&f)
        return f
    }

    /// A body byte changed: the frame is refused but the stream stays framed.
    static func badBodyChecksum(id: UInt64, transferId: UInt128) -> [UInt8] {
        let t = Transfer(id: transferId, debitAccountId: 1, creditAccountId: 2, amount: 1, ledger: 1, code: 1)
        var f = WireTestClient.frame(.createTransfers([t]), id: id)
        f[WireLimits.headerSize + 100] ^= 0x40
        return f
    }

    /// Random bytes that do not start with the magic.
    static func garbage(_ rng: inout SystemRandomNumberGenerator, count: Int) -> [UInt8] {
        var bytes = (0..<count).map { _ in UInt8.random(in: 0...255, using: &rng) }
        bytes[0] = 0x00
        return bytes
    }

    private static func writeU32(_ f: inout [UInt8], at offset: Int, _ value: UInt32) {
        for i in 0..<4 { f[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt32(i))) }
    }

    /// Recomputes the header checksum (bytes 44..<48 over 0..<44).
    private static func resealHeader(_ f: inout [UInt8]) {
        let crc = f[0..<44].withUnsafeBytes { WireChecksum.crc32c($0) }
        writeU32(&f, at: 44, crc)
    }
}
