/* text.c: a growable text buffer, for command output, diffs and rewritten files. */
#include "tests/scenario/text.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void text_vprintf(struct text *t, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return;
    if (t->len + (size_t)n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 256;
        while (cap < t->len + (size_t)n + 1)
            cap *= 2;
        char *b = realloc(t->buf, cap);
        if (!b)
            abort(); /* a test harness cannot do anything useful without memory */
        t->buf = b;
        t->cap = cap;
    }
    vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
    t->len += (size_t)n;
}

void text_printf(struct text *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    text_vprintf(t, fmt, ap);
    va_end(ap);
}

void text_free(struct text *t)
{
    free(t->buf);
    memset(t, 0, sizeof(*t));
}

size_t split_lines(char *buf, char ***lines_out)
{
    size_t n = 0, cap = 16;
    char **lines = malloc(cap * sizeof(*lines));
    if (!lines)
        abort();
    char *s = buf;
    while (s && *s) {
        char *nl = strchr(s, '\n');
        if (nl)
            *nl = '\0';
        if (n == cap) {
            cap *= 2;
            lines = realloc(lines, cap * sizeof(*lines));
            if (!lines)
                abort();
        }
        lines[n++] = s;
        s = nl ? nl + 1 : NULL;
    }
    *lines_out = lines;
    return n;
}

void rtrim(char *s)
{
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
}
