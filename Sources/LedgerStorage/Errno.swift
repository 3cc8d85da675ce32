#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Text of an errno value (strerror).
package func describeErrno(_ e: Int32) -> String {
    guard let p = strerror(e) else { return "errno \(e)" }
    return String(cString: p)
}

