/* linearizability.h: checks that a history of operations on one integer register is
 * linearizable: Wing and Gong's search with Lowe's memoisation, as Knossos and porcupine do. */
#ifndef TESTS_CHAOS_LINEARIZABILITY_H
#define TESTS_CHAOS_LINEARIZABILITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The register is the state machine's view of one variable: a signed 64-bit integer,
 * 0 when unset. The history of each key is checked on its own: linearizability is
 * local (Herlihy and Wing), so a history is linearizable iff every key's is. */
enum lin_kind {
    LIN_GET, /* result = current value */
    LIN_SET, /* value = a; result = a */
    LIN_ADD, /* value += a; result = new value (an add that would overflow cannot succeed) */
    LIN_CAS, /* if value == a then value = b (result = b) else it fails */
};

enum lin_outcome {
    LIN_OK,      /* acknowledged; result (when has_result) is what the cluster answered */
    LIN_FAILED,  /* definitely took no effect: a cas that found another value (has_result: the
                    value it found), or any other refusal, which the model treats as a no-op */
    LIN_UNKNOWN, /* timed out or lost: took effect once at some instant in (call_us, return_us),
                    or never; return_us = UINT64_MAX when nothing bounds it */
};

struct lin_op {
    enum lin_kind kind;
    enum lin_outcome outcome;
    int64_t a, b;       /* arguments, see lin_kind */
    bool has_result;    /* false: the answer carried no value, so it is not checked */
    int64_t result;     /* see lin_kind */
    uint64_t call_us;   /* when the client invoked it */
    uint64_t return_us; /* when the answer arrived (>= call_us); for LIN_UNKNOWN, the instant
                           after which it can no longer happen (UINT64_MAX: none) */
};

enum lin_verdict {
    LIN_LINEARIZABLE,
    LIN_NOT_LINEARIZABLE,
    LIN_GAVE_UP, /* the step budget ran out before an answer */
};

struct lin_options {
    int64_t initial;    /* the register's value before the history (0 for a new variable) */
    uint64_t max_steps; /* search budget; 0 = no limit */
};

struct lin_result {
    enum lin_verdict verdict;
    uint64_t steps;       /* search steps taken */
    size_t cache_entries; /* distinct (linearized set, value) configurations memoised */
    /* When not linearizable: the deepest point the search reached. The ops order[0..longest)
     * (indexes into the input, in linearization order; unknown ones that were taken as
     * never having happened are left out) could be linearized; then op `stuck`, which had
     * returned by then, could not be placed; `stuck_value` was the register's value. */
    size_t longest;
    size_t stuck;
    int64_t stuck_value;
    size_t *order; /* malloc'ed (free it), NULL when linearizable or n == 0 */
};

/* Checks ops[0..n). 0 with the verdict in *res, or -1 (bad input: return before call,
 * an unknown kind or outcome; out of memory) with a message in err. */
int lin_check(const struct lin_op *ops, size_t n, const struct lin_options *opt,
              struct lin_result *res, char *err, size_t errlen);

/* The model's transition: whether op can take effect on value now (false when its
 * recorded answer contradicts it), and the value after. Exposed for tests and reports. */
bool lin_step(const struct lin_op *op, int64_t value, int64_t *after);

/* "get -> 5", "cas 1 2 -> failed(3)", "add 4 -> ?" into out. */
void lin_op_describe(const struct lin_op *op, char *out, size_t outlen);

#endif
