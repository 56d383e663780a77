/* event_log.h: the peer's human-readable event log, logs/<peer>.log, one line per event. */
#ifndef EVENT_LOG_H
#define EVENT_LOG_H

#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>
#include <time.h>

/* Severity, in increasing order; a log drops lines below its level. */
enum event_log_level {
    EVENT_LOG_DEBUG = 0,
    EVENT_LOG_INFO = 1,
    EVENT_LOG_WARN = 2,
    EVENT_LOG_ERROR = 3,
};

/* Longest line written, newline included; longer messages are cut and end in "...". */
#define EVENT_LOG_LINE_MAX 1024
/* Smallest buffer event_log_format_line accepts. */
#define EVENT_LOG_FORMAT_MIN 128

struct event_log;

/* Receives every line that passes the level filter, after it went to the file (or
 * failed to): line is NUL-terminated, without the trailing newline, len = strlen(line).
 * The daemon uses it to stream events to the game. */
typedef void (*event_log_sink)(void *ctx, enum event_log_level level, const char *line, size_t len);

/* "debug", "info", "warn" (or "warning"), "error", any case. Returns 0 or -1. */
int event_log_parse_level(const char *s, enum event_log_level *out);

/* "DEBUG", "INFO", "WARN", "ERROR". */
const char *event_log_level_name(enum event_log_level level);

/* Creates dir (and its parents) if missing and appends to <dir>/<peer>.log. level may be
 * NULL for "info". Returns NULL with a message in err on a bad peer name or level, or
 * when the file cannot be opened. */
struct event_log *event_log_open(const char *dir, const char *peer, const char *level, char *err,
                                 size_t errlen);

/* Every function below accepts a NULL log and then does nothing, so code under test
 * can run without one. */

void event_log_close(struct event_log *log);

/* The term printed on later lines. */
void event_log_set_term(struct event_log *log, uint64_t term);

void event_log_set_level(struct event_log *log, enum event_log_level level);

/* 1 if a line at this level would be written: lets callers skip costly formatting. */
int event_log_enabled(const struct event_log *log, enum event_log_level level);

/* Replaces the sink (NULL to remove it). */
void event_log_set_sink(struct event_log *log, event_log_sink sink, void *ctx);

/* Formats and appends one line with a single write(2), so lines never interleave
 * with other writers of the file. A failed write is counted, never fatal. */
void event_log_write(struct event_log *log, enum event_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void event_log_vwrite(struct event_log *log, enum event_log_level level, const char *fmt,
                      va_list ap) __attribute__((format(printf, 3, 0)));

/* Writes that failed or were cut short since the log was opened. */
unsigned long event_log_write_errors(const struct event_log *log);

/* Builds one line, "2026-11-22T23:41:07.123 INFO  peer2 term=5 <msg>\n", in buf: local
 * time of *when, control characters in msg escaped (\n, \t, \xNN) so one event stays one
 * line, cut to fit cap. Returns the line's length (buf is NUL-terminated), or 0 when cap
 * is below EVENT_LOG_FORMAT_MIN. Pure apart from the time zone, so tests call it directly. */
size_t event_log_format_line(char *buf, size_t cap, const struct timespec *when,
                             enum event_log_level level, const char *peer, uint64_t term,
                             const char *msg);

#endif /* EVENT_LOG_H */
