/* subprocess.h: run a program for a test, feed its stdin, capture its output,
 * and never wait longer than a timeout. */
#ifndef TESTS_LIB_SUBPROCESS_H
#define TESTS_LIB_SUBPROCESS_H

#include <stddef.h>
#include <sys/types.h>

struct subprocess_result {
    int exit_code;     /* 0..255, or 128+signal when killed, -1 if it could not run */
    int timed_out;     /* 1 when it was killed at the timeout */
    char out[1 << 20]; /* stdout, NUL-terminated, truncated if longer (a game's
                          --dump-state prints a few KiB a second) */
    char err[65536];   /* stderr, idem */
};

/* Runs argv (argv[0] a path) with stdin_text as its whole stdin (NULL: empty),
 * waits up to timeout_ms, and fills *res. Returns 0, or -1 if it could not start. */
int subprocess_run(char *const argv[], const char *stdin_text, int timeout_ms,
                   struct subprocess_result *res);

/* Starts argv with its stdin and stdout (stderr merged in) on pipes, for a
 * conversation. Returns the pid, or -1. */
pid_t subprocess_spawn(char *const argv[], int *to_child, int *from_child);

/* Reads from fd into buf (appending at *len, NUL-terminated) until buf contains
 * needle or timeout_ms passes. Returns 0 when found, -1 otherwise. */
int subprocess_read_until(int fd, char *buf, size_t buflen, size_t *len, const char *needle,
                          int timeout_ms);

#endif
