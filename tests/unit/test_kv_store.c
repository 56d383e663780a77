/* test_kv_store.c: the variable table: incremental growth, lookups and deletes in the
 * middle of a growth, the bound on one call's work, canonical visiting order. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "raft_peer/sm/kv_store.h"

#define MAX_VISITS 20000

struct visits {
    char names[MAX_VISITS][COMMAND_NAME_MAX + 1];
    int64_t values[MAX_VISITS];
    size_t n;
};

static void record(void *ctx, const char *name, int64_t value)
{
    struct visits *v = ctx;
    cr_assert_lt(v->n, MAX_VISITS);
    snprintf(v->names[v->n], sizeof(v->names[0]), "%s", name);
    v->values[v->n] = value;
    v->n++;
}

static struct visits *visit(const struct kv_store *kv)
{
    struct visits *v = calloc(1, sizeof(*v));
    cr_assert_not_null(v);
    kv_foreach(kv, record, v);
    return v;
}

/* kv_foreach visits every variable once, strictly increasing in canonical order. */
static void check_canonical(const struct kv_store *kv)
{
    struct visits *v = visit(kv);
    cr_assert_eq(v->n, kv_count(kv));
    for (size_t i = 1; i < v->n; i++) {
        const char *a = v->names[i - 1], *b = v->names[i];
        cr_assert_lt(kv_canonical_cmp(kv_hash(a, strlen(a)), a, kv_hash(b, strlen(b)), b), 0,
                     "%s before %s", a, b);
    }
    free(v);
}

static void name_of(char *out, size_t outlen, int k)
{
    snprintf(out, outlen, "var_%d", k);
}

/* A model: value of var_k, or absent. */
#define N_MODEL 6000
struct model {
    bool present[N_MODEL];
    int64_t value[N_MODEL];
};

static void check_model(const struct kv_store *kv, const struct model *m)
{
    size_t count = 0;
    for (int k = 0; k < N_MODEL; k++) {
        char name[32];
        name_of(name, sizeof(name), k);
        int64_t v = 12345;
        bool found = kv_get(kv, name, &v);
        cr_assert_eq(found, m->present[k], "%s", name);
        if (found)
            cr_assert_eq(v, m->value[k], "%s", name);
        count += m->present[k];
    }
    cr_assert_eq(kv_count(kv), count);
}

Test(kv_store, grows_across_many_rehashes_with_lookups_and_deletes_during_them)
{
    struct kv_store *kv = kv_new();
    cr_assert_not_null(kv);
    struct model *m = calloc(1, sizeof(*m));
    cr_assert_not_null(m);
    struct kv_stats st;
    size_t checks_mid_growth = 0, checked_growth = 0;
    unsigned x = 7;
    for (int k = 0; k < N_MODEL; k++) {
        char name[32];
        name_of(name, sizeof(name), k);
        cr_assert_eq(kv_set(kv, name, k * 3), 0);
        m->present[k] = true;
        m->value[k] = k * 3;
        /* Some churn: overwrite and delete earlier names, some of them twice. */
        x = x * 1103515245u + 12345u;
        int j = (int)((x >> 8) % (unsigned)(k + 1));
        name_of(name, sizeof(name), j);
        if ((x >> 4) % 3 == 0) {
            int64_t old = -1;
            bool was = kv_del(kv, name, &old);
            cr_assert_eq(was, m->present[j]);
            if (was)
                cr_assert_eq(old, m->value[j]);
            m->present[j] = false;
        } else if ((x >> 4) % 3 == 1) {
            cr_assert_eq(kv_set(kv, name, -j), 0);
            m->present[j] = true;
            m->value[j] = -j;
        }
        kv_stats(kv, &st);
        /* The whole model now and then, and every time a growth is half done. */
        bool halfway = st.old_buckets != 0 && st.rehash_next >= st.old_buckets / 2 &&
                       checked_growth != st.growths;
        if (k % 500 == 0 || halfway) {
            check_model(kv, m);
            check_canonical(kv);
            checks_mid_growth += st.old_buckets != 0;
            if (halfway)
                checked_growth = st.growths;
        }
    }
    kv_stats(kv, &st);
    cr_assert_geq(st.growths, 7, "16 buckets to at least 2048: %zu growths", st.growths);
    cr_assert_geq(checks_mid_growth, 5, "checked in the middle of growths");
    check_model(kv, m);
    check_canonical(kv);

    /* Delete everything, then insert again: entries are reused. */
    for (int k = 0; k < N_MODEL; k++) {
        char name[32];
        name_of(name, sizeof(name), k);
        cr_assert_eq(kv_del(kv, name, NULL), m->present[k]);
        m->present[k] = false;
    }
    cr_assert_eq(kv_count(kv), 0);
    cr_assert_eq(kv_name_bytes(kv), 0);
    check_model(kv, m);
    for (int k = 0; k < N_MODEL; k += 3) {
        char name[32];
        name_of(name, sizeof(name), k);
        cr_assert_eq(kv_set(kv, name, k), 0);
        m->present[k] = true;
        m->value[k] = k;
    }
    check_model(kv, m);
    check_canonical(kv);
    free(m);
    kv_free(kv);
}

Test(kv_store, one_call_moves_a_bounded_number_of_buckets)
{
    struct kv_store *kv = kv_new();
    struct kv_stats st;
    size_t growing_calls = 0;
    for (int k = 0; k < 200000; k++) {
        char name[32];
        name_of(name, sizeof(name), k);
        cr_assert_eq(kv_set(kv, name, k), 0);
        kv_stats(kv, &st);
        cr_assert_leq(st.last_moved, KV_REHASH_STEP);
        growing_calls += st.old_buckets != 0;
        /* The load stays at most 1 (plus the inserts a growth in progress absorbs), so
         * a growth never has to be finished in one go. */
        cr_assert_leq(kv_count(kv), st.buckets, "%d: %zu variables in %zu buckets", k, kv_count(kv),
                      st.buckets);
    }
    cr_assert_eq(st.max_moved, KV_REHASH_STEP);
    cr_assert_geq(st.growths, 14);
    /* The last growth alone, 131072 old buckets, took 131072 / KV_REHASH_STEP calls. */
    cr_assert_geq(growing_calls, 131072 / KV_REHASH_STEP, "growths spread over many calls: %zu",
                  growing_calls);
    /* Deletes help a growth along too, with the same bound. */
    for (int k = 0; k < 200000; k += 2) {
        char name[32];
        name_of(name, sizeof(name), k);
        cr_assert(kv_del(kv, name, NULL));
        kv_stats(kv, &st);
        cr_assert_leq(st.last_moved, KV_REHASH_STEP);
    }
    cr_assert_eq(st.max_moved, KV_REHASH_STEP);
    kv_free(kv);
}

Test(kv_store, reserved_table_does_not_grow)
{
    struct kv_store *kv = kv_new_reserved(5000, 5000 * 9);
    cr_assert_not_null(kv);
    for (int k = 0; k < 5000; k++) {
        char name[32];
        name_of(name, sizeof(name), k);
        cr_assert_eq(kv_set(kv, name, k), 0);
    }
    struct kv_stats st;
    kv_stats(kv, &st);
    cr_assert_eq(st.growths, 0);
    cr_assert_eq(st.buckets, 8192);
    /* Past the reservation it grows as usual. */
    for (int k = 5000; k < 9000; k++) {
        char name[32];
        name_of(name, sizeof(name), k);
        cr_assert_eq(kv_set(kv, name, k), 0);
    }
    kv_stats(kv, &st);
    cr_assert_eq(st.growths, 1);
    check_canonical(kv);
    kv_free(kv);
}

/* The visiting order depends on the set of names only: inserting in any order, with
 * other names added and deleted on the way, at any table size, mid-growth or not. */
Test(kv_store, order_depends_only_on_the_names)
{
    enum { N = 3000 };
    struct kv_store *a = kv_new(), *b = kv_new(), *c = kv_new_reserved(N, N * 10);
    for (int k = 0; k < N; k++) {
        char name[32];
        name_of(name, sizeof(name), k);
        cr_assert_eq(kv_set(a, name, k), 0);
        name_of(name, sizeof(name), N - 1 - k);
        cr_assert_eq(kv_set(c, name, N - 1 - k), 0);
    }
    /* b: 9000 extra names, then the real ones in a scrambled order, then the extras go:
     * b's table is 8 times a's. */
    for (int k = 0; k < 9000; k++) {
        char name[32];
        snprintf(name, sizeof(name), "extra%d", k);
        cr_assert_eq(kv_set(b, name, 1), 0);
    }
    for (int k = 0; k < N; k++) {
        int j = (int)(((unsigned)k * 1237u) % N);
        char name[32];
        name_of(name, sizeof(name), j);
        cr_assert_eq(kv_set(b, name, j), 0);
    }
    for (int k = 0; k < 9000; k++) {
        char name[32];
        snprintf(name, sizeof(name), "extra%d", k);
        cr_assert(kv_del(b, name, NULL));
    }
    struct kv_stats sa, sb;
    kv_stats(a, &sa);
    kv_stats(b, &sb);
    cr_assert_neq(sa.buckets, sb.buckets, "sanity: different table sizes");

    struct visits *va = visit(a), *vb = visit(b), *vc = visit(c);
    cr_assert_eq(va->n, (size_t)N);
    cr_assert_eq(vb->n, va->n);
    cr_assert_eq(vc->n, va->n);
    for (size_t i = 0; i < va->n; i++) {
        cr_assert_str_eq(va->names[i], vb->names[i]);
        cr_assert_str_eq(va->names[i], vc->names[i]);
        cr_assert_eq(va->values[i], vb->values[i]);
    }
    free(vb);

    free(va);
    free(vc);
    kv_free(a);
    kv_free(b);
    kv_free(c);

    /* Mid-growth: d is a quarter through a growth, e holds the same names in a table
     * reserved big enough never to grow, filled in reverse. */
    struct kv_store *d = kv_new(), *e = kv_new_reserved(3 * N, 30 * N);
    struct kv_stats sd;
    int extra;
    for (int k = 0; k < N; k++) {
        char name[32];
        name_of(name, sizeof(name), k);
        cr_assert_eq(kv_set(d, name, k), 0);
    }
    for (extra = 0;; extra++) {
        char name[32];
        snprintf(name, sizeof(name), "extra%d", extra);
        cr_assert_eq(kv_set(d, name, extra), 0);
        kv_stats(d, &sd);
        if (sd.old_buckets != 0 && sd.rehash_next >= sd.old_buckets / 4)
            break;
    }
    for (int j = extra; j >= 0; j--) {
        char name[32];
        snprintf(name, sizeof(name), "extra%d", j);
        cr_assert_eq(kv_set(e, name, j), 0);
    }
    for (int k = N - 1; k >= 0; k--) {
        char name[32];
        name_of(name, sizeof(name), k);
        cr_assert_eq(kv_set(e, name, k), 0);
    }
    kv_stats(d, &sd);
    cr_assert_neq(sd.old_buckets, 0, "sanity: d is growing");
    struct visits *vd = visit(d), *ve = visit(e);
    cr_assert_eq(vd->n, kv_count(d));
    cr_assert_eq(ve->n, vd->n);
    for (size_t i = 0; i < vd->n; i++) {
        cr_assert_str_eq(vd->names[i], ve->names[i]);
        cr_assert_eq(vd->values[i], ve->values[i]);
    }
    free(vd);
    free(ve);
    kv_free(d);
    kv_free(e);
}

Test(kv_store, sorted_visit_and_limits)
{
    struct kv_store *kv = kv_new();
    const char *names[] = {"delta", "alpha", "Zulu", "_x", "charlie", "bravo"};
    for (size_t k = 0; k < 6; k++)
        cr_assert_eq(kv_set(kv, names[k], (int64_t)k), 0);
    struct visits *v = calloc(1, sizeof(*v));
    cr_assert_eq(kv_foreach_sorted(kv, record, v), 0);
    const char *want[] = {"Zulu", "_x", "alpha", "bravo", "charlie", "delta"};
    cr_assert_eq(v->n, 6);
    for (size_t k = 0; k < 6; k++)
        cr_assert_str_eq(v->names[k], want[k]);
    free(v);

    char longest[COMMAND_NAME_MAX + 2];
    memset(longest, 'a', sizeof(longest));
    longest[COMMAND_NAME_MAX + 1] = '\0';
    cr_assert_eq(kv_set(kv, longest, 1), -1, "65 characters");
    longest[COMMAND_NAME_MAX] = '\0';
    cr_assert_eq(kv_set(kv, longest, 7), 0, "64 characters");
    int64_t got = 0;
    cr_assert(kv_get(kv, longest, &got));
    cr_assert_eq(got, 7);
    cr_assert_eq(kv_name_bytes(kv), 5 + 5 + 4 + 2 + 7 + 5 + COMMAND_NAME_MAX);
    kv_free(kv);
}

/* Entries keep only the top 32 bits of the hash; two names that share them are ordered
 * by recomputing the full hashes. Find such a pair by brute force (about 300,000 names
 * give a few) and check lookups, deletes and the order with both insertion orders. */
struct hashed {
    uint64_t h;
    int k;
};

static int cmp_hashed(const void *a, const void *b)
{
    uint64_t x = ((const struct hashed *)a)->h, y = ((const struct hashed *)b)->h;
    return x < y ? -1 : x > y;
}

Test(kv_store, names_sharing_the_top_half_of_their_hash)
{
    enum { N = 300000 };
    struct hashed *v = malloc(N * sizeof(*v));
    cr_assert_not_null(v);
    for (int k = 0; k < N; k++) {
        char name[32];
        snprintf(name, sizeof(name), "c%d", k);
        v[k].h = kv_hash(name, strlen(name));
        v[k].k = k;
    }
    qsort(v, N, sizeof(*v), cmp_hashed);
    int found = 0;
    for (int i = 1; i < N && found < 3; i++) {
        if (v[i].h >> 32 != v[i - 1].h >> 32)
            continue;
        found++;
        char a[32], b[32], other[32];
        snprintf(a, sizeof(a), "c%d", v[i - 1].k);
        snprintf(b, sizeof(b), "c%d", v[i].k);
        cr_assert_neq(v[i].h, v[i - 1].h, "a full 64-bit collision: pick another name set");
        for (int order = 0; order < 2; order++) {
            struct kv_store *kv = kv_new();
            cr_assert_eq(kv_set(kv, order ? b : a, 1), 0);
            /* Fillers, so the pair lives through growths. */
            for (int k = 0; k < 2000; k++) {
                snprintf(other, sizeof(other), "f%d", k);
                cr_assert_eq(kv_set(kv, other, k), 0);
            }
            cr_assert_eq(kv_set(kv, order ? a : b, 2), 0);
            int64_t x;
            cr_assert(kv_get(kv, a, &x));
            cr_assert_eq(x, order ? 2 : 1);
            cr_assert(kv_get(kv, b, &x));
            cr_assert_eq(x, order ? 1 : 2);
            check_canonical(kv);
            cr_assert(kv_del(kv, a, NULL));
            cr_assert_not(kv_get(kv, a, NULL));
            cr_assert(kv_get(kv, b, NULL));
            check_canonical(kv);
            kv_free(kv);
        }
    }
    cr_assert_gt(found, 0, "no pair sharing the top 32 bits among %d names", N);
    free(v);
}

struct named_value {
    char name[COMMAND_NAME_MAX + 1];
    int64_t value;
};

static void take_named(void *ctx, const char *name, int64_t value)
{
    struct named_value **p = ctx;
    snprintf((*p)->name, sizeof((*p)->name), "%s", name);
    (*p)->value = value;
    (*p)++;
}

/* A snapshot load: names appended in canonical order give the table kv_set gives, which
 * then behaves as any other (lookups, overwrites, deletes, growth); appends out of order
 * or after another change still land right (kv_set_hashed's path). */
Test(kv_store, canonical_appends_build_the_same_table)
{
    enum { N = 5000 };
    struct kv_store *ref = kv_new();
    for (int k = 0; k < N; k++) {
        char name[32];
        name_of(name, sizeof(name), k);
        cr_assert_eq(kv_set(ref, name, k * 3), 0);
    }
    struct named_value *order = calloc(N, sizeof(*order)), *p = order;
    cr_assert_not_null(order);
    kv_foreach(ref, take_named, &p);
    cr_assert_eq(p - order, N);

    struct kv_store *kv = kv_new_reserved(N, N * 9);
    cr_assert_not_null(kv);
    for (int i = 0; i < N; i++) {
        size_t len = strlen(order[i].name);
        cr_assert_eq(kv_append_canonical(kv, order[i].name, len, kv_hash(order[i].name, len),
                                         order[i].value),
                     0);
    }
    struct kv_stats st;
    kv_stats(kv, &st);
    cr_assert_eq(st.growths, 0);
    cr_assert_eq(kv_count(kv), (size_t)N);
    cr_assert_eq(kv_name_bytes(kv), kv_name_bytes(ref));
    check_canonical(kv);
    struct visits *va = visit(ref), *vb = visit(kv);
    for (size_t i = 0; i < va->n; i++) {
        cr_assert_str_eq(va->names[i], vb->names[i]);
        cr_assert_eq(va->values[i], vb->values[i]);
    }
    free(va);
    free(vb);
    for (int k = 0; k < N; k++) {
        char name[32];
        int64_t v;
        name_of(name, sizeof(name), k);
        cr_assert(kv_get(kv, name, &v), "%s", name);
        cr_assert_eq(v, k * 3);
    }
    /* Then used as any table: delete, overwrite, grow. */
    for (int k = 0; k < N; k += 3) {
        char name[32];
        name_of(name, sizeof(name), k);
        cr_assert(kv_del(kv, name, NULL));
    }
    for (int k = 0; k < 4 * N; k++) {
        char name[32];
        name_of(name, sizeof(name), k);
        cr_assert_eq(kv_set(kv, name, -k), 0);
    }
    kv_stats(kv, &st);
    cr_assert_geq(st.growths, 1);
    cr_assert_eq(kv_count(kv), (size_t)(4 * N));
    check_canonical(kv);

    /* Appends out of order (every name twice, the second round backwards, so each is
     * both a repeat and before the last one): the same table as kv_set's. */
    struct kv_store *mixed = kv_new_reserved(N, N * 9);
    cr_assert_not_null(mixed);
    for (int i = 0; i < N; i += 2) {
        size_t len = strlen(order[i].name);
        cr_assert_eq(kv_append_canonical(mixed, order[i].name, len, kv_hash(order[i].name, len), 1),
                     0);
    }
    for (int i = N - 1; i >= 0; i--) {
        size_t len = strlen(order[i].name);
        cr_assert_eq(kv_append_canonical(mixed, order[i].name, len, kv_hash(order[i].name, len),
                                         order[i].value),
                     0);
    }
    cr_assert_eq(kv_count(mixed), (size_t)N);
    check_canonical(mixed);
    va = visit(ref);
    vb = visit(mixed);
    for (size_t i = 0; i < va->n; i++) {
        cr_assert_str_eq(va->names[i], vb->names[i]);
        cr_assert_eq(va->values[i], vb->values[i]);
    }
    free(va);
    free(vb);
    free(order);
    kv_free(mixed);
    kv_free(kv);
    kv_free(ref);
}
