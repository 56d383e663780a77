/* error_message.h: the one way helpers fill a caller's (char *err, size_t errlen) buffer. */
#ifndef COMMON_ERROR_MESSAGE_H
#define COMMON_ERROR_MESSAGE_H

#include <stddef.h>

/* printf into err (when err is not NULL and errlen > 0), always NUL-terminated. */
void set_err(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
