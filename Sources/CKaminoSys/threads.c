// Thread names for `top -H`, `ps -L` and /proc.
#define _GNU_SOURCE
#include "CKaminoSys.h"

#include <errno.h>
#include <sys/prctl.h>

int kamino_thread_set_name(const char *name) {
    return prctl(PR_SET_NAME, (unsigned long)name, 0, 0, 0) == 0 ? 0 : -errno;
}
