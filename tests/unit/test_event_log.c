/* test_event_log.c: line shape, escaping, level filter, sink, failed writes, no interleaving. */
#include <criterion/criterion.h>

#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/event_log.h"

#define LINE_RE                                                                                    \
    "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3} (DEBUG|INFO |WARN |ERROR) " \
    "[A-Za-z0-9_-]+ term=[0-9]+ [^\n]*$"

static char dir[64];

static void make_dir(void)
{
    strcpy(dir, "/tmp/test_event_log_XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
}

static void remove_dir(void)
{
    char cmd[128];

    if (dir[0] == '\0')
        return;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
}

/* Reads a whole small file into a malloc'd string. */
static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "cannot open %s", path);
    char *buf = calloc(1, 1 << 20);
    size_t n = fread(buf, 1, (1 << 20) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static int count_lines(const char *s)
{
    int n = 0;
    for (; *s != '\0'; s++)
        n += *s == '\n';
    return n;
}

/* Every line of text matches LINE_RE; returns how many. */
static int check_lines(char *text)
{
    regex_t re;
    int n = 0;

    cr_assert_eq(regcomp(&re, LINE_RE, REG_EXTENDED | REG_NOSUB), 0);
    for (char *save = NULL, *l = strtok_r(text, "\n", &save); l != NULL;
         l = strtok_r(NULL, "\n", &save), n++)
        cr_assert_eq(regexec(&re, l, 0, NULL, 0), 0, "bad line: '%s'", l);
    regfree(&re);
    return n;
}

TestSuite(event_log, .init = make_dir, .fini = remove_dir);

Test(event_log, format_exact_line)
{
    char buf[EVENT_LOG_LINE_MAX];
    struct timespec t = {.tv_sec = 1, .tv_nsec = 234567890};

    setenv("TZ", "UTC", 1);
    tzset();
    size_t n = event_log_format_line(buf, sizeof(buf), &t, EVENT_LOG_INFO, "peer2", 5,
                                     "became leader (3 votes of 3)");
    cr_assert_str_eq(buf,
                     "1970-01-01T00:00:01.234 INFO  peer2 term=5 became leader (3 votes of 3)\n");
    cr_assert_eq(n, strlen(buf));

    t.tv_sec = 1795389667; /* 2026-11-22T23:21:07Z */
    t.tv_nsec = 5000000;
    event_log_format_line(buf, sizeof(buf), &t, EVENT_LOG_ERROR, "peer10", 18446744073709551615ULL,
                          "disk full");
    cr_assert_str_eq(buf,
                     "2026-11-22T23:21:07.005 ERROR peer10 term=18446744073709551615 disk full\n");

    setenv("TZ", "EST5", 1); /* local time, not UTC */
    tzset();
    event_log_format_line(buf, sizeof(buf), &t, EVENT_LOG_WARN, "p", 0, "");
    cr_assert_str_eq(buf, "2026-11-22T18:21:07.005 WARN  p term=0 \n");
}

Test(event_log, control_characters_are_escaped)
{
    char buf[EVENT_LOG_LINE_MAX];
    struct timespec t = {0};

    setenv("TZ", "UTC", 1);
    tzset();
    event_log_format_line(buf, sizeof(buf), &t, EVENT_LOG_DEBUG, "peer1", 1,
                          "cmd \"x\nset\t5\r\"\x01\x7f ok");
    cr_assert_str_eq(
        buf, "1970-01-01T00:00:00.000 DEBUG peer1 term=1 cmd \"x\\nset\\t5\\r\"\\x01\\x7f ok\n");
    cr_assert_eq(count_lines(buf), 1);
}

Test(event_log, long_messages_are_cut_to_fit)
{
    char big[5000], buf[EVENT_LOG_LINE_MAX];
    struct timespec t = {0};

    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    big[3000] = '\n'; /* escapes near the end must not overflow either */
    for (size_t cap = EVENT_LOG_FORMAT_MIN; cap <= sizeof(buf); cap += 37) {
        size_t n = event_log_format_line(buf, cap, &t, EVENT_LOG_INFO, "peer1", 7, big);
        cr_assert(n < cap, "cap %zu len %zu", cap, n);
        cr_assert_eq(n, strlen(buf));
        cr_assert(n > 4 && strcmp(buf + n - 4, "...\n") == 0, "cap %zu: '%s'", cap, buf);
        cr_assert_eq(count_lines(buf), 1);
    }
    /* a too-long peer name is cut, and the term still shows */
    event_log_format_line(buf, EVENT_LOG_FORMAT_MIN, &t, EVENT_LOG_INFO, big, 7, "m");
    cr_assert_not_null(strstr(buf, "... term=7 "), "%s", buf);
    cr_assert_eq(event_log_format_line(buf, EVENT_LOG_FORMAT_MIN - 1, &t, 0, "p", 0, "m"), 0);
    cr_assert_str_eq(buf, "");
}

Test(event_log, writes_lines_and_filters_levels)
{
    char err[256] = "", path[128];
    char logdir[96];

    snprintf(logdir, sizeof(logdir), "%s/a/b/logs", dir); /* parents are created */
    struct event_log *log = event_log_open(logdir, "peer2", "warn", err, sizeof(err));
    cr_assert_not_null(log, "%s", err);
    event_log_set_term(log, 3);
    cr_assert_not(event_log_enabled(log, EVENT_LOG_INFO));
    cr_assert(event_log_enabled(log, EVENT_LOG_WARN));
    event_log_write(log, EVENT_LOG_DEBUG, "dropped %d", 1);
    event_log_write(log, EVENT_LOG_INFO, "dropped %d", 2);
    event_log_write(log, EVENT_LOG_WARN, "peer3 unreachable: %s", "connection refused");
    event_log_set_term(log, 4);
    event_log_write(log, EVENT_LOG_ERROR, "cannot save term %d", 4);
    event_log_set_level(log, EVENT_LOG_DEBUG);
    event_log_write(log, EVENT_LOG_DEBUG, "now shown");
    cr_assert_eq(event_log_write_errors(log), 0);
    event_log_close(log);

    snprintf(path, sizeof(path), "%s/peer2.log", logdir);
    char *text = slurp(path);
    cr_assert_not_null(strstr(text, " WARN  peer2 term=3 peer3 unreachable: connection refused\n"));
    cr_assert_not_null(strstr(text, " ERROR peer2 term=4 cannot save term 4\n"));
    cr_assert_not_null(strstr(text, " DEBUG peer2 term=4 now shown\n"));
    cr_assert_null(strstr(text, "dropped"));
    cr_assert_eq(check_lines(text), 3);
    free(text);
}

Test(event_log, appends_across_opens)
{
    char err[256], path[128];

    for (int i = 0; i < 2; i++) {
        struct event_log *log = event_log_open(dir, "peer1", NULL, err, sizeof(err));
        cr_assert_not_null(log, "%s", err);
        event_log_write(log, EVENT_LOG_INFO, "started, run %d", i);
        event_log_write(log, EVENT_LOG_DEBUG, "not at the default level");
        event_log_close(log);
    }
    snprintf(path, sizeof(path), "%s/peer1.log", dir);
    char *text = slurp(path);
    cr_assert_not_null(strstr(text, "term=0 started, run 0\n"));
    cr_assert_not_null(strstr(text, "term=0 started, run 1\n"));
    cr_assert_eq(check_lines(text), 2);
    free(text);
}

struct captured {
    int calls;
    enum event_log_level level;
    char line[EVENT_LOG_LINE_MAX];
    size_t len;
};

static void capture(void *ctx, enum event_log_level level, const char *line, size_t len)
{
    struct captured *c = ctx;
    c->calls++;
    c->level = level;
    c->len = len;
    snprintf(c->line, sizeof(c->line), "%s", line);
}

Test(event_log, sink_gets_the_same_line)
{
    char err[256], path[128];
    struct captured cap = {0};

    struct event_log *log = event_log_open(dir, "peer5", "info", err, sizeof(err));
    cr_assert_not_null(log, "%s", err);
    event_log_set_sink(log, capture, &cap);
    event_log_set_term(log, 9);
    event_log_write(log, EVENT_LOG_INFO, "voted for %s", "peer1");
    event_log_write(log, EVENT_LOG_DEBUG, "filtered out of the sink too");
    cr_assert_eq(cap.calls, 1);
    cr_assert_eq(cap.level, EVENT_LOG_INFO);
    cr_assert_eq(cap.len, strlen(cap.line));
    cr_assert_null(strchr(cap.line, '\n'));
    event_log_set_sink(log, NULL, NULL);
    event_log_write(log, EVENT_LOG_INFO, "no sink now");
    cr_assert_eq(cap.calls, 1);
    event_log_close(log);

    snprintf(path, sizeof(path), "%s/peer5.log", dir);
    char *text = slurp(path);
    cr_assert(strncmp(text, cap.line, cap.len) == 0 && text[cap.len] == '\n', "file '%s' sink '%s'",
              text, cap.line);
    cr_assert_not_null(strstr(cap.line, " INFO  peer5 term=9 voted for peer1"));
    free(text);
}

Test(event_log, failed_writes_are_counted_not_fatal)
{
    char err[256], path[128];
    struct captured cap = {0};

    /* /dev/full fails every write with ENOSPC */
    snprintf(path, sizeof(path), "%s/peer7.log", dir);
    cr_assert_eq(symlink("/dev/full", path), 0, "symlink: %s", strerror(errno));
    struct event_log *log = event_log_open(dir, "peer7", "debug", err, sizeof(err));
    cr_assert_not_null(log, "%s", err);
    event_log_set_sink(log, capture, &cap);
    event_log_write(log, EVENT_LOG_ERROR, "one");
    event_log_write(log, EVENT_LOG_INFO, "two");
    cr_assert_eq(event_log_write_errors(log), 2);
    cr_assert_eq(cap.calls, 2, "the sink still hears about events");
    event_log_close(log);
}

Test(event_log, refuses_bad_arguments)
{
    char err[256], path[128];

    cr_assert_null(event_log_open(dir, "../escape", NULL, err, sizeof(err)));
    cr_assert_str_eq(err, "bad peer name for the event log");
    cr_assert_null(event_log_open(dir, "", NULL, err, sizeof(err)));
    cr_assert_null(event_log_open(dir, "peer1", "loud", err, sizeof(err)));
    cr_assert_str_eq(err, "unknown log level 'loud' (expected debug, info, warn or error)");

    snprintf(path, sizeof(path), "%s/file", dir);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fclose(f);
    cr_assert_null(event_log_open(path, "peer1", NULL, err, sizeof(err)));
    cr_assert_not_null(strstr(err, "is not a directory"), "%s", err);
    snprintf(path, sizeof(path), "%s/file/sub", dir);
    cr_assert_null(event_log_open(path, "peer1", NULL, err, sizeof(err)));
    cr_assert_not_null(strstr(err, "cannot create log directory"), "%s", err);
    cr_assert_null(event_log_open(dir, "peer1", "nope", NULL, 0)); /* no err buffer: fine */
}

Test(event_log, levels_parse_and_name)
{
    enum event_log_level l;

    cr_assert_eq(event_log_parse_level("debug", &l), 0);
    cr_assert_eq(l, EVENT_LOG_DEBUG);
    cr_assert_eq(event_log_parse_level("INFO", &l), 0);
    cr_assert_eq(l, EVENT_LOG_INFO);
    cr_assert_eq(event_log_parse_level("warning", &l), 0);
    cr_assert_eq(l, EVENT_LOG_WARN);
    cr_assert_eq(event_log_parse_level("Error", &l), 0);
    cr_assert_eq(l, EVENT_LOG_ERROR);
    cr_assert_eq(event_log_parse_level("fatal", &l), -1);
    cr_assert_eq(event_log_parse_level(NULL, &l), -1);
    cr_assert_str_eq(event_log_level_name(EVENT_LOG_WARN), "WARN");
    cr_assert_str_eq(event_log_level_name((enum event_log_level)42), "?");
}

Test(event_log, null_log_is_a_no_op)
{
    event_log_write(NULL, EVENT_LOG_ERROR, "nowhere %d", 1);
    event_log_set_term(NULL, 3);
    event_log_set_level(NULL, EVENT_LOG_DEBUG);
    event_log_set_sink(NULL, NULL, NULL);
    cr_assert_not(event_log_enabled(NULL, EVENT_LOG_ERROR));
    cr_assert_eq(event_log_write_errors(NULL), 0);
    event_log_close(NULL);
}

/* Several processes appending to one file: every line must come out whole. */
Test(event_log, processes_never_interleave_lines)
{
    enum { PROCS = 4, LINES = 300 };
    char err[256], path[128], pad[700];

    memset(pad, 'z', sizeof(pad) - 1);
    pad[sizeof(pad) - 1] = '\0';
    for (int p = 0; p < PROCS; p++) {
        pid_t pid = fork();
        cr_assert(pid >= 0);
        if (pid == 0) {
            struct event_log *log = event_log_open(dir, "shared", "info", err, sizeof(err));
            if (log == NULL)
                _exit(1);
            for (int i = 0; i < LINES; i++)
                event_log_write(log, EVENT_LOG_INFO, "proc %d line %d %.*s", p, i, (i * 7) % 690,
                                pad);
            event_log_close(log);
            _exit(0);
        }
    }
    for (int p = 0; p < PROCS; p++) {
        int status;
        cr_assert(wait(&status) > 0);
        cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    snprintf(path, sizeof(path), "%s/shared.log", dir);
    char *text = slurp(path);
    cr_assert_eq(check_lines(text), PROCS * LINES);
    free(text);
}
