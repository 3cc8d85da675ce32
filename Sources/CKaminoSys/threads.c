// Thread names for `top -H`, `ps -L` and /proc.
#define _GNU_SOURCE
#include "CKaminoSys.h"

#include <errno.h>
#include <sys/prctl.h>

int kamino_thread_set_name(const char *name) {
    return prctl(PR_SET_NAME, (unsigned long)name, 0, 0, 0) == 0 ? 0 : -errno;
}

#include <sys/syscall.h>
#include <unistd.h>

int kamino_thread_io_idle(void) {
#ifdef SYS_ioprio_set
    // IOPRIO_WHO_PROCESS (1) with who 0: the calling thread; IOPRIO_CLASS_IDLE (3) << 13.
    return syscall(SYS_ioprio_set, 1, 0, 3 << 13) == 0 ? 0 : -errno;
#else
    return -ENOSYS;
#endif
}
