// Cache prefetch hints for the ledger's hot path. Swift has no prefetch builtin; these
// static inline functions are inlined into Swift callers. Hints only: no effect on results.
#ifndef KAMINO_CKAMINOPREFETCH_H
#define KAMINO_CKAMINOPREFETCH_H

/// Starts loading the cache line holding `address` for reading (non-blocking).
static inline void kamino_prefetch_read(const void *address) {
    __builtin_prefetch(address, 0, 3);
}

/// Starts loading the cache line holding `address` for writing (non-blocking).
static inline void kamino_prefetch_write(const void *address) {
    __builtin_prefetch(address, 1, 3);
}

#endif
