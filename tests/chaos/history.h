/* history.h: what the chaos clients saw: one record per operation (invoke and completion
 * times, command, outcome), kept in memory, saved to and loaded from a text file. */
#ifndef TESTS_CHAOS_HISTORY_H
#define TESTS_CHAOS_HISTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tests/chaos/linearizability.h"

#define HISTORY_KEY_MAX    15
#define HISTORY_MAX_CLIENT 99 /* client numbers 0..99; the final reads use HISTORY_FINAL */
#define HISTORY_FINAL      99
#define HISTORY_NO_BOUND   UINT64_MAX

struct chaos_op {
    int client;   /* 0..HISTORY_MAX_CLIENT */
    uint64_t seq; /* the request's seq, the same on every retry */
    char key[HISTORY_KEY_MAX + 1];
    enum lin_kind kind;
    int64_t a, b;             /* set a, add a, cas a b */
    enum lin_outcome outcome; /* OK, FAILED (for sure: e.g. cas_failed), UNKNOWN */
    bool has_result;
    int64_t result;     /* the value answered (cas_failed: the value found) */
    char error[32];     /* the last error seen: cas_failed, timeout, unavailable, ... */
    uint64_t call_us;   /* invoked (CLOCK_MONOTONIC) */
    uint64_t return_us; /* answered, or given up on */
    uint64_t bound_us;  /* UNKNOWN only: no effect possible after this; HISTORY_NO_BOUND */
    int attempts;       /* requests sent (retries + 1) */
};

struct history {
    struct chaos_op *ops;
    size_t len, cap;
};

/* 0 or -1 (out of memory). */
int history_append(struct history *h, const struct chaos_op *op);
/* Appends every op of src. 0 or -1. */
int history_extend(struct history *h, const struct history *src);
void history_free(struct history *h);

/* Whether the op changes the register when it runs (set, add, cas): such ops go through
 * the log and the client's session, reads do not. */
bool history_is_write(const struct chaos_op *op);

/* A client's unknown write (seq N) cannot take effect after that client's next write
 * (seq M > N) has been applied: the session then answers N with stale_seq, or
 * session_expired once it is gone, and changes nothing (STATE_MACHINE.md). Sets each
 * unknown write's bound_us to the return time of the same client's next write with an
 * applied outcome (OK or cas_failed) in the same session: after a session_expired
 * answer the client uses a new client_id, which fences nothing of the old one. */
void history_bound_unknowns(struct history *h);

/* One line per op, with a header line saying what the columns are. 0 or -1 with err. */
int history_save(const struct history *h, const char *path, char *err, size_t errlen);
/* Reads what history_save wrote; every field is checked. 0 or -1 with err naming the line. */
int history_load(struct history *h, const char *path, char *err, size_t errlen);

#endif
