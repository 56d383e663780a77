/* text.h: a growable text buffer, for command output, diffs and rewritten files. */
#ifndef SCENARIO_TEXT_H
#define SCENARIO_TEXT_H

#include <stdarg.h>
#include <stddef.h>

struct text {
    char *buf;
    size_t len;
    size_t cap;
};

void text_vprintf(struct text *t, const char *fmt, va_list ap);
__attribute__((format(printf, 2, 3))) void text_printf(struct text *t, const char *fmt, ...);
void text_free(struct text *t);
/* Splits a buffer into lines in place; returns how many, pointers into buf. */
size_t split_lines(char *buf, char ***lines_out);
/* Drops trailing white space in place. */
void rtrim(char *s);

#endif
