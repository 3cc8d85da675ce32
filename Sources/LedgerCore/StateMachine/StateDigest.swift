/// A 128-bit fingerprint of a ledger's whole state, to prove two replicas or two runs equal.
///
/// Not cryptographic: it detects divergence, it does not resist forgery. Covers every
/// account and transfer (timestamp order), every pending status, the set of failed ids
/// (order-independent) and the last timestamp.
public struct StateDigest: Sendable, Hashable, CustomStringConvertible {
    public let high: UInt64
    public let low: UInt64

    /// 32 lowercase hex digits.
    public var description: String {
        func hex(_ v: UInt64) -> String {
            let s = String(v, radix: 16)
            return String(repeating: "0", count: 16 - s.count) + s
        }
        return hex(high) + hex(low)
    }
}

/// Two independent 64-bit lanes of multiply-xorshift mixing.
struct DigestHasher {
    private var a: UInt64 = 0x6B61_6D69_6E6F_0001
    private var b: UInt64 = 0x9E37_79B9_7F4A_7C15

    @inline(__always)
    static func mix(_ x: UInt64) -> UInt64 {
        var z = x
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    @inline(__always)
    mutating func combine(_ word: UInt64) {
        a = Self.mix(a ^ word) &+ 0x632B_E59B_D9B4_E019
        b = Self.mix(b &+ word &* 0xD6E8_FEB8_6659_FD93) ^ (b >> 17)
    }

    mutating func combine(bytes: UnsafeRawBufferPointer) {
        var i = 0
        while i + 8 <= bytes.count {
            combine(bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self))
            i += 8
        }
        var tail: UInt64 = 0
        var shift: UInt64 = 0
        while i < bytes.count {
            tail |= UInt64(bytes[i]) << shift
            shift += 8
            i += 1
        }
        combine(tail ^ UInt64(bytes.count))
    }

    var digest: StateDigest { StateDigest(high: Self.mix(a ^ b.rotated()), low: Self.mix(b ^ a)) }
}

extension UInt64 {
    fileprivate func rotated() -> UInt64 { (self << 23) | (self >> 41) }
}

extension Ledger {
    /// The digest of the current state. Linear in the state's size.
    public func digest() -> StateDigest {
        var h = DigestHasher()
        h.combine(UInt64(accounts.count))
        accounts.forEachRun(in: 0..<accounts.count) { h.combine(bytes: UnsafeRawBufferPointer($0)) }
        h.combine(UInt64(transfers.count))
        transfers.forEachRun(in: 0..<transfers.count) { h.combine(bytes: UnsafeRawBufferPointer($0)) }
        pendingStatuses.forEachRun(in: 0..<pendingStatuses.count) { h.combine(bytes: UnsafeRawBufferPointer($0)) }
        var orphanSum: UInt64 = 0
        var orphanXor: UInt64 = 0
        for id in orphanIds {
            let m = DigestHasher.mix(UInt64(truncatingIfNeeded: id) ^ DigestHasher.mix(UInt64(truncatingIfNeeded: id >> 64)))
            orphanSum &+= m
            orphanXor ^= DigestHasher.mix(m)
        }
        h.combine(UInt64(orphanIds.count))
        h.combine(orphanSum)
        h.combine(orphanXor)
        h.combine(lastTimestamp)
        return h.digest
    }
}
