// Faulting memory in: by touching it, for the memory provisioner; in bulk at start-up.
#include "CKaminoSys.h"

void kamino_touch_pages(void *start, size_t bytes, size_t step) {
    unsigned char *p = start;
    for (size_t offset = 0; offset < bytes; offset += step) {
        unsigned char *q = p + offset;
#if defined(__x86_64__)
        // A locked OR of zero: one write fault, and the byte stays as it was whatever
        // another thread stores there at the same time (the locked read-modify-write is
        // atomic against other stores). Written as assembly: compilers turn an atomic
        // RMW that changes nothing into a load, which would only map the zero page.
        __asm__ volatile("lock orb $0, %0" : "+m"(*q) : : "memory");
#else
        // A compare-and-swap of the byte with itself (a write when it succeeds; when it
        // fails, another thread has just written the page).
        unsigned char expected = __atomic_load_n(q, __ATOMIC_RELAXED);
        __atomic_compare_exchange_n(q, &expected, expected, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
#endif
    }
}

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

struct fault_job {
    void *const *starts;
    const size_t *lengths;
    size_t count;
    size_t page;
    atomic_size_t next;
};

// Faults in one block: madvise(MADV_POPULATE_WRITE) (one call for its pages), or, where
// the kernel lacks it, a touch of each page. The block is widened to whole pages: a
// populate or touch changes no byte, so a neighbour sharing its first or last page
// is unaffected.
static void fault_block(void *start, size_t bytes, size_t page) {
    if (bytes == 0) return;
    uintptr_t begin = (uintptr_t)start & ~(uintptr_t)(page - 1);
    uintptr_t end = ((uintptr_t)start + bytes + page - 1) & ~(uintptr_t)(page - 1);
    if (madvise((void *)begin, end - begin, MADV_POPULATE_WRITE) == 0) return;
    // Only a kernel without it (EINVAL) gets the touch: after ENOMEM touching would only
    // call the out-of-memory killer sooner; the pages then fault in when written.
    if (errno == EINVAL) kamino_touch_pages((void *)begin, end - begin, page);
}

static void *fault_worker(void *raw) {
    struct fault_job *job = raw;
    for (;;) {
        size_t i = atomic_fetch_add_explicit(&job->next, 1, memory_order_relaxed);
        if (i >= job->count) return NULL;
        fault_block(job->starts[i], job->lengths[i], job->page);
    }
}

int kamino_fault_in(void *const *starts, const size_t *lengths, size_t count, int threads) {
    long page = sysconf(_SC_PAGESIZE);
    struct fault_job job = {starts, lengths, count, page > 0 ? (size_t)page : 4096, 0};
    if (threads < 1) threads = 1;
    if ((size_t)threads > count) threads = count > 0 ? (int)count : 1;
    pthread_t helpers[63];
    int started = 0;
    for (int t = 1; t < threads && t <= 63; t++) {
        if (pthread_create(&helpers[started], NULL, fault_worker, &job) != 0) break;
        started++;
    }
    fault_worker(&job);
    for (int t = 0; t < started; t++) pthread_join(helpers[t], NULL);
    return started + 1;
}
