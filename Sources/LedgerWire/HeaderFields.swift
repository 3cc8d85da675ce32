/// The raw fields of a header whose magic, version and checksum were checked, before its
/// kind, reserved bytes and error code are validated.
struct HeaderFields {
    var operation: UInt8
    var kind: UInt8
    var requestId: UInt64
    var bodySize: UInt32
    var eventCount: UInt32
    var errorCode: UInt16
    /// Bytes 26..<32 are zero.
    var reservedIsZero: Bool
    /// Bytes 32..<40: `state_lsn` in a reply, reserved otherwise.
    var stateLSN: UInt64
    var bodyChecksum: UInt32

    /// The outcome of scanning the start of a stream for a header.
    enum Scan {
        /// Fewer bytes than a header (and nothing wrong so far).
        case needMore
        /// A whole header with good magic, version and checksum.
        case header(HeaderFields)
    }

    /// Reads a header from the start of `bytes`. Throws the errors after which framing is
    /// lost: bad magic, unsupported version, bad header checksum. Magic and version are
    /// checked as soon as their bytes arrive, so garbage is refused early.
    static func scan(_ bytes: UnsafeRawBufferPointer) throws(WireError) -> Scan {
        let count = bytes.count
        if count >= 4 {
            let magic = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 0, as: UInt32.self))
            guard magic == MessageHeader.magic else {
                throw WireError(.badMagic, "bad magic 0x\(String(magic, radix: 16)); expected bytes 4B 4D 4E 4F (KMNO)")
            }
        }
        if count >= 6 {
            let version = UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: 4, as: UInt16.self))
            guard version == MessageHeader.currentVersion else {
                throw WireError(.unsupportedVersion, "version \(version) is not supported; this peer speaks \(MessageHeader.currentVersion)")
            }
        }
        guard count >= MessageHeader.size else { return .needMore }
        typealias O = MessageHeader.Offset
        func load<T: FixedWidthInteger>(_ offset: Int, _: T.Type) -> T {
            T(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: T.self))
        }
        let stored = load(O.headerChecksum, UInt32.self)
        let computed = WireChecksum.crc32c(UnsafeRawBufferPointer(rebasing: bytes[0..<O.headerChecksum]))
        guard stored == computed else {
            throw WireError(.badHeaderChecksum, "header checksum 0x\(String(stored, radix: 16)) != computed 0x\(String(computed, radix: 16))")
        }
        var reservedIsZero = true
        for i in O.reserved..<(O.reserved + O.reservedSize) where bytes[i] != 0 { reservedIsZero = false }
        return .header(
            HeaderFields(
                operation: bytes[O.operation], kind: bytes[O.kind],
                requestId: load(O.requestId, UInt64.self), bodySize: load(O.bodySize, UInt32.self),
                eventCount: load(O.eventCount, UInt32.self), errorCode: load(O.errorCode, UInt16.self),
                reservedIsZero: reservedIsZero, stateLSN: load(O.stateLSN, UInt64.self), bodyChecksum: load(O.bodyChecksum, UInt32.self)))
    }

    /// A `WireError` about this frame, carrying its request id and operation.
    func error(_ code: WireError.Code, _ detail: String) -> WireError {
        WireError(code, requestId: requestId, operation: operation, detail)
    }

    /// Checks kind, reserved bytes and error code; returns the typed header.
    func validated(accepting role: KaminoMessageDecoder.Role) throws(WireError) -> MessageHeader {
        guard let kind = MessageKind(rawValue: kind) else {
            throw error(.invalidHeader, "unknown message kind \(self.kind)")
        }
        guard reservedIsZero else { throw error(.invalidHeader, "reserved header bytes 26..<32 are not zero") }
        guard stateLSN == 0 || kind == .reply else {
            throw error(.invalidHeader, "reserved header bytes 32..<40 (state_lsn, replies only) are not zero in a \(kind)")
        }
        switch (role, kind) {
        case (.requests, .request), (.replies, .reply), (.replies, .errorReply): break
        default: throw error(.invalidHeader, "a \(kind) is not accepted by a peer that reads \(role)")
        }
        if kind == .errorReply {
            guard errorCode != 0 else { throw error(.invalidHeader, "an error reply needs a non-zero error_code") }
        } else {
            guard errorCode == 0 else { throw error(.invalidHeader, "error_code \(errorCode) in a \(kind)") }
        }
        return MessageHeader(
            operation: operation, kind: kind, requestId: requestId, bodySize: bodySize,
            eventCount: eventCount, errorCode: errorCode, bodyChecksum: bodyChecksum, stateLSN: stateLSN)
    }
}
