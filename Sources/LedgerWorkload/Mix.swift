/// splitmix64 finalizer over a few inputs: the workload's only source of "randomness".
enum Mix {
    @inline(__always)
    static func hash(_ a: UInt64, _ b: UInt64 = 0, _ salt: UInt64 = 0) -> UInt64 {
        var z = a &* 0x9E37_79B9_7F4A_7C15 ^ (b &+ 0x632B_E59B_D9B4_E019) &* 0xD6E8_FEB8_6659_FD93 ^ salt
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
