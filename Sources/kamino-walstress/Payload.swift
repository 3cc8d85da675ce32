import LedgerWorkload

/// Self-describing record bodies: [seed u64][payload length u32][pad u32]
/// followed by `length` bytes of a splitmix64 stream seeded with `seed`, so a
/// checker can verify a body without knowing anything else about it.
enum Payload {
    static func make(seed: UInt64, length: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 16 + length)
        out.withUnsafeMutableBytes { b in
            b.storeBytes(of: seed.littleEndian, toByteOffset: 0, as: UInt64.self)
            b.storeBytes(of: UInt32(length).littleEndian, toByteOffset: 8, as: UInt32.self)
            var stream = SplitMix64(seed: seed)
            var i = 16
            while i < b.count {
                let z = stream.next()
                withUnsafeBytes(of: z.littleEndian) { w in
                    for k in 0..<min(8, b.count - i) { b[i + k] = w[k] }
                }
                i += 8
            }
        }
        return out
    }
}
