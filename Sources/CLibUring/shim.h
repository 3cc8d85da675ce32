// System library shim: exposes liburing (Debian/Ubuntu package liburing-dev) to Swift.
#ifndef KAMINO_CLIBURING_SHIM_H
#define KAMINO_CLIBURING_SHIM_H
#include <liburing.h>
#endif
