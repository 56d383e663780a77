/* mode_scale.c: how the cost of a write grows with the state (issue 14's first rows).
 *
 * Two 3-peer clusters, the same closed-loop clients and mix: one whose state holds
 * 1,000 variables ("small"), and one filled first with --entries variables ("k<i> set
 * <i>", each once) and then written over all of them ("large"). The windows alternate,
 * large small small large, each half of -T: a machine whose speed drifts over a minute
 * (a VM's neighbours, the host reclaiming memory) then weighs on both sides alike,
 * where one window after the other put all of the drift into the ratio. The cluster not
 * being measured is idle. Nothing is killed, so every term change is an election the
 * load alone caused (a peer that stalls past the election timeout: a snapshot in the
 * loop, a table that grows at once). */
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
#define ISSUE_KEYS 300000u /* where issue 14 bounds the p99.9 and throughput ratios */

/* One side's windows, summed. */
struct window {
    unsigned keys;
    struct latency writes;
    uint64_t ops, unavailable, timeouts, bad;
    double seconds; /* measured, summed over its windows */
    double max_wait_share;
    uint64_t elections;             /* highest term at the end minus at the start, summed */
    long rss_kib[LOAD_MAX_TARGETS]; /* after its windows, the largest */
    long max_rss_kib;
    long max_hwm_kib; /* the largest VmHWM of its peers: their peak, fill included */
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
    for (int i = 0; i < bc->n; i++) {
        long hwm = -1, rss = -1;
        bench_read_rss(bc->c.pids[i + 1], &rss, &hwm);
        if (rss > w->rss_kib[i])
            w->rss_kib[i] = rss;
        if (rss > w->max_rss_kib)
            w->max_rss_kib = rss;
        if (hwm > w->max_hwm_kib)
            w->max_hwm_kib = hwm;
    }
}

/* One window of lo on bc, added to w. */
static int measure_window(struct bench_cluster *bc, const struct load_options *lo, const char *name,
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
    struct measure m;
    if (measure_run(load_run, lo, pids, names, bc->n, &m, err, sizeof(err)) != 0) {
        fprintf(stderr, "raft_bench: %s window: %s\n", name, err);
        return -1;
    }
    uint64_t term1 = highest_term(bc);
    w->elections += term1 > term0 ? term1 - term0 : 0;
    int rc = latency_merge(&w->writes, &m.r.writes);
    if (rc != 0)
        fprintf(stderr, "raft_bench: %s window: out of memory for its samples\n", name);
    w->ops += m.r.ops;
    w->unavailable += m.r.unavailable;
    w->timeouts += m.r.timeouts;
    w->bad += m.r.bad;
    w->seconds += (double)m.r.window_us / 1e6;
    if (m.max_wait_share > w->max_wait_share)
        w->max_wait_share = m.max_wait_share;
    measure_free(&m);
    read_rss(bc, w);
    return rc;
}

static double ops_per_s(const struct window *w)
{
    return w->seconds > 0 ? (double)w->ops / w->seconds : 0;
}

static void print_window(const struct bench_cluster *bc, const char *name, struct window *w)
{
    char a[32], b[32], c[32], d[32];
    printf("%-8s %8u %10.1f %8s %8s %8s %8s %9llu %11llu  ", name, w->keys, ops_per_s(w),
           report_ms(a, (double)latency_percentile(&w->writes, 50)),
           report_ms(b, (double)latency_percentile(&w->writes, 99)),
           report_ms(c, (double)latency_percentile(&w->writes, 99.9)),
           report_ms(d, (double)latency_max(&w->writes)), (unsigned long long)w->elections,
           (unsigned long long)w->unavailable);
    for (int i = 0; i < bc->n; i++)
        printf("%s%.1f", i ? "/" : "", (double)w->rss_kib[i] / 1024.0);
    printf("\n");
}

static struct json_object *window_json(const struct bench_cluster *bc, struct window *w)
{
    struct json_object *j = json_object_new_object();
    json_object_object_add(j, "variables", json_object_new_int64(w->keys));
    json_object_object_add(j, "ops_per_s", json_object_new_double(ops_per_s(w)));
    json_object_object_add(j, "write_latency_us", report_latency(&w->writes));
    json_object_object_add(j, "elections", json_object_new_uint64(w->elections));
    json_object_object_add(j, "unavailable", json_object_new_uint64(w->unavailable));
    json_object_object_add(j, "timeouts", json_object_new_uint64(w->timeouts));
    json_object_object_add(j, "bad", json_object_new_uint64(w->bad));
    json_object_object_add(j, "max_runq_wait_share", json_object_new_double(w->max_wait_share));
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

/* The fill: every variable once, as fast as the clients go. */
static int fill_cluster(struct bench_cluster *bc, const struct load_options *lo, long entries,
                        const char *prefix, double *seconds, uint64_t *elections, uint64_t *bad)
{
    char err[512];
    struct load_options fill = *lo;
    fill.warmup_us = 0;
    fill.duration_us = 0;
    fill.fill = (unsigned)entries;
    fill.id_prefix = prefix;
    fill.first_target = bench_cluster_leader(bc, 10000);
    if (fill.first_target < 0)
        fill.first_target = 0;
    struct load_result fr;
    uint64_t t0 = bench_now_us();
    uint64_t term0 = highest_term(bc);
    if (load_run(&fill, &fr, err, sizeof(err)) != 0) {
        fprintf(stderr, "raft_bench: fill: %s\n", err);
        return -1;
    }
    *seconds = (double)(bench_now_us() - t0) / 1e6;
    uint64_t term1 = highest_term(bc);
    *elections = term1 > term0 ? term1 - term0 : 0;
    *bad = fr.bad;
    if (fr.bad)
        fprintf(stderr, "raft_bench: the fill had %llu bad answers, the first: %s\n",
                (unsigned long long)fr.bad, fr.first_bad);
    load_result_free(&fr);
    return 0;
}

int mode_scale(const struct bench_options *o)
{
    char err[512];
    if (o->entries < (long)SMALL_KEYS * 2 || o->entries > 4000000) {
        fprintf(stderr, "raft_bench: scale wants --entries between %u and 4000000 variables\n",
                SMALL_KEYS * 2);
        return 2;
    }
    if (o->config) {
        fprintf(stderr, "raft_bench: scale starts its own clusters (it fills one); drop -c\n");
        return 2;
    }
    struct bench_cluster sbc, lbc;
    int sleader = bench_cluster_ready(&sbc, o);
    if (sleader < 0)
        return 2;
    int lleader = bench_cluster_ready(&lbc, o);
    if (lleader < 0) {
        bench_cluster_close(&sbc);
        return 2;
    }
    int status = 2;
    struct window small = {.keys = SMALL_KEYS}, large = {.keys = (unsigned)o->entries};
    latency_init(&small.writes);
    latency_init(&large.writes);

    /* Each load run its own client ids: a session that starts again at seq 1 would be
     * answered from the exactly-once cache, and nothing would be set. */
    char fill_prefix[48];
    snprintf(fill_prefix, sizeof(fill_prefix), "scale-%d-fill", (int)getpid());
    struct load_options slo = bench_workload(o, &sbc, sleader, NULL);
    slo.keys = SMALL_KEYS;
    struct load_options llo = bench_workload(o, &lbc, lleader, NULL);
    llo.keys = (unsigned)o->entries;
    llo.seed = o->seed + 1;
    /* Elections are counted over the whole run of each cluster, fill and idle spells
     * included, not only inside the measured windows. */
    uint64_t sterm0 = highest_term(&sbc), lterm0 = highest_term(&lbc);
    double fill_s;
    uint64_t fill_elections, fill_bad;
    if (fill_cluster(&lbc, &llo, o->entries, fill_prefix, &fill_s, &fill_elections, &fill_bad) != 0)
        goto out;

    /* Large, small, small, large: each side half of -T, in windows that straddle the
     * same stretch of time. */
    static const char order[] = "LSSL";
    slo.duration_us = llo.duration_us = slo.duration_us / 2;
    char prefix[48];
    for (int i = 0; order[i]; i++) {
        bool is_large = order[i] == 'L';
        struct bench_cluster *bc = is_large ? &lbc : &sbc;
        struct load_options *lo = is_large ? &llo : &slo;
        snprintf(prefix, sizeof(prefix), "scale-%d-%s%d", (int)getpid(),
                 is_large ? "large" : "small", i);
        lo->id_prefix = prefix;
        lo->first_target = bench_cluster_leader(bc, 10000);
        if (lo->first_target < 0)
            lo->first_target = 0;
        lo->seed += 2;
        if (measure_window(bc, lo, is_large ? "large" : "small", is_large ? &large : &small) != 0)
            goto out;
    }

    double p999_small = (double)latency_percentile(&small.writes, 99.9);
    double p999_large = (double)latency_percentile(&large.writes, 99.9);
    double p999_ratio = p999_small > 0 ? p999_large / p999_small : 0;
    double tput_ratio = ops_per_s(&small) > 0 ? ops_per_s(&large) / ops_per_s(&small) : 0;
    uint64_t sterm1 = highest_term(&sbc), lterm1 = highest_term(&lbc);
    uint64_t elections =
        (sterm1 > sterm0 ? sterm1 - sterm0 : 0) + (lterm1 > lterm0 ? lterm1 - lterm0 : 0);
    uint64_t unavailable = small.unavailable + large.unavailable;
    uint64_t timeouts = small.timeouts + large.timeouts;
    bool quiet = elections == 0 && unavailable == 0 && timeouts == 0;
    /* ~100 MB, as the issue puts it, held to 100 * 10^6 bytes, at the peers' peak. */
    bool memory_ok = large.max_hwm_kib > 0 && large.max_hwm_kib <= 100000000 / 1024;

    if (!o->json) {
        if (!o->no_header)
            printf("%-8s %8s %10s %8s %8s %8s %8s %9s %11s  %s\n", "window", "vars", "ops/s",
                   "w.p50ms", "w.p99ms", "w.p99.9", "w.maxms", "elections", "unavailable",
                   "RSS MiB per peer");
        printf("  filled %ld variables in %.1f s (%.0f sets/s, %llu elections); then windows "
               "large, small, small, large of %.1f s each\n",
               o->entries, fill_s, (double)o->entries / fill_s, (unsigned long long)fill_elections,
               o->seconds / 2);
        print_window(&sbc, "small", &small);
        print_window(&lbc, "large", &large);
        if (o->entries <= ISSUE_KEYS) {
            printf("  target: write p99.9 at %ld variables within 2.5x of %u: %.2fx (%s)\n",
                   o->entries, SMALL_KEYS, p999_ratio,
                   verdict(p999_ratio > 0 && p999_ratio <= 2.5));
            printf("  target: throughput at %ld variables at least 0.8x of %u: %.2fx (%s)\n",
                   o->entries, SMALL_KEYS, tput_ratio, verdict(tput_ratio >= 0.8));
        } else {
            /* Issue 14 asks only that a larger state be held with no election. */
            printf("  figure: write p99.9 at %ld variables %.2fx of %u; throughput %.2fx (the "
                   "issue's bounds, 2.5x and 0.8x, are set at %u variables)\n",
                   o->entries, p999_ratio, SMALL_KEYS, tput_ratio, ISSUE_KEYS);
        }
        printf("  target: 0 elections and 0 unavailable while nothing is killed (both clusters, "
               "from start to end, the fill included): %llu and %llu, and %llu requests timed "
               "out (%s)\n",
               (unsigned long long)elections, (unsigned long long)unavailable,
               (unsigned long long)timeouts, verdict(quiet));
        printf("  target: at most ~100 MB per peer: %.1f MiB at the peak (VmHWM, fill included) "
               "(%s)\n",
               (double)large.max_hwm_kib / 1024.0, verdict(memory_ok));
    }
    struct json_object *obj = report_new(o);
    if (obj) {
        json_object_object_add(obj, "clients", json_object_new_int(o->clients));
        json_object_object_add(obj, "mix", json_object_new_string(o->mix.text));
        json_object_object_add(obj, "seconds", json_object_new_double(o->seconds));
        json_object_object_add(obj, "window_order", json_object_new_string(order));
        json_object_object_add(obj, "small", window_json(&sbc, &small));
        json_object_object_add(obj, "fill_s", json_object_new_double(fill_s));
        json_object_object_add(obj, "fill_elections", json_object_new_uint64(fill_elections));
        json_object_object_add(obj, "elections", json_object_new_uint64(elections));
        json_object_object_add(obj, "max_hwm_kib", json_object_new_int64(large.max_hwm_kib));
        json_object_object_add(obj, "large", window_json(&lbc, &large));
        json_object_object_add(obj, "p999_ratio", json_object_new_double(p999_ratio));
        json_object_object_add(obj, "throughput_ratio", json_object_new_double(tput_ratio));
        if (report_emit(o, obj, err, sizeof(err)) != 0)
            fprintf(stderr, "raft_bench: %s\n", err);
    }
    status = small.bad == 0 && large.bad == 0 && fill_bad == 0 ? 0 : 1;
out:
    latency_free(&small.writes);
    latency_free(&large.writes);
    bench_cluster_close(&lbc);
    bench_cluster_close(&sbc);
    return status;
}
