/* mode_scale.c: how the cost of a write grows with the state (issue 14's first rows).
 *
 * One 3-peer cluster, the same closed-loop clients and mix in two windows: first over
 * 1,000 variables, then, after filling the state machine with --entries variables
 * ("k<i> set <i>", each once), over all of them. Between and during the windows nothing
 * is killed, so every term change is an election the load alone caused (a peer that
 * stalls past the election timeout: a snapshot in the loop, a table that grows at once). */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "bench/load.h"
#include "bench/measure.h"
#include "bench/modes.h"
#include "bench/report.h"
#include "bench/setup.h"

#define SMALL_KEYS 1000u

struct window {
    unsigned keys;
    struct measure m;
    uint64_t elections; /* highest term at the end minus at the start */
    long rss_kib[LOAD_MAX_TARGETS];
    long max_rss_kib;
};

static uint64_t highest_term(struct bench_cluster *bc)
{
    uint64_t term = 0;
    for (int i = 1; i <= bc->n; i++) {
        struct peer_status st;
        if (cluster_status(&bc->c, i, &st) == 0 && st.term > term)
            term = st.term;
    }
    return term;
}

static void read_rss(struct bench_cluster *bc, struct window *w)
{
    w->max_rss_kib = 0;
    for (int i = 0; i < bc->n; i++) {
        long hwm;
        w->rss_kib[i] = -1;
        bench_read_rss(bc->c.pids[i + 1], &w->rss_kib[i], &hwm);
        if (w->rss_kib[i] > w->max_rss_kib)
            w->max_rss_kib = w->rss_kib[i];
    }
}

static int measure_window(struct bench_cluster *bc, struct load_options *lo, const char *name,
                          struct window *w)
{
    char err[512];
    int pids[LOAD_MAX_TARGETS];
    const char *names[LOAD_MAX_TARGETS];
    for (int i = 0; i < bc->n; i++) {
        pids[i] = (int)bc->c.pids[i + 1];
        names[i] = bc->targets[i].name;
    }
    uint64_t term0 = highest_term(bc);
    if (measure_run(load_run, lo, pids, names, bc->n, &w->m, err, sizeof(err)) != 0) {
        fprintf(stderr, "raft_bench: %s window: %s\n", name, err);
        return -1;
    }
    uint64_t term1 = highest_term(bc);
    w->elections = term1 > term0 ? term1 - term0 : 0;
    read_rss(bc, w);
    return 0;
}

static void print_window(const struct bench_options *o, const struct bench_cluster *bc,
                         const char *name, struct window *w)
{
    struct load_result *r = &w->m.r;
    char a[32], b[32], c[32], d[32];
    printf("%-8s %8u %10.1f %8s %8s %8s %8s %9llu %11llu  ", name, w->keys, w->m.ops_per_s,
           report_ms(a, (double)latency_percentile(&r->writes, 50)),
           report_ms(b, (double)latency_percentile(&r->writes, 99)),
           report_ms(c, (double)latency_percentile(&r->writes, 99.9)),
           report_ms(d, (double)latency_max(&r->writes)), (unsigned long long)w->elections,
           (unsigned long long)r->unavailable);
    for (int i = 0; i < bc->n; i++)
        printf("%s%.1f", i ? "/" : "", (double)w->rss_kib[i] / 1024.0);
    printf("\n");
    (void)o;
}

static struct json_object *window_json(const struct bench_cluster *bc, struct window *w)
{
    struct json_object *j = json_object_new_object();
    struct load_result *r = &w->m.r;
    json_object_object_add(j, "variables", json_object_new_int64(w->keys));
    json_object_object_add(j, "ops_per_s", json_object_new_double(w->m.ops_per_s));
    json_object_object_add(j, "write_latency_us", report_latency(&r->writes));
    json_object_object_add(j, "elections", json_object_new_uint64(w->elections));
    json_object_object_add(j, "unavailable", json_object_new_uint64(r->unavailable));
    json_object_object_add(j, "timeouts", json_object_new_uint64(r->timeouts));
    json_object_object_add(j, "bad", json_object_new_uint64(r->bad));
    json_object_object_add(j, "max_runq_wait_share", json_object_new_double(w->m.max_wait_share));
    struct json_object *rss = json_object_new_array();
    for (int i = 0; i < bc->n; i++)
        json_object_array_add(rss, json_object_new_int64(w->rss_kib[i]));
    json_object_object_add(j, "rss_kib", rss);
    return j;
}

static const char *verdict(bool ok)
{
    return ok ? "met" : "NOT met";
}

int mode_scale(const struct bench_options *o)
{
    char err[512];
    if (o->entries < (long)SMALL_KEYS * 2 || o->entries > 4000000) {
        fprintf(stderr, "raft_bench: scale wants --entries between %u and 4000000 variables\n",
                SMALL_KEYS * 2);
        return 2;
    }
    struct bench_cluster bc;
    int leader = bench_cluster_ready(&bc, o);
    if (leader < 0)
        return 2;
    if (!bc.own) {
        fprintf(stderr, "raft_bench: scale starts its own cluster (it fills it); drop -c\n");
        bench_cluster_close(&bc);
        return 2;
    }
    int status = 2;
    /* Each load run its own client ids: a session that starts again at seq 1 would be
     * answered from the exactly-once cache, and nothing would be set. */
    char prefix[48], fill_prefix[48], large_prefix[48];
    snprintf(prefix, sizeof(prefix), "scale-%d-small", (int)getpid());
    snprintf(fill_prefix, sizeof(fill_prefix), "scale-%d-fill", (int)getpid());
    snprintf(large_prefix, sizeof(large_prefix), "scale-%d-large", (int)getpid());
    struct load_options lo = bench_workload(o, &bc, leader, prefix);
    lo.keys = SMALL_KEYS;
    struct window small = {.keys = SMALL_KEYS}, large = {.keys = (unsigned)o->entries};
    bool have_small = false, have_large = false;
    if (measure_window(&bc, &lo, "small", &small) != 0)
        goto out;
    have_small = true;

    /* The fill: every variable once, as fast as the clients go. */
    struct load_options fill = lo;
    fill.warmup_us = 0;
    fill.duration_us = 0;
    fill.fill = (unsigned)o->entries;
    fill.id_prefix = fill_prefix;
    fill.first_target = bench_cluster_leader(&bc, 10000);
    if (fill.first_target < 0)
        fill.first_target = 0;
    struct load_result fr;
    uint64_t t0 = bench_now_us();
    uint64_t term0 = highest_term(&bc);
    if (load_run(&fill, &fr, err, sizeof(err)) != 0) {
        fprintf(stderr, "raft_bench: fill: %s\n", err);
        goto out;
    }
    double fill_s = (double)(bench_now_us() - t0) / 1e6;
    uint64_t fill_elections = highest_term(&bc) - term0;
    uint64_t fill_bad = fr.bad;
    if (fill_bad)
        fprintf(stderr, "raft_bench: the fill had %llu bad answers, the first: %s\n",
                (unsigned long long)fill_bad, fr.first_bad);
    load_result_free(&fr);

    lo.keys = (unsigned)o->entries;
    lo.first_target = bench_cluster_leader(&bc, 10000);
    if (lo.first_target < 0)
        lo.first_target = 0;
    lo.seed = o->seed + 1;
    lo.id_prefix = large_prefix;
    if (measure_window(&bc, &lo, "large", &large) != 0)
        goto out;
    have_large = true;

    double p999_small = (double)latency_percentile(&small.m.r.writes, 99.9);
    double p999_large = (double)latency_percentile(&large.m.r.writes, 99.9);
    double p999_ratio = p999_small > 0 ? p999_large / p999_small : 0;
    double tput_ratio = small.m.ops_per_s > 0 ? large.m.ops_per_s / small.m.ops_per_s : 0;
    bool quiet = large.elections == 0 && large.m.r.unavailable == 0 && small.elections == 0 &&
                 small.m.r.unavailable == 0;
    bool memory_ok = large.max_rss_kib <= 100 * 1024;

    if (!o->json) {
        if (!o->no_header)
            printf("%-8s %8s %10s %8s %8s %8s %8s %9s %11s  %s\n", "window", "vars", "ops/s",
                   "w.p50ms", "w.p99ms", "w.p99.9", "w.maxms", "elections", "unavailable",
                   "RSS MiB per peer");
        print_window(o, &bc, "small", &small);
        printf("  filled %ld variables in %.1f s (%.0f sets/s, %llu elections)\n", o->entries,
               fill_s, (double)o->entries / fill_s, (unsigned long long)fill_elections);
        print_window(o, &bc, "large", &large);
        printf("  target: write p99.9 at %ld variables within 2.5x of %u: %.2fx (%s)\n", o->entries,
               SMALL_KEYS, p999_ratio, verdict(p999_ratio > 0 && p999_ratio <= 2.5));
        printf("  target: throughput at %ld variables at least 0.8x of %u: %.2fx (%s)\n",
               o->entries, SMALL_KEYS, tput_ratio, verdict(tput_ratio >= 0.8));
        printf("  target: 0 elections and 0 unavailable while nothing is killed: %llu and %llu "
               "(%s)\n",
               (unsigned long long)(small.elections + large.elections),
               (unsigned long long)(small.m.r.unavailable + large.m.r.unavailable), verdict(quiet));
        printf("  target: at most ~100 MB per peer: %.1f MiB at most (%s)\n",
               (double)large.max_rss_kib / 1024.0, verdict(memory_ok));
    }
    struct json_object *obj = report_new(o);
    if (obj) {
        json_object_object_add(obj, "clients", json_object_new_int(o->clients));
        json_object_object_add(obj, "mix", json_object_new_string(o->mix.text));
        json_object_object_add(obj, "seconds", json_object_new_double(o->seconds));
        json_object_object_add(obj, "small", window_json(&bc, &small));
        json_object_object_add(obj, "fill_s", json_object_new_double(fill_s));
        json_object_object_add(obj, "fill_elections", json_object_new_uint64(fill_elections));
        json_object_object_add(obj, "large", window_json(&bc, &large));
        json_object_object_add(obj, "p999_ratio", json_object_new_double(p999_ratio));
        json_object_object_add(obj, "throughput_ratio", json_object_new_double(tput_ratio));
        if (report_emit(o, obj, err, sizeof(err)) != 0)
            fprintf(stderr, "raft_bench: %s\n", err);
    }
    status = small.m.r.bad == 0 && large.m.r.bad == 0 && fill_bad == 0 ? 0 : 1;
out:
    if (have_small)
        measure_free(&small.m);
    if (have_large)
        measure_free(&large.m);
    bench_cluster_close(&bc);
    return status;
}
