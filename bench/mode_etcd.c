/* mode_etcd.c: our cluster and etcd side by side. The same closed-loop workload (the
 * same clients, mix, keys, seed, warmup and window) runs first against our N peers,
 * then against N etcd members that this mode starts on loopback and stops again, and
 * one table shows both and the ratio. etcd's clients, like ours, all talk to the
 * leader (followers would forward to it). See docs/PERFORMANCE.md. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "bench/etcd_client.h"
#include "bench/etcd_cluster.h"
#include "bench/load.h"
#include "bench/measure.h"
#include "bench/modes.h"
#include "bench/report.h"
#include "bench/setup.h"

/* Microseconds of CPU the cluster's processes (every thread) used per command. */
static double cpu_per_op(const struct measure *m)
{
    return m->r.ops ? m->cluster_cpu_ms * 1000.0 / (double)m->r.ops : 0;
}

static void print_header(void)
{
    printf("%-9s %-5s %-7s %-16s %-5s %10s %8s %8s %8s %8s %8s %8s %6s %5s %4s %7s\n", "system",
           "peers", "clients", "mix", "log", "ops/s", "p50ms", "p99ms", "p99.9ms", "maxms", "w.p50",
           "r.p50", "errors", "tmo", "rq%", "cpu/op");
}

static void print_row(const struct bench_options *o, const char *system, const char *log,
                      struct measure *m)
{
    char a[32], b[32], c[32], d[32], w[32], rd[32];
    struct load_result *r = &m->r;
    printf("%-9s %-5d %-7d %-16s %-5s %10.1f %8s %8s %8s %8s %8s %8s %6llu %5llu %4.0f %7.1f\n",
           system, o->peers, o->clients, o->mix.text, log, m->ops_per_s,
           report_ms(a, (double)latency_percentile(&r->all, 50)),
           report_ms(b, (double)latency_percentile(&r->all, 99)),
           report_ms(c, (double)latency_percentile(&r->all, 99.9)),
           report_ms(d, (double)latency_max(&r->all)),
           r->writes.n ? report_ms(w, (double)latency_percentile(&r->writes, 50)) : "-",
           r->reads.n ? report_ms(rd, (double)latency_percentile(&r->reads, 50)) : "-",
           (unsigned long long)r->bad, (unsigned long long)r->timeouts, m->max_wait_share * 100,
           cpu_per_op(m));
    if (r->first_bad[0])
        printf("          first unexpected answer (%s): %s\n", system, r->first_bad);
}

static double quotient(double ours, double theirs)
{
    return ours > 0 && theirs > 0 ? ours / theirs : 0;
}

/* ours / theirs as "1.23x" in buf, "-" when either is missing. */
static const char *ratio(char buf[32], double ours, double theirs)
{
    double q = quotient(ours, theirs);
    if (q <= 0)
        return "-";
    snprintf(buf, 32, "%.2fx", q);
    return buf;
}

static void print_ratio(struct measure *ours, struct measure *etcd)
{
    char q[8][32];
    struct load_result *a = &ours->r, *b = &etcd->r;
    printf("%-9s %-5s %-7s %-16s %-5s %10s %8s %8s %8s %8s %8s %8s %6s %5s %4s %7s\n", "raft/etcd",
           "", "", "", "", ratio(q[0], ours->ops_per_s, etcd->ops_per_s),
           ratio(q[1], (double)latency_percentile(&a->all, 50),
                 (double)latency_percentile(&b->all, 50)),
           ratio(q[2], (double)latency_percentile(&a->all, 99),
                 (double)latency_percentile(&b->all, 99)),
           ratio(q[3], (double)latency_percentile(&a->all, 99.9),
                 (double)latency_percentile(&b->all, 99.9)),
           ratio(q[4], (double)latency_max(&a->all), (double)latency_max(&b->all)),
           ratio(q[5], (double)latency_percentile(&a->writes, 50),
                 (double)latency_percentile(&b->writes, 50)),
           ratio(q[6], (double)latency_percentile(&a->reads, 50),
                 (double)latency_percentile(&b->reads, 50)),
           "", "", "", ratio(q[7], cpu_per_op(ours), cpu_per_op(etcd)));
}

static struct json_object *result_json(const struct bench_options *o, const char *system,
                                       struct measure *m)
{
    struct json_object *obj = report_new(o);
    if (!obj)
        return NULL;
    struct load_result *r = &m->r;
    json_object_object_add(obj, "system", json_object_new_string(system));
    json_object_object_add(obj, "clients", json_object_new_int(o->clients));
    json_object_object_add(obj, "seconds", json_object_new_double((double)r->window_us / 1e6));
    json_object_object_add(obj, "warmup", json_object_new_double(o->warmup));
    json_object_object_add(obj, "mix", json_object_new_string(o->mix.text));
    json_object_object_add(obj, "keys", json_object_new_int64(o->keys));
    json_object_object_add(obj, "seed", json_object_new_uint64(o->seed));
    json_object_object_add(obj, "ops", json_object_new_uint64(r->ops));
    json_object_object_add(obj, "ok", json_object_new_uint64(r->ok));
    json_object_object_add(obj, "bad", json_object_new_uint64(r->bad));
    json_object_object_add(obj, "ops_per_s", json_object_new_double(m->ops_per_s));
    json_object_object_add(obj, "latency_us", report_latency(&r->all));
    json_object_object_add(obj, "write_latency_us", report_latency(&r->writes));
    json_object_object_add(obj, "read_latency_us", report_latency(&r->reads));
    json_object_object_add(obj, "timeouts", json_object_new_uint64(r->timeouts));
    json_object_object_add(obj, "conn_lost", json_object_new_uint64(r->conn_lost));
    if (r->first_bad[0])
        json_object_object_add(obj, "first_bad", json_object_new_string(r->first_bad));
    json_object_object_add(obj, "run_ms", json_object_new_double((double)m->run_us / 1e3));
    json_object_object_add(obj, "cluster_cpu_ms", json_object_new_double(m->cluster_cpu_ms));
    json_object_object_add(obj, "cpu_us_per_op", json_object_new_double(cpu_per_op(m)));
    json_object_object_add(obj, "sched", m->sched);
    m->sched = NULL;
    json_object_object_add(obj, "max_runq_wait_share", json_object_new_double(m->max_wait_share));
    return obj;
}

static struct load_options workload(const struct bench_options *o)
{
    return bench_workload(o, NULL, 0, NULL);
}

/* Our cluster: as the run mode measures it. 0 or -1 (said on stderr). */
static int measure_ours(const struct bench_options *o, struct measure *m)
{
    char err[512];
    struct bench_cluster bc;
    int leader = bench_cluster_ready(&bc, o);
    if (leader < 0)
        return -1;
    char prefix[48];
    snprintf(prefix, sizeof(prefix), "bench-%d-%llu", (int)getpid(),
             (unsigned long long)(o->seed % 1000000u));
    struct load_options lo = workload(o);
    lo.targets = bc.targets;
    lo.n_targets = bc.n;
    lo.first_target = leader;
    lo.id_prefix = prefix;
    int pids[LOAD_MAX_TARGETS];
    const char *names[LOAD_MAX_TARGETS];
    for (int i = 0; i < bc.n; i++) {
        pids[i] = (int)bc.c.pids[i + 1];
        names[i] = bc.targets[i].name;
    }
    int rc = measure_run(load_run, &lo, pids, names, bc.n, m, err, sizeof(err));
    if (rc != 0)
        fprintf(stderr, "raft_bench: %s\n", err);
    bench_cluster_close(&bc);
    return rc;
}

static int measure_etcd(const struct bench_options *o, const char *bin, struct measure *m)
{
    char err[512];
    struct etcd_cluster ec;
    if (etcd_cluster_start(&ec, o->peers, bin, err, sizeof(err)) != 0) {
        fprintf(stderr, "raft_bench: cannot start etcd: %s\n", err);
        return -1;
    }
    int rc = -1;
    int leader = etcd_cluster_leader(&ec, 30000, err, sizeof(err));
    if (leader < 0) {
        fprintf(stderr, "raft_bench: etcd did not come up (a leader within 30 s): %s\n", err);
        for (int i = 0; i < ec.n; i++) {
            char tail[400];
            etcd_cluster_log_tail(&ec, i, tail, sizeof(tail));
            if (tail[0])
                fprintf(stderr, "  m%d's last output: %s\n", i + 1, tail);
        }
        goto out;
    }
    struct load_options lo = workload(o);
    lo.targets = ec.targets;
    lo.n_targets = ec.n;
    lo.first_target = leader;
    lo.id_prefix = "";
    int pids[ETCD_MAX_MEMBERS];
    const char *names[ETCD_MAX_MEMBERS];
    for (int i = 0; i < ec.n; i++) {
        pids[i] = (int)ec.pids[i];
        names[i] = ec.targets[i].name;
    }
    rc = measure_run(etcd_load_run, &lo, pids, names, ec.n, m, err, sizeof(err));
    if (rc != 0)
        fprintf(stderr, "raft_bench: %s\n", err);
out:
    etcd_cluster_stop(&ec);
    return rc;
}

int mode_etcd(const struct bench_options *o)
{
    char bin[1024], err[512];
    if (etcd_find_binary(o->etcd_bin, bin, sizeof(bin), err, sizeof(err)) != 0) {
        fprintf(stderr, "raft_bench: etcd comparison skipped: %s\n", err);
        return 2;
    }
    if (o->peers > ETCD_MAX_MEMBERS) {
        fprintf(stderr, "raft_bench: the bench starts at most %d etcd members\n", ETCD_MAX_MEMBERS);
        return 2;
    }
    struct measure ours, etcd;
    if (measure_ours(o, &ours) != 0)
        return 2;
    if (measure_etcd(o, bin, &etcd) != 0) {
        measure_free(&ours);
        return 2;
    }
    if (!o->json) {
        if (!o->no_header)
            print_header();
        print_row(o, "raft", o->log_level, &ours);
        print_row(o, "etcd", "warn", &etcd);
        print_ratio(&ours, &etcd);
    }
    struct json_object *a = result_json(o, "raft", &ours);
    struct json_object *b = result_json(o, "etcd", &etcd);
    if (b) {
        json_object_object_add(b, "etcd_bin", json_object_new_string(bin));
        /* Ours over etcd's (0 when either is missing): above 1 for ops/s, below 1 for
         * latencies, is ours doing better. */
        json_object_object_add(b, "raft_over_etcd_ops_per_s",
                               json_object_new_double(quotient(ours.ops_per_s, etcd.ops_per_s)));
        json_object_object_add(
            b, "raft_over_etcd_p50",
            json_object_new_double(quotient((double)latency_percentile(&ours.r.all, 50),
                                            (double)latency_percentile(&etcd.r.all, 50))));
        json_object_object_add(
            b, "raft_over_etcd_p99",
            json_object_new_double(quotient((double)latency_percentile(&ours.r.all, 99),
                                            (double)latency_percentile(&etcd.r.all, 99))));
    }
    if (a && report_emit(o, a, err, sizeof(err)) != 0)
        fprintf(stderr, "raft_bench: %s\n", err);
    if (b && report_emit(o, b, err, sizeof(err)) != 0)
        fprintf(stderr, "raft_bench: %s\n", err);
    int status = ours.r.ops > 0 && ours.r.bad == 0 && etcd.r.ops > 0 && etcd.r.bad == 0 ? 0 : 1;
    if (ours.r.ops == 0 || etcd.r.ops == 0)
        fprintf(stderr, "raft_bench: no command completed in the window (%s)\n",
                ours.r.ops == 0 ? "raft" : "etcd");
    measure_free(&ours);
    measure_free(&etcd);
    return status;
}
