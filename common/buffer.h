/* buffer.h: one growable byte buffer for every socket queue (read side and write side). */
#ifndef COMMON_BUFFER_H
#define COMMON_BUFFER_H

#include <stddef.h>

/* The readable bytes are data[start .. start + len). Consuming from the front only
 * moves start, and the bytes are slid back to the front once more than half of the
 * allocation is dead, so draining a queue piece by piece costs O(1) per byte.
 * A NUL always follows the readable bytes once anything was allocated, so text can
 * be handed to string functions without a copy. */
struct buffer {
    char *data;   /* the allocation, NULL until the first append */
    size_t start; /* offset of the first readable byte */
    size_t len;   /* readable bytes */
    size_t cap;   /* bytes allocated (always > start + len when data != NULL) */
};

/* An empty buffer that owns no memory. */
void buffer_init(struct buffer *b);
/* Releases the memory; the buffer is empty and usable again afterwards. */
void buffer_free(struct buffer *b);

/* The first readable byte (a valid pointer to "" when empty). */
const char *buffer_peek(const struct buffer *b);
/* Number of readable bytes. */
size_t buffer_len(const struct buffer *b);

/* Makes room for at least extra more bytes after the readable ones. 0 or -1 (no memory). */
int buffer_reserve(struct buffer *b, size_t extra);
/* Appends n bytes. 0 or -1 (no memory; the buffer is unchanged). */
int buffer_append(struct buffer *b, const void *p, size_t n);
/* Appends printf-style text. 0 or -1 (no memory or bad format; the buffer is unchanged). */
int buffer_appendf(struct buffer *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* For reading straight from a socket into the buffer: buffer_reserve(b, k), then
 * write up to buffer_space(b) bytes at buffer_tail(b), then buffer_commit(b, n). */
char *buffer_tail(struct buffer *b);
size_t buffer_space(const struct buffer *b);
void buffer_commit(struct buffer *b, size_t n);

/* Drops the first n readable bytes (all of them if n >= len). */
void buffer_consume(struct buffer *b, size_t n);
/* Keeps only the first len readable bytes (no-op if len >= buffer_len): undoes appends. */
void buffer_truncate(struct buffer *b, size_t len);
/* Drops every readable byte but keeps the memory. */
void buffer_clear(struct buffer *b);

#endif
