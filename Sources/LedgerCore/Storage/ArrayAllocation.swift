/// Arrays made per request without the runtime's metadata lookup.
///
/// `Array(unsafeUninitializedCapacity:initializingWith:)` reaches the standard library's
/// unspecialized `_ContiguousArrayBuffer(_uninitializedCount:minimumCapacity:)`, which looks
/// `_ContiguousArrayStorage<Element>`'s metadata up in the runtime's table on every call:
/// about 340 instructions in a callgrind profile of the server, and a one-transfer request
/// made two such arrays (its decoded events and its results). `reserveCapacity` and
/// `append(contentsOf:)` are specialized in this module and use the cached metadata.
extension Array where Element: BitwiseCopyable {
    /// Up to this many elements, `copying(unaligned:)` appends them one by one; a larger
    /// copy pays the lookup once and copies in one pass.
    static var smallCopy: Int { 64 }

    /// The elements stored in `bytes` (any alignment; a whole number of elements).
    @inline(__always)
    static func copying(unaligned bytes: UnsafeRawBufferPointer) -> [Element] {
        let stride = MemoryLayout<Element>.stride
        precondition(bytes.count % stride == 0, "a partial element")
        let n = bytes.count / stride
        guard n <= smallCopy else {
            return [Element](unsafeUninitializedCapacity: n) { buffer, initialized in
                UnsafeMutableRawBufferPointer(buffer).copyMemory(from: bytes)
                initialized = n
            }
        }
        var out: [Element] = []
        out.reserveCapacity(n)
        for i in 0..<n { out.append(bytes.loadUnaligned(fromByteOffset: i * stride, as: Element.self)) }
        return out
    }
}

extension Array {
    /// `count` elements set by `write`, which must set every one of them (they hold
    /// `placeholder` until it does).
    @inline(__always)
    static func written<E: Error>(
        count: Int, placeholder: Element, _ write: (UnsafeMutableBufferPointer<Element>) throws(E) -> Void
    ) throws(E) -> [Element] {
        var out: [Element] = []
        out.reserveCapacity(count)
        out.append(contentsOf: repeatElement(placeholder, count: count))
        try out.withUnsafeMutableBufferPointer { (buffer) throws(E) in try write(buffer) }
        return out
    }
}
