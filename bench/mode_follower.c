/* mode_follower.c: what a follower that stops answering costs the leader, and how fast
 * it catches up (issue 14). While C clients write, one follower is frozen (SIGSTOP) for
 * T seconds: the leader's VmRSS is sampled every 100 ms against its value just before.
 * The writers stop, the follower is let go (SIGCONT) and timed until it has applied
 * everything the leader had committed. The same follower is then killed (SIGKILL)
 * while the clients write for another T seconds, restarted, and timed the same way:
 * catching up after a freeze should cost no more than after a restart. First, the same
 * writers run as long with every follower answering: the leader's VmRSS growth then is
 * what the load alone costs, so the frozen follower's own share can be told apart.
 *
 * The writers run in their own thread (load.c's loop); this thread signals, samples
 * and polls the follower's status every millisecond. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "bench/load.h"
#include "bench/modes.h"
#include "bench/report.h"
#include "bench/setup.h"

#define TARGET_RSS_GROWTH_KIB (8 * 1024) /* issue 14: at most 8 MB */
#define TARGET_CATCHUP_RATIO  1.5        /* after SIGCONT within 1.5x of after a restart */
#define SAMPLE_MS             100
#define CATCHUP_LIMIT_MS      60000

struct writers {
    struct load_options lo;
    struct load_probe probe;
    struct load_result r;
    pthread_t thread;
    bool running;
    int rc;
    char prefix[48];
    char err[256];
};

static void *writers_main(void *arg)
{
    struct writers *w = arg;
    w->rc = load_run(&w->lo, &w->r, w->err, sizeof(w->err));
    return NULL;
}

/* Each run of the writers has client ids of its own: a new run restarts its seqs at 1,
 * which the sessions of an old id would take for duplicates. */
static int writers_start(struct writers *w, const char *phase)
{
    snprintf(w->prefix, sizeof(w->prefix), "follower-%d-%s", (int)getpid(), phase);
    w->lo.id_prefix = w->prefix;
    memset(&w->probe, 0, sizeof(w->probe));
    w->lo.probe = &w->probe;
    if (pthread_create(&w->thread, NULL, writers_main, w) != 0)
        return -1;
    w->running = true;
    return 0;
}

/* Stops the writers; the commands they had answered. */
static uint64_t writers_stop(struct writers *w)
{
    if (!w->running)
        return 0;
    /* The loop notices stop within its longest sleep (100 ms). */
    atomic_store(&w->probe.stop, 1);
    pthread_join(w->thread, NULL);
    w->running = false;
    if (w->rc == 0)
        load_result_free(&w->r);
    else
        fprintf(stderr, "raft_bench: writers: %s\n", w->err);
    return atomic_load(&w->probe.ok_count);
}

/* One absence of the follower: frozen or killed for `seconds` while the writers run. */
struct absence {
    uint64_t writes;     /* commands answered meanwhile */
    uint64_t entries;    /* entries the leader committed meanwhile */
    uint64_t behind;     /* entries it missed: the leader's commit index at the end minus
                            what the follower had applied at the start */
    int64_t catchup_us;  /* from SIGCONT or exec to having applied them all; -1 never */
    long rss_before_kib; /* the leader's VmRSS just before */
    long rss_max_kib;    /* its largest sample meanwhile */
    long rss_end_kib;    /* and its last one */
};

/* Polls peer f until it has applied index; microseconds since t0, or -1. */
static int64_t wait_caught_up(struct cluster *c, int f, uint64_t index, uint64_t t0)
{
    while (bench_now_us() - t0 < (uint64_t)CATCHUP_LIMIT_MS * 1000u) {
        struct peer_status st;
        if (cluster_status(c, f, &st) == 0 && st.last_applied >= index)
            return (int64_t)(bench_now_us() - t0);
        harness_sleep_ms(1);
    }
    return -1;
}

/* Runs one absence of follower f (1-based) under leader l: SIGSTOP then SIGCONT, or
 * SIGKILL then a restart; with sig 0 nobody is absent (the baseline). 0, or -1 with the
 * reason on stderr. */
static int absence_run(struct bench_cluster *bc, struct writers *w, int l, int f, int sig,
                       double seconds, struct absence *a)
{
    struct cluster *c = &bc->c;
    memset(a, 0, sizeof(*a));
    a->catchup_us = -1;
    struct peer_status st;
    long hwm;
    if (cluster_status(c, f, &st) != 0 || bench_read_rss(c->pids[l], &a->rss_before_kib, &hwm)) {
        fprintf(stderr, "raft_bench: cannot read peer%d or peer%d before the absence\n", f, l);
        return -1;
    }
    uint64_t applied_before = st.last_applied;
    struct peer_status ls;
    if (cluster_status(c, l, &ls) != 0) {
        fprintf(stderr, "raft_bench: cannot read peer%d before the absence\n", l);
        return -1;
    }
    uint64_t commit_before = ls.commit_index;
    if (writers_start(w, sig == SIGSTOP ? "stop" : sig == SIGKILL ? "kill" : "base") != 0) {
        fprintf(stderr, "raft_bench: cannot start the writer thread\n");
        return -1;
    }
    if (sig == SIGSTOP)
        cluster_signal_peer(c, f, SIGSTOP);
    else if (sig == SIGKILL)
        cluster_kill_peer(c, f, SIGKILL);
    a->rss_max_kib = a->rss_before_kib;
    uint64_t end = bench_now_us() + (uint64_t)(seconds * 1e6);
    while (bench_now_us() < end) {
        harness_sleep_ms(SAMPLE_MS);
        long rss;
        if (bench_read_rss(c->pids[l], &rss, &hwm) == 0) {
            a->rss_end_kib = rss;
            if (rss > a->rss_max_kib)
                a->rss_max_kib = rss;
        }
    }
    a->writes = writers_stop(w);
    if (cluster_status(c, l, &ls) != 0 || strcmp(ls.role, "leader") != 0) {
        fprintf(stderr, "raft_bench: peer%d no longer leads after the absence (see %s)\n", l,
                c->dir);
        if (sig == SIGSTOP)
            cluster_signal_peer(c, f, SIGCONT);
        return -1;
    }
    a->behind = ls.commit_index > applied_before ? ls.commit_index - applied_before : 0;
    a->entries = ls.commit_index - commit_before;
    if (sig == 0)
        return 0;
    uint64_t t0 = bench_now_us();
    if (sig == SIGSTOP) {
        cluster_signal_peer(c, f, SIGCONT);
    } else if (cluster_start_peer(c, f) != 0) {
        fprintf(stderr, "raft_bench: cannot restart peer%d (see %s)\n", f, c->dir);
        return -1;
    }
    a->catchup_us = wait_caught_up(c, f, ls.commit_index, t0);
    if (a->catchup_us < 0) {
        fprintf(stderr, "raft_bench: peer%d did not catch up within %d ms (see %s)\n", f,
                CATCHUP_LIMIT_MS, c->dir);
        return -1;
    }
    return 0;
}

static struct json_object *absence_json(const struct absence *a)
{
    struct json_object *o = json_object_new_object();
    if (!o)
        return NULL;
    json_object_object_add(o, "writes", json_object_new_int64((int64_t)a->writes));
    json_object_object_add(o, "entries_committed", json_object_new_int64((int64_t)a->entries));
    json_object_object_add(o, "entries_behind", json_object_new_int64((int64_t)a->behind));
    json_object_object_add(o, "catchup_us", json_object_new_int64(a->catchup_us));
    json_object_object_add(o, "leader_rss_before_kib", json_object_new_int64(a->rss_before_kib));
    json_object_object_add(o, "leader_rss_max_kib", json_object_new_int64(a->rss_max_kib));
    json_object_object_add(o, "leader_rss_end_kib", json_object_new_int64(a->rss_end_kib));
    return o;
}

static void print_table(const struct bench_options *o, const struct absence *base,
                        const struct absence *stop, const struct absence *kill)
{
    char a[32], b[32];
    long growth = stop->rss_max_kib - stop->rss_before_kib;
    long base_growth = base->rss_max_kib - base->rss_before_kib;
    double ratio = kill->catchup_us > 0 ? (double)stop->catchup_us / (double)kill->catchup_us : 0;
    if (!o->no_header)
        printf("%-44s %16s  %-22s %s\n", "follower absent, writers running", "measured", "target",
               "met");
    printf("%-44s %12ld KiB  %-22s %s\n", "leader VmRSS growth while it is SIGSTOPped", growth,
           "<= 8192 KiB", growth <= TARGET_RSS_GROWTH_KIB ? "yes" : "NO");
    printf("  (leader VmRSS %ld KiB before, %ld max, %ld at the end; %llu commands answered, "
           "%llu entries committed in %.0f s, %d clients)\n",
           stop->rss_before_kib, stop->rss_max_kib, stop->rss_end_kib,
           (unsigned long long)stop->writes, (unsigned long long)stop->entries, o->seconds,
           o->clients);
    printf("  (the same writers as long with every follower answering: %ld KiB of growth, "
           "%llu entries committed; so the frozen follower's own share is %ld KiB)\n",
           base_growth, (unsigned long long)base->entries, growth - base_growth);
    printf("%-44s %12s ms  %-22s\n", "catch-up after SIGCONT",
           report_ms(a, (double)stop->catchup_us), "");
    printf("  (%llu entries behind)\n", (unsigned long long)stop->behind);
    printf("%-44s %12s ms  %-22s\n", "catch-up after SIGKILL and a restart",
           report_ms(b, (double)kill->catchup_us), "");
    printf("  (%llu entries behind; %llu commands answered, %llu entries committed in %.0f s; "
           "the time includes starting the process)\n",
           (unsigned long long)kill->behind, (unsigned long long)kill->writes,
           (unsigned long long)kill->entries, o->seconds);
    printf("%-44s %14.2f x  %-22s %s\n", "SIGCONT catch-up / restart catch-up", ratio, "<= 1.5 x",
           ratio <= TARGET_CATCHUP_RATIO ? "yes" : "NO");
}

int mode_follower(const struct bench_options *o)
{
    char err[512];
    struct bench_cluster bc;
    int leader = bench_cluster_ready(&bc, o);
    if (leader < 0)
        return 2;
    int status = 2;
    struct writers *w = calloc(1, sizeof(*w));
    if (!w) {
        fprintf(stderr, "raft_bench: out of memory\n");
        goto out;
    }
    /* Writers that run until told to stop (the probe), phase after phase. */
    w->lo = bench_workload(o, &bc, leader, NULL);
    w->lo.warmup_us = w->lo.duration_us = 0;
    int l = leader + 1, f = (leader + 1) % bc.n + 1;
    /* Warm up: the leader's log, key table and buffers reach their working size (a
     * snapshot or two included) before its memory is taken as the baseline. */
    if (writers_start(w, "warm") != 0)
        goto out;
    harness_sleep_ms((int)(o->warmup * 1000));
    writers_stop(w);
    if (cluster_wait_applied(&bc.c, 0, 1000) != 0)
        goto out;
    struct absence base, stop, kill;
    memset(&stop, 0, sizeof(stop));
    memset(&kill, 0, sizeof(kill));
    if (absence_run(&bc, w, l, f, 0, o->seconds, &base) != 0 ||
        absence_run(&bc, w, l, f, SIGSTOP, o->seconds, &stop) != 0 ||
        absence_run(&bc, w, l, f, SIGKILL, o->seconds, &kill) != 0) {
        status = 1;
        goto out;
    }
    if (!o->json)
        print_table(o, &base, &stop, &kill);
    struct json_object *obj = report_new(o);
    if (obj) {
        json_object_object_add(obj, "clients", json_object_new_int(o->clients));
        json_object_object_add(obj, "seconds", json_object_new_double(o->seconds));
        json_object_object_add(obj, "baseline", absence_json(&base));
        json_object_object_add(obj, "sigstop", absence_json(&stop));
        json_object_object_add(obj, "restart", absence_json(&kill));
        json_object_object_add(obj, "target_rss_growth_kib",
                               json_object_new_int(TARGET_RSS_GROWTH_KIB));
        json_object_object_add(obj, "target_catchup_ratio",
                               json_object_new_double(TARGET_CATCHUP_RATIO));
        if (report_emit(o, obj, err, sizeof(err)) != 0)
            fprintf(stderr, "raft_bench: %s\n", err);
    }
    status = 0;
out:
    if (w)
        writers_stop(w);
    bench_cluster_close(&bc);
    free(w);
    return status;
}
