import KaminoTestSupport
import CKaminoTLS
import Glibc

/// Writes as much of `bytes` as the peer takes; returns how many were written.
func sendCounting(_ fd: Int32, _ bytes: [UInt8]) -> Int {
    var offset = 0
    while offset < bytes.count {
        let n = bytes[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        if n <= 0 { break }
        offset += n
    }
    return offset
}

/// Reads until end of file, an error or the receive timeout.
func receiveAll(_ fd: Int32) -> [UInt8] {
    var out: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 16_384)
    while true {
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n <= 0 { return out }
        out += chunk[0..<n]
    }
}

/// Sends `bytes` on a plain TCP connection and returns what came back before the close.
func rawExchange(port: UInt16, bytes: [UInt8]) -> [UInt8] {
    guard let fd = connectLoopback(port, timeoutSeconds: 2) else { return [] }
    defer { close(fd) }
    _ = sendAll(fd, bytes)
    return receiveAll(fd)
}

/// A TLS client over a blocking socket, driven by the C shim directly (no NIO): for
/// probes and the fuzz test's post-handshake records.
final class TLSProbe {
    let fd: Int32
    private let context: OpaquePointer
    let connection: OpaquePointer

    /// Connects and completes a handshake; nil when either fails.
    init?(port: UInt16, caFile: String) {
        var error = [CChar](repeating: 0, count: 512)
        guard let context = kamino_tls_ctx_create(0, nil, nil, caFile, nil, 0, 0, &error, error.count) else { return nil }
        guard let connection = kamino_tls_conn_create(context, "127.0.0.1", &error, error.count) else {
            kamino_tls_ctx_free(context)
            return nil
        }
        self.context = context
        self.connection = connection
        guard let fd = connectLoopback(port, timeoutSeconds: 2) else {
            kamino_tls_conn_free(connection)
            kamino_tls_ctx_free(context)
            return nil
        }
        self.fd = fd
        var chunk = [UInt8](repeating: 0, count: 16_384)
        while true {
            let status = kamino_tls_conn_handshake(connection)
            guard sendAll(fd, takePending()) else { return nil }
            if status == Int32(KAMINO_TLS_OK) { break }
            guard status == Int32(KAMINO_TLS_WANT_READ) else { return nil }
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { return nil }
            _ = chunk.withUnsafeBytes { kamino_tls_conn_feed(connection, $0.baseAddress, n) }
        }
    }

    deinit {
        close(fd)
        kamino_tls_conn_free(connection)
        kamino_tls_ctx_free(context)
    }

    /// The bytes OpenSSL has queued for the peer.
    func takePending() -> [UInt8] {
        let count = kamino_tls_conn_pending(connection)
        var out = [UInt8](repeating: 0, count: count)
        let got = out.withUnsafeMutableBytes { kamino_tls_conn_take(connection, $0.baseAddress, count) }
        return Array(out[0..<got])
    }

    /// Sends `request` encrypted and returns the decrypted answer until the server closes.
    func exchange(_ request: [UInt8]) -> [UInt8] {
        _ = request.withUnsafeBytes { kamino_tls_conn_write(connection, $0.baseAddress, $0.count) }
        guard sendAll(fd, takePending()) else { return [] }
        let received = receiveAll(fd)
        _ = received.withUnsafeBytes { kamino_tls_conn_feed(connection, $0.baseAddress, $0.count) }
        var plain: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16_384)
        while true {
            var got = 0
            let status = chunk.withUnsafeMutableBytes { kamino_tls_conn_read(connection, $0.baseAddress, $0.count, &got) }
            guard status == Int32(KAMINO_TLS_OK) else { return plain }
            plain += chunk[0..<got]
        }
    }

    /// One exchange on a fresh connection.
    static func exchange(port: UInt16, caFile: String, request: [UInt8]) -> [UInt8]? {
        TLSProbe(port: port, caFile: caFile)?.exchange(request)
    }

    /// A real ClientHello record for a server at 127.0.0.1 (the fuzz test mutates it).
    static func clientHello(caFile: String) -> [UInt8]? {
        var error = [CChar](repeating: 0, count: 512)
        guard let context = kamino_tls_ctx_create(0, nil, nil, caFile, nil, 0, 0, &error, error.count) else { return nil }
        defer { kamino_tls_ctx_free(context) }
        guard let connection = kamino_tls_conn_create(context, "127.0.0.1", &error, error.count) else { return nil }
        defer { kamino_tls_conn_free(connection) }
        _ = kamino_tls_conn_handshake(connection)
        let count = kamino_tls_conn_pending(connection)
        var out = [UInt8](repeating: 0, count: count)
        let got = out.withUnsafeMutableBytes { kamino_tls_conn_take(connection, $0.baseAddress, count) }
        return Array(out[0..<got])
    }
}
