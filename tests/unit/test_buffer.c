/* test_buffer.c: the growable byte buffer behind every socket queue. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "common/buffer.h"

Test(buffer, starts_empty_and_peeks_as_empty_string)
{
    struct buffer b;
    buffer_init(&b);
    cr_assert_eq(buffer_len(&b), 0);
    cr_assert_str_eq(buffer_peek(&b), "");
    buffer_consume(&b, 10); /* harmless on an empty buffer */
    buffer_clear(&b);
    buffer_free(&b);
    buffer_free(&b); /* freeing twice is allowed: free leaves an empty buffer */
}

Test(buffer, append_keeps_bytes_and_trailing_nul)
{
    struct buffer b;
    buffer_init(&b);
    cr_assert_eq(buffer_append(&b, "hello", 5), 0);
    cr_assert_eq(buffer_append(&b, " world", 6), 0);
    cr_assert_eq(buffer_len(&b), 11);
    cr_assert_str_eq(buffer_peek(&b), "hello world");
    cr_assert_eq(buffer_append(&b, "\0x", 2), 0); /* binary bytes are kept */
    cr_assert_eq(buffer_len(&b), 13);
    cr_assert_eq(memcmp(buffer_peek(&b), "hello world\0x", 13), 0);
    buffer_free(&b);
}

Test(buffer, appendf_short_and_long)
{
    struct buffer b;
    buffer_init(&b);
    cr_assert_eq(buffer_appendf(&b, "%d-%s", 42, "x"), 0);
    cr_assert_str_eq(buffer_peek(&b), "42-x");
    char big[5000];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    cr_assert_eq(buffer_appendf(&b, "[%s]", big), 0); /* forces the second vsnprintf */
    cr_assert_eq(buffer_len(&b), 4 + 2 + 4999);
    cr_assert_eq(buffer_peek(&b)[4], '[');
    cr_assert_eq(buffer_peek(&b)[buffer_len(&b) - 1], ']');
    cr_assert_eq(buffer_peek(&b)[buffer_len(&b)], '\0');
    buffer_free(&b);
}

Test(buffer, consume_from_front_and_compact)
{
    struct buffer b;
    buffer_init(&b);
    for (int i = 0; i < 1000; i++)
        cr_assert_eq(buffer_appendf(&b, "%03d", i), 0);
    cr_assert_eq(buffer_len(&b), 3000);
    size_t cap = b.cap;
    /* Drain in small pieces while appending: the buffer must not keep growing. */
    for (int i = 0; i < 100000; i++) {
        char want[8];
        snprintf(want, sizeof(want), "%03d", i % 1000);
        cr_assert_eq(memcmp(buffer_peek(&b), want, 3), 0, "at %d", i);
        buffer_consume(&b, 3);
        cr_assert_eq(buffer_append(&b, want, 3), 0);
    }
    cr_assert_eq(buffer_len(&b), 3000);
    cr_assert_leq(b.cap, cap * 2, "capacity grew from %zu to %zu", cap, b.cap);
    cr_assert_leq(b.start, b.cap / 2 + 3);
    buffer_consume(&b, 1000000);
    cr_assert_eq(buffer_len(&b), 0);
    cr_assert_eq(b.start, 0);
    buffer_free(&b);
}

Test(buffer, reserve_tail_commit_like_a_socket_read)
{
    struct buffer b;
    buffer_init(&b);
    cr_assert_eq(buffer_space(&b), 0);
    cr_assert_eq(buffer_reserve(&b, 100), 0);
    cr_assert_geq(buffer_space(&b), 100);
    memcpy(buffer_tail(&b), "abc\ndef", 7);
    buffer_commit(&b, 7);
    cr_assert_str_eq(buffer_peek(&b), "abc\ndef");
    const char *nl = memchr(buffer_peek(&b), '\n', buffer_len(&b));
    cr_assert_not_null(nl);
    buffer_consume(&b, (size_t)(nl - buffer_peek(&b)) + 1);
    cr_assert_str_eq(buffer_peek(&b), "def");
    buffer_commit(&b, 1u << 30); /* more than the room: clamped, never past the end */
    cr_assert_leq(b.start + b.len, b.cap - 1);
    buffer_free(&b);
}

Test(buffer, truncate_and_clear)
{
    struct buffer b;
    buffer_init(&b);
    cr_assert_eq(buffer_append(&b, "0123456789", 10), 0);
    buffer_consume(&b, 2);
    buffer_truncate(&b, 3);
    cr_assert_str_eq(buffer_peek(&b), "234");
    buffer_truncate(&b, 99);
    cr_assert_str_eq(buffer_peek(&b), "234");
    buffer_clear(&b);
    cr_assert_eq(buffer_len(&b), 0);
    cr_assert_str_eq(buffer_peek(&b), "");
    cr_assert_eq(buffer_append(&b, "z", 1), 0);
    cr_assert_str_eq(buffer_peek(&b), "z");
    buffer_free(&b);
}

Test(buffer, absurd_reserve_fails_cleanly)
{
    struct buffer b;
    buffer_init(&b);
    cr_assert_eq(buffer_append(&b, "abc", 3), 0);
    cr_assert_eq(buffer_reserve(&b, SIZE_MAX - 2), -1);
    cr_assert_eq(buffer_reserve(&b, SIZE_MAX / 2), -1);
    cr_assert_str_eq(buffer_peek(&b), "abc");
    buffer_free(&b);
}
