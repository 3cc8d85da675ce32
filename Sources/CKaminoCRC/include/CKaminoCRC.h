// CRC32C (Castagnoli) with an SSE4.2 fast path chosen at run time and a portable
// table fallback. Shared by the log (LedgerStorage) and the wire protocol (LedgerWire);
// a target of its own so that protocol users do not link liburing.
#ifndef KAMINO_CKAMINOCRC_H
#define KAMINO_CKAMINOCRC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// MARK: CRC32C (Castagnoli, reflected polynomial 0x82F63B78)

/// Extends `crc` (0 for a fresh checksum) over `len` bytes. Uses the SSE4.2
/// crc32 instruction when the CPU has it (checked once), else a table.
uint32_t kamino_crc32c(uint32_t crc, const void *data, size_t len);
/// Portable table-driven implementation (exposed for tests).
uint32_t kamino_crc32c_portable(uint32_t crc, const void *data, size_t len);
/// Hardware implementation; returns the portable result if SSE4.2 is absent.
uint32_t kamino_crc32c_hardware(uint32_t crc, const void *data, size_t len);
/// 1 when the hardware path is in use, else 0.
int kamino_crc32c_has_hardware(void);

#ifdef __cplusplus
}
#endif
#endif
