/* buffer.c: growable byte buffer with an amortised O(1) consume from the front. */
#include "common/buffer.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BUFFER_MIN_CAP 64

void buffer_init(struct buffer *b)
{
    b->data = NULL;
    b->start = 0;
    b->len = 0;
    b->cap = 0;
}

void buffer_free(struct buffer *b)
{
    free(b->data);
    buffer_init(b);
}

const char *buffer_peek(const struct buffer *b)
{
    return b->data ? b->data + b->start : "";
}

size_t buffer_len(const struct buffer *b)
{
    return b->len;
}

/* Slides the readable bytes back to offset 0. */
static void buffer_compact(struct buffer *b)
{
    if (b->start == 0)
        return;
    memmove(b->data, b->data + b->start, b->len);
    b->start = 0;
    b->data[b->len] = '\0';
}

int buffer_reserve(struct buffer *b, size_t extra)
{
    /* One byte more than asked for keeps the trailing NUL. */
    if (extra > SIZE_MAX / 2 - b->len - 1)
        return -1;
    size_t need = b->len + extra + 1;
    if (b->data && b->start + need <= b->cap)
        return 0;
    if (b->data && need <= b->cap) {
        buffer_compact(b);
        return 0;
    }
    size_t cap = b->cap ? b->cap : BUFFER_MIN_CAP;
    while (cap < need)
        cap *= 2;
    /* Compacting first means realloc copies only live bytes to the new block. */
    if (b->data)
        buffer_compact(b);
    char *p = realloc(b->data, cap);
    if (!p)
        return -1;
    b->data = p;
    b->cap = cap;
    b->data[b->len] = '\0';
    return 0;
}

char *buffer_tail(struct buffer *b)
{
    return b->data ? b->data + b->start + b->len : NULL;
}

size_t buffer_space(const struct buffer *b)
{
    return b->data ? b->cap - b->start - b->len - 1 : 0;
}

void buffer_commit(struct buffer *b, size_t n)
{
    if (n > buffer_space(b))
        n = buffer_space(b);
    if (!b->data)
        return;
    b->len += n;
    b->data[b->start + b->len] = '\0';
}

int buffer_append(struct buffer *b, const void *p, size_t n)
{
    if (n == 0)
        return 0;
    if (buffer_reserve(b, n) != 0)
        return -1;
    memcpy(b->data + b->start + b->len, p, n);
    b->len += n;
    b->data[b->start + b->len] = '\0';
    return 0;
}

int buffer_appendf(struct buffer *b, const char *fmt, ...)
{
    va_list ap;
    /* First try whatever room is already there: most formatted pieces are short. */
    if (buffer_reserve(b, 32) != 0)
        return -1;
    size_t room = buffer_space(b) + 1;
    va_start(ap, fmt);
    int n = vsnprintf(buffer_tail(b), room, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->data[b->start + b->len] = '\0';
        return -1;
    }
    if ((size_t)n >= room) {
        if (buffer_reserve(b, (size_t)n) != 0) {
            b->data[b->start + b->len] = '\0';
            return -1;
        }
        va_start(ap, fmt);
        n = vsnprintf(buffer_tail(b), (size_t)n + 1, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->data[b->start + b->len] = '\0';
            return -1;
        }
    }
    b->len += (size_t)n;
    return 0;
}

void buffer_consume(struct buffer *b, size_t n)
{
    if (n >= b->len) {
        buffer_clear(b);
        return;
    }
    b->start += n;
    b->len -= n;
    /* Each byte moved here was preceded by at least as many consumed bytes, so the
     * copying is paid for by the consuming: amortised O(1). */
    if (b->start > b->cap / 2)
        buffer_compact(b);
}

void buffer_truncate(struct buffer *b, size_t len)
{
    if (len >= b->len)
        return;
    b->len = len;
    b->data[b->start + len] = '\0';
}

void buffer_clear(struct buffer *b)
{
    b->start = 0;
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}
