// OpenSSL's record path alone, as Kamino drives it: a client and a server connection
// over Sources/CKaminoTLS's queue BIO in one thread, with Kamino's policy (TLS 1.3 first),
// exchanging a 150-byte request and a 120-byte reply (one record each way) per round
// trip. Only the round trips are instrumented, so callgrind's total divided by the
// rounds is OpenSSL's cost per request for both sides together (docs/benchmarks.md,
// "Session 10"). The first argument varies one setting:
//   base       as Sources/CKaminoTLS/tls.c sets connections up (read-ahead on)
//   partial    + SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER
//   noahead    read-ahead off
//   readbuf4k  SSL_set_default_read_buffer_len(4096)
//   ktlsop     + SSL_OP_ENABLE_KTLS (the queue BIO is no socket: no kTLS)
//   chacha     TLS_CHACHA20_POLY1305_SHA256 only
//   tls12      TLS 1.2 only (ECDHE-ECDSA/RSA-AES128-GCM-SHA256 first, as tls.c's TLS 1.2 list)
//   release    + SSL_MODE_RELEASE_BUFFERS
// The fourth argument (default 1) is the number of connection pairs, taken in turn (256:
// each round trip finds its connection's state as cold as the server's 256 connections do).
// It prints the CPU time per round trip (meaningful without valgrind).
// Usage (certificates from Benchmarks/bench-certificates.sh, run in DIR):
//   gcc -O2 -ISources/CKaminoTLS Benchmarks/tls-record-micro.c Sources/CKaminoTLS/queue_bio.c -lssl -lcrypto -o /tmp/tls-record-micro
//   valgrind --tool=callgrind --instr-atstart=no /tmp/tls-record-micro base 5000 DIR
//   /tmp/tls-record-micro base 200000 DIR 256
#include "queue_bio.h"
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <valgrind/callgrind.h>

typedef struct { SSL *ssl; kamino_queue_pair q; } conn;

static void move(conn *from, conn *to) {
    unsigned char buf[65536];
    size_t n;
    while ((n = kamino_byte_queue_take(&from->q.out, buf, sizeof buf)) > 0) kamino_byte_queue_append(&to->q.in, buf, n);
}

static void setup(conn *c, SSL_CTX *ctx, const char *mode) {
    memset(&c->q, 0, sizeof c->q);
    c->ssl = SSL_new(ctx);
    BIO *b = kamino_queue_bio_new(&c->q);
    SSL_set_bio(c->ssl, b, b);
    if (strcmp(mode, "noahead") != 0) SSL_set_read_ahead(c->ssl, 1);
    if (strcmp(mode, "partial") == 0) SSL_set_mode(c->ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    if (strcmp(mode, "readbuf4k") == 0) SSL_set_default_read_buffer_len(c->ssl, 4096);
    if (strcmp(mode, "ktlsop") == 0) SSL_set_options(c->ssl, SSL_OP_ENABLE_KTLS);
}

static const char *directory = ".";

static const char *file(const char *name) {
    static char path[3][1024];
    static int next;
    char *out = path[next++ % 3];
    snprintf(out, sizeof path[0], "%s/%s", directory, name);
    return out;
}

static SSL_CTX *context(int server, const char *mode) {
    SSL_CTX *ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION);
    const char *suites = strcmp(mode, "chacha") == 0 ? "TLS_CHACHA20_POLY1305_SHA256" : "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";
    SSL_CTX_set_ciphersuites(ctx, suites);
    if (strcmp(mode, "tls12") == 0) {
        SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION);
        SSL_CTX_set_cipher_list(ctx, "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384");
    }
    if (server) {
        SSL_CTX_set_num_tickets(ctx, 0);
        SSL_CTX_use_certificate_chain_file(ctx, file("server.pem"));
        SSL_CTX_use_PrivateKey_file(ctx, file("server.key"), SSL_FILETYPE_PEM);
    } else {
        SSL_CTX_load_verify_locations(ctx, file("ca.pem"), NULL);
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    }
    return ctx;
}

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "base";
    int rounds = argc > 2 ? atoi(argv[2]) : 20000;
    if (argc > 3) directory = argv[3];
    int pairs = argc > 4 ? atoi(argv[4]) : 1;
    if (pairs < 1) pairs = 1;
    SSL_CTX *sctx = context(1, mode), *cctx = context(0, mode);
    conn *s = calloc((size_t)pairs, sizeof *s), *c = calloc((size_t)pairs, sizeof *c);
    for (int p = 0; p < pairs; p++) {
        setup(&s[p], sctx, mode);
        setup(&c[p], cctx, mode);
        if (strcmp(mode, "release") == 0) {
            SSL_set_mode(s[p].ssl, SSL_MODE_RELEASE_BUFFERS);
            SSL_set_mode(c[p].ssl, SSL_MODE_RELEASE_BUFFERS);
        }
        SSL_set_accept_state(s[p].ssl);
        SSL_set_connect_state(c[p].ssl);
        for (int i = 0; i < 10 && !(SSL_is_init_finished(s[p].ssl) && SSL_is_init_finished(c[p].ssl)); i++) {
            SSL_do_handshake(c[p].ssl); move(&c[p], &s[p]); SSL_do_handshake(s[p].ssl); move(&s[p], &c[p]);
        }
        if (!SSL_is_init_finished(s[p].ssl) || !SSL_is_init_finished(c[p].ssl)) { fprintf(stderr, "handshake failed\n"); ERR_print_errors_fp(stderr); return 1; }
    }
    unsigned char request[150], reply[120], out[4096];
    memset(request, 1, sizeof request); memset(reply, 2, sizeof reply);
    size_t n;
    struct timespec t0, t1;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
    CALLGRIND_START_INSTRUMENTATION;
    for (int i = 0; i < rounds; i++) {
        int p = i % pairs;
        if (SSL_write_ex(c[p].ssl, request, sizeof request, &n) != 1) return 2;
        move(&c[p], &s[p]);
        if (SSL_read_ex(s[p].ssl, out, sizeof out, &n) != 1 || n != sizeof request) return 3;
        if (SSL_write_ex(s[p].ssl, reply, sizeof reply, &n) != 1) return 4;
        move(&s[p], &c[p]);
        if (SSL_read_ex(c[p].ssl, out, sizeof out, &n) != 1 || n != sizeof reply) return 5;
    }
    CALLGRIND_STOP_INSTRUMENTATION;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t1);
    double ns = ((double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec)) / rounds;
    printf("%s %s pairs %d: %.0f ns CPU per round trip (both sides)\n", mode, SSL_get_cipher_name(s[0].ssl), pairs, ns);
    return 0;
}
