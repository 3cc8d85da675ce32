import LedgerCore
import LedgerWorkload
import NIOCore

@testable import LedgerWire

/// Random records and messages covering every operation.
enum Samples {
    static func u128(_ r: inout SplitMix64) -> UInt128 { UInt128(r.next()) << 64 | UInt128(r.next()) }

    static func account(_ r: inout SplitMix64) -> Account {
        Account(
            id: u128(&r), debitsPending: u128(&r), debitsPosted: u128(&r), creditsPending: u128(&r),
            creditsPosted: u128(&r), userData128: u128(&r), userData64: r.next(),
            userData32: UInt32(truncatingIfNeeded: r.next()), reserved: UInt32(truncatingIfNeeded: r.next()),
            ledger: UInt32(truncatingIfNeeded: r.next()), code: UInt16(truncatingIfNeeded: r.next()),
            flags: AccountFlags(rawValue: UInt16(truncatingIfNeeded: r.next())), timestamp: r.next())
    }

    static func transfer(_ r: inout SplitMix64) -> Transfer {
        Transfer(
            id: u128(&r), debitAccountId: u128(&r), creditAccountId: u128(&r), amount: u128(&r),
            pendingId: u128(&r), userData128: u128(&r), userData64: r.next(),
            userData32: UInt32(truncatingIfNeeded: r.next()), timeout: UInt32(truncatingIfNeeded: r.next()),
            ledger: UInt32(truncatingIfNeeded: r.next()), code: UInt16(truncatingIfNeeded: r.next()),
            flags: TransferFlags(rawValue: UInt16(truncatingIfNeeded: r.next())), timestamp: r.next())
    }

    static func accountFilter(_ r: inout SplitMix64) -> AccountFilter {
        AccountFilter(
            accountId: u128(&r), userData128: u128(&r), userData64: r.next(),
            userData32: UInt32(truncatingIfNeeded: r.next()), code: UInt16(truncatingIfNeeded: r.next()),
            reservedIsZero: r.next() & 1 == 0, timestampMin: r.next(), timestampMax: r.next(),
            limit: UInt32(truncatingIfNeeded: r.next()),
            flags: AccountFilterFlags(rawValue: UInt32(truncatingIfNeeded: r.next())))
    }

    static func queryFilter(_ r: inout SplitMix64) -> QueryFilter {
        QueryFilter(
            userData128: u128(&r), userData64: r.next(), userData32: UInt32(truncatingIfNeeded: r.next()),
            ledger: UInt32(truncatingIfNeeded: r.next()), code: UInt16(truncatingIfNeeded: r.next()),
            reservedIsZero: r.next() & 1 == 0, timestampMin: r.next(), timestampMax: r.next(),
            limit: UInt32(truncatingIfNeeded: r.next()),
            flags: QueryFilterFlags(rawValue: UInt32(truncatingIfNeeded: r.next())))
    }

    static func balance(_ r: inout SplitMix64) -> AccountBalance {
        AccountBalance(
            debitsPending: u128(&r), debitsPosted: u128(&r), creditsPending: u128(&r),
            creditsPosted: u128(&r), timestamp: r.next())
    }

    static func accountResult(_ r: inout SplitMix64) -> CreateAccountResult {
        let all = CreateAccountStatus.allCases
        return CreateAccountResult(timestamp: r.next(), status: all[Int(r.next() % UInt64(all.count))])
    }

    static func transferResult(_ r: inout SplitMix64) -> CreateTransferResult {
        let all = CreateTransferStatus.allCases
        return CreateTransferResult(timestamp: r.next(), status: all[Int(r.next() % UInt64(all.count))])
    }

    static func many<T>(_ n: Int, _ r: inout SplitMix64, _ make: (inout SplitMix64) -> T) -> [T] {
        var out: [T] = []
        out.reserveCapacity(n)
        for _ in 0..<n { out.append(make(&r)) }
        return out
    }

    /// One request of `operation` with `n` events (filters ignore `n`).
    static func request(_ operation: Operation, _ n: Int, _ r: inout SplitMix64) -> Request {
        switch operation {
        case .lookupAccounts: return .lookupAccounts(many(n, &r, u128))
        case .lookupTransfers: return .lookupTransfers(many(n, &r, u128))
        case .getAccountTransfers: return .getAccountTransfers(accountFilter(&r))
        case .getAccountBalances: return .getAccountBalances(accountFilter(&r))
        case .queryAccounts: return .queryAccounts(queryFilter(&r))
        case .queryTransfers: return .queryTransfers(queryFilter(&r))
        case .createAccounts, .pulse, .coalescedCreateAccounts: return .createAccounts(many(n, &r, account))
        case .createTransfers, .coalescedCreateTransfers: return .createTransfers(many(n, &r, transfer))
        }
    }

    /// One reply of `operation` with `n` records.
    static func reply(_ operation: Operation, _ n: Int, _ r: inout SplitMix64) -> Reply {
        switch operation {
        case .lookupAccounts: return .lookupAccounts(many(n, &r, account))
        case .queryAccounts: return .queryAccounts(many(n, &r, account))
        case .lookupTransfers: return .lookupTransfers(many(n, &r, transfer))
        case .getAccountTransfers: return .getAccountTransfers(many(n, &r, transfer))
        case .queryTransfers: return .queryTransfers(many(n, &r, transfer))
        case .getAccountBalances: return .getAccountBalances(many(n, &r, balance))
        case .createAccounts, .pulse, .coalescedCreateAccounts: return .createAccounts(many(n, &r, accountResult))
        case .createTransfers, .coalescedCreateTransfers: return .createTransfers(many(n, &r, transferResult))
        }
    }

    /// The operations a client may call.
    static let clientOperations = Operation.allCases.filter(\.isClientCallable)
}

/// Encoding and decoding helpers.
enum Wire {
    static func encode(_ message: Message) throws -> ByteBuffer {
        var b = ByteBuffer()
        try MessageEncoding.encode(message, into: &b)
        return b
    }

    static func bytes(_ b: ByteBuffer) -> [UInt8] { Array(b.readableBytesView) }

    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef")
        var s = ""
        s.reserveCapacity(bytes.count * 2)
        for x in bytes {
            s.append(digits[Int(x >> 4)])
            s.append(digits[Int(x & 15)])
        }
        return s
    }

    /// Parses hex digits, ignoring whitespace.
    static func bytes(hex: String) -> [UInt8] {
        var out: [UInt8] = []
        var high: UInt8?
        for c in hex.unicodeScalars {
            guard let v = UInt8(String(c), radix: 16) else { continue }
            if let h = high {
                out.append(h << 4 | v)
                high = nil
            } else {
                high = v
            }
        }
        return out
    }

    /// Decodes `bytes` (one buffer) with a fresh decoder: the single outcome.
    static func decodeOne(_ bytes: [UInt8], role: KaminoMessageDecoder.Role) -> Result<Message?, WireError> {
        var decoder = KaminoMessageDecoder(accepting: role)
        var b = ByteBuffer(bytes: bytes)
        return Result { () throws(WireError) in try decoder.decodeNext(&b) }
    }

    /// Rewrites the header checksum after a test edited header bytes 0..<44.
    static func resealHeader(_ bytes: inout [UInt8]) {
        let crc = bytes.withUnsafeBytes { WireChecksum.crc32c(UnsafeRawBufferPointer(rebasing: $0[0..<44])) }
        withUnsafeBytes(of: crc.littleEndian) { for i in 0..<4 { bytes[44 + i] = $0[i] } }
    }

    /// Rewrites the body checksum (and then the header checksum).
    static func resealBody(_ bytes: inout [UInt8]) {
        let crc = bytes.withUnsafeBytes { WireChecksum.crc32c(UnsafeRawBufferPointer(rebasing: $0[48...])) }
        withUnsafeBytes(of: crc.littleEndian) { for i in 0..<4 { bytes[40 + i] = $0[i] } }
        resealHeader(&bytes)
    }

    static func setU32(_ value: UInt32, at offset: Int, in bytes: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { for i in 0..<4 { bytes[offset + i] = $0[i] } }
    }

    static func setU16(_ value: UInt16, at offset: Int, in bytes: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { for i in 0..<2 { bytes[offset + i] = $0[i] } }
    }
}

/// Frames built by hand from the header table of docs/protocol.md, independently of
/// `MessageHeader.write`, so that tests can craft any header, valid or not.
enum RawFrame {
    static func make(
        magic: [UInt8] = Array("KMNO".utf8), version: UInt16 = 1, operation: UInt8, kind: UInt8,
        requestId: UInt64, eventCount: UInt32, errorCode: UInt16 = 0, body: [UInt8],
        bodySize: UInt32? = nil
    ) -> [UInt8] {
        var h: [UInt8] = magic
        func put<T: FixedWidthInteger>(_ v: T) { withUnsafeBytes(of: v.littleEndian) { h.append(contentsOf: $0) } }
        put(version)
        h.append(operation)
        h.append(kind)
        put(requestId)
        put(bodySize ?? UInt32(body.count))
        put(eventCount)
        put(errorCode)
        h.append(contentsOf: [UInt8](repeating: 0, count: 14))
        put(body.withUnsafeBytes { WireChecksum.crc32c($0) })
        put(h.withUnsafeBytes { WireChecksum.crc32c($0) })
        return h + body
    }
}
