/* Unit tests for the linearizability checker (tests/chaos/linearizability.h): small
 * hand-made histories that are and are not linearizable, unknown outcomes, the failure
 * report, the budget, and large generated histories. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/chaos/history.h"
#include "tests/chaos/linearizability.h"

static struct lin_op op_ok(enum lin_kind kind, int64_t a, int64_t b, int64_t result, uint64_t call,
                           uint64_t ret)
{
    return (struct lin_op){.kind = kind,
                           .outcome = LIN_OK,
                           .a = a,
                           .b = b,
                           .has_result = true,
                           .result = result,
                           .call_us = call,
                           .return_us = ret};
}

static struct lin_op get(int64_t result, uint64_t call, uint64_t ret)
{
    return op_ok(LIN_GET, 0, 0, result, call, ret);
}

static struct lin_op set(int64_t v, uint64_t call, uint64_t ret)
{
    return op_ok(LIN_SET, v, 0, v, call, ret);
}

static struct lin_op add(int64_t d, int64_t result, uint64_t call, uint64_t ret)
{
    return op_ok(LIN_ADD, d, 0, result, call, ret);
}

static struct lin_op cas(int64_t from, int64_t to, uint64_t call, uint64_t ret)
{
    return op_ok(LIN_CAS, from, to, to, call, ret);
}

static struct lin_op cas_failed(int64_t from, int64_t to, int64_t found, uint64_t call,
                                uint64_t ret)
{
    struct lin_op o = op_ok(LIN_CAS, from, to, found, call, ret);
    o.outcome = LIN_FAILED;
    return o;
}

static struct lin_op unknown(enum lin_kind kind, int64_t a, int64_t b, uint64_t call)
{
    return (struct lin_op){.kind = kind,
                           .outcome = LIN_UNKNOWN,
                           .a = a,
                           .b = b,
                           .call_us = call,
                           .return_us = UINT64_MAX};
}

/* Unknown, but known not to happen after `by` (the client's next write was applied). */
static struct lin_op unknown_by(enum lin_kind kind, int64_t a, uint64_t call, uint64_t by)
{
    struct lin_op o = unknown(kind, a, 0, call);
    o.return_us = by;
    return o;
}

static enum lin_verdict verdict(const struct lin_op *ops, size_t n)
{
    struct lin_result res;
    char err[128];
    cr_assert_eq(lin_check(ops, n, NULL, &res, err, sizeof(err)), 0, "%s", err);
    free(res.order);
    return res.verdict;
}

#define LINEARIZABLE(...)                                                                          \
    do {                                                                                           \
        struct lin_op h_[] = {__VA_ARGS__};                                                        \
        cr_expect_eq(verdict(h_, sizeof(h_) / sizeof(h_[0])), LIN_LINEARIZABLE);                   \
    } while (0)
#define NOT_LINEARIZABLE(...)                                                                      \
    do {                                                                                           \
        struct lin_op h_[] = {__VA_ARGS__};                                                        \
        cr_expect_eq(verdict(h_, sizeof(h_) / sizeof(h_[0])), LIN_NOT_LINEARIZABLE);               \
    } while (0)

Test(linearizability, empty_history)
{
    struct lin_result res;
    char err[64];
    cr_assert_eq(lin_check(NULL, 0, NULL, &res, err, sizeof(err)), 0);
    cr_assert_eq(res.verdict, LIN_LINEARIZABLE);
}

Test(linearizability, sequential)
{
    LINEARIZABLE(get(0, 0, 1), set(1, 2, 3), get(1, 4, 5), add(2, 3, 6, 7), get(3, 8, 9));
    NOT_LINEARIZABLE(set(1, 0, 1), get(2, 2, 3));
    NOT_LINEARIZABLE(get(5, 0, 1)); /* a new variable reads 0 */
}

/* The classic: a write has completed, then a read that starts after it returns the
 * old value (what a leader that lost its leadership without knowing serves). */
Test(linearizability, stale_read)
{
    NOT_LINEARIZABLE(set(1, 0, 10), get(0, 11, 12));
    /* The same read overlapping the write is fine either way. */
    LINEARIZABLE(set(1, 0, 10), get(0, 5, 12));
    LINEARIZABLE(set(1, 0, 10), get(1, 5, 12));
    /* Two clients: A writes 1 then 2; B, strictly after the second write, reads 1. */
    NOT_LINEARIZABLE(set(1, 0, 10), set(2, 20, 30), get(1, 31, 40));
}

/* While a write is in flight, readers may see old or new, but never new then old. */
Test(linearizability, new_old_inversion)
{
    LINEARIZABLE(set(1, 0, 100), get(0, 10, 20), get(1, 30, 40));
    LINEARIZABLE(set(1, 0, 100), get(1, 10, 20), get(1, 30, 40));
    NOT_LINEARIZABLE(set(1, 0, 100), get(1, 10, 20), get(0, 30, 40));
    /* Overlapping reads may be ordered either way. */
    LINEARIZABLE(set(1, 0, 100), get(1, 10, 40), get(0, 30, 50));
}

Test(linearizability, concurrent_writes)
{
    /* Two overlapping sets: any order, but every later read agrees on the last one. */
    LINEARIZABLE(set(1, 0, 10), set(2, 5, 15), get(2, 20, 21), get(2, 22, 23));
    LINEARIZABLE(set(1, 0, 10), set(2, 5, 15), get(1, 20, 21), get(1, 22, 23));
    NOT_LINEARIZABLE(set(1, 0, 10), set(2, 5, 15), get(1, 20, 21), get(2, 22, 23));
}

Test(linearizability, adds_are_counted_once)
{
    LINEARIZABLE(add(1, 1, 0, 10), add(1, 2, 5, 15), get(2, 20, 21));
    LINEARIZABLE(add(1, 2, 0, 10), add(1, 1, 5, 15), get(2, 20, 21));
    /* Both saw 1: one add was lost. */
    NOT_LINEARIZABLE(add(1, 1, 0, 10), add(1, 1, 5, 15));
    /* Applied twice: one acknowledged add of 1, then the value is 2. */
    NOT_LINEARIZABLE(add(1, 1, 0, 10), get(2, 20, 21));
    /* Acknowledged, then gone. */
    NOT_LINEARIZABLE(add(5, 5, 0, 10), get(0, 20, 21));
    /* An add whose answer carried no value is still an add. */
    struct lin_op blind = add(5, 0, 0, 10);
    blind.has_result = false;
    LINEARIZABLE(blind, get(5, 20, 21));
    NOT_LINEARIZABLE(blind, get(0, 20, 21));
}

Test(linearizability, compare_and_set)
{
    LINEARIZABLE(cas(0, 1, 0, 10), cas_failed(0, 2, 1, 5, 15), get(1, 20, 21));
    /* Both cas 0->x succeeded: impossible. */
    NOT_LINEARIZABLE(cas(0, 1, 0, 10), cas(0, 2, 5, 15));
    /* A failed cas reports the value it found; nothing ever wrote 5. */
    NOT_LINEARIZABLE(set(1, 0, 1), cas_failed(3, 4, 5, 2, 3));
    /* A cas that failed although the value it expected was there. */
    NOT_LINEARIZABLE(set(3, 0, 1), cas_failed(3, 4, 3, 2, 3));
    /* A failed cas without the value found only says "not a". */
    struct lin_op f = cas_failed(3, 4, 0, 2, 3);
    f.has_result = false;
    LINEARIZABLE(set(1, 0, 1), f);
}

/* An operation that timed out may take effect at any instant after its call, or never. */
Test(linearizability, unknown_outcomes)
{
    /* It happened... */
    LINEARIZABLE(unknown(LIN_SET, 1, 0, 0), get(1, 5, 6));
    /* ...or it did not (yet)... */
    LINEARIZABLE(unknown(LIN_SET, 1, 0, 0), get(0, 5, 6));
    /* ...and it may happen long after, between two reads... */
    LINEARIZABLE(unknown(LIN_SET, 1, 0, 0), get(0, 5, 6), get(0, 7, 8), get(1, 1000, 1001));
    /* ...but only once: once seen, it cannot be undone. */
    NOT_LINEARIZABLE(unknown(LIN_SET, 1, 0, 0), get(1, 5, 6), get(0, 7, 8));
    /* Not before it was called. */
    NOT_LINEARIZABLE(get(1, 0, 1), unknown(LIN_SET, 1, 0, 2));
    /* An unknown add may explain one extra increment, not two. */
    LINEARIZABLE(add(1, 1, 0, 10), unknown(LIN_ADD, 1, 0, 11), get(2, 20, 21));
    NOT_LINEARIZABLE(add(1, 1, 0, 10), unknown(LIN_ADD, 1, 0, 11), get(3, 20, 21));
    /* An unknown cas takes effect only if the value matched when it did. */
    LINEARIZABLE(set(4, 0, 1), unknown(LIN_CAS, 4, 9, 2), get(9, 5, 6));
    NOT_LINEARIZABLE(set(4, 0, 1), unknown(LIN_CAS, 3, 9, 2), get(9, 5, 6));
    /* A bounded unknown op cannot take effect after its bound... */
    NOT_LINEARIZABLE(unknown_by(LIN_SET, 1, 0, 10), get(0, 11, 12), get(1, 13, 14));
    /* ...but may before it, or never. */
    LINEARIZABLE(unknown_by(LIN_SET, 1, 0, 10), get(1, 11, 12), get(1, 13, 14));
    LINEARIZABLE(unknown_by(LIN_SET, 1, 0, 10), get(0, 11, 12), get(0, 13, 14));
    /* An unknown read constrains nothing. */
    LINEARIZABLE(unknown(LIN_GET, 0, 0, 0), set(2, 1, 2), get(2, 3, 4));
}

/* Many unknown writes that never happened must not blow the search up: definite ops are
 * tried first, and unknown ones are left for the end. */
Test(linearizability, many_unknowns_that_never_happened)
{
    enum { N = 40 };
    struct lin_op h[2 * N + 1];
    size_t n = 0;
    for (int i = 0; i < N; i++) {
        h[n++] = unknown(LIN_ADD, 1000 + i, 0, (uint64_t)(10 * i));
        h[n++] = add(1, i + 1, (uint64_t)(10 * i + 1), (uint64_t)(10 * i + 2));
    }
    h[n++] = get(N, 1000, 1001);
    struct lin_result res;
    char err[64];
    cr_assert_eq(lin_check(h, n, NULL, &res, err, sizeof(err)), 0);
    cr_assert_eq(res.verdict, LIN_LINEARIZABLE);
    cr_expect_lt(res.steps, 1000);
}

/* Unbounded unknown adds make the question a subset sum: the search is exponential in
 * their number (as in Knossos and porcupine), and the budget turns that into an honest
 * "gave up". This is why the chaos clients bound every unknown op (see CHAOS.md). */
Test(linearizability, unbounded_unknowns_can_exhaust_the_budget)
{
    enum { N = 40 };
    struct lin_op h[2 * N + 1];
    size_t n = 0;
    for (int i = 0; i < N; i++) {
        h[n++] = unknown(LIN_ADD, 1000 + i, 0, (uint64_t)(10 * i));
        h[n++] = add(1, i + 1, (uint64_t)(10 * i + 1), (uint64_t)(10 * i + 2));
    }
    h[n++] = get(-5, 1000, 1001);
    struct lin_options opt = {.max_steps = 200000};
    struct lin_result res;
    char err[64];
    cr_assert_eq(lin_check(h, n, &opt, &res, err, sizeof(err)), 0);
    cr_expect_eq(res.verdict, LIN_GAVE_UP);
    cr_expect_null(res.order);
}

/* Unknown adds, each bounded by the client's next write: one of them took effect just
 * before its bound, another in the middle; both found quickly. A value no subset can
 * explain is refused quickly too. */
Test(linearizability, bounded_unknowns)
{
    enum { N = 200 };
    struct lin_op h[2 * N + 1];
    size_t n = 0;
    int64_t value = 0;
    for (int i = 0; i < N; i++) {
        /* u_i is called at 10i; the client's next write (a_i's client) bounds it at 10i+5. */
        h[n++] = unknown_by(LIN_ADD, 1000 + i, (uint64_t)(10 * i), (uint64_t)(10 * i + 5));
        if (i == 50 || i == 150)
            value += 1000 + i; /* u_i happened before a_i */
        value += 1;
        h[n++] = add(1, value, (uint64_t)(10 * i + 1), (uint64_t)(10 * i + 2));
    }
    h[n++] = get(value, 5000, 5001);
    struct lin_result res;
    char err[64];
    cr_assert_eq(lin_check(h, n, NULL, &res, err, sizeof(err)), 0);
    cr_assert_eq(res.verdict, LIN_LINEARIZABLE);
    cr_expect_lt(res.steps, 100000);
    h[n - 1].result = value + 1;
    cr_assert_eq(lin_check(h, n, NULL, &res, err, sizeof(err)), 0);
    cr_assert_eq(res.verdict, LIN_NOT_LINEARIZABLE);
    cr_expect_lt(res.steps, 100000);
    cr_expect_eq(res.stuck, n - 1);
    cr_expect_geq(res.longest, N);
    free(res.order);
}

Test(linearizability, report_names_the_stuck_operation)
{
    struct lin_op h[] = {set(1, 0, 10), get(1, 11, 12), set(2, 20, 30), get(1, 31, 40)};
    struct lin_result res;
    char err[64];
    cr_assert_eq(lin_check(h, 4, NULL, &res, err, sizeof(err)), 0);
    cr_assert_eq(res.verdict, LIN_NOT_LINEARIZABLE);
    cr_assert_eq(res.longest, 3);
    cr_assert_not_null(res.order);
    cr_expect_eq(res.order[0], 0);
    cr_expect_eq(res.order[1], 1);
    cr_expect_eq(res.order[2], 2);
    cr_expect_eq(res.stuck, 3);
    cr_expect_eq(res.stuck_value, 2);
    free(res.order);
}

Test(linearizability, initial_value_and_budget)
{
    struct lin_op h[] = {get(7, 0, 1), add(1, 8, 2, 3)};
    struct lin_options opt = {.initial = 7};
    struct lin_result res;
    char err[64];
    cr_assert_eq(lin_check(h, 2, &opt, &res, err, sizeof(err)), 0);
    cr_expect_eq(res.verdict, LIN_LINEARIZABLE);
    opt.max_steps = 1;
    cr_assert_eq(lin_check(h, 2, &opt, &res, err, sizeof(err)), 0);
    cr_expect_eq(res.verdict, LIN_GAVE_UP);
    cr_expect_null(res.order);
}

Test(linearizability, overflow_cannot_succeed)
{
    struct lin_op h[] = {set(INT64_MAX, 0, 1), add(1, INT64_MIN, 2, 3)};
    cr_expect_eq(verdict(h, 2), LIN_NOT_LINEARIZABLE);
}

Test(linearizability, bad_input)
{
    struct lin_op h[] = {get(0, 10, 5)};
    struct lin_result res;
    char err[64] = "";
    cr_expect_eq(lin_check(h, 1, NULL, &res, err, sizeof(err)), -1);
    cr_expect(strstr(err, "before") != NULL, "%s", err);
    struct lin_op bad = get(0, 0, 1);
    bad.kind = (enum lin_kind)9;
    cr_expect_eq(lin_check(&bad, 1, NULL, &res, err, sizeof(err)), -1);
}

Test(linearizability, describe)
{
    char s[64];
    struct lin_op o = cas_failed(1, 2, 3, 0, 1);
    lin_op_describe(&o, s, sizeof(s));
    cr_expect_str_eq(s, "cas 1 2 -> failed(3)");
    o = add(4, 9, 0, 1);
    lin_op_describe(&o, s, sizeof(s));
    cr_expect_str_eq(s, "add 4 -> 9");
    o = unknown(LIN_SET, 5, 0, 0);
    lin_op_describe(&o, s, sizeof(s));
    cr_expect_str_eq(s, "set 5 -> unknown");
}

#ifndef GEN_N
#define GEN_N 20000
#endif

static uint64_t rng_next(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

/* A generated history from a real register: each client's operation takes effect at an
 * instant inside its interval, in time order; some writes' answers are lost. */
static size_t generate(struct lin_op *h, size_t n, int clients, uint64_t seed)
{
    uint64_t rng = seed | 1, now[8] = {0};
    int64_t value = 0;
    /* Effect instants are increasing across the history; intervals are stretched
     * around them by random amounts, which makes clients overlap. */
    uint64_t t = 1000;
    for (size_t i = 0; i < n; i++) {
        int c = (int)(rng_next(&rng) % (uint64_t)clients);
        t += 1 + rng_next(&rng) % 10;
        uint64_t call = t - rng_next(&rng) % 40, ret = t + rng_next(&rng) % 40;
        if (call <= now[c])
            call = now[c] + 1;
        if (call > t) { /* this client is still busy: its op takes effect later */
            t = call;
            ret = t + rng_next(&rng) % 40;
        }
        now[c] = ret;
        switch (rng_next(&rng) % 4) {
        case 0:
            h[i] = get(value, call, ret);
            break;
        case 1:
            value = (int64_t)(rng_next(&rng) % 5);
            h[i] = set(value, call, ret);
            break;
        case 2:
            value += 1;
            h[i] = add(1, value, call, ret);
            break;
        default: {
            int64_t from = (int64_t)(rng_next(&rng) % 5), to = (int64_t)(rng_next(&rng) % 5);
            if (from == value) {
                value = to;
                h[i] = cas(from, to, call, ret);
            } else {
                h[i] = cas_failed(from, to, value, call, ret);
            }
        }
        }
        /* Some answers are lost; the op still took effect inside its interval. */
        if (h[i].kind != LIN_GET && rng_next(&rng) % 50 == 0)
            h[i].outcome = LIN_UNKNOWN;
    }
    return n;
}

Test(linearizability, generated_histories, .timeout = 60)
{
    enum { N = GEN_N };
    struct lin_op *h = malloc(N * sizeof(*h));
    cr_assert_not_null(h);
    for (uint64_t seed = 1; seed <= 5; seed++) {
        generate(h, N, 5, seed * 7919);
        struct lin_result res;
        char err[64];
        cr_assert_eq(lin_check(h, N, NULL, &res, err, sizeof(err)), 0);
        cr_expect_eq(res.verdict, LIN_LINEARIZABLE, "seed %llu", (unsigned long long)seed);
        /* Now a read returns a value nobody ever wrote. */
        size_t victim = N / 2;
        while (h[victim].kind != LIN_GET)
            victim++;
        h[victim].result = 1000000;
        cr_assert_eq(lin_check(h, N, NULL, &res, err, sizeof(err)), 0);
        cr_expect_eq(res.verdict, LIN_NOT_LINEARIZABLE, "seed %llu", (unsigned long long)seed);
        cr_expect_eq(res.stuck, victim);
        free(res.order);
    }
    free(h);
}

static struct chaos_op write_op(uint64_t seq, enum lin_outcome outcome, const char *error,
                                uint64_t call_us, uint64_t return_us)
{
    struct chaos_op op = {.client = 1,
                          .seq = seq,
                          .kind = LIN_ADD,
                          .a = 1,
                          .outcome = outcome,
                          .call_us = call_us,
                          .return_us = return_us,
                          .bound_us = HISTORY_NO_BOUND};
    snprintf(op.key, sizeof(op.key), "k0");
    snprintf(op.error, sizeof(op.error), "%s", error);
    return op;
}

Test(history, session_expired_ends_what_later_writes_can_bound)
{
    struct history h = {0};
    /* Old session: seq 1 unknown, seq 2 applied, seq 3 session_expired. New session
     * (another client_id, same client number): seq 1 applied. */
    struct chaos_op ops[] = {
        write_op(1, LIN_UNKNOWN, "timeout", 10, 20),
        write_op(2, LIN_OK, "", 30, 40),
        write_op(3, LIN_UNKNOWN, "session_expired", 50, 60),
        write_op(1, LIN_OK, "", 70, 80),
    };
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
        cr_assert_eq(history_append(&h, &ops[i]), 0);
    history_bound_unknowns(&h);
    cr_assert_eq(h.ops[0].bound_us, 40, "fenced by its own session's next write");
    cr_assert_eq(h.ops[2].bound_us, HISTORY_NO_BOUND,
                 "a new session's write fences nothing of the old one");
    history_free(&h);
}
