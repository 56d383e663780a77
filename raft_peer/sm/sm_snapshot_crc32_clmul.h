/* sm_snapshot_crc32_clmul.h: the snapshot checksum (CRC-32, IEEE polynomial, reflected, as
 * in zlib) with carry-less multiplies, several times faster than table slicing: the
 * checksum is a fifth of a snapshot load's work otherwise. x86-64 only; elsewhere
 * usable() is false and the tables do it. */
#ifndef SM_SNAPSHOT_CRC32_CLMUL_H
#define SM_SNAPSHOT_CRC32_CLMUL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The least length sm_crc32_clmul takes (it folds 64 bytes at a time). */
#define SM_CRC32_CLMUL_MIN 64

/* True when this CPU has PCLMULQDQ and SSE4.1. */
bool sm_crc32_clmul_usable(void);
/* The running CRC register c (not inverted: start at 0xFFFFFFFF, invert at the end) over
 * len bytes, len >= SM_CRC32_CLMUL_MIN and a multiple of 16. Only when usable(). */
uint32_t sm_crc32_clmul(uint32_t c, const uint8_t *data, size_t len);

#endif
