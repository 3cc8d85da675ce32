// A BIO over two byte queues in the connection (see queue_bio.h). It replaces a pair of
// OpenSSL memory BIOs: the handler reads the queued counts as plain fields instead of
// through BIO_ctrl, and OpenSSL's own BIO_ctrl calls (about fifteen per request and
// reply: flush, pending, kTLS queries) end in a short switch.
#include "queue_bio.h"

#include <assert.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

int kamino_byte_queue_append(kamino_byte_queue *queue, const void *bytes, size_t len) {
    assert(queue->start <= queue->end && queue->end <= queue->capacity);
    if (len == 0) return 0;
    if (queue->start == queue->end) queue->start = queue->end = 0;
    if (queue->capacity - queue->end < len) {
        size_t count = queue->end - queue->start;
        if (queue->start > 0) {
            // Move the queued bytes to the front before growing.
            memmove(queue->bytes, queue->bytes + queue->start, count);
            queue->start = 0;
            queue->end = count;
        }
        if (queue->capacity - queue->end < len) {
            if (len > SIZE_MAX / 2 - count) return -1;
            size_t wanted = queue->capacity ? queue->capacity : 1024;
            while (wanted < count + len) wanted *= 2;
            unsigned char *grown = realloc(queue->bytes, wanted);
            if (!grown) return -1;
            queue->bytes = grown;
            queue->capacity = wanted;
        }
    }
    memcpy(queue->bytes + queue->end, bytes, len);
    queue->end += len;
    return 0;
}

size_t kamino_byte_queue_take(kamino_byte_queue *queue, void *out, size_t cap) {
    size_t count = kamino_byte_queue_count(queue);
    size_t n = count < cap ? count : cap;
    if (n == 0) return 0;
    memcpy(out, queue->bytes + queue->start, n);
    queue->start += n;
    if (queue->start == queue->end) queue->start = queue->end = 0;
    return n;
}

void kamino_byte_queue_free(kamino_byte_queue *queue) {
    free(queue->bytes);
    queue->bytes = NULL;
    queue->start = queue->end = queue->capacity = 0;
}

static int queue_write(BIO *bio, const char *bytes, size_t len, size_t *written) {
    kamino_queue_pair *pair = BIO_get_data(bio);
    BIO_clear_retry_flags(bio);
    *written = 0;
    if (kamino_byte_queue_append(&pair->out, bytes, len) != 0) return 0;
    *written = len;
    return 1;
}

static int queue_read(BIO *bio, char *out, size_t cap, size_t *got) {
    kamino_queue_pair *pair = BIO_get_data(bio);
    BIO_clear_retry_flags(bio);
    *got = kamino_byte_queue_take(&pair->in, out, cap);
    if (*got > 0) return 1;
    // Nothing received yet: "try again later", as a memory BIO with eof_return -1 says.
    BIO_set_retry_read(bio);
    return 0;
}

static long queue_ctrl(BIO *bio, int command, long number, void *pointer) {
    (void)number;
    (void)pointer;
    // Most calls are kTLS queries and flushes (eight per record written): the queues are
    // looked up (BIO_get_data is a call into libcrypto) only for the two that need them.
    switch (command) {
    case BIO_CTRL_PENDING: return (long)kamino_byte_queue_count(&((kamino_queue_pair *)BIO_get_data(bio))->in);
    case BIO_CTRL_WPENDING: return (long)kamino_byte_queue_count(&((kamino_queue_pair *)BIO_get_data(bio))->out);
    case BIO_CTRL_FLUSH: return 1;
    case BIO_CTRL_EOF: return 0;  // more bytes may come: the handler, not the BIO, sees the end
    default: return 0;            // unsupported, as memory BIOs answer (kTLS queries included)
    }
}

static int queue_create(BIO *bio) {
    BIO_set_init(bio, 1);
    return 1;
}

static int queue_destroy(BIO *bio) {
    // The queues belong to the connection, which frees them after SSL_free.
    BIO_set_data(bio, NULL);
    return 1;
}

static BIO_METHOD *queue_method;
static pthread_once_t queue_method_once = PTHREAD_ONCE_INIT;

static void make_queue_method(void) {
    BIO_METHOD *method = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "kamino queue");
    if (!method) return;
    if (BIO_meth_set_write_ex(method, queue_write) != 1 || BIO_meth_set_read_ex(method, queue_read) != 1 ||
        BIO_meth_set_ctrl(method, queue_ctrl) != 1 || BIO_meth_set_create(method, queue_create) != 1 ||
        BIO_meth_set_destroy(method, queue_destroy) != 1) {
        BIO_meth_free(method);
        return;
    }
    queue_method = method;
}

BIO *kamino_queue_bio_new(kamino_queue_pair *pair) {
    pthread_once(&queue_method_once, make_queue_method);
    if (!queue_method) return NULL;
    BIO *bio = BIO_new(queue_method);
    if (bio) BIO_set_data(bio, pair);
    return bio;
}
