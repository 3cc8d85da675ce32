// The BIO between OpenSSL and KaminoTLS's handler (internal to CKaminoTLS).
#ifndef KAMINO_QUEUE_BIO_H
#define KAMINO_QUEUE_BIO_H
#include <openssl/bio.h>
#include <stddef.h>

/// A growable byte queue: bytes in [start, end) of `bytes` are queued.
typedef struct {
    unsigned char *bytes;
    size_t start;
    size_t end;
    size_t capacity;
} kamino_byte_queue;

/// Both directions of one connection: `in` holds ciphertext from the peer that OpenSSL has
/// not read yet, `out` ciphertext OpenSSL wrote for the peer that the handler has not taken.
/// Owned by the connection; the BIO only points at it.
typedef struct {
    kamino_byte_queue in;
    kamino_byte_queue out;
} kamino_queue_pair;

/// A new BIO over `pair` (one BIO serves as the SSL's read and write BIO). It reads from
/// `pair->in` (an empty queue asks OpenSSL to retry, never end of file) and appends what
/// is written to `pair->out`. NULL when out of memory.
BIO *kamino_queue_bio_new(kamino_queue_pair *pair);

/// Appends `len` bytes; 0, or -1 when out of memory (the queue is unchanged then).
int kamino_byte_queue_append(kamino_byte_queue *queue, const void *bytes, size_t len);
/// Moves up to `cap` bytes from the front into `out`; returns how many.
size_t kamino_byte_queue_take(kamino_byte_queue *queue, void *out, size_t cap);
/// Bytes queued.
static inline size_t kamino_byte_queue_count(const kamino_byte_queue *queue) { return queue->end - queue->start; }
/// Frees the storage.
void kamino_byte_queue_free(kamino_byte_queue *queue);
#endif
