/* error_message.c: see error_message.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "common/error_message.h"

void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || errlen == 0)
        return;
    int saved = errno; /* callers test errno after the message is written */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    errno = saved;
}
