import Glibc
import LedgerWire
import NIOCore

/// A blocking client over one TCP connection to 127.0.0.1 that shows a reply exactly as
/// it came off the wire (error code and body included), built on LedgerWire's encoder
/// and decoder; modelled on LedgerServerTests' `WireTestClient`.
final class WireProbe {
    private let fd: Int32
    private var inbound = ByteBuffer()
    private var decoder = KaminoMessageDecoder(accepting: .replies)
    private var nextId: UInt64 = 1

    /// Connects to 127.0.0.1:`port`; nil if the connection fails.
    init?(port: UInt16, timeoutSeconds: Int = 15) {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        var tv = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        addr.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard rc == 0 else {
            close(fd)
            return nil
        }
    }

    deinit { close(fd) }

    /// Sends a request and waits for its answer; nil on EOF, timeout, a decode error or
    /// an answer to another id.
    func call(_ request: Request) -> Message? {
        guard let id = send(request) else { return nil }
        return receive().flatMap { $0.requestId == id ? $0 : nil }
    }

    /// Sends a request; returns its id, or nil when it could not be sent.
    func send(_ request: Request) -> UInt64? {
        let id = nextId
        nextId += 1
        var buffer = ByteBuffer()
        guard (try? MessageEncoding.encode(request, id: id, into: &buffer)) != nil,
            let bytes = buffer.readBytes(length: buffer.readableBytes)
        else { return nil }
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return nil }
            offset += n
        }
        return id
    }

    /// The next message; nil on EOF, timeout or a decode error.
    func receive() -> Message? {
        while true {
            if let message = try? decoder.decodeNext(&inbound) { return message }
            if decoder.failure != nil { return nil }
            var chunk = [UInt8](repeating: 0, count: 1 << 16)
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return nil }
            inbound.writeBytes(chunk[0..<n])
        }
    }
}
