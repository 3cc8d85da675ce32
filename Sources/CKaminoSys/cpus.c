// The CPUs this process may use, for the memory provisioner's decision to stay off.
#define _GNU_SOURCE
#include "CKaminoSys.h"

#ifdef __linux__
#include <sched.h>

int kamino_usable_cpus(void) {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof(set), &set) != 0) return 1;
    return CPU_COUNT(&set);
}
#else
#include <unistd.h>

int kamino_usable_cpus(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}
#endif
