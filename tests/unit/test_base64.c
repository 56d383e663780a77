/* test_base64.c: RFC 4648 test vectors, round trips and refusals. */
#include <criterion/criterion.h>
#include <string.h>

#include "common/base64.h"

Test(base64, rfc4648_vectors)
{
    const char *plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    const char *coded[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    for (int i = 0; i < 7; i++) {
        char out[32];
        uint8_t back[32];
        base64_encode((const uint8_t *)plain[i], strlen(plain[i]), out);
        cr_assert_str_eq(out, coded[i]);
        cr_assert_eq(base64_encoded_len(strlen(plain[i])), strlen(coded[i]));
        long n = base64_decode(coded[i], strlen(coded[i]), back);
        cr_assert_eq(n, (long)strlen(plain[i]));
        cr_assert_eq(memcmp(back, plain[i], (size_t)n), 0);
    }
}

Test(base64, every_byte_round_trips)
{
    uint8_t in[256], back[256];
    char out[400];
    for (int i = 0; i < 256; i++)
        in[i] = (uint8_t)i;
    for (size_t len = 0; len <= 256; len += 37) {
        base64_encode(in, len, out);
        cr_assert_eq(base64_decode(out, strlen(out), back), (long)len);
        cr_assert_eq(memcmp(in, back, len), 0);
    }
}

Test(base64, refuses_what_is_not_canonical)
{
    uint8_t out[16];
    const char *bad[] = {"Zg=", "Z===", "Zg=a", "Zm9v!A==", "Zg==Zg==", "Zm 9", "=Zm9"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        cr_assert_eq(base64_decode(bad[i], strlen(bad[i]), out), -1, "accepted '%s'", bad[i]);
}
