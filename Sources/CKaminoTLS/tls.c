// OpenSSL behind CKaminoTLS.h: contexts with Kamino's fixed policy (TLS 1.2+, ECDHE with
// AEAD, no renegotiation) and connections over a queue BIO (queue_bio.h).
#include "CKaminoTLS.h"
#include "queue_bio.h"

#include <arpa/inet.h>
#include <assert.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct kamino_tls_ctx {
    SSL_CTX *ssl_ctx;
};

struct kamino_tls_conn {
    SSL *ssl;
    /// Ciphertext each way; the SSL's one BIO points at it.
    kamino_queue_pair queues;
    char error[512];
};

/// TLS 1.2 suites: forward secret key exchange and AEAD ciphers only.
static const char *const tls12_ciphers = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
                                         "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
                                         "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
/// TLS 1.3 suites (all AEAD).
static const char *const tls13_suites = "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";

/// Appends OpenSSL's queued errors to `prefix` in `out` and clears the queue.
static void describe_errors(const char *prefix, char *out, size_t cap) {
    if (cap == 0) return;
    size_t used = (size_t)snprintf(out, cap, "%s", prefix);
    unsigned long code;
    while ((code = ERR_get_error()) != 0) {
        if (used + 3 >= cap) continue;
        char reason[256];
        ERR_error_string_n(code, reason, sizeof reason);
        // "error:0A000086:SSL routines::certificate verify failed": keep the part after "::"
        // when present (the rest is OpenSSL's numbering).
        const char *text = strstr(reason, "::");
        text = text ? text + 2 : reason;
        used += (size_t)snprintf(out + used, cap - used, "%s%s", used > strlen(prefix) ? "; " : ": ", text);
    }
    if (used >= cap) out[cap - 1] = 0;
}

kamino_tls_ctx *kamino_tls_ctx_create(int server, const char *cert_chain, const char *key, const char *ca_file,
                                      const char *crl_file, int client_auth, int test_options, char *error,
                                      size_t error_len) {
    ERR_clear_error();
    SSL_CTX *ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
    if (!ctx) {
        describe_errors("cannot create a TLS context", error, error_len);
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_max_proto_version(ctx, (test_options & KAMINO_TLS_TEST_TLS12_ONLY) ? TLS1_2_VERSION : TLS1_3_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_TICKET);
    if (!(test_options & KAMINO_TLS_TEST_ALLOW_RENEGOTIATION)) SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
    if (server) SSL_CTX_set_num_tickets(ctx, 0);
    if (SSL_CTX_set_cipher_list(ctx, tls12_ciphers) != 1 || SSL_CTX_set_ciphersuites(ctx, tls13_suites) != 1) {
        describe_errors("cannot set the cipher suites", error, error_len);
        SSL_CTX_free(ctx);
        return NULL;
    }
    if ((cert_chain == NULL) != (key == NULL)) {
        snprintf(error, error_len, "a certificate needs its key and a key its certificate");
        SSL_CTX_free(ctx);
        return NULL;
    }
    if (server && cert_chain == NULL) {
        snprintf(error, error_len, "a TLS server needs a certificate and a key");
        SSL_CTX_free(ctx);
        return NULL;
    }
    if (cert_chain) {
        char prefix[600];
        if (SSL_CTX_use_certificate_chain_file(ctx, cert_chain) != 1) {
            snprintf(prefix, sizeof prefix, "certificate %s", cert_chain);
            describe_errors(prefix, error, error_len);
            SSL_CTX_free(ctx);
            return NULL;
        }
        if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
            snprintf(prefix, sizeof prefix, "key %s", key);
            describe_errors(prefix, error, error_len);
            SSL_CTX_free(ctx);
            return NULL;
        }
        if (SSL_CTX_check_private_key(ctx) != 1) {
            snprintf(prefix, sizeof prefix, "key %s does not match certificate %s", key, cert_chain);
            describe_errors(prefix, error, error_len);
            SSL_CTX_free(ctx);
            return NULL;
        }
    }
    if (ca_file) {
        if (SSL_CTX_load_verify_locations(ctx, ca_file, NULL) != 1) {
            char prefix[600];
            snprintf(prefix, sizeof prefix, "CA file %s", ca_file);
            describe_errors(prefix, error, error_len);
            SSL_CTX_free(ctx);
            return NULL;
        }
        if (server) {
            STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(ca_file);
            if (names) SSL_CTX_set_client_CA_list(ctx, names);
        }
    } else if (!server) {
        SSL_CTX_set_default_verify_paths(ctx);
    }
    if (crl_file) {
        X509_STORE *store = SSL_CTX_get_cert_store(ctx);
        X509_LOOKUP *lookup = store ? X509_STORE_add_lookup(store, X509_LOOKUP_file()) : NULL;
        if (!lookup || X509_load_crl_file(lookup, crl_file, X509_FILETYPE_PEM) <= 0) {
            char prefix[600];
            snprintf(prefix, sizeof prefix, "CRL file %s holds no readable certificate revocation list", crl_file);
            describe_errors(prefix, error, error_len);
            SSL_CTX_free(ctx);
            return NULL;
        }
        X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK);
    }
    if (server) {
        if (client_auth != KAMINO_TLS_CLIENT_AUTH_NONE && ca_file == NULL) {
            snprintf(error, error_len, "client certificates (optional or required) need a CA file to verify them");
            SSL_CTX_free(ctx);
            return NULL;
        }
        int mode = SSL_VERIFY_NONE;
        if (client_auth == KAMINO_TLS_CLIENT_AUTH_OPTIONAL) mode = SSL_VERIFY_PEER;
        if (client_auth == KAMINO_TLS_CLIENT_AUTH_REQUIRED) mode = SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
        SSL_CTX_set_verify(ctx, mode, NULL);
    } else {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    }
    kamino_tls_ctx *out = malloc(sizeof *out);
    if (!out) {
        SSL_CTX_free(ctx);
        snprintf(error, error_len, "out of memory");
        return NULL;
    }
    out->ssl_ctx = ctx;
    return out;
}

void kamino_tls_ctx_free(kamino_tls_ctx *ctx) {
    if (!ctx) return;
    SSL_CTX_free(ctx->ssl_ctx);
    free(ctx);
}

kamino_tls_conn *kamino_tls_conn_create(kamino_tls_ctx *ctx, const char *server_name, char *error, size_t error_len) {
    ERR_clear_error();
    kamino_tls_conn *conn = calloc(1, sizeof *conn);
    if (!conn) {
        snprintf(error, error_len, "out of memory");
        return NULL;
    }
    // SSL_new takes its own reference on the context: a reload may free the caller's.
    conn->ssl = SSL_new(ctx->ssl_ctx);
    BIO *bio = conn->ssl ? kamino_queue_bio_new(&conn->queues) : NULL;
    if (!conn->ssl || !bio) {
        describe_errors("cannot create a TLS connection", error, error_len);
        if (conn->ssl) SSL_free(conn->ssl);
        free(conn);
        return NULL;
    }
    // One BIO both ways (SSL_set_bio takes its one reference).
    SSL_set_bio(conn->ssl, bio, bio);
    // Read whole records (and whatever follows) from the queue in one BIO read, instead of
    // a header and then a body; bytes read ahead stay in OpenSSL's buffer, which
    // SSL_has_pending reports.
    SSL_set_read_ahead(conn->ssl, 1);
    if (SSL_is_server(conn->ssl)) {
        SSL_set_accept_state(conn->ssl);
    } else {
        SSL_set_connect_state(conn->ssl);
        if (server_name && server_name[0]) {
            unsigned char address[16];
            int ok;
            if (inet_pton(AF_INET, server_name, address) == 1 || inet_pton(AF_INET6, server_name, address) == 1) {
                ok = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(conn->ssl), server_name) == 1;
            } else {
                ok = SSL_set_tlsext_host_name(conn->ssl, server_name) == 1 && SSL_set1_host(conn->ssl, server_name) == 1;
            }
            if (!ok) {
                describe_errors("cannot set the server name to verify", error, error_len);
                kamino_tls_conn_free(conn);
                return NULL;
            }
        }
    }
    return conn;
}

void kamino_tls_conn_free(kamino_tls_conn *conn) {
    if (!conn) return;
    SSL_free(conn->ssl);  // frees the BIO (not the queues)
    kamino_byte_queue_free(&conn->queues.in);
    kamino_byte_queue_free(&conn->queues.out);
    free(conn);
}

int kamino_tls_conn_feed(kamino_tls_conn *conn, const void *bytes, size_t len) {
    return kamino_byte_queue_append(&conn->queues.in, bytes, len);
}

size_t kamino_tls_conn_unprocessed(const kamino_tls_conn *conn) {
    return kamino_byte_queue_count(&conn->queues.in) + (SSL_has_pending(conn->ssl) ? 1 : 0);
}

/// Appends the peer certificate check's result to the error text when it failed.
static void append_verify_result(kamino_tls_conn *conn) {
    long verify = SSL_get_verify_result(conn->ssl);
    size_t used = strlen(conn->error);
    if (verify != X509_V_OK && used + 2 < sizeof conn->error) {
        snprintf(conn->error + used, sizeof conn->error - used, " (certificate: %s)",
                 X509_verify_cert_error_string(verify));
    }
}

/// Maps an SSL call's failure to a status, recording the error text.
static int failure(kamino_tls_conn *conn, int result, const char *what) {
    int code = SSL_get_error(conn->ssl, result);
    switch (code) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE:
        return KAMINO_TLS_WANT_READ;
    case SSL_ERROR_ZERO_RETURN:
        return KAMINO_TLS_CLOSED;
    default: {
        describe_errors(what, conn->error, sizeof conn->error);
        append_verify_result(conn);
        return KAMINO_TLS_ERROR;
    }
    }
}

/// Maps a failed SSL_read_ex or SSL_write_ex to a status. These calls run per record,
/// and the error queue is not emptied before them (ERR_peek_error costs about 200
/// instructions per call), so it may hold errors that another libcrypto user on this
/// thread left (KaminoAuth's JWT checks run on the same event loops). SSL_get_error
/// looks at the queue first and would call such a want-read a failure. So the queue is
/// drained into the error text first, and SSL_get_error, with an empty queue, decides by
/// the connection's state alone: want-read (OpenSSL's read state and the BIO's retry
/// flag, both set by this call; a fatal error resets the read state), close_notify
/// received, or else a failure, described by the drained text. With an empty queue the
/// result is what clearing it before the call gave.
///
/// Without its error, a fatal alert received looks like close_notify to SSL_get_error
/// (both set "received shutdown", and the last warning alert reads as close_notify, whose
/// code is 0), so close_notify also needs the handshake state untouched: a fatal error,
/// sent or received, puts the connection back "in init" (OpenSSL's error state), a
/// close_notify does not. (The one close_notify this reports as a failure is one that
/// comes in the middle of a post-handshake message with a stale error on the queue.)
static int record_failure(kamino_tls_conn *conn, int result, const char *what) {
    if (ERR_peek_error() == 0) return failure(conn, result, what);
    describe_errors(what, conn->error, sizeof conn->error);
    assert(ERR_peek_error() == 0 && "describe_errors drains the queue");
    int code = SSL_get_error(conn->ssl, result);
    if (code == SSL_ERROR_WANT_READ || code == SSL_ERROR_WANT_WRITE) {
        conn->error[0] = 0;  // the drained errors were not this call's
        return KAMINO_TLS_WANT_READ;
    }
    if (code == SSL_ERROR_ZERO_RETURN && !SSL_in_init(conn->ssl)) {
        conn->error[0] = 0;
        return KAMINO_TLS_CLOSED;
    }
    append_verify_result(conn);
    return KAMINO_TLS_ERROR;
}

int kamino_tls_conn_handshake(kamino_tls_conn *conn) {
    ERR_clear_error();
    int r = SSL_do_handshake(conn->ssl);
    return r == 1 ? KAMINO_TLS_OK : failure(conn, r, "handshake failed");
}

int kamino_tls_conn_established(const kamino_tls_conn *conn) { return SSL_is_init_finished(conn->ssl) ? 1 : 0; }

int kamino_tls_conn_read(kamino_tls_conn *conn, void *out, size_t cap, size_t *got) {
    *got = 0;
    int r = SSL_read_ex(conn->ssl, out, cap, got);
    return r == 1 ? KAMINO_TLS_OK : record_failure(conn, r, "TLS read failed");
}

int kamino_tls_conn_write(kamino_tls_conn *conn, const void *bytes, size_t len) {
    const unsigned char *cursor = bytes;
    while (len > 0) {
        size_t written = 0;
        int r = SSL_write_ex(conn->ssl, cursor, len, &written);
        if (r != 1) {
            int status = record_failure(conn, r, "TLS write failed");
            return status == KAMINO_TLS_ERROR ? status : KAMINO_TLS_ERROR;
        }
        cursor += written;
        len -= written;
    }
    return KAMINO_TLS_OK;
}

int kamino_tls_conn_shutdown(kamino_tls_conn *conn) {
    if (SSL_get_shutdown(conn->ssl) & SSL_SENT_SHUTDOWN) return KAMINO_TLS_OK;
    if (!SSL_is_init_finished(conn->ssl)) return KAMINO_TLS_OK;
    ERR_clear_error();
    int r = SSL_shutdown(conn->ssl);
    if (r >= 0) return KAMINO_TLS_OK;
    int status = failure(conn, r, "TLS shutdown failed");
    return status == KAMINO_TLS_ERROR ? status : KAMINO_TLS_OK;
}

int kamino_tls_conn_received_close_notify(const kamino_tls_conn *conn) {
    return (SSL_get_shutdown(conn->ssl) & SSL_RECEIVED_SHUTDOWN) ? 1 : 0;
}

size_t kamino_tls_conn_pending(const kamino_tls_conn *conn) { return kamino_byte_queue_count(&conn->queues.out); }

size_t kamino_tls_conn_take(kamino_tls_conn *conn, void *out, size_t cap) {
    return kamino_byte_queue_take(&conn->queues.out, out, cap);
}

const char *kamino_tls_conn_error(const kamino_tls_conn *conn) { return conn->error; }

const char *kamino_tls_conn_version(const kamino_tls_conn *conn) { return SSL_get_version(conn->ssl); }

const char *kamino_tls_conn_cipher(const kamino_tls_conn *conn) {
    const char *name = SSL_get_cipher_name(conn->ssl);
    return name ? name : "";
}

int kamino_tls_conn_peer_subject(const kamino_tls_conn *conn, char *out, size_t cap) {
    X509 *cert = SSL_get1_peer_certificate(conn->ssl);
    if (!cert) return -1;
    X509_NAME_oneline(X509_get_subject_name(cert), out, (int)cap);
    X509_free(cert);
    return 0;
}

int kamino_tls_conn_renegotiate(kamino_tls_conn *conn) {
    ERR_clear_error();
    if (SSL_renegotiate(conn->ssl) != 1) return failure(conn, 0, "renegotiation refused locally");
    int r = SSL_do_handshake(conn->ssl);
    if (r == 1) return KAMINO_TLS_OK;
    int status = failure(conn, r, "renegotiation failed");
    return status == KAMINO_TLS_ERROR ? status : KAMINO_TLS_OK;
}

int kamino_tls_test_leave_stale_error(void) {
    // A truncated SubjectPublicKeyInfo: the DER parser queues its errors.
    static const unsigned char garbage[] = {0x30, 0x03, 0x02, 0x01};
    const unsigned char *cursor = garbage;
    EVP_PKEY *key = d2i_PUBKEY(NULL, &cursor, (long)sizeof garbage);
    EVP_PKEY_free(key);
    return ERR_peek_error() != 0 ? 1 : 0;
}

int kamino_tls_test_error_queue_is_empty(void) { return ERR_peek_error() == 0 ? 1 : 0; }
