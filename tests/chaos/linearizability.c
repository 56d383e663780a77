/* linearizability.c: see linearizability.h.
 *
 * The search (Wing and Gong 1993, with Lowe's 2017 memoisation; porcupine's layout):
 * every operation is a call event and a return event, sorted by time into a doubly
 * linked list. Walking the list from its head, a call whose operation the model accepts
 * on the current value is linearized: both its events are unlinked (dancing links) and
 * the walk restarts at the head. Reaching a return event means that operation had
 * finished before everything still in the list was linearized, so the last choice was
 * wrong: undo it and try the next call after it. The list empties iff the history is
 * linearizable. Lowe's cache of (set of linearized ops, value) prunes configurations
 * already explored.
 *
 * An unknown outcome has two ways to be placed: as its effect, at any point of its
 * window, or as "never", which the search chooses only when it reaches the op's return
 * event (the end of its window, or infinity). Both remove the op, so the cache treats
 * them alike: what follows depends only on which ops are done and on the value.
 *
 * The cache stores a 128-bit Zobrist hash of the linearized set instead of the set
 * itself (n bits per entry would cost O(n^2) memory on long histories). A collision
 * could only prune a branch wrongly, i.e. report a linearizable history as not
 * linearizable, with probability about entries^2 / 2^129: never in practice. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/chaos/linearizability.h"

#define NIL UINT32_MAX

struct event {
    uint64_t time;
    uint32_t op;
    uint8_t is_return;
};

/* A free slot has h1 == h2 == 0: the hash of the empty set, which is never stored. */
struct cache_slot {
    uint64_t h1, h2;
    int64_t value;
};

struct search {
    const struct lin_op *ops;
    size_t n;
    /* The list: node 0 is the head; node e + 1 holds sorted event e. */
    uint32_t *prev, *next, *op_of, *match;
    uint8_t *is_call;
    uint64_t *z1, *z2; /* Zobrist keys per op */
    struct cache_slot *cache;
    size_t cache_cap, cache_used;
};

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static bool add_overflows(int64_t x, int64_t y)
{
    return (y > 0 && x > INT64_MAX - y) || (y < 0 && x < INT64_MIN - y);
}

bool lin_step(const struct lin_op *op, int64_t value, int64_t *after)
{
    *after = value;
    switch (op->outcome) {
    case LIN_FAILED:
        if (op->kind != LIN_CAS)
            return true;
        return value != op->a && (!op->has_result || op->result == value);
    case LIN_UNKNOWN:
        if (op->kind == LIN_SET)
            *after = op->a;
        else if (op->kind == LIN_ADD && !add_overflows(value, op->a))
            *after = value + op->a;
        else if (op->kind == LIN_CAS && value == op->a)
            *after = op->b;
        return true;
    case LIN_OK:
        break;
    }
    switch (op->kind) {
    case LIN_GET:
        break;
    case LIN_SET:
        *after = op->a;
        break;
    case LIN_ADD:
        if (add_overflows(value, op->a))
            return false;
        *after = value + op->a;
        break;
    case LIN_CAS:
        if (value != op->a)
            return false;
        *after = op->b;
        break;
    }
    return !op->has_result || op->result == *after;
}

void lin_op_describe(const struct lin_op *op, char *out, size_t outlen)
{
    char args[64] = "";
    static const char *const names[] = {"get", "set", "add", "cas"};
    if (op->kind == LIN_SET || op->kind == LIN_ADD)
        snprintf(args, sizeof(args), " %lld", (long long)op->a);
    else if (op->kind == LIN_CAS)
        snprintf(args, sizeof(args), " %lld %lld", (long long)op->a, (long long)op->b);
    const char *name = (unsigned)op->kind < 4 ? names[op->kind] : "?";
    if (op->outcome == LIN_UNKNOWN)
        snprintf(out, outlen, "%s%s -> unknown", name, args);
    else if (op->outcome == LIN_FAILED && op->has_result)
        snprintf(out, outlen, "%s%s -> failed(%lld)", name, args, (long long)op->result);
    else if (op->outcome == LIN_FAILED)
        snprintf(out, outlen, "%s%s -> failed", name, args);
    else if (op->has_result)
        snprintf(out, outlen, "%s%s -> %lld", name, args, (long long)op->result);
    else
        snprintf(out, outlen, "%s%s -> ok", name, args);
}

static int event_cmp(const void *pa, const void *pb)
{
    const struct event *a = pa, *b = pb;
    if (a->time != b->time)
        return a->time < b->time ? -1 : 1;
    /* At equal times calls come first: operations that touch count as concurrent. */
    if (a->is_return != b->is_return)
        return a->is_return ? 1 : -1;
    return a->op < b->op ? -1 : a->op > b->op;
}

static size_t slot_of(const struct search *s, uint64_t h1, int64_t value)
{
    uint64_t x = h1 ^ ((uint64_t)value * 0x9e3779b97f4a7c15ULL);
    x ^= x >> 29;
    return (size_t)x & (s->cache_cap - 1);
}

/* 1 if the configuration was new (and is now remembered), 0 if seen, -1 out of memory. */
static int cache_insert(struct search *s, uint64_t h1, uint64_t h2, int64_t value)
{
    if ((s->cache_used + 1) * 4 > s->cache_cap * 3) {
        size_t cap = s->cache_cap ? s->cache_cap * 2 : 1024;
        struct cache_slot *old = s->cache, *grown = calloc(cap, sizeof(*grown));
        if (!grown)
            return -1;
        size_t old_cap = s->cache_cap;
        s->cache = grown;
        s->cache_cap = cap;
        for (size_t i = 0; i < old_cap; i++) {
            if (!old[i].h1 && !old[i].h2)
                continue;
            size_t j = slot_of(s, old[i].h1, old[i].value);
            while (grown[j].h1 || grown[j].h2)
                j = (j + 1) & (cap - 1);
            grown[j] = old[i];
        }
        free(old);
    }
    if (!h1 && !h2)
        h1 = 1; /* a non-empty set hashing to 0: probability 2^-128 */
    size_t j = slot_of(s, h1, value);
    while (s->cache[j].h1 || s->cache[j].h2) {
        const struct cache_slot *c = &s->cache[j];
        if (c->h1 == h1 && c->h2 == h2 && c->value == value)
            return 0;
        j = (j + 1) & (s->cache_cap - 1);
    }
    s->cache[j] = (struct cache_slot){.h1 = h1, .h2 = h2, .value = value};
    s->cache_used++;
    return 1;
}

static void unlink_node(struct search *s, uint32_t x)
{
    s->next[s->prev[x]] = s->next[x];
    if (s->next[x] != NIL)
        s->prev[s->next[x]] = s->prev[x];
}

static void relink_node(struct search *s, uint32_t x)
{
    s->next[s->prev[x]] = x;
    if (s->next[x] != NIL)
        s->prev[s->next[x]] = x;
}

static void lift(struct search *s, uint32_t call)
{
    unlink_node(s, call);
    unlink_node(s, s->match[call]);
}

static void unlift(struct search *s, uint32_t call)
{
    relink_node(s, s->match[call]);
    relink_node(s, call);
}

static void search_free(struct search *s)
{
    free(s->prev);
    free(s->next);
    free(s->op_of);
    free(s->match);
    free(s->is_call);
    free(s->z1);
    free(s->z2);
    free(s->cache);
}

static int search_init(struct search *s, const struct lin_op *ops, size_t n)
{
    memset(s, 0, sizeof(*s));
    s->ops = ops;
    s->n = n;
    size_t nodes = 2 * n + 1;
    struct event *ev = malloc(2 * n * sizeof(*ev));
    s->prev = malloc(nodes * sizeof(*s->prev));
    s->next = malloc(nodes * sizeof(*s->next));
    s->op_of = malloc(nodes * sizeof(*s->op_of));
    s->match = malloc(nodes * sizeof(*s->match));
    s->is_call = malloc(nodes);
    s->z1 = malloc(n * sizeof(*s->z1));
    s->z2 = malloc(n * sizeof(*s->z2));
    uint32_t *call_node = malloc(n * sizeof(*call_node));
    if (!ev || !s->prev || !s->next || !s->op_of || !s->match || !s->is_call || !s->z1 || !s->z2 ||
        !call_node) {
        free(ev);
        free(call_node);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        ev[2 * i] = (struct event){.time = ops[i].call_us, .op = (uint32_t)i};
        ev[2 * i + 1] = (struct event){.time = ops[i].return_us, .op = (uint32_t)i, .is_return = 1};
    }
    qsort(ev, 2 * n, sizeof(*ev), event_cmp);
    for (size_t e = 0; e < 2 * n; e++) {
        uint32_t x = (uint32_t)(e + 1);
        s->op_of[x] = ev[e].op;
        s->is_call[x] = !ev[e].is_return;
        if (!ev[e].is_return) {
            call_node[ev[e].op] = x;
        } else {
            s->match[call_node[ev[e].op]] = x;
            s->match[x] = call_node[ev[e].op];
        }
    }
    for (size_t x = 0; x < nodes; x++) {
        s->prev[x] = x == 0 ? NIL : (uint32_t)(x - 1);
        s->next[x] = x + 1 < nodes ? (uint32_t)(x + 1) : NIL;
    }
    uint64_t seed = 0x5eed0f11ea7ab1e5ULL;
    for (size_t i = 0; i < n; i++) {
        s->z1[i] = splitmix64(&seed);
        s->z2[i] = splitmix64(&seed);
    }
    free(ev);
    free(call_node);
    return 0;
}

/* Where the search stands among a configuration's choices: the definite calls that may
 * go next (those before the first return left in the list), then the unknown ones, then,
 * when that first return belongs to an unknown op, "it never happened". Definite ops go
 * first because the common case is a history whose unknown ops mostly took no effect or
 * took it late; trying them eagerly would explore subsets of every pending unknown op. */
enum phase { PH_DEFINITE, PH_UNKNOWN, PH_NEVER, PH_DONE };

struct cursor {
    enum phase phase;
    uint32_t node;
};

/* The first choice at or after c (c.node is where to continue the scan). */
static struct cursor next_choice(const struct search *s, struct cursor c)
{
    while (c.phase == PH_DEFINITE || c.phase == PH_UNKNOWN) {
        uint32_t x = c.node;
        if (x == NIL || !s->is_call[x]) {
            if (c.phase == PH_DEFINITE) {
                c = (struct cursor){PH_UNKNOWN, s->next[0]};
                continue;
            }
            if (x != NIL && s->ops[s->op_of[x]].outcome == LIN_UNKNOWN)
                return (struct cursor){PH_NEVER, x};
            return (struct cursor){PH_DONE, x};
        }
        bool unknown = s->ops[s->op_of[x]].outcome == LIN_UNKNOWN;
        if (unknown == (c.phase == PH_UNKNOWN))
            return c;
        c.node = s->next[x];
    }
    return c;
}

struct frame {
    uint32_t call; /* the call node of the op placed (or taken as never happening) */
    uint8_t phase;
    int64_t value; /* the value before */
};

/* Runs the search. Stops early (returning 2) after stop_at steps when stop_at != 0,
 * leaving the stack as it was then. 0 linearizable, 1 not, 3 budget exhausted, -1 OOM.
 * *best_step receives the step at which the deepest dead end was first reached. */
static int search_run(struct search *s, struct frame *stack, int64_t initial, uint64_t max_steps,
                      uint64_t stop_at, uint64_t *steps_out, size_t *depth_out, uint64_t *best_step,
                      size_t *best_depth, uint32_t *stuck_op, int64_t *stuck_value)
{
    uint64_t h1 = 0, h2 = 0, steps = 0;
    int64_t value = initial;
    size_t depth = 0, definite_left = 0;
    for (size_t i = 0; i < s->n; i++)
        definite_left += s->ops[i].outcome != LIN_UNKNOWN;
    struct cursor c = {PH_DEFINITE, s->next[0]};
    int rc = 0;
    *best_depth = 0;
    *best_step = 0;
    /* Once every definite op is placed, the unknown ones left can all be "never". */
    while (definite_left > 0) {
        steps++;
        if (stop_at && steps >= stop_at) {
            rc = 2;
            break;
        }
        if (max_steps && steps > max_steps) {
            rc = 3;
            break;
        }
        c = next_choice(s, c);
        if (c.phase != PH_DONE) {
            uint32_t call = c.phase == PH_NEVER ? s->match[c.node] : c.node;
            uint32_t op = s->op_of[call];
            int64_t after = value;
            if (c.phase == PH_NEVER || lin_step(&s->ops[op], value, &after)) {
                int fresh = cache_insert(s, h1 ^ s->z1[op], h2 ^ s->z2[op], after);
                if (fresh < 0)
                    return -1;
                if (fresh) {
                    stack[depth++] = (struct frame){call, (uint8_t)c.phase, value};
                    h1 ^= s->z1[op];
                    h2 ^= s->z2[op];
                    value = after;
                    definite_left -= s->ops[op].outcome != LIN_UNKNOWN;
                    lift(s, call);
                    c = (struct cursor){PH_DEFINITE, s->next[0]};
                    continue;
                }
            }
            if (c.phase == PH_NEVER)
                c.phase = PH_DONE;
            else
                c.node = s->next[c.node];
            continue;
        }
        /* Dead end: c.node is the return of a definite op that should have been placed. */
        if (depth > *best_depth || *best_step == 0) {
            *best_depth = depth;
            *best_step = steps;
            *stuck_op = c.node == NIL ? 0 : s->op_of[c.node];
            *stuck_value = value;
        }
        /* Undo choices until one has an alternative left. */
        for (;;) {
            if (depth == 0) {
                rc = 1;
                goto out;
            }
            struct frame f = stack[--depth];
            uint32_t op = s->op_of[f.call];
            h1 ^= s->z1[op];
            h2 ^= s->z2[op];
            value = f.value;
            definite_left += s->ops[op].outcome != LIN_UNKNOWN;
            unlift(s, f.call);
            if (f.phase != PH_NEVER) {
                c = (struct cursor){(enum phase)f.phase, s->next[f.call]};
                break;
            }
        }
    }
out:
    *steps_out = steps;
    *depth_out = depth;
    return rc;
}

int lin_check(const struct lin_op *ops, size_t n, const struct lin_options *opt,
              struct lin_result *res, char *err, size_t errlen)
{
    memset(res, 0, sizeof(*res));
    if (n >= (size_t)INT32_MAX / 2) {
        snprintf(err, errlen, "history too long (%zu operations)", n);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if ((unsigned)ops[i].kind > LIN_CAS || (unsigned)ops[i].outcome > LIN_UNKNOWN) {
            snprintf(err, errlen, "operation %zu: unknown kind or outcome", i);
            return -1;
        }
        if (ops[i].return_us < ops[i].call_us) {
            snprintf(err, errlen, "operation %zu returns before it is called", i);
            return -1;
        }
    }
    res->verdict = LIN_LINEARIZABLE;
    if (n == 0)
        return 0;
    int64_t initial = opt ? opt->initial : 0;
    uint64_t max_steps = opt ? opt->max_steps : 0;
    struct search s;
    struct frame *stack = malloc(n * sizeof(*stack));
    if (search_init(&s, ops, n) != 0 || !stack)
        goto oom;
    uint64_t steps, best_step;
    size_t depth, best_depth;
    uint32_t stuck = 0;
    int64_t stuck_value = 0;
    int rc = search_run(&s, stack, initial, max_steps, 0, &steps, &depth, &best_step, &best_depth,
                        &stuck, &stuck_value);
    if (rc < 0)
        goto oom;
    res->steps = steps;
    res->cache_entries = s.cache_used;
    if (rc == 0) {
        search_free(&s);
        free(stack);
        return 0;
    }
    res->verdict = rc == 1 ? LIN_NOT_LINEARIZABLE : LIN_GAVE_UP;
    res->longest = best_depth;
    res->stuck = stuck;
    res->stuck_value = stuck_value;
    if (rc == 1) {
        /* The search is deterministic: run it again to the step where it went deepest,
         * and read the linearization off the stack there. Cheaper than copying the
         * stack every time the search goes deeper. */
        search_free(&s);
        if (search_init(&s, ops, n) != 0)
            goto oom;
        uint64_t steps2, bs2;
        size_t bd2;
        uint32_t st2;
        int64_t sv2;
        rc = search_run(&s, stack, initial, 0, best_step, &steps2, &depth, &bs2, &bd2, &st2, &sv2);
        if (rc < 0)
            goto oom;
        res->order = malloc((depth ? depth : 1) * sizeof(*res->order));
        if (!res->order)
            goto oom;
        res->longest = 0;
        for (size_t i = 0; i < depth; i++)
            if (stack[i].phase != PH_NEVER)
                res->order[res->longest++] = s.op_of[stack[i].call];
    }
    search_free(&s);
    free(stack);
    return 0;
oom:
    search_free(&s);
    free(stack);
    snprintf(err, errlen, "out of memory checking %zu operations", n);
    return -1;
}
