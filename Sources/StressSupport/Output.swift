#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Unbuffered line output: one write(2) per line, so a line printed before a
/// SIGKILL is complete in the file or pipe it goes to.
package enum Output {
    package static func line(_ text: String, fd: Int32 = 1) {
        var s = text
        s.append("\n")
        s.withUTF8 { buf in
            var done = 0
            while done < buf.count {
                let n = write(fd, buf.baseAddress.map { $0 + done }, buf.count - done)
                if n <= 0 { if errno == EINTR { continue }; return }
                done += n
            }
        }
    }

    package static func error(_ text: String) { line(text, fd: 2) }
}
