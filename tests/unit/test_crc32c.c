/* test_crc32c.c: the slicing-by-8 CRC-32C against published values and a bitwise model. */
#include <criterion/criterion.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "raft_peer/storage/crc32c.h"

/* The definition, one bit at a time: slow, obviously right, shares no table. */
static uint32_t crc32c_bitwise(const uint8_t *p, size_t len)
{
    uint32_t crc = 0xffffffffu;
    for (size_t i = 0; i < len; i++) {
        crc ^= p[i];
        for (int bit = 0; bit < 8; bit++)
            crc = (crc & 1u) ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;
    }
    return ~crc;
}

Test(crc32c, check_value)
{
    cr_assert_eq(crc32c(0, "123456789", 9), 0xE3069283u);
}

Test(crc32c, empty_input_leaves_crc)
{
    cr_assert_eq(crc32c(0, NULL, 0), 0u);
    cr_assert_eq(crc32c(0x12345678u, "", 0), 0x12345678u);
}

/* RFC 3720 (iSCSI) appendix B.4 test patterns. */
Test(crc32c, rfc3720_vectors)
{
    uint8_t buf[32];

    memset(buf, 0, sizeof buf);
    cr_assert_eq(crc32c(0, buf, sizeof buf), 0x8A9136AAu);
    memset(buf, 0xff, sizeof buf);
    cr_assert_eq(crc32c(0, buf, sizeof buf), 0x62A8AB43u);
    for (int i = 0; i < 32; i++)
        buf[i] = (uint8_t)i;
    cr_assert_eq(crc32c(0, buf, sizeof buf), 0x46DD794Eu);
    for (int i = 0; i < 32; i++)
        buf[i] = (uint8_t)(31 - i);
    cr_assert_eq(crc32c(0, buf, sizeof buf), 0x113FDB5Cu);
}

/* Every length and alignment up to 64 bytes, and a few long runs, match the bitwise
 * model, and any split into two calls gives the same result as one call. */
Test(crc32c, matches_bitwise_model_and_chains)
{
    enum { N = 4096 };
    uint8_t *buf = malloc(N + 8);
    uint32_t seed = 12345;

    cr_assert_not_null(buf);
    for (size_t i = 0; i < N + 8; i++) {
        seed = seed * 1103515245u + 12345u;
        buf[i] = (uint8_t)(seed >> 16);
    }
    for (size_t align = 0; align < 8; align++)
        for (size_t len = 0; len <= 64; len++)
            cr_assert_eq(crc32c(0, buf + align, len), crc32c_bitwise(buf + align, len),
                         "align %zu len %zu", align, len);
    cr_assert_eq(crc32c(0, buf + 3, N), crc32c_bitwise(buf + 3, N));
    uint32_t whole = crc32c(0, buf, N);
    for (size_t cut = 0; cut <= N; cut += 97)
        cr_assert_eq(crc32c(crc32c(0, buf, cut), buf + cut, N - cut), whole, "cut %zu", cut);
    free(buf);
}

Test(crc32c, detects_single_bit_flips)
{
    uint8_t buf[100];
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (uint8_t)(i * 7);
    uint32_t good = crc32c(0, buf, sizeof buf);
    for (size_t i = 0; i < sizeof buf * 8; i++) {
        buf[i / 8] ^= (uint8_t)(1u << (i % 8));
        cr_assert_neq(crc32c(0, buf, sizeof buf), good, "bit %zu", i);
        buf[i / 8] ^= (uint8_t)(1u << (i % 8));
    }
}
