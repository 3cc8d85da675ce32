import LedgerCore
import NIOCore

/// Little-endian wire forms of the records that `RecordCodec` does not cover: ids,
/// filters, balances and create results; plus batch writers for accounts and transfers.
enum RecordWire {
    // MARK: Writing

    static func writeU128(_ value: UInt128, to b: inout ByteBuffer) {
        b.writeInteger(UInt64(truncatingIfNeeded: value), endianness: .little)
        b.writeInteger(UInt64(truncatingIfNeeded: value >> 64), endianness: .little)
    }

    static func writeIds(_ ids: [UInt128], to b: inout ByteBuffer) {
        b.reserveCapacity(minimumWritableBytes: ids.count * RecordCodec.idSize)
        for id in ids { writeU128(id, to: &b) }
    }

    static func writeAccounts(_ accounts: [Account], to b: inout ByteBuffer) {
        #if _endian(little)
        // The in-memory layout is the canonical one (LedgerCore's LayoutTests).
        if MemoryLayout<Account>.stride == RecordCodec.accountSize {
            accounts.withUnsafeBytes { _ = b.writeBytes($0) }
            return
        }
        #endif
        b.writeBytes(RecordCodec.encodeAccounts(accounts))
    }

    static func writeTransfers(_ transfers: [Transfer], to b: inout ByteBuffer) {
        #if _endian(little)
        if MemoryLayout<Transfer>.stride == RecordCodec.transferSize {
            transfers.withUnsafeBytes { _ = b.writeBytes($0) }
            return
        }
        #endif
        b.writeBytes(RecordCodec.encodeTransfers(transfers))
    }

    /// 128 bytes. Reserved bytes are written as zeros, or with their first byte set to 1
    /// when `reservedIsZero` is false (so that the server sees them as non-zero).
    static func write(_ f: AccountFilter, to b: inout ByteBuffer) {
        writeU128(f.accountId, to: &b)
        writeU128(f.userData128, to: &b)
        b.writeInteger(f.userData64, endianness: .little)
        b.writeInteger(f.userData32, endianness: .little)
        b.writeInteger(f.code, endianness: .little)
        b.writeInteger(f.reservedIsZero ? 0 : 1 as UInt8)
        b.writeRepeatingByte(0, count: 57)
        b.writeInteger(f.timestampMin, endianness: .little)
        b.writeInteger(f.timestampMax, endianness: .little)
        b.writeInteger(f.limit, endianness: .little)
        b.writeInteger(f.flags.rawValue, endianness: .little)
    }

    /// 64 bytes; reserved bytes as for `AccountFilter`.
    static func write(_ f: QueryFilter, to b: inout ByteBuffer) {
        writeU128(f.userData128, to: &b)
        b.writeInteger(f.userData64, endianness: .little)
        b.writeInteger(f.userData32, endianness: .little)
        b.writeInteger(f.ledger, endianness: .little)
        b.writeInteger(f.code, endianness: .little)
        b.writeInteger(f.reservedIsZero ? 0 : 1 as UInt8)
        b.writeRepeatingByte(0, count: 5)
        b.writeInteger(f.timestampMin, endianness: .little)
        b.writeInteger(f.timestampMax, endianness: .little)
        b.writeInteger(f.limit, endianness: .little)
        b.writeInteger(f.flags.rawValue, endianness: .little)
    }

    /// 128 bytes: four u128 balances, the timestamp, 56 reserved zero bytes.
    static func write(_ x: AccountBalance, to b: inout ByteBuffer) {
        writeU128(x.debitsPending, to: &b)
        writeU128(x.debitsPosted, to: &b)
        writeU128(x.creditsPending, to: &b)
        writeU128(x.creditsPosted, to: &b)
        b.writeInteger(x.timestamp, endianness: .little)
        b.writeRepeatingByte(0, count: 56)
    }

    /// 16 bytes: timestamp u64, status u32, reserved u32 (zero).
    static func writeResult(timestamp: UInt64, status: UInt32, to b: inout ByteBuffer) {
        b.writeInteger(timestamp, endianness: .little)
        b.writeInteger(status, endianness: .little)
        b.writeInteger(0 as UInt32, endianness: .little)
    }

    // MARK: Reading (sizes are checked by `BodyLayout` first)

    static func readIds(_ bytes: UnsafeRawBufferPointer, count: Int) -> [UInt128] {
        var c = ByteCursor(bytes)
        var ids: [UInt128] = []
        ids.reserveCapacity(count)
        for _ in 0..<count { ids.append(c.readU128()) }
        return ids
    }

    static func readAccountFilter(_ bytes: UnsafeRawBufferPointer) -> AccountFilter {
        var c = ByteCursor(bytes)
        let accountId = c.readU128()
        let userData128 = c.readU128()
        let userData64 = c.read(UInt64.self)
        let userData32 = c.read(UInt32.self)
        let code = c.read(UInt16.self)
        let reservedIsZero = c.skipReserved(58)
        let timestampMin = c.read(UInt64.self)
        let timestampMax = c.read(UInt64.self)
        let limit = c.read(UInt32.self)
        let flags = c.read(UInt32.self)
        return AccountFilter(
            accountId: accountId, userData128: userData128, userData64: userData64,
            userData32: userData32, code: code, reservedIsZero: reservedIsZero,
            timestampMin: timestampMin, timestampMax: timestampMax, limit: limit,
            flags: AccountFilterFlags(rawValue: flags))
    }

    static func readQueryFilter(_ bytes: UnsafeRawBufferPointer) -> QueryFilter {
        var c = ByteCursor(bytes)
        let userData128 = c.readU128()
        let userData64 = c.read(UInt64.self)
        let userData32 = c.read(UInt32.self)
        let ledger = c.read(UInt32.self)
        let code = c.read(UInt16.self)
        let reservedIsZero = c.skipReserved(6)
        let timestampMin = c.read(UInt64.self)
        let timestampMax = c.read(UInt64.self)
        let limit = c.read(UInt32.self)
        let flags = c.read(UInt32.self)
        return QueryFilter(
            userData128: userData128, userData64: userData64, userData32: userData32,
            ledger: ledger, code: code, reservedIsZero: reservedIsZero,
            timestampMin: timestampMin, timestampMax: timestampMax, limit: limit,
            flags: QueryFilterFlags(rawValue: flags))
    }

    /// Balances; nil when a record's reserved bytes are not zero.
    static func readBalances(_ bytes: UnsafeRawBufferPointer, count: Int) -> [AccountBalance]? {
        var c = ByteCursor(bytes)
        var out: [AccountBalance] = []
        out.reserveCapacity(count)
        for _ in 0..<count {
            let debitsPending = c.readU128()
            let debitsPosted = c.readU128()
            let creditsPending = c.readU128()
            let creditsPosted = c.readU128()
            let timestamp = c.read(UInt64.self)
            guard c.skipReserved(56) else { return nil }
            out.append(
                AccountBalance(
                    debitsPending: debitsPending, debitsPosted: debitsPosted,
                    creditsPending: creditsPending, creditsPosted: creditsPosted, timestamp: timestamp))
        }
        return out
    }

    /// Create results as (timestamp, status) pairs; nil when a reserved field is not zero.
    static func readResults(_ bytes: UnsafeRawBufferPointer, count: Int) -> [(timestamp: UInt64, status: UInt32)]? {
        var c = ByteCursor(bytes)
        var out: [(timestamp: UInt64, status: UInt32)] = []
        out.reserveCapacity(count)
        for _ in 0..<count {
            let timestamp = c.read(UInt64.self)
            let status = c.read(UInt32.self)
            guard c.read(UInt32.self) == 0 else { return nil }
            out.append((timestamp, status))
        }
        return out
    }
}
