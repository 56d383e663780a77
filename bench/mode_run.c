/* mode_run.c: the throughput and latency benchmark: C closed-loop clients for T seconds. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "bench/load.h"
#include "bench/measure.h"
#include "bench/modes.h"
#include "bench/report.h"
#include "bench/setup.h"

static void print_table(const struct bench_options *o, struct load_result *r, double ops_per_s,
                        double wait_share)
{
    char a[32], b[32], c[32], d[32], w[32], rd[32];
    if (!o->no_header)
        printf("%-5s %-7s %-16s %-5s %10s %8s %8s %8s %8s %8s %8s %6s %5s %4s\n", "peers",
               "clients", "mix", "log", "ops/s", "p50ms", "p99ms", "p99.9ms", "maxms", "w.p50",
               "r.p50", "errors", "tmo", "rq%");
    printf("%-5d %-7d %-16s %-5s %10.1f %8s %8s %8s %8s %8s %8s %6llu %5llu %4.0f\n", o->peers,
           o->clients, o->mix.text, o->config ? "-" : o->log_level, ops_per_s,
           report_ms(a, (double)latency_percentile(&r->all, 50)),
           report_ms(b, (double)latency_percentile(&r->all, 99)),
           report_ms(c, (double)latency_percentile(&r->all, 99.9)),
           report_ms(d, (double)latency_max(&r->all)),
           r->writes.n ? report_ms(w, (double)latency_percentile(&r->writes, 50)) : "-",
           r->reads.n ? report_ms(rd, (double)latency_percentile(&r->reads, 50)) : "-",
           (unsigned long long)r->bad, (unsigned long long)r->timeouts, wait_share * 100);
    if (r->first_bad[0])
        printf("      first unexpected answer: %s\n", r->first_bad);
}

int mode_run(const struct bench_options *o)
{
    char err[512];
    struct bench_cluster bc;
    int leader = bench_cluster_ready(&bc, o);
    if (leader < 0)
        return 2;
    int status = 2;
    char prefix[48];
    snprintf(prefix, sizeof(prefix), "bench-%d-%llu", (int)getpid(),
             (unsigned long long)(o->seed % 1000000u));
    struct load_options lo = bench_workload(o, &bc, leader, prefix);
    int pids[LOAD_MAX_TARGETS];
    const char *names[LOAD_MAX_TARGETS];
    int n_pids = 0;
    for (int i = 1; bc.own && i <= bc.n; i++) {
        pids[n_pids] = (int)bc.c.pids[i];
        names[n_pids++] = bc.targets[i - 1].name;
    }
    struct measure m;
    if (measure_run(load_run, &lo, pids, names, n_pids, &m, err, sizeof(err)) != 0) {
        fprintf(stderr, "raft_bench: %s\n", err);
        goto out;
    }
    struct load_result *r = &m.r;
    uint64_t run_us = m.run_us;
    double max_wait_share = m.max_wait_share;
    double ops_per_s = m.ops_per_s;
    double secs = (double)r->window_us / 1e6;

    struct json_object *obj = report_new(o);
    if (obj) {
        json_object_object_add(obj, "clients", json_object_new_int(o->clients));
        json_object_object_add(obj, "seconds", json_object_new_double(secs));
        json_object_object_add(obj, "warmup", json_object_new_double(o->warmup));
        json_object_object_add(obj, "mix", json_object_new_string(o->mix.text));
        json_object_object_add(obj, "keys", json_object_new_int64(o->keys));
        json_object_object_add(obj, "seed", json_object_new_uint64(o->seed));
        json_object_object_add(obj, "ops", json_object_new_uint64(r->ops));
        json_object_object_add(obj, "ok", json_object_new_uint64(r->ok));
        json_object_object_add(obj, "app_errors", json_object_new_uint64(r->app_errors));
        json_object_object_add(obj, "bad", json_object_new_uint64(r->bad));
        json_object_object_add(obj, "ops_per_s", json_object_new_double(ops_per_s));
        json_object_object_add(obj, "latency_us", report_latency(&r->all));
        json_object_object_add(obj, "write_latency_us", report_latency(&r->writes));
        json_object_object_add(obj, "read_latency_us", report_latency(&r->reads));
        json_object_object_add(obj, "redirects", json_object_new_uint64(r->redirects));
        json_object_object_add(obj, "unavailable", json_object_new_uint64(r->unavailable));
        json_object_object_add(obj, "timeouts", json_object_new_uint64(r->timeouts));
        json_object_object_add(obj, "conn_lost", json_object_new_uint64(r->conn_lost));
        if (r->first_bad[0])
            json_object_object_add(obj, "first_bad", json_object_new_string(r->first_bad));
        json_object_object_add(obj, "run_ms", json_object_new_double((double)run_us / 1e3));
        json_object_object_add(obj, "sched", m.sched);
        m.sched = NULL;
        json_object_object_add(obj, "max_runq_wait_share", json_object_new_double(max_wait_share));
        if (bc.own) {
            /* Memory after the load: the log is kept in memory until compaction exists. */
            struct json_object *rss = json_object_new_array();
            for (int i = 1; i <= bc.n && rss; i++) {
                long kib = -1, hwm = -1;
                if (bc.c.pids[i] > 0)
                    bench_read_rss(bc.c.pids[i], &kib, &hwm);
                json_object_array_add(rss, json_object_new_int64(kib));
            }
            json_object_object_add(obj, "rss_kib_after", rss);
        }
    }
    if (!o->json)
        print_table(o, r, ops_per_s, max_wait_share);
    if (obj && report_emit(o, obj, err, sizeof(err)) != 0)
        fprintf(stderr, "raft_bench: %s\n", err);
    status = r->ops > 0 && r->bad == 0 ? 0 : 1;
    if (r->ops == 0)
        fprintf(stderr, "raft_bench: no command completed in the window\n");
    measure_free(&m); /* r is m.r */
out:
    bench_cluster_close(&bc);
    return status;
}
