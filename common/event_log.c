/* event_log.c: timestamped, single-write lines in logs/<peer>.log, plus a forwarding sink. */
#include "common/event_log.h"
#include "common/error_message.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define PEER_NAME_MAX 63

struct event_log {
    int fd; /* O_APPEND, so concurrent writers each get whole lines */
    char peer[PEER_NAME_MAX + 1];
    enum event_log_level min; /* lines below this level are dropped */
    uint64_t term;            /* printed on every line */
    event_log_sink sink;      /* optional forwarding of each line */
    void *sink_ctx;
    unsigned long write_errors; /* kept rather than reported: logging must never stop the peer */
};

static const char *const level_names[] = {"DEBUG", "INFO", "WARN", "ERROR"};

const char *event_log_level_name(enum event_log_level level)
{
    if ((unsigned)level >= sizeof(level_names) / sizeof(level_names[0]))
        return "?";
    return level_names[level];
}

int event_log_parse_level(const char *s, enum event_log_level *out)
{
    if (s == NULL)
        return -1;
    for (unsigned i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
        if (strcasecmp(s, level_names[i]) == 0) {
            *out = (enum event_log_level)i;
            return 0;
        }
    }
    if (strcasecmp(s, "warning") == 0) {
        *out = EVENT_LOG_WARN;
        return 0;
    }
    return -1;
}

/* The peer name becomes part of a path: nothing that could climb out of dir. */
static int valid_peer(const char *s)
{
    size_t n = 0;

    for (; s[n] != '\0'; n++) {
        unsigned char c = (unsigned char)s[n];
        if (n >= PEER_NAME_MAX || c > 0x7f || !(isalnum(c) || c == '_' || c == '-'))
            return 0;
    }
    return n > 0;
}

/* Like mkdir -p: an existing directory is fine. */
static int make_dirs(const char *dir, char *err, size_t errlen)
{
    char path[PATH_MAX];
    struct stat sb;
    size_t n = strlen(dir);

    if (n == 0 || n >= sizeof(path)) {
        set_err(err, errlen, "bad log directory name");
        return -1;
    }
    memcpy(path, dir, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (path[i] != '/' && path[i] != '\0')
            continue;
        char saved = path[i];
        path[i] = '\0';
        if (mkdir(path, 0755) < 0 && errno != EEXIST) {
            set_err(err, errlen, "cannot create log directory %s: %s", path, strerror(errno));
            return -1;
        }
        path[i] = saved;
    }
    if (stat(dir, &sb) < 0 || !S_ISDIR(sb.st_mode)) {
        set_err(err, errlen, "%s is not a directory", dir);
        return -1;
    }
    return 0;
}

struct event_log *event_log_open(const char *dir, const char *peer, const char *level, char *err,
                                 size_t errlen)
{
    struct event_log *log = NULL;
    enum event_log_level min = EVENT_LOG_INFO;
    char path[PATH_MAX], dummy[1];
    int n;

    if (err == NULL || errlen == 0) {
        err = dummy;
        errlen = sizeof(dummy);
    }
    if (dir == NULL || peer == NULL || !valid_peer(peer)) {
        set_err(err, errlen, "bad peer name for the event log");
        return NULL;
    }
    if (level != NULL && event_log_parse_level(level, &min) < 0) {
        set_err(err, errlen, "unknown log level '%.20s' (expected debug, info, warn or error)",
                level);
        return NULL;
    }
    if (make_dirs(dir, err, errlen) < 0)
        return NULL;
    n = snprintf(path, sizeof(path), "%s/%s.log", dir, peer);
    if (n < 0 || (size_t)n >= sizeof(path)) {
        set_err(err, errlen, "log directory name is too long");
        return NULL;
    }
    log = calloc(1, sizeof(*log));
    if (log == NULL) {
        set_err(err, errlen, "out of memory");
        return NULL;
    }
    /* CLOEXEC: the game revives peers with exec, and they must not inherit this fd. */
    log->fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (log->fd < 0) {
        set_err(err, errlen, "cannot open %s: %s", path, strerror(errno));
        free(log);
        return NULL;
    }
    strcpy(log->peer, peer);
    log->min = min;
    return log;
}

void event_log_close(struct event_log *log)
{
    if (log == NULL)
        return;
    close(log->fd);
    free(log);
}

void event_log_set_term(struct event_log *log, uint64_t term)
{
    if (log != NULL)
        log->term = term;
}

void event_log_set_level(struct event_log *log, enum event_log_level level)
{
    if (log != NULL)
        log->min = level;
}

int event_log_enabled(const struct event_log *log, enum event_log_level level)
{
    return log != NULL && level >= log->min;
}

void event_log_set_sink(struct event_log *log, event_log_sink sink, void *ctx)
{
    if (log == NULL)
        return;
    log->sink = sink;
    log->sink_ctx = ctx;
}

unsigned long event_log_write_errors(const struct event_log *log)
{
    return log == NULL ? 0 : log->write_errors;
}

/* Appends s with control characters escaped, stopping (with "...") where the rest would
 * not leave room for end bytes. Returns the new length. */
static size_t put_escaped(char *buf, size_t len, size_t cap, const char *s, size_t end)
{
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        char tmp[5];
        size_t w;

        if (c == '\n')
            w = (size_t)snprintf(tmp, sizeof(tmp), "\\n");
        else if (c == '\t')
            w = (size_t)snprintf(tmp, sizeof(tmp), "\\t");
        else if (c == '\r')
            w = (size_t)snprintf(tmp, sizeof(tmp), "\\r");
        else if (c < 0x20 || c == 0x7f)
            w = (size_t)snprintf(tmp, sizeof(tmp), "\\x%02x", c);
        else
            tmp[0] = (char)c, tmp[1] = '\0', w = 1;
        if (len + w + 3 + end > cap) {
            memcpy(buf + len, "...", 3);
            return len + 3;
        }
        memcpy(buf + len, tmp, w);
        len += w;
    }
    return len;
}

size_t event_log_format_line(char *buf, size_t cap, const struct timespec *when,
                             enum event_log_level level, const char *peer, uint64_t term,
                             const char *msg)
{
    struct tm tm;
    size_t len;
    int n;

    if (cap < EVENT_LOG_FORMAT_MIN) {
        if (cap > 0)
            buf[0] = '\0';
        return 0;
    }
    if (localtime_r(&when->tv_sec, &tm) == NULL ||
        (len = strftime(buf, cap, "%Y-%m-%dT%H:%M:%S", &tm)) == 0)
        len = (size_t)snprintf(buf, cap, "0000-00-00T00:00:00");
    n = snprintf(buf + len, cap - len, ".%03ld %-5s ", (long)(when->tv_nsec / 1000000) % 1000,
                 event_log_level_name(level));
    len += (size_t)n;
    /* Leave room for " term=<20 digits> ", a cut message's "...", the newline and the NUL. */
    len = put_escaped(buf, len, cap, peer != NULL ? peer : "?", 32);
    n = snprintf(buf + len, cap - len, " term=%llu ", (unsigned long long)term);
    len += (size_t)n;
    len = put_escaped(buf, len, cap, msg != NULL ? msg : "", 2);
    buf[len++] = '\n';
    buf[len] = '\0';
    return len;
}

void event_log_vwrite(struct event_log *log, enum event_log_level level, const char *fmt,
                      va_list ap)
{
    char msg[EVENT_LOG_LINE_MAX], line[EVENT_LOG_LINE_MAX];
    struct timespec now;
    size_t len;
    ssize_t w;
    int n;

    if (!event_log_enabled(log, level))
        return;
    n = vsnprintf(msg, sizeof(msg), fmt, ap);
    if (n < 0)
        snprintf(msg, sizeof(msg), "(unformattable message: %s)", fmt);
    else if ((size_t)n >= sizeof(msg))
        memcpy(msg + sizeof(msg) - 4, "...", 4);
    clock_gettime(CLOCK_REALTIME, &now);
    len = event_log_format_line(line, sizeof(line), &now, level, log->peer, log->term, msg);

    do {
        w = write(log->fd, line, len);
    } while (w < 0 && errno == EINTR);
    if (w != (ssize_t)len)
        log->write_errors++;

    if (log->sink != NULL) {
        line[len - 1] = '\0';
        log->sink(log->sink_ctx, level, line, len - 1);
    }
}

void event_log_write(struct event_log *log, enum event_log_level level, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    event_log_vwrite(log, level, fmt, ap);
    va_end(ap);
}
