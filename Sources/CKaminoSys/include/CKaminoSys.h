// C helpers for Kamino: liburing macros and inline helpers that Swift cannot
// import directly. (CRC32C lives in CKaminoCRC, which links nothing.)
#ifndef KAMINO_CKAMINOSYS_H
#define KAMINO_CKAMINOSYS_H

#include <stddef.h>
#include <stdint.h>
/// An io_uring instance; its layout is private to this target.
struct io_uring;

#ifdef __cplusplus
extern "C" {
#endif

// MARK: threads

/// Names the calling thread (prctl PR_SET_NAME: at most 15 bytes are kept), so that
/// `top -H`, `ps -L` and /proc show what it is. Returns 0 or -errno.
int kamino_thread_set_name(const char *name);

/// Puts the calling thread's disk I/O in the idle class (ioprio_set, IOPRIO_CLASS_IDLE):
/// the I/O schedulers that know classes (mq-deadline, bfq) serve it after everyone
/// else's. Returns 0 or -errno.
int kamino_thread_io_idle(void);

// MARK: liburing helpers

/// Sets IOSQE_IO_LINK on an sqe: the next sqe only starts after this one
/// succeeds (and is cancelled with -ECANCELED if this one fails or is short).
/// Creates an io_uring instance with `entries` submission slots. Returns NULL and sets
/// `*error` to -errno on failure. The ring's layout stays private to this C target, so
/// Swift never imports liburing's headers (they define _XOPEN_SOURCE, which would make
/// glibc types differ from SwiftGlibc's).
struct io_uring *kamino_uring_create(unsigned entries, int *error);
/// Tears down and frees a ring from `kamino_uring_create`.
void kamino_uring_destroy(struct io_uring *ring);

/// Queues a write of `len` bytes at `offset`; returns 0, or -EBUSY when the
/// submission queue is full.
int kamino_uring_prep_write(struct io_uring *ring, int fd, const void *buf,
                            unsigned len, uint64_t offset, uint64_t user_data, int link);
/// Queues fdatasync (datasync != 0) or fsync of `fd`.
int kamino_uring_prep_fsync(struct io_uring *ring, int fd, int datasync,
                            uint64_t user_data, int link);
/// Queues fallocate(fd, mode 0, offset, len).
int kamino_uring_prep_fallocate(struct io_uring *ring, int fd, uint64_t offset,
                                uint64_t len, uint64_t user_data, int link);

/// Submits queued sqes and waits for at least `wait_nr` completions.
/// Returns the number submitted or -errno.
int kamino_uring_submit_and_wait(struct io_uring *ring, unsigned wait_nr);

/// Copies up to `max` ready completions (io_uring_for_each_cqe) into the
/// arrays, marks them seen (io_uring_cq_advance) and returns how many.
unsigned kamino_uring_reap(struct io_uring *ring, int32_t *results,
                           uint64_t *user_data, unsigned max);

/// Blocks until one completion is ready, copies it out and marks it seen.
/// Returns 0 or -errno from io_uring_wait_cqe.
int kamino_uring_wait_one(struct io_uring *ring, int32_t *result, uint64_t *user_data);

// MARK: memory

/// Faults in `bytes` at `start` by a write to one byte every `step` bytes (a page), an
/// atomic add of zero that leaves the memory as it was even if another thread writes
/// there meanwhile. Unlike madvise(MADV_POPULATE_WRITE), which holds the process's
/// memory map lock for reading while the kernel provides the pages, these are ordinary
/// page faults (under the mapping's own lock): a thread mapping or growing its heap
/// meanwhile does not wait for them.
void kamino_touch_pages(void *start, size_t bytes, size_t step);

/// Faults in `count` blocks (`starts[i]`, `lengths[i]` bytes) on `threads` threads (the
/// caller and up to 63 more), each taking the next block left: madvise(MADV_POPULATE_WRITE),
/// or a touch of each page where the kernel lacks it. Changes no byte. For start-up, when
/// nothing else runs: it holds the memory map lock for reading while it works. Returns
/// the threads used.
int kamino_fault_in(void *const *starts, const size_t *lengths, size_t count, int threads);

// MARK: processor affinity

/// CPUs this process may run on (its affinity mask), at least 1. Lets the memory
/// provisioner stay off in a process confined to one CPU.
int kamino_usable_cpus(void);

// Writes back the file range [offset, offset + length) (sync_file_range), waiting for it
// when `wait` is non-zero. Returns 0 or an errno value; a no-op off Linux.
int kamino_write_back(int fd, int64_t offset, int64_t length, int wait);

#ifdef __cplusplus
}
#endif
#endif
