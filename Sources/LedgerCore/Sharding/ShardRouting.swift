/// Where things live in a sharded ledger.
///
/// - An account lives on the shard chosen by a hash of its id.
/// - A transfer is stored on its debit account's shard (its *home*); a post or void is
///   homed with the pending transfer it names, which has the same debit account.
/// - Transfer ids (and failed ids) are indexed in the *directory*, split into one
///   partition per shard by a second, independent hash of the id.
///
/// Records are named by packed 32-bit refs: `shard << 27 | local`, with bit 31 marking a
/// failed id in the directory. So a sharded ledger has at most 16 shards and at most
/// 2^27 - 1 records of each kind per shard.
package struct ShardRouting: Sendable, Equatable {
    /// Most shards a sharded ledger can have (4 bits of a packed ref).
    package static let maxShards = 16
    static let shardShift: UInt32 = 27
    static let localMask: UInt32 = (1 << 27) - 1
    static let orphanBit: UInt32 = 1 << 31
    /// Records of one kind a shard can hold.
    package static let localCapacity = Int(localMask)

    package let shardCount: Int

    package init(shardCount: Int) {
        precondition(shardCount >= 1 && shardCount <= Self.maxShards)
        self.shardCount = shardCount
    }

    /// The shard that owns the account with this id.
    @inline(__always)
    package func shard(ofAccount id: UInt128) -> Int {
        Self.reduce(Self.hash(id, salt: 0x243F_6A88_85A3_08D3), shardCount)
    }

    /// The directory partition that indexes the transfer id.
    @inline(__always)
    func partition(ofTransfer id: UInt128) -> Int {
        Self.reduce(Self.hash(id, salt: 0x1319_8A2E_0370_7344), shardCount)
    }

    @inline(__always)
    static func hash(_ id: UInt128, salt: UInt64) -> UInt64 {
        var x = (UInt64(truncatingIfNeeded: id) ^ salt) &* 0x9E37_79B9_7F4A_7C15
        x ^= (UInt64(truncatingIfNeeded: id >> 64) &+ salt) &* 0xC2B2_AE3D_27D4_EB4F
        x ^= x >> 32
        x &*= 0xD6E8_FEB8_6659_FD93
        return x ^ (x >> 29)
    }

    @inline(__always)
    static func reduce(_ hash: UInt64, _ n: Int) -> Int {
        Int(truncatingIfNeeded: hash.multipliedFullWidth(by: UInt64(n)).high)
    }

    @inline(__always)
    static func pack(shard: Int, local: Int) -> UInt32 {
        UInt32(truncatingIfNeeded: shard) << shardShift | UInt32(truncatingIfNeeded: local)
    }

    @inline(__always)
    static func shard(of ref: UInt32) -> Int { Int((ref & ~orphanBit) >> shardShift) }

    @inline(__always)
    static func local(of ref: UInt32) -> Int { Int(ref & localMask) }
}
