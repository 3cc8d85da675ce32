/// The byte forms of the records that are not accounts or transfers: ids, filters,
/// balances and create results (docs/protocol.md). Writers are `@inlinable` and generic
/// over the sink so that LedgerWire writes straight into its `ByteBuffer`; readers take
/// bytes whose size the caller checked, and report a short input as `truncated`.
extension RecordCodec {
    // MARK: Writing

    /// 16 bytes per id.
    @inlinable
    package static func encodeIds<S: LittleEndianSink>(_ ids: [UInt128], into out: inout S) {
        for id in ids { out.writeU128(id) }
    }

    /// 128 bytes. Reserved bytes are written as zeros, or with their first byte set to 1
    /// when `reservedIsZero` is false (so that the server sees them as non-zero).
    @inlinable
    package static func encode<S: LittleEndianSink>(_ f: AccountFilter, into out: inout S) {
        out.writeU128(f.accountId)
        out.writeU128(f.userData128)
        out.writeLittleEndian(f.userData64)
        out.writeLittleEndian(f.userData32)
        out.writeLittleEndian(f.code)
        out.writeLittleEndian(f.reservedIsZero ? 0 : 1 as UInt8)
        out.writeZeros(57)
        out.writeLittleEndian(f.timestampMin)
        out.writeLittleEndian(f.timestampMax)
        out.writeLittleEndian(f.limit)
        out.writeLittleEndian(f.flags.rawValue)
    }

    /// 64 bytes; reserved bytes as for `AccountFilter`.
    @inlinable
    package static func encode<S: LittleEndianSink>(_ f: QueryFilter, into out: inout S) {
        out.writeU128(f.userData128)
        out.writeLittleEndian(f.userData64)
        out.writeLittleEndian(f.userData32)
        out.writeLittleEndian(f.ledger)
        out.writeLittleEndian(f.code)
        out.writeLittleEndian(f.reservedIsZero ? 0 : 1 as UInt8)
        out.writeZeros(5)
        out.writeLittleEndian(f.timestampMin)
        out.writeLittleEndian(f.timestampMax)
        out.writeLittleEndian(f.limit)
        out.writeLittleEndian(f.flags.rawValue)
    }

    /// 128 bytes: four u128 balances, the timestamp, 56 reserved zero bytes.
    @inlinable
    package static func encode<S: LittleEndianSink>(_ x: AccountBalance, into out: inout S) {
        out.writeU128(x.debitsPending)
        out.writeU128(x.debitsPosted)
        out.writeU128(x.creditsPending)
        out.writeU128(x.creditsPosted)
        out.writeLittleEndian(x.timestamp)
        out.writeZeros(56)
    }

    /// 16 bytes: timestamp u64, status u32, reserved u32 (zero).
    @inlinable
    package static func encodeResult<S: LittleEndianSink>(timestamp: UInt64, status: UInt32, into out: inout S) {
        out.writeLittleEndian(timestamp)
        out.writeLittleEndian(status)
        out.writeLittleEndian(0 as UInt32)
    }

    // MARK: Reading

    package static func decodeIds(_ bytes: UnsafeRawBufferPointer, count: Int) throws(CodecError) -> [UInt128] {
        var r = ByteReader(bytes)
        var ids: [UInt128] = []
        ids.reserveCapacity(count)
        for _ in 0..<count { ids.append(try r.readU128()) }
        return ids
    }

    /// A filter; non-zero reserved bytes are not an error here but `reservedIsZero` false,
    /// for the ledger to judge.
    package static func decodeAccountFilter(_ bytes: UnsafeRawBufferPointer) throws(CodecError) -> AccountFilter {
        var r = ByteReader(bytes)
        let accountId = try r.readU128()
        let userData128 = try r.readU128()
        let userData64: UInt64 = try r.read()
        let userData32: UInt32 = try r.read()
        let code: UInt16 = try r.read()
        let reservedIsZero = try r.skipReserved(58)
        let timestampMin: UInt64 = try r.read()
        let timestampMax: UInt64 = try r.read()
        let limit: UInt32 = try r.read()
        let flags: UInt32 = try r.read()
        return AccountFilter(
            accountId: accountId, userData128: userData128, userData64: userData64,
            userData32: userData32, code: code, reservedIsZero: reservedIsZero,
            timestampMin: timestampMin, timestampMax: timestampMax, limit: limit,
            flags: AccountFilterFlags(rawValue: flags))
    }

    /// As `decodeAccountFilter`, for the 64-byte query filter.
    package static func decodeQueryFilter(_ bytes: UnsafeRawBufferPointer) throws(CodecError) -> QueryFilter {
        var r = ByteReader(bytes)
        let userData128 = try r.readU128()
        let userData64: UInt64 = try r.read()
        let userData32: UInt32 = try r.read()
        let ledger: UInt32 = try r.read()
        let code: UInt16 = try r.read()
        let reservedIsZero = try r.skipReserved(6)
        let timestampMin: UInt64 = try r.read()
        let timestampMax: UInt64 = try r.read()
        let limit: UInt32 = try r.read()
        let flags: UInt32 = try r.read()
        return QueryFilter(
            userData128: userData128, userData64: userData64, userData32: userData32,
            ledger: ledger, code: code, reservedIsZero: reservedIsZero,
            timestampMin: timestampMin, timestampMax: timestampMax, limit: limit,
            flags: QueryFilterFlags(rawValue: flags))
    }

    /// Balances; `reservedNotZero` when a record's reserved bytes are not zero.
    package static func decodeBalances(_ bytes: UnsafeRawBufferPointer, count: Int) throws(CodecError) -> [AccountBalance] {
        var r = ByteReader(bytes)
        var out: [AccountBalance] = []
        out.reserveCapacity(count)
        for i in 0..<count {
            let debitsPending = try r.readU128()
            let debitsPosted = try r.readU128()
            let creditsPending = try r.readU128()
            let creditsPosted = try r.readU128()
            let timestamp: UInt64 = try r.read()
            guard try r.skipReserved(56) else {
                throw CodecError(.reservedNotZero, "account balance \(i) has non-zero reserved bytes")
            }
            out.append(
                AccountBalance(
                    debitsPending: debitsPending, debitsPosted: debitsPosted,
                    creditsPending: creditsPending, creditsPosted: creditsPosted, timestamp: timestamp))
        }
        return out
    }

    /// Create results as (timestamp, status) pairs; `reservedNotZero` when a reserved
    /// field is not zero.
    package static func decodeResults(
        _ bytes: UnsafeRawBufferPointer, count: Int
    ) throws(CodecError) -> [(timestamp: UInt64, status: UInt32)] {
        var r = ByteReader(bytes)
        var out: [(timestamp: UInt64, status: UInt32)] = []
        out.reserveCapacity(count)
        for i in 0..<count {
            let timestamp: UInt64 = try r.read()
            let status: UInt32 = try r.read()
            let reserved: UInt32 = try r.read()
            guard reserved == 0 else {
                throw CodecError(.reservedNotZero, "create result \(i) has a non-zero reserved field")
            }
            out.append((timestamp, status))
        }
        return out
    }
}
