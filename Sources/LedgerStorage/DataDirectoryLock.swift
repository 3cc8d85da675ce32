#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// One process's exclusive claim on a data directory: an open file description of
/// `<dir>/kamino.lock` holding `flock(LOCK_EX)`.
///
/// Two writers on one directory lose acknowledged batches (each appends its own LSNs to
/// the same segments), so every writer takes this lock before it reads or writes anything
/// in the directory and keeps it until it has stopped writing. The kernel drops the lock
/// with the descriptor, so a process killed with SIGKILL leaves no stale claim; the file
/// itself stays and holds the last holder's pid, which only serves the refusal message.
/// Readers (`kamino wal inspect|verify|replay`) never take it.
///
/// `flock` locks belong to the open file description, so a second `acquire` in the same
/// process is refused too: a directory has one writer, whatever the process.
package struct DataDirectoryLock: ~Copyable {
    /// The lock file's name inside the data directory.
    package static let fileName = "kamino.lock"

    /// The lock file's path.
    package let path: String
    private let descriptor: Int32

    private init(path: String, descriptor: Int32) {
        precondition(descriptor >= 0, "a lock owns an open descriptor")
        self.path = path
        self.descriptor = descriptor
    }

    /// Takes the directory's lock without waiting. Creates the lock file if absent; when
    /// another holder has it, throws `.locked` naming that holder's pid and changes no
    /// byte of the directory.
    package static func acquire(directory: String) throws(WALError) -> DataDirectoryLock {
        let path = FileIO.join(directory, fileName)
        let fd = try FileIO.open(path, O_RDWR | O_CREAT, mode: 0o644)
        // A lock this process just gave up can outlive its close for a moment: a child
        // being spawned at that instant shares the descriptor until its exec closes it
        // (O_CLOEXEC). So when the holder is this very process, wait a little (a node that
        // reopens its directory to cut its log or install a snapshot does exactly that).
        var ownWaitsLeft = 200
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let e = errno
            if e == EINTR { continue }
            if e == EWOULDBLOCK, ownWaitsLeft > 0, holderPID(fd) == getpid() {
                ownWaitsLeft -= 1
                usleep(5_000)
                continue
            }
            let holder = holderDescription(fd)
            FileIO.close(fd)
            if e == EWOULDBLOCK {
                throw WALError(
                    .locked,
                    "the data directory is in use by another kamino process (\(holder)); stop it first or use another data directory "
                        + "(do not delete \(fileName): the lock lives on it, and a second writer would lose acknowledged batches)",
                    file: directory)
            }
            throw WALError(.system, "cannot lock the data directory", errno: e, file: path)
        }
        // Ours now: record our pid for the next refusal message. Informational only, so
        // no fsync; a failure to write it does not make the lock any weaker.
        let text = Array("\(getpid())\n".utf8)
        if ftruncate(fd, 0) == 0 {
            text.withUnsafeBytes { bytes in _ = try? FileIO.pwrite(fd, bytes, offset: 0, path: path) }
        }
        return DataDirectoryLock(path: path, descriptor: fd)
    }

    /// Reads the pid that the current holder wrote, for the refusal message.
    private static func holderDescription(_ fd: Int32) -> String {
        holderPID(fd).map { "pid \($0)" } ?? "pid unknown"
    }

    /// The pid the current holder wrote in the lock file, if it reads as one.
    private static func holderPID(_ fd: Int32) -> Int32? {
        var buffer = [UInt8](repeating: 0, count: 32)
        let count = buffer.withUnsafeMutableBytes { raw in
            (try? FileIO.pread(fd, raw, offset: 0, path: "")) ?? 0
        }
        let text = String(decoding: buffer.prefix(count), as: UTF8.self)
            .trimmingCharacters(in: " \n\t")
        guard let pid = Int32(text), pid > 0 else { return nil }
        return pid
    }

    /// Gives the directory up (also done when the owner is dropped).
    package consuming func release() {
        // deinit closes the descriptor, which drops the flock.
    }

    deinit {
        FileIO.close(descriptor)
    }
}

extension String {
    /// Drops leading and trailing characters from `set` (Foundation-free).
    fileprivate func trimmingCharacters(in set: String) -> String {
        let drop = Set(set)
        var s = Substring(self)
        while let c = s.first, drop.contains(c) { s = s.dropFirst() }
        while let c = s.last, drop.contains(c) { s = s.dropLast() }
        return String(s)
    }
}
