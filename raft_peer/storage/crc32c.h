/* crc32c.h: CRC-32C (Castagnoli, reflected polynomial 0x82F63B78) in software. */
#ifndef RAFT_PEER_CRC32C_H
#define RAFT_PEER_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Extends crc (0 to start) over len bytes of buf, so that
 * crc32c(crc32c(0, a, n), b, m) == crc32c(0, a followed by b, n + m).
 * crc32c(0, "123456789", 9) == 0xE3069283. */
uint32_t crc32c(uint32_t crc, const void *buf, size_t len);

#endif
