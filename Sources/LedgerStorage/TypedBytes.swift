/// `withUnsafeBytes` variants that keep a typed `WALError` (the standard
/// library ones are `rethrows` and widen the error to `any Error`).
extension Array where Element == UInt8 {
    package func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws(WALError) -> R) throws(WALError) -> R {
        let result: Result<R, WALError> = withUnsafeBytes { b in Result { () throws(WALError) in try body(b) } }
        return try result.get()
    }

    mutating func withMutableBytes<R>(_ body: (UnsafeMutableRawBufferPointer) throws(WALError) -> R) throws(WALError) -> R {
        let result: Result<R, WALError> = withUnsafeMutableBytes { b in Result { () throws(WALError) in try body(b) } }
        return try result.get()
    }
}
