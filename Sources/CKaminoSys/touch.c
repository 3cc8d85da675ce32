// Faulting memory in by touching it, for the memory provisioner.
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
