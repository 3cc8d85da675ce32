extension DataDirectoryLock {
    /// Runs `body` holding the directory's lock (`acquire`: `.locked` while a writer holds
    /// it), released once `body` has returned or thrown.
    static func holding<R>(directory: String, _ body: () throws(WALError) -> R) throws(WALError) -> R {
        let lock = try acquire(directory: directory)
        let result = Result { () throws(WALError) in try body() }
        lock.release()
        return try result.get()
    }
}
