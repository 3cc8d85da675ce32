import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Time-ordered 128-bit ids for accounts and transfers, in the layout of TigerBeetle's
/// `id()`: the Unix time in milliseconds in the high 48 bits, then 80 random bits.
///
/// ```swift
/// let transfer = Transfer(id: IDGenerator.shared.next(), debitAccountId: 1, creditAccountId: 2,
///                         amount: 100, ledger: 1, code: 1)
/// ```
///
/// Ids from one generator strictly increase: within one millisecond (or when the system
/// clock steps back) the next id is the previous one plus 1, so the random part is
/// incremented; a later millisecond draws fresh random bits. Use ``shared`` for ids
/// that increase across the whole process. Safe to call from any thread.
///
/// Increasing ids are what the ledger's indexes store best, and the random bits make
/// ids from different processes collide with negligible probability. A Kamino id must
/// not be 0 or `UInt128.max`; a generated id is neither (its time part is neither 0
/// nor all ones before the year 10889).
public final class IDGenerator: Sendable {
    /// The process-wide generator: ids from it increase across every caller.
    public static let shared = IDGenerator()

    /// The last id handed out (0 before the first).
    private let last = Mutex<UInt128>(0)
    /// Milliseconds since the Unix epoch.
    private let now: @Sendable () -> UInt64
    /// 80 random bits in the low bits of the result.
    private let random: @Sendable () -> UInt128

    /// Bits of the random part.
    static let randomBits = 80
    /// The random part's mask.
    static let randomMask: UInt128 = (1 << 80) - 1

    /// A generator on the system clock and the system's random source.
    public convenience init() {
        self.init(
            milliseconds: IDGenerator.unixMilliseconds,
            random: {
                var rng = SystemRandomNumberGenerator()
                return UInt128(rng.next() as UInt64) << 16 | UInt128(rng.next() as UInt16)
            })
    }

    /// A generator on the given clock (milliseconds since the Unix epoch) and random
    /// source (its bits above the 80th are ignored): for tests.
    package init(milliseconds: @escaping @Sendable () -> UInt64, random: @escaping @Sendable () -> UInt128) {
        self.now = milliseconds
        self.random = random
    }

    /// The next id: greater than every id this generator returned before.
    public func next() -> UInt128 {
        // The time part has 48 bits: enough until the year 10889.
        let millis = UInt128(min(now(), (1 << 48) - 1))
        return last.withLock { last in
            let lastMillis = last >> Self.randomBits
            let id: UInt128
            if millis > lastMillis {
                id = millis << Self.randomBits | (random() & Self.randomMask)
            } else {
                // Same millisecond, or the clock stepped back: keep the last time and
                // increment the random part (a carry out of it moves the time part on,
                // which keeps the order; it takes 2^80 ids in one millisecond).
                let (incremented, overflow) = last.addingReportingOverflow(1)
                precondition(!overflow, "the 48-bit time part cannot be all ones before the year 10889")
                id = incremented
            }
            assert(id > last, "ids from one generator strictly increase")
            last = id
            return id
        }
    }

    /// The time part of an id made by a generator: milliseconds since the Unix epoch.
    public static func milliseconds(of id: UInt128) -> UInt64 { UInt64(id >> randomBits) }

    /// The system's wall clock in milliseconds since the Unix epoch (0 if before it).
    @Sendable private static func unixMilliseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        guard ts.tv_sec >= 0 else { return 0 }
        return UInt64(ts.tv_sec) * 1000 + UInt64(ts.tv_nsec) / 1_000_000
    }
}
