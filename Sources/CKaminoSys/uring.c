// Thin wrappers over liburing for the parts Swift cannot import (macros such
// as IOSQE_IO_LINK and io_uring_for_each_cqe).
#include <liburing.h>
#include <errno.h>
#include <stdlib.h>
#include "CKaminoSys.h"

struct io_uring *kamino_uring_create(unsigned entries, int *error) {
    struct io_uring *ring = malloc(sizeof(struct io_uring));
    if (!ring) { *error = -ENOMEM; return NULL; }
    int r = io_uring_queue_init(entries, ring, 0);
    if (r < 0) { free(ring); *error = r; return NULL; }
    *error = 0;
    return ring;
}

void kamino_uring_destroy(struct io_uring *ring) {
    io_uring_queue_exit(ring);
    free(ring);
}

static struct io_uring_sqe *next_sqe(struct io_uring *ring) {
    return io_uring_get_sqe(ring);
}

static void finish_sqe(struct io_uring_sqe *sqe, uint64_t user_data, int link) {
    io_uring_sqe_set_data64(sqe, user_data);
    if (link) sqe->flags |= IOSQE_IO_LINK;
}

int kamino_uring_prep_write(struct io_uring *ring, int fd, const void *buf,
                            unsigned len, uint64_t offset, uint64_t user_data, int link) {
    struct io_uring_sqe *sqe = next_sqe(ring);
    if (!sqe) return -EBUSY;
    io_uring_prep_write(sqe, fd, buf, len, offset);
    finish_sqe(sqe, user_data, link);
    return 0;
}

int kamino_uring_prep_fsync(struct io_uring *ring, int fd, int datasync,
                            uint64_t user_data, int link) {
    struct io_uring_sqe *sqe = next_sqe(ring);
    if (!sqe) return -EBUSY;
    io_uring_prep_fsync(sqe, fd, datasync ? IORING_FSYNC_DATASYNC : 0);
    finish_sqe(sqe, user_data, link);
    return 0;
}

int kamino_uring_prep_fallocate(struct io_uring *ring, int fd, uint64_t offset,
                                uint64_t len, uint64_t user_data, int link) {
    struct io_uring_sqe *sqe = next_sqe(ring);
    if (!sqe) return -EBUSY;
    io_uring_prep_fallocate(sqe, fd, 0, offset, len);
    finish_sqe(sqe, user_data, link);
    return 0;
}

int kamino_uring_submit_and_wait(struct io_uring *ring, unsigned wait_nr) {
    int r;
    do { r = io_uring_submit_and_wait(ring, wait_nr); } while (r == -EINTR);
    return r;
}

unsigned kamino_uring_reap(struct io_uring *ring, int32_t *results,
                           uint64_t *user_data, unsigned max) {
    struct io_uring_cqe *cqe;
    unsigned head, n = 0;
    io_uring_for_each_cqe(ring, head, cqe) {
        if (n == max) break;
        results[n] = cqe->res;
        user_data[n] = io_uring_cqe_get_data64(cqe);
        n++;
    }
    io_uring_cq_advance(ring, n);
    return n;
}

int kamino_uring_wait_one(struct io_uring *ring, int32_t *result, uint64_t *user_data) {
    struct io_uring_cqe *cqe = NULL;
    int r;
    do { r = io_uring_wait_cqe(ring, &cqe); } while (r == -EINTR);
    if (r < 0) return r;
    *result = cqe->res;
    *user_data = io_uring_cqe_get_data64(cqe);
    io_uring_cqe_seen(ring, cqe);
    return 0;
}
