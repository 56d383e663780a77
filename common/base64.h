/* base64.h: RFC 4648 base64, for binary snapshot chunks inside JSON lines. */
#ifndef COMMON_BASE64_H
#define COMMON_BASE64_H

#include <stddef.h>
#include <stdint.h>

/* Bytes base64_encode writes for len input bytes, NUL excluded. */
size_t base64_encoded_len(size_t len);
/* Writes the encoding and a NUL into out (at least base64_encoded_len(len) + 1 bytes). */
void base64_encode(const uint8_t *in, size_t len, char *out);
/* Decodes padded base64 into out (room for at least len / 4 * 3 bytes). Returns the
 * number of bytes written, or -1 on any character, length or padding that is not
 * canonical base64. */
long base64_decode(const char *in, size_t len, uint8_t *out);

#endif
