/* chaos_check.c: see chaos_check.h. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tests/chaos/chaos_check.h"
#include "tests/chaos/linearizability.h"

#define MAX_KEYS 128

/* Answers a client may legitimately get without any effect on the state. */
static bool expected_refusal(const struct chaos_op *op)
{
    return !strcmp(op->error, "cas_failed") || !strcmp(op->error, "not_sent") ||
           (op->client == HISTORY_FINAL && !strcmp(op->error, "not_leader"));
}

static void tally(const struct history *h, struct check_summary *sum, FILE *out)
{
    for (size_t i = 0; i < h->len; i++) {
        const struct chaos_op *op = &h->ops[i];
        sum->attempted++;
        switch (op->outcome) {
        case LIN_OK:
            sum->acknowledged++;
            break;
        case LIN_FAILED:
            if (!strcmp(op->error, "cas_failed"))
                sum->cas_failed++;
            else
                sum->failed++;
            if (!expected_refusal(op)) {
                if (sum->anomalies++ < 10)
                    fprintf(out, "ANOMALY: client %d seq %llu (%s %s) was refused with '%s'\n",
                            op->client, (unsigned long long)op->seq, op->key,
                            op->kind == LIN_GET ? "get" : "write", op->error);
            }
            break;
        case LIN_UNKNOWN:
            sum->unknown++;
            if (history_is_write(op)) {
                sum->unknown_writes++;
                sum->unknown_bounded += op->bound_us != HISTORY_NO_BOUND;
            }
            break;
        }
    }
}

static int collect_keys(const struct history *h, const char *keys[], int max)
{
    int n = 0;
    for (size_t i = 0; i < h->len; i++) {
        bool seen = false;
        for (int k = 0; k < n && !seen; k++)
            seen = !strcmp(keys[k], h->ops[i].key);
        if (!seen && n < max)
            keys[n++] = h->ops[i].key;
    }
    return n;
}

/* The final value of key: the last successful read by the final-reads client. */
static bool final_value(const struct history *h, const char *key, int64_t *value)
{
    bool found = false;
    uint64_t latest = 0;
    for (size_t i = 0; i < h->len; i++) {
        const struct chaos_op *op = &h->ops[i];
        if (op->client == HISTORY_FINAL && op->kind == LIN_GET && op->outcome == LIN_OK &&
            op->has_result && !strcmp(op->key, key) && (!found || op->call_us >= latest)) {
            found = true;
            latest = op->call_us;
            *value = op->result;
        }
    }
    return found;
}

/* Client I's counter cI: only adds, so its final value must be the sum of its
 * acknowledged adds plus the amounts of some subset of its unknown adds. */
static bool check_counter(const struct history *h, const char *key, FILE *out)
{
    int64_t acked = 0, final = 0;
    size_t unknown = 0;
    int64_t unknown_total = 0;
    bool other_writes = false;
    for (size_t i = 0; i < h->len; i++) {
        const struct chaos_op *op = &h->ops[i];
        if (strcmp(op->key, key) || !history_is_write(op))
            continue;
        if (op->kind != LIN_ADD || op->a < 0 || op->a > 1000) {
            other_writes = true;
            continue;
        }
        if (op->outcome == LIN_OK)
            acked += op->a;
        else if (op->outcome == LIN_UNKNOWN) {
            unknown++;
            unknown_total += op->a;
        }
    }
    if (other_writes) {
        fprintf(out, "counter %s: has writes other than small adds; not checked\n", key);
        return true;
    }
    if (!final_value(h, key, &final)) {
        fprintf(out, "counter %s: FAILED: no final read\n", key);
        return false;
    }
    int64_t extra = final - acked;
    bool ok = extra >= 0 && extra <= unknown_total;
    if (ok && unknown) {
        /* Subset sums of the unknown amounts (each at most 1000, so this stays small). */
        bool *reach = calloc((size_t)unknown_total + 1, 1);
        if (!reach) {
            fprintf(out, "counter %s: out of memory\n", key);
            return false;
        }
        reach[0] = true;
        for (size_t i = 0; i < h->len; i++) {
            const struct chaos_op *op = &h->ops[i];
            if (strcmp(op->key, key) || op->kind != LIN_ADD || op->outcome != LIN_UNKNOWN)
                continue;
            for (int64_t s = unknown_total; s >= op->a; s--)
                reach[s] |= reach[s - op->a];
        }
        ok = reach[extra];
        free(reach);
    } else if (ok) {
        ok = extra == 0;
    }
    fprintf(out,
            "counter %s: final %lld = %lld acknowledged + %lld from %zu unknown adds (of %lld): "
            "%s\n",
            key, (long long) final, (long long)acked, (long long)extra, unknown,
            (long long)unknown_total,
            ok          ? "ok"
            : extra < 0 ? "FAILED: acknowledged adds are missing"
                        : "FAILED: more than the acknowledged and unknown adds (a duplicate?)");
    return ok;
}

static void describe(const struct history *h, size_t i, uint64_t t0, FILE *out)
{
    const struct chaos_op *op = &h->ops[i];
    struct lin_op l = {.kind = op->kind,
                       .outcome = op->outcome,
                       .a = op->a,
                       .b = op->b,
                       .has_result = op->has_result,
                       .result = op->result};
    char what[96];
    lin_op_describe(&l, what, sizeof(what));
    fprintf(out, "    client %d seq %llu: %s %s  [%.6f s .. %.6f s]%s%s\n", op->client,
            (unsigned long long)op->seq, op->key, what, (double)(op->call_us - t0) / 1e6,
            (double)(op->return_us - t0) / 1e6, op->error[0] ? " error " : "", op->error);
}

static void report_violation(const struct history *h, const size_t *index, const struct lin_op *ops,
                             const struct lin_result *res, uint64_t t0, FILE *out)
{
    fprintf(out,
            "  the search placed %zu operations at most; then this one, already returned,\n"
            "  could not be placed (the value was %lld):\n",
            res->longest, (long long)res->stuck_value);
    describe(h, index[res->stuck], t0, out);
    if (res->order && res->longest) {
        size_t from = res->longest > 12 ? res->longest - 12 : 0;
        fprintf(out, "  the last operations placed before it, in order:\n");
        for (size_t k = from; k < res->longest; k++)
            describe(h, index[res->order[k]], t0, out);
    }
    const struct lin_op *s = &ops[res->stuck];
    fprintf(out, "  operations on this key overlapping it in time:\n");
    int shown = 0;
    const struct chaos_op *stuck = &h->ops[index[res->stuck]];
    for (size_t i = 0; i < h->len && shown < 30; i++) {
        const struct chaos_op *op = &h->ops[i];
        if (i == index[res->stuck] || strcmp(op->key, stuck->key))
            continue;
        uint64_t ret = op->outcome == LIN_UNKNOWN ? op->bound_us : op->return_us;
        if (op->call_us <= s->return_us && ret >= s->call_us) {
            describe(h, i, t0, out);
            shown++;
        }
    }
}

static double seconds_since(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - start->tv_sec) + (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

/* One key's history through the checker. 0 linearizable, 1 not or gave up, -1 error. */
static int check_key(const struct history *h, const char *key, uint64_t max_steps, uint64_t t0,
                     FILE *out, struct check_summary *sum)
{
    size_t n = 0;
    for (size_t i = 0; i < h->len; i++)
        n += !strcmp(h->ops[i].key, key);
    struct lin_op *ops = calloc(n ? n : 1, sizeof(*ops));
    size_t *index = calloc(n ? n : 1, sizeof(*index));
    if (!ops || !index) {
        free(ops);
        free(index);
        fprintf(out, "key %s: out of memory\n", key);
        return -1;
    }
    size_t m = 0;
    for (size_t i = 0; i < h->len; i++) {
        const struct chaos_op *op = &h->ops[i];
        if (strcmp(op->key, key))
            continue;
        bool is_cas_failed = op->outcome == LIN_FAILED && !strcmp(op->error, "cas_failed");
        /* Reads that got no answer, and refusals other than cas_failed, had no effect
         * and observed nothing: they constrain nothing. */
        if ((op->kind == LIN_GET && op->outcome != LIN_OK) ||
            (op->outcome == LIN_FAILED && !is_cas_failed))
            continue;
        struct lin_op *l = &ops[m];
        *l = (struct lin_op){.kind = op->kind,
                             .outcome = op->outcome,
                             .a = op->a,
                             .b = op->b,
                             .has_result = op->has_result,
                             .result = op->result,
                             .call_us = op->call_us,
                             .return_us = op->return_us};
        if (op->outcome == LIN_UNKNOWN)
            l->return_us = op->bound_us < op->call_us ? op->call_us : op->bound_us;
        index[m++] = i;
    }
    struct lin_options opt = {.initial = 0, .max_steps = max_steps};
    struct lin_result res;
    char err[128];
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    int rc = lin_check(ops, m, &opt, &res, err, sizeof(err));
    double took = seconds_since(&start);
    if (rc != 0) {
        fprintf(out, "key %s: checker error: %s\n", key, err);
    } else {
        sum->ops_checked += m;
        sum->steps += res.steps;
        static const char *const verdicts[] = {"linearizable", "NOT LINEARIZABLE",
                                               "UNDECIDED (search budget exhausted)"};
        fprintf(out, "key %s: %zu operations, %s (%llu steps, %zu configurations, %.3f s)\n", key,
                m, verdicts[res.verdict], (unsigned long long)res.steps, res.cache_entries, took);
        if (res.verdict == LIN_LINEARIZABLE)
            sum->keys_linearizable++;
        else if (res.verdict == LIN_NOT_LINEARIZABLE) {
            sum->keys_violated++;
            report_violation(h, index, ops, &res, t0, out);
        } else {
            sum->keys_gave_up++;
        }
        free(res.order);
        rc = res.verdict == LIN_LINEARIZABLE ? 0 : 1;
    }
    free(ops);
    free(index);
    return rc;
}

int chaos_check_history(const struct history *h, uint64_t max_steps, FILE *out,
                        struct check_summary *sum)
{
    memset(sum, 0, sizeof(*sum));
    tally(h, sum, out);
    uint64_t t0 = UINT64_MAX;
    for (size_t i = 0; i < h->len; i++)
        if (h->ops[i].call_us < t0)
            t0 = h->ops[i].call_us;
    const char *keys[MAX_KEYS];
    int nkeys = collect_keys(h, keys, MAX_KEYS);
    bool failed = sum->anomalies > 0;
    for (int k = 0; k < nkeys; k++) {
        const char *key = keys[k];
        if (key[0] != 'c' || !key[1] || strspn(key + 1, "0123456789") != strlen(key + 1))
            continue;
        sum->counters++;
        if (check_counter(h, key, out))
            sum->counters_ok++;
        else
            failed = true;
    }
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (int k = 0; k < nkeys; k++) {
        sum->keys++;
        int rc = check_key(h, keys[k], max_steps, t0, out, sum);
        if (rc < 0)
            return -1;
        failed |= rc != 0;
    }
    sum->seconds = seconds_since(&start);
    return failed ? 1 : 0;
}
