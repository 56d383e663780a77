/* chaos_check.h: the verdicts on a chaos history: every client's counter holds exactly its
 * acknowledged adds (plus some of its unknown ones), and each key's history is linearizable. */
#ifndef TESTS_CHAOS_CHAOS_CHECK_H
#define TESTS_CHAOS_CHAOS_CHECK_H

#include <stdint.h>
#include <stdio.h>

#include "tests/chaos/history.h"

struct check_summary {
    /* operations */
    size_t attempted;    /* every recorded op, final reads included */
    size_t acknowledged; /* a definite answer that is not a refusal: ok */
    size_t cas_failed;   /* definite "no": the cas found another value */
    size_t failed;       /* definite refusals other than cas_failed (not_sent, ...) */
    size_t unknown;      /* given up on after sending: writes and reads */
    size_t unknown_writes, unknown_bounded;
    size_t anomalies; /* answers a correct cluster never gives (stale_seq, bad_command, ...) */
    /* counters */
    int counters, counters_ok;
    /* linearizability */
    int keys, keys_linearizable, keys_violated, keys_gave_up;
    size_t ops_checked;
    uint64_t steps;
    double seconds;
};

/* Runs every check on h (bounds of unknown ops already set), printing one line per key
 * and a detailed report of any failure to out. max_steps bounds the search per key
 * (0 = no limit). 0 when everything passed, 1 when something failed, -1 on error. */
int chaos_check_history(const struct history *h, uint64_t max_steps, FILE *out,
                        struct check_summary *sum);

#endif
