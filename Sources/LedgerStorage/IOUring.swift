#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CKaminoSys

/// One io_uring instance. Not thread-safe: it is created, used and destroyed
/// by the single writer thread that owns it.
final class IOUring {
    private let ring: OpaquePointer

    /// One submission of a chain: the operations run in order, each linked to the next.
    enum Op {
        case write(fd: Int32, buffer: UnsafeRawBufferPointer, offset: UInt64)
        case fdatasync(fd: Int32)
        case fsync(fd: Int32)
        case fallocate(fd: Int32, offset: UInt64, length: UInt64)
    }

    init(entries: UInt32 = 8) throws(WALError) {
        var error: Int32 = 0
        guard let ring = kamino_uring_create(entries, &error) else {
            throw WALError(.system, "io_uring_queue_init failed", errno: -error)
        }
        self.ring = ring
    }

    deinit {
        kamino_uring_destroy(ring)
    }

    /// Submits `ops` as one IOSQE_IO_LINK chain and waits for all of them.
    /// Returns each operation's result (bytes, 0, or -errno; -ECANCELED when an
    /// earlier link failed or was short). Throws only if the ring itself fails.
    func runChain(_ ops: [Op]) throws(WALError) -> [Int32] {
        for (i, op) in ops.enumerated() {
            let link: Int32 = i + 1 < ops.count ? 1 : 0
            let tag = UInt64(i)
            let r: Int32
            switch op {
            case let .write(fd, buffer, offset):
                r = kamino_uring_prep_write(ring, fd, buffer.baseAddress, UInt32(buffer.count), offset, tag, link)
            case let .fdatasync(fd):
                r = kamino_uring_prep_fsync(ring, fd, 1, tag, link)
            case let .fsync(fd):
                r = kamino_uring_prep_fsync(ring, fd, 0, tag, link)
            case let .fallocate(fd, offset, length):
                r = kamino_uring_prep_fallocate(ring, fd, offset, length, tag, link)
            }
            if r < 0 { throw WALError(.system, "io_uring submission queue full", errno: -r) }
        }
        let submitted = kamino_uring_submit_and_wait(ring, UInt32(ops.count))
        if submitted < 0 { throw WALError(.io, "io_uring_submit_and_wait failed", errno: -submitted) }
        var out = [Int32](repeating: 0, count: ops.count)
        var got = 0
        while got < ops.count {
            var res: Int32 = 0
            var tag: UInt64 = 0
            let w = kamino_uring_wait_one(ring, &res, &tag)
            if w < 0 { throw WALError(.io, "io_uring_wait_cqe failed", errno: -w) }
            if tag < UInt64(out.count) { out[Int(tag)] = res }
            got += 1
        }
        return out
    }
}
