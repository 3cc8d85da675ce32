/* LD_PRELOAD shim for valgrind 3.19 (Debian 12) on Swift programs with an async main.
 *
 * libdispatch's main thread parks in sigsuspend() with a mask that lives in read-only
 * memory; valgrind 3.19's rt_sigsuspend wrapper edits the caller's mask in place and
 * crashes ("the 'impossible' happened: Killed by fatal signal"). This passes a copy on the
 * stack instead. Same semantics: the mask is only read by the kernel. */
#define _GNU_SOURCE
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

int sigsuspend(const sigset_t *mask) {
    sigset_t copy = *mask;
    return (int)syscall(SYS_rt_sigsuspend, &copy, sizeof(unsigned long));
}
