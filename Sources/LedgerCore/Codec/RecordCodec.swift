/// The canonical byte form of the ledger's records: fixed size, little-endian, fields in
/// the reference order. The same bytes travel in log records, snapshots and on the wire.
public enum RecordCodec {
    public static let accountSize = 128
    public static let transferSize = 128
    public static let accountFilterSize = 128
    public static let queryFilterSize = 64
    public static let idSize = 16
    public static let createResultSize = 16
    public static let accountBalanceSize = 128

    // MARK: Account

    public static func encode(_ a: Account, into w: inout [UInt8]) {
        let start = w.count
        defer { assert(w.count == start + accountSize, "an account encodes to 128 bytes") }
        var out = ByteWriter()
        swap(&out.bytes, &w)
        out.writeU128(a.id)
        out.writeU128(a.debitsPending)
        out.writeU128(a.debitsPosted)
        out.writeU128(a.creditsPending)
        out.writeU128(a.creditsPosted)
        out.writeU128(a.userData128)
        out.write(a.userData64)
        out.write(a.userData32)
        out.write(a.reserved)
        out.write(a.ledger)
        out.write(a.code)
        out.write(a.flags.rawValue)
        out.write(a.timestamp)
        swap(&out.bytes, &w)
    }

    static func decodeAccount(_ r: inout ByteReader) throws(CodecError) -> Account {
        let id = try r.readU128()
        let debitsPending = try r.readU128()
        let debitsPosted = try r.readU128()
        let creditsPending = try r.readU128()
        let creditsPosted = try r.readU128()
        let userData128 = try r.readU128()
        let userData64: UInt64 = try r.read()
        let userData32: UInt32 = try r.read()
        let reserved: UInt32 = try r.read()
        let ledger: UInt32 = try r.read()
        let code: UInt16 = try r.read()
        let flags: UInt16 = try r.read()
        let timestamp: UInt64 = try r.read()
        return Account(
            id: id, debitsPending: debitsPending, debitsPosted: debitsPosted,
            creditsPending: creditsPending, creditsPosted: creditsPosted, userData128: userData128,
            userData64: userData64, userData32: userData32, reserved: reserved, ledger: ledger,
            code: code, flags: AccountFlags(rawValue: flags), timestamp: timestamp)
    }

    // MARK: Transfer

    public static func encode(_ t: Transfer, into w: inout [UInt8]) {
        let start = w.count
        defer { assert(w.count == start + transferSize, "a transfer encodes to 128 bytes") }
        var out = ByteWriter()
        swap(&out.bytes, &w)
        out.writeU128(t.id)
        out.writeU128(t.debitAccountId)
        out.writeU128(t.creditAccountId)
        out.writeU128(t.amount)
        out.writeU128(t.pendingId)
        out.writeU128(t.userData128)
        out.write(t.userData64)
        out.write(t.userData32)
        out.write(t.timeout)
        out.write(t.ledger)
        out.write(t.code)
        out.write(t.flags.rawValue)
        out.write(t.timestamp)
        swap(&out.bytes, &w)
    }

    static func decodeTransfer(_ r: inout ByteReader) throws(CodecError) -> Transfer {
        let id = try r.readU128()
        let debitAccountId = try r.readU128()
        let creditAccountId = try r.readU128()
        let amount = try r.readU128()
        let pendingId = try r.readU128()
        let userData128 = try r.readU128()
        let userData64: UInt64 = try r.read()
        let userData32: UInt32 = try r.read()
        let timeout: UInt32 = try r.read()
        let ledger: UInt32 = try r.read()
        let code: UInt16 = try r.read()
        let flags: UInt16 = try r.read()
        let timestamp: UInt64 = try r.read()
        return Transfer(
            id: id, debitAccountId: debitAccountId, creditAccountId: creditAccountId, amount: amount,
            pendingId: pendingId, userData128: userData128, userData64: userData64,
            userData32: userData32, timeout: timeout, ledger: ledger, code: code,
            flags: TransferFlags(rawValue: flags), timestamp: timestamp)
    }

    // MARK: Batches

    /// Decodes a batch of whole records; a length that is not a multiple is an error.
    public static func decodeAccounts(_ bytes: UnsafeRawBufferPointer) throws(CodecError) -> [Account] {
        #if _endian(little)
        return try copyBatch(bytes, as: Account.self)
        #else
        return try decodeBatch(bytes, size: accountSize) { (r) throws(CodecError) in try decodeAccount(&r) }
        #endif
    }

    public static func decodeTransfers(_ bytes: UnsafeRawBufferPointer) throws(CodecError) -> [Transfer] {
        #if _endian(little)
        return try copyBatch(bytes, as: Transfer.self)
        #else
        return try decodeBatch(bytes, size: transferSize) { (r) throws(CodecError) in try decodeTransfer(&r) }
        #endif
    }

    /// On little-endian hosts the in-memory layout is the canonical one (see `LayoutTests`)
    /// and every bit pattern is a valid record, so a batch decodes by copying.
    static func copyBatch<T: BitwiseCopyable>(_ bytes: UnsafeRawBufferPointer, as: T.Type) throws(CodecError) -> [T] {
        let size = MemoryLayout<T>.stride
        assert(MemoryLayout<T>.size == size, "a record copied as bytes has no padding")
        guard bytes.count % size == 0 else {
            throw CodecError(.badLength, "\(bytes.count) bytes is not a whole number of \(size)-byte records")
        }
        return [T].copying(unaligned: bytes)
    }

    public static func encodeAccounts(_ accounts: [Account]) -> [UInt8] {
        #if _endian(little)
        return copyOut(accounts)
        #else
        return encodeFieldByField(accounts)
        #endif
    }

    public static func encodeTransfers(_ transfers: [Transfer]) -> [UInt8] {
        #if _endian(little)
        return copyOut(transfers)
        #else
        return encodeFieldByField(transfers)
        #endif
    }

    /// The canonical encoding written field by field (big-endian hosts, and the tests'
    /// reference for `copyOut`).
    static func encodeFieldByField(_ accounts: [Account]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(accounts.count * accountSize)
        for a in accounts { encode(a, into: &out) }
        return out
    }

    static func encodeFieldByField(_ transfers: [Transfer]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(transfers.count * transferSize)
        for t in transfers { encode(t, into: &out) }
        return out
    }

    /// On little-endian hosts the records' memory is their canonical encoding (128 bytes,
    /// no padding; see `LayoutTests`), so a batch encodes by one copy.
    static func copyOut<T: BitwiseCopyable>(_ records: [T]) -> [UInt8] {
        assert(MemoryLayout<T>.size == MemoryLayout<T>.stride, "a record copied as bytes has no padding")
        let bytes = records.count * MemoryLayout<T>.stride
        return [UInt8](unsafeUninitializedCapacity: bytes) { buffer, initialized in
            records.withUnsafeBytes { source in
                if bytes > 0 { UnsafeMutableRawBufferPointer(buffer).copyMemory(from: source) }
            }
            initialized = bytes
        }
    }

    private static func decodeBatch<T>(
        _ bytes: UnsafeRawBufferPointer, size: Int, _ one: (inout ByteReader) throws(CodecError) -> T
    ) throws(CodecError) -> [T] {
        guard bytes.count % size == 0 else {
            throw CodecError(.badLength, "\(bytes.count) bytes is not a whole number of \(size)-byte records")
        }
        var r = ByteReader(bytes)
        var out: [T] = []
        out.reserveCapacity(bytes.count / size)
        while r.remaining > 0 { out.append(try one(&r)) }
        assert(out.count == bytes.count / size, "each record decodes from exactly its size")
        return out
    }
}
