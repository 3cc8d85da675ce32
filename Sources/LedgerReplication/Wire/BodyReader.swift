package import NIOCore

/// Reads the fields of one frame body in order; every shortfall, oversized string or
/// invalid value throws `badBody`. `finish()` checks that nothing is left over.
package struct BodyReader {
    private var buffer: ByteBuffer
    /// The message type, for error messages.
    private let type: ReplicationMessageType

    package init(_ body: ByteBuffer, type: ReplicationMessageType) {
        self.buffer = body
        self.type = type
    }

    /// Bytes not read yet.
    package var remaining: Int { buffer.readableBytes }

    /// A `badBody` error naming the message type.
    package func error(_ text: String) -> ReplicationWireError {
        ReplicationWireError(.badBody, "\(type) body: \(text)")
    }

    package mutating func integer<T: FixedWidthInteger>(_ field: String, as: T.Type = T.self) throws(ReplicationWireError) -> T {
        guard let value = buffer.readInteger(endianness: .little, as: T.self) else {
            throw error("too short for \(field) (\(buffer.readableBytes) bytes left)")
        }
        return value
    }

    /// Reads `count` bytes that must all be zero.
    package mutating func zeros(_ field: String, count: Int) throws(ReplicationWireError) {
        guard let bytes = buffer.readBytes(length: count) else {
            throw error("too short for \(field) (\(buffer.readableBytes) bytes left)")
        }
        guard bytes.allSatisfy({ $0 == 0 }) else { throw error("\(field) must be zero") }
    }

    /// A u16 length followed by that many bytes of UTF-8, at most
    /// `ReplicationWireLimits.maxStringBytes`.
    package mutating func string(_ field: String) throws(ReplicationWireError) -> String {
        let length = Int(try integer("\(field) length", as: UInt16.self))
        guard length <= ReplicationWireLimits.maxStringBytes else {
            throw error("\(field) is \(length) bytes; at most \(ReplicationWireLimits.maxStringBytes)")
        }
        guard let bytes = buffer.readBytes(length: length) else {
            throw error("too short for the \(length) bytes of \(field) (\(buffer.readableBytes) left)")
        }
        guard let text = String(validating: bytes, as: UTF8.self) else { throw error("\(field) is not valid UTF-8") }
        return text
    }

    /// A u32 byte length (at most `limit`) then that many bytes.
    package mutating func bytes(_ field: String, limit: Int) throws(ReplicationWireError) -> [UInt8] {
        let length = Int(try integer("\(field) length", as: UInt32.self))
        guard length <= limit else { throw error("\(field) is \(length) bytes; at most \(limit)") }
        guard let bytes = buffer.readBytes(length: length) else {
            throw error("too short for the \(length) bytes of \(field) (\(buffer.readableBytes) left)")
        }
        return bytes
    }

    /// A u32 count then that many (epoch, first_lsn) pairs, validated by `EpochHistory`.
    package mutating func history(_ field: String) throws(ReplicationWireError) -> EpochHistory {
        let count = Int(try integer("\(field) count", as: UInt32.self))
        guard count <= ReplicationWireLimits.maxHistoryEntries else {
            throw error("\(field) has \(count) entries; at most \(ReplicationWireLimits.maxHistoryEntries)")
        }
        guard buffer.readableBytes >= count * EpochHistory.entrySize else {
            throw error("too short for the \(count) entries of \(field) (\(buffer.readableBytes) bytes left)")
        }
        var entries: [EpochHistory.Entry] = []
        entries.reserveCapacity(count)
        for _ in 0..<count {
            let epoch = try integer("epoch", as: UInt64.self)
            let firstLSN = try integer("first_lsn", as: UInt64.self)
            entries.append(EpochHistory.Entry(epoch: epoch, firstLSN: firstLSN))
        }
        do {
            return try EpochHistory(entries)
        } catch {
            throw self.error("\(field): \(error.message)")
        }
    }

    /// All the bytes left, as a slice of the body (no copy).
    package mutating func rest() -> ByteBuffer {
        buffer.readSlice(length: buffer.readableBytes) ?? ByteBuffer()
    }

    /// Throws unless every byte was read.
    package func finish() throws(ReplicationWireError) {
        guard buffer.readableBytes == 0 else { throw error("\(buffer.readableBytes) trailing bytes") }
    }
}

extension ByteBuffer {
    /// Writes a little-endian integer.
    package mutating func writeLE<T: FixedWidthInteger>(_ value: T) {
        writeInteger(value, endianness: .little)
    }

    /// Writes a u16 length and the UTF-8 of `text`; throws `badBody`, writing nothing,
    /// when it is longer than `ReplicationWireLimits.maxStringBytes`.
    package mutating func writeReplicationString(_ text: String, field: String) throws(ReplicationWireError) {
        let length = text.utf8.count
        guard length <= ReplicationWireLimits.maxStringBytes else {
            throw ReplicationWireError(.badBody, "\(field) is \(length) bytes; at most \(ReplicationWireLimits.maxStringBytes)")
        }
        writeLE(UInt16(length))
        writeString(text)
    }

    /// Writes a u32 count then the (epoch, first_lsn) pairs of `history`.
    package mutating func writeReplicationHistory(_ history: EpochHistory) {
        writeLE(UInt32(history.entries.count))
        for entry in history.entries {
            writeLE(entry.epoch)
            writeLE(entry.firstLSN)
        }
    }
}
