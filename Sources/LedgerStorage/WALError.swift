#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// An error from the write-ahead log or the snapshot store: a machine-readable
/// `code`, plus the file, byte offset and errno when they are known.
package struct WALError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What went wrong, as a stable code a caller can switch over.
    package enum Code: String, Sendable, Equatable {
        /// ENOSPC, EDQUOT or EFBIG while writing the log: no space left.
        case noSpace
        /// EIO or another unexpected error from a write or a flush.
        case io
        /// The log stopped accepting writes after an earlier failure.
        case stopped
        /// The log was closed.
        case closed
        /// A corrupt record is followed by valid records: real damage, recovery refuses.
        case damaged
        /// A record that should be readable is missing or fails its checksum.
        case corrupt
        /// The log does not reach back to the LSN a reader or a snapshot needs.
        case missingRecords
        /// A record body is larger than a segment can hold.
        case recordTooLarge
        /// A caller-supplied argument is out of range.
        case invalidArgument
        /// A snapshot file is absent or fails its checksum.
        case snapshotInvalid
        /// A system call failed (open, read, rename, ...).
        case system
        /// Another writer holds the data directory's lock (`DataDirectoryLock`).
        case locked
    }

    package let code: Code
    /// errno of the failing system call, when there is one.
    package let errno: Int32?
    /// The file concerned, when there is one.
    package let file: String?
    /// The byte offset in `file`, when it matters.
    package let offset: UInt64?
    /// Human-readable detail; never needed to decide what to do.
    package let message: String

    package init(_ code: Code, _ message: String, errno: Int32? = nil, file: String? = nil, offset: UInt64? = nil) {
        self.code = code
        self.message = message
        self.errno = errno
        self.file = file
        self.offset = offset
    }

    package var description: String {
        var s = "WALError(\(code.rawValue)): \(message)"
        if let file { s += " [file \(file)" + (offset.map { " offset \($0)" } ?? "") + "]" }
        if let errno { s += " [errno \(errno): \(describeErrno(errno))]" }
        return s
    }

    /// Maps an errno from a log write or flush to `.noSpace` or `.io`.
    static func fromWrite(errno e: Int32, file: String, offset: UInt64, _ what: String) -> WALError {
        let code: Code = (e == ENOSPC || e == EDQUOT || e == EFBIG) ? .noSpace : .io
        return WALError(code, what, errno: e, file: file, offset: offset)
    }
}
