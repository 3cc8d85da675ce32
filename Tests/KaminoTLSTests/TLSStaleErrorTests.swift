import CKaminoTLS
import KaminoTestSupport
import KaminoTLS
import Testing

/// A client and a server connection pumped in memory on the calling thread (no sockets,
/// no event loop), so that an error left on this thread's OpenSSL error queue is there
/// when the connections read and write.
final class MemoryTLSPair {
    let serverContext: OpaquePointer
    let clientContext: OpaquePointer
    let server: OpaquePointer
    let client: OpaquePointer

    init(_ certificates: TestCertificates) throws {
        var error = [CChar](repeating: 0, count: 512)
        serverContext = try #require(
            kamino_tls_ctx_create(1, certificates.serverCertificate, certificates.serverKey, nil, nil, 0, 0, &error, 512))
        clientContext = try #require(
            kamino_tls_ctx_create(0, nil, nil, certificates.caCertificate, nil, 0, 0, &error, 512))
        server = try #require(kamino_tls_conn_create(serverContext, nil, &error, 512))
        client = try #require(kamino_tls_conn_create(clientContext, "127.0.0.1", &error, 512))
        for _ in 0..<10 where kamino_tls_conn_established(client) == 0 || kamino_tls_conn_established(server) == 0 {
            _ = kamino_tls_conn_handshake(client)
            Self.move(from: client, to: server)
            _ = kamino_tls_conn_handshake(server)
            Self.move(from: server, to: client)
        }
        #expect(kamino_tls_conn_established(client) == 1 && kamino_tls_conn_established(server) == 1)
    }

    deinit {
        kamino_tls_conn_free(server)
        kamino_tls_conn_free(client)
        kamino_tls_ctx_free(serverContext)
        kamino_tls_ctx_free(clientContext)
    }

    /// What `connection` has to send.
    static func take(_ connection: OpaquePointer) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: kamino_tls_conn_pending(connection))
        let count = bytes.withUnsafeMutableBytes { kamino_tls_conn_take(connection, $0.baseAddress, $0.count) }
        return Array(bytes.prefix(count))
    }

    static func move(from sender: OpaquePointer, to receiver: OpaquePointer) {
        let bytes = take(sender)
        _ = bytes.withUnsafeBytes { kamino_tls_conn_feed(receiver, $0.baseAddress, $0.count) }
    }

    /// The record(s) the client sends for `plaintext`.
    func clientRecord(_ plaintext: [UInt8]) -> [UInt8] {
        let status = plaintext.withUnsafeBytes { kamino_tls_conn_write(client, $0.baseAddress, $0.count) }
        #expect(status == Int32(KAMINO_TLS_OK))
        return Self.take(client)
    }

    func feedServer(_ bytes: some Collection<UInt8>) {
        let array = Array(bytes)
        _ = array.withUnsafeBytes { kamino_tls_conn_feed(server, $0.baseAddress, $0.count) }
    }

    /// One server read: its status and the plaintext it gave.
    func serverRead() -> (status: Int32, bytes: [UInt8]) {
        var out = [UInt8](repeating: 0, count: 4096)
        var got = 0
        let status = out.withUnsafeMutableBytes { kamino_tls_conn_read(server, $0.baseAddress, $0.count, &got) }
        return (status, Array(out.prefix(got)))
    }

    var serverError: String { String(cString: kamino_tls_conn_error(server)) }
}

/// Reads and writes run without emptying the thread's OpenSSL error queue first (it costs
/// about 200 instructions per record), so errors another libcrypto user left on the
/// event loop's thread (a JWT check with a malformed key) are on the queue when OpenSSL
/// reports "want read" or close_notify: neither may become a connection failure, and a
/// real failure must still be one.
@Suite(.serialized)
struct TLSStaleErrorTests {
    let certificates: TestCertificates

    init() throws {
        certificates = try #require(TestCertificates.make(), "openssl could not make the test certificates")
    }

    @Test func aPartialRecordIsAWantReadDespiteAStaleError() throws {
        defer { certificates.remove() }
        let pair = try MemoryTLSPair(certificates)
        let record = pair.clientRecord([1, 2, 3, 4, 5])
        pair.feedServer(record.prefix(7))
        #expect(kamino_tls_test_leave_stale_error() == 1)
        let first = pair.serverRead()
        #expect(first.status == Int32(KAMINO_TLS_WANT_READ), "\(first.status): \(pair.serverError)")
        // The stale errors were drained, not left to the next failure's description.
        #expect(kamino_tls_test_error_queue_is_empty() == 1)
        pair.feedServer(record.dropFirst(7))
        #expect(kamino_tls_test_leave_stale_error() == 1)
        let second = pair.serverRead()
        #expect(second.status == Int32(KAMINO_TLS_OK) && second.bytes == [1, 2, 3, 4, 5], "\(second)")
        // Nothing left: the next read wants more bytes, stale error or not.
        let third = pair.serverRead()
        #expect(third.status == Int32(KAMINO_TLS_WANT_READ), "\(third.status): \(pair.serverError)")
    }

    @Test func closeNotifyIsAnOrderlyCloseDespiteAStaleError() throws {
        defer { certificates.remove() }
        let pair = try MemoryTLSPair(certificates)
        pair.feedServer(pair.clientRecord([9]))
        #expect(kamino_tls_conn_shutdown(pair.client) == Int32(KAMINO_TLS_OK))
        MemoryTLSPair.move(from: pair.client, to: pair.server)
        #expect(kamino_tls_test_leave_stale_error() == 1)
        let data = pair.serverRead()
        #expect(data.status == Int32(KAMINO_TLS_OK) && data.bytes == [9], "\(data)")
        let closed = pair.serverRead()
        #expect(closed.status == Int32(KAMINO_TLS_CLOSED), "\(closed.status): \(pair.serverError)")
        #expect(kamino_tls_conn_received_close_notify(pair.server) == 1)
    }

    @Test func aForgedRecordStillFailsWithAStaleError() throws {
        defer { certificates.remove() }
        let pair = try MemoryTLSPair(certificates)
        var record = pair.clientRecord(Array(repeating: 7, count: 64))
        record[10] ^= 0x40  // in the ciphertext: the tag no longer matches
        pair.feedServer(record)
        #expect(kamino_tls_test_leave_stale_error() == 1)
        let read = pair.serverRead()
        #expect(read.status == Int32(KAMINO_TLS_ERROR), "\(read.status)")
        #expect(pair.serverError.contains("TLS read failed"), "\(pair.serverError)")
        #expect(pair.serverError.contains("bad record mac") || pair.serverError.contains("decryption failed"),
                "\(pair.serverError)")
        // A fatal alert for the client.
        #expect(!MemoryTLSPair.take(pair.server).isEmpty)
    }

    @Test func aFatalAlertFromThePeerStillFailsWithAStaleError() throws {
        defer { certificates.remove() }
        let pair = try MemoryTLSPair(certificates)
        var record = pair.clientRecord([5, 5, 5])
        record[12] ^= 0x01
        pair.feedServer(record)
        #expect(pair.serverRead().status == Int32(KAMINO_TLS_ERROR))
        // The server's fatal alert, read by the client with a stale error on the queue.
        MemoryTLSPair.move(from: pair.server, to: pair.client)
        #expect(kamino_tls_test_leave_stale_error() == 1)
        var out = [UInt8](repeating: 0, count: 64)
        var got = 0
        let status = out.withUnsafeMutableBytes { kamino_tls_conn_read(pair.client, $0.baseAddress, $0.count, &got) }
        let text = String(cString: kamino_tls_conn_error(pair.client))
        #expect(status == Int32(KAMINO_TLS_ERROR), "\(status): \(text)")
        #expect(text.contains("alert"), "\(text)")
    }
}
