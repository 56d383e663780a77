/* mode_failover.c: the leader is killed (SIGKILL) or frozen (SIGSTOP) again and again
 * while one client keeps writing; per kill we time how long until a surviving peer says
 * it leads in a newer term, and until the client's first write succeeds again.
 *
 * The client runs in its own thread (the load loop of load.c with one client); this
 * thread kills, polls the survivors' status every millisecond and restarts. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "bench/latency.h"
#include "bench/load.h"
#include "bench/modes.h"
#include "bench/report.h"
#include "bench/setup.h"

#define ROUND_LIMIT_MS 10000 /* a failover that takes longer counts as failed */

struct writer {
    struct load_options lo;
    struct load_probe probe;
    struct load_result r;
    int rc;
    char err[256];
};

static void *writer_main(void *arg)
{
    struct writer *w = arg;
    w->rc = load_run(&w->lo, &w->r, w->err, sizeof(w->err));
    return NULL;
}

/* Waits until the writer has had `more` further successes; 0, or -1 after timeout_ms. */
static int wait_writes(struct load_probe *p, uint64_t more, int timeout_ms)
{
    uint64_t want = atomic_load(&p->ok_count) + more;
    uint64_t deadline = harness_now_ms() + (uint64_t)timeout_ms;
    while (atomic_load(&p->ok_count) < want) {
        if (harness_now_ms() >= deadline)
            return -1;
        harness_sleep_ms(1);
    }
    return 0;
}

/* A healthy cluster before each kill: one leader, every peer caught up, and the writer
 * making progress. The leader's number (1-based), or -1. */
static int settle(struct cluster *c, struct load_probe *probe)
{
    int leader = cluster_wait_leader(c, 10000);
    if (leader < 0 || wait_writes(probe, 5, 5000) != 0)
        return -1;
    struct peer_status st;
    if (cluster_status(c, leader, &st) != 0 || cluster_wait_applied(c, st.commit_index, 5000) != 0)
        return -1;
    return cluster_wait_leader(c, 10000);
}

struct round {
    int64_t leader_us; /* -1: none within ROUND_LIMIT_MS */
    int64_t write_us;
};

static void measure_round(struct cluster *c, struct load_probe *probe, int victim, int sig,
                          uint64_t old_term, struct round *out)
{
    out->leader_us = -1;
    out->write_us = -1;
    uint64_t t0 = bench_now_us();
    if (sig == SIGKILL)
        cluster_kill_peer(c, victim, SIGKILL);
    else
        cluster_signal_peer(c, victim, SIGSTOP);
    while (bench_now_us() - t0 < (uint64_t)ROUND_LIMIT_MS * 1000u) {
        if (out->leader_us < 0) {
            for (int i = 1; i <= c->n; i++) {
                struct peer_status st;
                if (i == victim || c->pids[i] <= 0 || cluster_status(c, i, &st) != 0)
                    continue;
                if (!strcmp(st.role, "leader") && st.term > old_term) {
                    out->leader_us = (int64_t)(bench_now_us() - t0);
                    break;
                }
            }
        }
        if (out->write_us < 0) {
            uint64_t last = atomic_load(&probe->last_ok);
            uint64_t when = last >> 8;
            int by = (int)(last & 0xff);
            /* An answer the victim sent before it died may be read after t0: skip it. */
            if (when > t0 && by != victim - 1)
                out->write_us = (int64_t)(when - t0);
        }
        if (out->leader_us >= 0 && out->write_us >= 0)
            return;
        harness_sleep_ms(1);
    }
}

static void add_summary(struct json_object *obj, const char *key, struct latency *l,
                        const int64_t *samples, int n)
{
    struct json_object *s = json_object_new_object();
    if (!s)
        return;
    json_object_object_add(s, "n", json_object_new_int64((int64_t)l->n));
    json_object_object_add(s, "min", json_object_new_int64((int64_t)latency_min(l)));
    json_object_object_add(s, "median", json_object_new_int64((int64_t)latency_percentile(l, 50)));
    json_object_object_add(s, "max", json_object_new_int64((int64_t)latency_max(l)));
    struct json_object *arr = json_object_new_array();
    for (int i = 0; i < n && arr; i++)
        json_object_array_add(arr, json_object_new_int64(samples[i]));
    json_object_object_add(s, "samples", arr);
    json_object_object_add(obj, key, s);
}

static void print_table(const struct bench_options *o, int done, int failed, struct latency *ld,
                        struct latency *wr)
{
    char a[32], b[32], c[32], d[32], e[32], f[32], t[32];
    if (!o->no_header)
        printf("%-6s %-9s %4s %6s %6s | %-26s | %-26s\n", "signal", "timeouts", "hb", "kills",
               "failed", "new leader ms min/p50/max", "write ok ms min/p50/max");
    snprintf(t, sizeof(t), "%d-%d", o->timeout_min, o->timeout_max);
    printf("%-6s %-9s %4d %6d %6d | %8s %8s %8s | %8s %8s %8s\n",
           o->signal == SIGKILL ? "KILL" : "STOP", t, o->heartbeat, done, failed,
           report_ms(a, (double)latency_min(ld)), report_ms(b, (double)latency_percentile(ld, 50)),
           report_ms(c, (double)latency_max(ld)), report_ms(d, (double)latency_min(wr)),
           report_ms(e, (double)latency_percentile(wr, 50)), report_ms(f, (double)latency_max(wr)));
}

int mode_failover(const struct bench_options *o)
{
    char err[512];
    struct bench_cluster bc;
    if (bench_cluster_open(&bc, o, err, sizeof(err)) != 0) {
        fprintf(stderr, "raft_bench: %s\n", err);
        bench_cluster_close(&bc);
        return 2;
    }
    struct writer *w = calloc(1, sizeof(*w));
    int64_t *leader_s = calloc((size_t)o->kills, sizeof(int64_t));
    int64_t *write_s = calloc((size_t)o->kills, sizeof(int64_t));
    struct latency ld, wr;
    latency_init(&ld);
    latency_init(&wr);
    pthread_t writer_thread;
    bool writer_started = false;
    int status = 2, done = 0, failed = 0;
    if (!w || !leader_s || !write_s) {
        fprintf(stderr, "raft_bench: out of memory\n");
        goto out;
    }
    int leader = bench_cluster_leader(&bc, 10000);
    if (leader < 0) {
        fprintf(stderr, "raft_bench: no leader within 10 s\n");
        goto out;
    }
    static const char *const write_mix = "add=1";
    struct mix mix;
    if (mix_parse(write_mix, &mix, err, sizeof(err)) != 0)
        goto out;
    char prefix[48];
    snprintf(prefix, sizeof(prefix), "failover-%d", (int)getpid());
    /* One writer of one variable, for as long as the probe says. */
    w->lo = bench_workload(o, &bc, leader, prefix);
    w->lo.clients = 1;
    w->lo.warmup_us = w->lo.duration_us = 0;
    w->lo.mix = &mix;
    w->lo.keys = 1;
    w->lo.probe = &w->probe;
    if (pthread_create(&writer_thread, NULL, writer_main, w) != 0) {
        fprintf(stderr, "raft_bench: cannot start the writer thread\n");
        goto out;
    }
    writer_started = true;
    uint64_t rng = o->seed;
    for (int k = 0; k < o->kills; k++) {
        int lead = settle(&bc.c, &w->probe);
        struct peer_status st;
        if (lead < 0 || cluster_status(&bc.c, lead, &st) != 0) {
            fprintf(stderr, "raft_bench: the cluster did not settle before kill %d (see %s)\n",
                    k + 1, bc.c.dir);
            goto report;
        }
        /* Land the kill at a random phase of the heartbeat cycle. */
        harness_sleep_ms(20 + (int)(bench_rand(&rng) % (uint64_t)(2 * o->heartbeat + 1)));
        struct round r;
        measure_round(&bc.c, &w->probe, lead, o->signal, st.term, &r);
        if (o->signal == SIGKILL) {
            if (cluster_start_peer(&bc.c, lead) != 0) {
                fprintf(stderr, "raft_bench: cannot restart peer%d (see %s)\n", lead, bc.c.dir);
                goto report;
            }
        } else {
            cluster_signal_peer(&bc.c, lead, SIGCONT);
        }
        leader_s[done] = r.leader_us;
        write_s[done] = r.write_us;
        done++;
        if (r.leader_us < 0 || r.write_us < 0) {
            failed++;
            continue;
        }
        latency_add(&ld, (uint64_t)r.leader_us);
        latency_add(&wr, (uint64_t)r.write_us);
    }
report:
    if (!o->json)
        print_table(o, done, failed, &ld, &wr);
    struct json_object *obj = report_new(o);
    if (obj) {
        json_object_object_add(obj, "signal",
                               json_object_new_string(o->signal == SIGKILL ? "KILL" : "STOP"));
        json_object_object_add(obj, "kills", json_object_new_int(done));
        json_object_object_add(obj, "failed", json_object_new_int(failed));
        json_object_object_add(obj, "request_timeout_ms",
                               json_object_new_int(o->request_timeout_ms));
        add_summary(obj, "new_leader_us", &ld, leader_s, done);
        add_summary(obj, "write_ok_us", &wr, write_s, done);
        if (report_emit(o, obj, err, sizeof(err)) != 0)
            fprintf(stderr, "raft_bench: %s\n", err);
    }
    status = done == o->kills && failed == 0 ? 0 : 1;
out:
    if (writer_started) {
        /* The writer notices stop within its loop's longest sleep (100 ms). */
        atomic_store(&w->probe.stop, 1);
        pthread_join(writer_thread, NULL);
        if (w->rc == 0)
            load_result_free(&w->r);
        else
            fprintf(stderr, "raft_bench: writer: %s\n", w->err);
    }
    bench_cluster_close(&bc);
    free(w);
    free(leader_s);
    free(write_s);
    latency_free(&ld);
    latency_free(&wr);
    return status;
}
