import Glibc
package import LedgerWire
import NIOCore

/// A small blocking client over one TCP connection to 127.0.0.1, built on LedgerWire's
/// encoder and decoder (tests only; the real client is `LedgerClient`).
package final class WireTestClient {
    private let fd: Int32
    private var inbound = ByteBuffer()
    private var decoder = KaminoMessageDecoder(accepting: .replies)
    private var nextId: UInt64 = 1

    /// Connects to 127.0.0.1:`port`; nil if the connection fails.
    package init?(port: UInt16, timeoutSeconds: Int = 15) {
        guard let fd = connectLoopback(port, timeoutSeconds: timeoutSeconds) else { return nil }
        self.fd = fd
    }

    deinit { close(fd) }

    /// A fresh request id.
    package func takeId() -> UInt64 {
        defer { nextId += 1 }
        return nextId
    }

    /// The bytes of a request frame.
    package static func frame(_ request: Request, id: UInt64) -> [UInt8] {
        var buffer = ByteBuffer()
        try? MessageEncoding.encode(request, id: id, into: &buffer)
        return buffer.readBytes(length: buffer.readableBytes) ?? []
    }

    /// Sends a request; returns its id.
    @discardableResult
    package func send(_ request: Request) -> UInt64 {
        let id = takeId()
        sendRaw(Self.frame(request, id: id))
        return id
    }

    /// Sends raw bytes; false if the socket refused them.
    @discardableResult
    package func sendRaw(_ bytes: [UInt8]) -> Bool {
        sendAll(fd, bytes)
    }

    /// Shuts down the sending side (the server sees end of input).
    package func shutdownWrite() { shutdown(fd, Int32(SHUT_WR)) }

    /// The next message, or nil on EOF, timeout or a decode error.
    /// A signal (a child process of a parallel test exiting) interrupts a socket call that has
    /// a timeout even under SA_RESTART (signal(7)): such calls are retried, never taken for EOF.
    package func receive() -> Message? {
        while true {
            if let message = try? decoder.decodeNext(&inbound) { return message }
            if decoder.failure != nil { return nil }
            var chunk = [UInt8](repeating: 0, count: 1 << 16)
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return nil }
            inbound.writeBytes(chunk[0..<n])
            if inbound.readerIndex > 1 << 20 { inbound.discardReadBytes() }
        }
    }

    /// Sends a request and waits for its answer (the only one outstanding).
    package func call(_ request: Request) -> Message? {
        let id = send(request)
        guard let message = receive(), message.requestId == id else { return nil }
        return message
    }

    /// True if the server closes the connection (EOF) within the receive timeout, after
    /// any messages still in flight.
    package func waitForClose() -> Bool {
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n == 0 { return true }
            if n < 0 && errno == EINTR { continue }
            if n < 0 { return errno == ECONNRESET }
        }
    }
}

/// Sends all of `bytes` on the socket `fd` (retrying a call a signal interrupted); false
/// if the socket refused them.
package func sendAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return false }
            offset += n
        }
        return true
}
