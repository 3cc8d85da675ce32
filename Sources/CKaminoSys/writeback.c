// Starts and waits for the writeback of a file range, so a large file written in one go
// reaches the disk in steps instead of all at the final fsync (snapshot files).
#define _GNU_SOURCE
#include "CKaminoSys.h"

#ifdef __linux__
#include <fcntl.h>
#include <errno.h>

int kamino_write_back(int fd, int64_t offset, int64_t length, int wait) {
    unsigned int flags = SYNC_FILE_RANGE_WRITE;
    if (wait) flags |= SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WAIT_AFTER;
    return sync_file_range(fd, (off64_t)offset, (off64_t)length, flags) == 0 ? 0 : errno;
}
#else
int kamino_write_back(int fd, int64_t offset, int64_t length, int wait) {
    (void)fd; (void)offset; (void)length; (void)wait;
    return 0;
}
#endif
