// A small C surface over OpenSSL (libssl, libcrypto) for KaminoTLS: contexts and
// connections over byte queues. OpenSSL's headers stay inside tls.c, so Swift never
// imports them (their macros, such as SSL_CTX_set_min_proto_version, do not import,
// and their types would clash with other modules that import OpenSSL).
#ifndef KAMINO_CKAMINOTLS_H
#define KAMINO_CKAMINOTLS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// An OpenSSL SSL_CTX (reference counted; a connection keeps its context alive).
typedef struct kamino_tls_ctx kamino_tls_ctx;
/// One TLS connection: an SSL with a byte queue each way (ciphertext in and out).
typedef struct kamino_tls_conn kamino_tls_conn;

/// How a server asks for client certificates.
enum {
    KAMINO_TLS_CLIENT_AUTH_NONE = 0,
    KAMINO_TLS_CLIENT_AUTH_OPTIONAL = 1,
    KAMINO_TLS_CLIENT_AUTH_REQUIRED = 2,
};

/// Test-only context options.
enum {
    /// Stop at TLS 1.2 (renegotiation exists only there).
    KAMINO_TLS_TEST_TLS12_ONLY = 1,
    /// Allow this (client) context to start a renegotiation.
    KAMINO_TLS_TEST_ALLOW_RENEGOTIATION = 2,
};

/// What a connection step asks for next.
enum {
    /// Done (the handshake completed; bytes were read or written).
    KAMINO_TLS_OK = 0,
    /// More bytes from the peer are needed.
    KAMINO_TLS_WANT_READ = 1,
    /// The peer sent close_notify.
    KAMINO_TLS_CLOSED = 2,
    /// A protocol, certificate or internal error; the error text says which.
    KAMINO_TLS_ERROR = 3,
};

/// Creates a context. `server`: 1 for a server, 0 for a client. `cert_chain` / `key`:
/// PEM files (NULL: none; a server needs both). `ca_file`: PEM file of the CAs that
/// verify the peer (NULL: a client uses the system's trust store; a server cannot verify
/// client certificates). `crl_file`: PEM file of certificate revocation lists (NULL: none);
/// with it, a peer's certificate is refused when revoked, or when no current CRL of its
/// issuer is in the file (OpenSSL's X509_V_FLAG_CRL_CHECK: the leaf is checked).
/// `client_auth`: KAMINO_TLS_CLIENT_AUTH_* (servers).
/// `test_options`: 0 in production; KAMINO_TLS_TEST_* bits for tests of TLS 1.2 behaviour.
/// TLS 1.2 is always the minimum; TLS 1.2 suites are ECDHE with AEAD only; no
/// renegotiation, compression or session tickets. Returns NULL and writes a message
/// into `error` (of `error_len` bytes) on failure.
kamino_tls_ctx *kamino_tls_ctx_create(int server, const char *cert_chain, const char *key, const char *ca_file,
                                      const char *crl_file, int client_auth, int test_options, char *error,
                                      size_t error_len);
/// Releases the caller's reference.
void kamino_tls_ctx_free(kamino_tls_ctx *ctx);

/// Creates a connection on `ctx`. `server_name` (clients; NULL: no check): the name or
/// IP address the peer's certificate must carry; a name is also sent as SNI.
kamino_tls_conn *kamino_tls_conn_create(kamino_tls_ctx *ctx, const char *server_name, char *error, size_t error_len);
void kamino_tls_conn_free(kamino_tls_conn *conn);

/// Hands `len` bytes received from the peer to the connection. Returns 0, -1 when out
/// of memory.
int kamino_tls_conn_feed(kamino_tls_conn *conn, const void *bytes, size_t len);
/// Bytes received but not yet processed (a partial record).
size_t kamino_tls_conn_unprocessed(const kamino_tls_conn *conn);
/// Advances the handshake: KAMINO_TLS_OK once complete, WANT_READ, or ERROR.
int kamino_tls_conn_handshake(kamino_tls_conn *conn);
/// 1 once the handshake completed.
int kamino_tls_conn_established(const kamino_tls_conn *conn);
/// Decrypts up to `cap` bytes into `out`; `*got` receives the count. Returns OK (with
/// `*got` > 0), WANT_READ, CLOSED (close_notify received) or ERROR.
int kamino_tls_conn_read(kamino_tls_conn *conn, void *out, size_t cap, size_t *got);
/// Encrypts all `len` bytes (into the outgoing buffer). Returns OK or ERROR.
int kamino_tls_conn_write(kamino_tls_conn *conn, const void *bytes, size_t len);
/// Queues a close_notify alert (once). Returns OK or ERROR.
int kamino_tls_conn_shutdown(kamino_tls_conn *conn);
/// 1 once the peer's close_notify was received.
int kamino_tls_conn_received_close_notify(const kamino_tls_conn *conn);
/// Bytes waiting to be sent to the peer.
size_t kamino_tls_conn_pending(const kamino_tls_conn *conn);
/// Moves up to `cap` waiting bytes into `out`; returns how many.
size_t kamino_tls_conn_take(kamino_tls_conn *conn, void *out, size_t cap);
/// The text of the last error (OpenSSL's reason and the certificate check's result).
const char *kamino_tls_conn_error(const kamino_tls_conn *conn);
/// The negotiated protocol ("TLSv1.3") and cipher suite names.
const char *kamino_tls_conn_version(const kamino_tls_conn *conn);
const char *kamino_tls_conn_cipher(const kamino_tls_conn *conn);
/// Writes the peer certificate's subject (one line) into `out`; returns 0, or -1 when
/// the peer sent no certificate.
int kamino_tls_conn_peer_subject(const kamino_tls_conn *conn, char *out, size_t cap);
/// Starts a TLS 1.2 renegotiation (tests: servers must refuse it). Returns OK or ERROR.
int kamino_tls_conn_renegotiate(kamino_tls_conn *conn);
/// Tests: leaves errors on this thread's OpenSSL error queue, as another libcrypto user
/// does when it parses a malformed key and does not clear the queue (a JWT check with a
/// bad key, say). Returns 1 when the queue then holds an error.
int kamino_tls_test_leave_stale_error(void);
/// Tests: 1 when this thread's OpenSSL error queue is empty.
int kamino_tls_test_error_queue_is_empty(void);

#ifdef __cplusplus
}
#endif

#endif
