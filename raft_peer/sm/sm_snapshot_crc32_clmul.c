/* sm_snapshot_crc32_clmul.c: see sm_snapshot_crc32_clmul.h. The method and the constants are
 * those of Gopal et al., "Fast CRC Computation for Generic Polynomials Using PCLMULQDQ
 * Instruction" (Intel, 2009), for the bit-reflected IEEE polynomial P = 0x1DB710641:
 * four 128-bit lanes each folded forward by 512 bits (k1, k2), the four folded into one
 * (k3, k4), 128 bits folded to 64 (k4) and to 32 + 32 (k5), then a Barrett reduction
 * (P and mu = floor(x^64 / P), reflected). tests/unit/test_state_machine.c checks it
 * against the table code at every length and alignment that matters. */
#include "raft_peer/sm/sm_snapshot_crc32_clmul.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#define CLMUL_TARGET __attribute__((target("pclmul,sse4.1")))

bool sm_crc32_clmul_usable(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("sse4.1");
}

CLMUL_TARGET uint32_t sm_crc32_clmul(uint32_t c, const uint8_t *data, size_t len)
{
    const __m128i k1k2 = _mm_set_epi64x(0x01c6e41596, 0x0154442bd4);
    const __m128i k3k4 = _mm_set_epi64x(0x00ccaa009e, 0x01751997d0);
    const __m128i k5 = _mm_set_epi64x(0, 0x0163cd6124);
    const __m128i poly_mu = _mm_set_epi64x(0x01f7011641, 0x01db710641);
    const __m128i low32 = _mm_setr_epi32(~0, 0, ~0, 0);

    __m128i x1 = _mm_loadu_si128((const __m128i *)(const void *)(data + 0));
    __m128i x2 = _mm_loadu_si128((const __m128i *)(const void *)(data + 16));
    __m128i x3 = _mm_loadu_si128((const __m128i *)(const void *)(data + 32));
    __m128i x4 = _mm_loadu_si128((const __m128i *)(const void *)(data + 48));
    x1 = _mm_xor_si128(x1, _mm_cvtsi32_si128((int)c));
    data += 64;
    len -= 64;

    /* Fold four lanes forward by 64 bytes at a time. */
    while (len >= 64) {
        __m128i y1 = _mm_clmulepi64_si128(x1, k1k2, 0x00);
        __m128i y2 = _mm_clmulepi64_si128(x2, k1k2, 0x00);
        __m128i y3 = _mm_clmulepi64_si128(x3, k1k2, 0x00);
        __m128i y4 = _mm_clmulepi64_si128(x4, k1k2, 0x00);
        x1 = _mm_clmulepi64_si128(x1, k1k2, 0x11);
        x2 = _mm_clmulepi64_si128(x2, k1k2, 0x11);
        x3 = _mm_clmulepi64_si128(x3, k1k2, 0x11);
        x4 = _mm_clmulepi64_si128(x4, k1k2, 0x11);
        x1 = _mm_xor_si128(_mm_xor_si128(x1, y1),
                           _mm_loadu_si128((const __m128i *)(const void *)(data + 0)));
        x2 = _mm_xor_si128(_mm_xor_si128(x2, y2),
                           _mm_loadu_si128((const __m128i *)(const void *)(data + 16)));
        x3 = _mm_xor_si128(_mm_xor_si128(x3, y3),
                           _mm_loadu_si128((const __m128i *)(const void *)(data + 32)));
        x4 = _mm_xor_si128(_mm_xor_si128(x4, y4),
                           _mm_loadu_si128((const __m128i *)(const void *)(data + 48)));
        data += 64;
        len -= 64;
    }

    /* Fold the four lanes into one, then the 16-byte blocks left into it. */
    __m128i lanes[3] = {x2, x3, x4};
    for (int i = 0; i < 3; i++) {
        __m128i y = _mm_clmulepi64_si128(x1, k3k4, 0x00);
        x1 = _mm_clmulepi64_si128(x1, k3k4, 0x11);
        x1 = _mm_xor_si128(_mm_xor_si128(x1, lanes[i]), y);
    }
    while (len >= 16) {
        __m128i y = _mm_clmulepi64_si128(x1, k3k4, 0x00);
        x1 = _mm_clmulepi64_si128(x1, k3k4, 0x11);
        x1 = _mm_xor_si128(_mm_xor_si128(x1, _mm_loadu_si128((const __m128i *)(const void *)data)),
                           y);
        data += 16;
        len -= 16;
    }

    /* 128 bits to 64, then to 32 + 32. */
    __m128i y = _mm_clmulepi64_si128(x1, k3k4, 0x10);
    x1 = _mm_xor_si128(_mm_srli_si128(x1, 8), y);
    y = _mm_srli_si128(x1, 4);
    x1 = _mm_clmulepi64_si128(_mm_and_si128(x1, low32), k5, 0x00);
    x1 = _mm_xor_si128(x1, y);

    /* Barrett reduction to 32 bits. */
    y = _mm_clmulepi64_si128(_mm_and_si128(x1, low32), poly_mu, 0x10);
    y = _mm_clmulepi64_si128(_mm_and_si128(y, low32), poly_mu, 0x00);
    x1 = _mm_xor_si128(x1, y);
    return (uint32_t)_mm_extract_epi32(x1, 1);
}

#else

bool sm_crc32_clmul_usable(void)
{
    return false;
}

uint32_t sm_crc32_clmul(uint32_t c, const uint8_t *data, size_t len)
{
    (void)data;
    (void)len;
    return c;
}

#endif
