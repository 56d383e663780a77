/* main.c: raft_chaos: real peers under concurrent clients while a nemesis crashes, cuts the
 * power of, freezes, partitions, re-leads, replaces, adds and removes them; then checks that every
 * peer converged to the same state, that no acknowledged write was lost or applied twice, and that
 * the clients' history is linearizable. See docs/CHAOS.md. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tests/chaos/chaos_check.h"
#include "tests/chaos/chaos_client.h"
#include "tests/chaos/chaos_cluster.h"
#include "tests/chaos/history.h"
#include "tests/chaos/nemesis.h"
#include "tests/chaos/netfault.h"
#include "tests/chaos/power_cuts.h"

#define MAX_CLIENTS 32
#define FINAL_KEYS  (MAX_CLIENTS + CHAOS_SHARED_KEYS)

struct options {
    int seconds;
    uint64_t seed;
    int peers;
    int clients;
    bool keep;
    bool no_network;
    bool membership; /* membership faults: 3 of the ini's peers start, the rest are spares */
    int power_cuts;  /* -1: where lazyfs works, 0: never, 1: required */
    uint64_t max_steps;
    const char *check_file;
};

static void usage(FILE *f)
{
    fprintf(f, "usage: raft_chaos [--seconds N] [--seed S] [--peers N] [--clients N] [--keep]\n"
               "                  [--no-network] [--power-cuts | --no-power-cuts]\n"
               "                  [--no-membership] [--max-steps N]\n"
               "       raft_chaos --check HISTORY_FILE [--max-steps N]\n"
               "Runs peers from $RAFT_BIN_DIR (default ./bin) under client load while faults\n"
               "are injected for N seconds (default $CHAOS_SECONDS, else 30), then checks the\n"
               "result. Power cuts (peers' data on lazyfs mounts) run where FUSE works unless\n"
               "--no-power-cuts; --power-cuts makes them required. --check re-checks a saved\n"
               "history. Membership faults (replace a peer, grow 3 to 5 and shrink back) run\n"
               "unless --no-membership: 3 of the --peers (default 5) start, the rest join later;\n"
               "without them every peer starts. Exit 0 pass, 1 fail, 2 usage or setup.\n");
}

static int parse_u64_arg(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || end == s || *end || *s == '-')
        return -1;
    *out = v;
    return 0;
}

static int parse_args(int argc, char **argv, struct options *o)
{
    const char *env = getenv("CHAOS_SECONDS");
    *o = (struct options){.seconds = 30,
                          .peers = 5,
                          .clients = 5,
                          .membership = true,
                          .power_cuts = -1,
                          .max_steps = 20000000};
    uint64_t v;
    if (env && *env && parse_u64_arg(env, &v) == 0 && v > 0 && v <= 86400)
        o->seconds = (int)v;
    o->seed = (uint64_t)time(NULL) * 1000003u ^ (uint64_t)getpid();
    env = getenv("CHAOS_SEED");
    if (env && *env && parse_u64_arg(env, &v) == 0)
        o->seed = v;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has_value = i + 1 < argc;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            exit(0);
        } else if (!strcmp(a, "--keep")) {
            o->keep = true;
        } else if (!strcmp(a, "--no-network")) {
            o->no_network = true;
        } else if (!strcmp(a, "--no-membership")) {
            o->membership = false;
        } else if (!strcmp(a, "--power-cuts")) {
            o->power_cuts = 1;
        } else if (!strcmp(a, "--no-power-cuts")) {
            o->power_cuts = 0;
        } else if (!strcmp(a, "--check") && has_value) {
            o->check_file = argv[++i];
        } else if (has_value && parse_u64_arg(argv[i + 1], &v) == 0) {
            i++;
            if (!strcmp(a, "--seconds") && v >= 1 && v <= 86400)
                o->seconds = (int)v;
            else if (!strcmp(a, "--seed"))
                o->seed = v;
            else if (!strcmp(a, "--peers") && v >= 3 && v <= CHAOS_MAX_PEERS)
                o->peers = (int)v;
            else if (!strcmp(a, "--clients") && v >= 1 && v <= MAX_CLIENTS)
                o->clients = (int)v;
            else if (!strcmp(a, "--max-steps"))
                o->max_steps = v;
            else
                return -1;
        } else {
            return -1;
        }
    }
    return 0;
}

static void print_summary_ops(const struct check_summary *s, double seconds)
{
    printf("operations: %zu attempted, %zu acknowledged, %zu cas_failed, %zu failed for sure, "
           "%zu unknown (%zu of them writes, %zu bounded by a later write of their client)\n",
           s->attempted, s->acknowledged, s->cas_failed, s->failed, s->unknown, s->unknown_writes,
           s->unknown_bounded);
    if (seconds > 0)
        printf("throughput: %.0f acknowledged operations per second\n",
               (double)s->acknowledged / seconds);
    printf("counters: %d of %d exact (acknowledged adds present once, unknown ones at most "
           "once)\n",
           s->counters_ok, s->counters);
    printf("linearizability: %d keys, %zu operations checked: %d linearizable, %d violated, %d "
           "undecided; %" PRIu64 " search steps, %.2f s\n",
           s->keys, s->ops_checked, s->keys_linearizable, s->keys_violated, s->keys_gave_up,
           s->steps, s->seconds);
}

static int check_only(const struct options *o)
{
    struct history h;
    char err[256];
    if (history_load(&h, o->check_file, err, sizeof(err)) != 0) {
        fprintf(stderr, "raft_chaos: %s\n", err);
        return 2;
    }
    history_bound_unknowns(&h);
    struct check_summary sum;
    int rc = chaos_check_history(&h, o->max_steps, stdout, &sum);
    print_summary_ops(&sum, 0);
    printf("verdict: %s\n", rc == 0 ? "PASS" : "FAIL");
    history_free(&h);
    return rc == 0 ? 0 : rc < 0 ? 2 : 1;
}

/* Everything the run needs to tear down, in one place for the single cleanup path. */
struct run {
    struct options opt;
    struct netfault nf;
    struct chaos_cluster cluster;
    bool cluster_made;
    struct power_cuts power;
    struct nemesis nemesis;
    FILE *timeline;
    struct chaos_client *clients;
    pthread_t threads[MAX_CLIENTS];
    int started;
    atomic_int stop;
    struct chaos_client final;
    struct history all;
    char keys[FINAL_KEYS][HISTORY_KEY_MAX + 1];
    int nkeys;
    int problems; /* failed checks so far */
};

static void problem(struct run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void problem(struct run *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("PROBLEM: ");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    fflush(stdout);
    r->problems++;
}

static void print_statuses(struct run *r)
{
    for (int i = 1; i <= r->cluster.n; i++) {
        if (!r->cluster.peer[i].member) {
            printf("  peer%d: not a member\n", i);
            continue;
        }
        struct chaos_status st;
        if (chaos_cluster_status(&r->cluster, i, &st, 1000) != 0) {
            printf("  peer%d: no status\n", i);
            continue;
        }
        printf("  peer%d: %-9s term %" PRIu64 " commit %" PRIu64 " applied %" PRIu64
               " last index %" PRIu64 "%s\n",
               i, st.role, st.term, st.commit_index, st.last_applied, st.log_length,
               st.stopped ? " STOPPED" : "");
    }
}

/* Every member has the same last index, commit index and applied index: the leader's, and
 * uses the same committed configuration: the members. Returns that index, or 0 after
 * timeout_ms. */
static uint64_t wait_converged(struct run *r, int timeout_ms)
{
    uint64_t deadline = chaos_now_ms() + (uint64_t)timeout_ms;
    do {
        int leader = chaos_cluster_find_leader(&r->cluster, 2000);
        struct chaos_status lst;
        if (leader > 0 && chaos_cluster_status(&r->cluster, leader, &lst, 1000) == 0) {
            unsigned members = 0;
            for (int i = 1; i <= r->cluster.n; i++)
                if (r->cluster.peer[i].member)
                    members |= 1u << i;
            bool all = lst.voters == members && lst.learners == 0 && !lst.config_pending;
            for (int i = 1; i <= r->cluster.n && all; i++) {
                struct chaos_status st;
                all = !r->cluster.peer[i].member ||
                      (chaos_cluster_status(&r->cluster, i, &st, 1000) == 0 &&
                       st.last_applied == lst.commit_index && st.commit_index == lst.commit_index &&
                       st.log_length == lst.commit_index && st.voters == members &&
                       st.learners == 0 && !st.config_pending);
            }
            if (all)
                return lst.commit_index;
        }
        chaos_sleep_ms(100);
    } while (chaos_now_ms() < deadline);
    return 0;
}

/* Makes peer i the leader: asks the current leader to hand over, waits, asks again. */
static bool make_leader(struct run *r, int i)
{
    for (int attempt = 0; attempt < 5; attempt++) {
        int leader = chaos_cluster_find_leader(&r->cluster, 5000);
        if (leader == i)
            return true;
        if (leader > 0) {
            char line[128], answer[1024];
            snprintf(line, sizeof(line), "{\"type\":\"transfer\",\"target\":\"%s\"}\n",
                     r->cluster.peer[i].name);
            chaos_exchange(r->cluster.peer[leader].host, r->cluster.peer[leader].port, line, answer,
                           sizeof(answer), 1000);
        }
        uint64_t deadline = chaos_now_ms() + 3000;
        while (chaos_now_ms() < deadline) {
            if (chaos_cluster_find_leader(&r->cluster, 0) == i)
                return true;
            chaos_sleep_ms(50);
        }
    }
    return false;
}

/* The state of every peer, read through that peer as leader: all must agree. */
static void read_every_peer(struct run *r)
{
    static int64_t values[CHAOS_MAX_PEERS + 1][FINAL_KEYS];
    bool have[CHAOS_MAX_PEERS + 1] = {false};
    int read = 0, members = 0;
    for (int i = 1; i <= r->cluster.n; i++) {
        if (!r->cluster.peer[i].member)
            continue; /* a removed peer holds an old state, and nobody reads it */
        members++;
        /* The healed cluster may still change leaders now and then (a peer stalled by a
         * loaded machine): a peer that lost its leadership in the middle of the reads is
         * made the leader again and read again, from the first key. */
        for (int attempt = 0; attempt < 3 && !have[i]; attempt++) {
            if (!make_leader(r, i)) {
                printf("  peer%d: could not make it the leader; its state is checked through "
                       "its applied index only\n",
                       i);
                break;
            }
            chaos_client_close(&r->final);
            r->final.pinned = i;
            r->final.target = i;
            bool ok = true;
            for (int k = 0; k < r->nkeys && ok; k++) {
                struct chaos_op op;
                if (chaos_client_do(&r->final, r->keys[k], LIN_GET, 0, 0, &op) != 0)
                    ok = false;
                else if (op.outcome != LIN_OK || !op.has_result) {
                    printf("  peer%d: read of %s failed (%s)\n", i, r->keys[k], op.error);
                    ok = false;
                } else {
                    values[i][k] = op.result;
                }
            }
            if (!ok)
                continue;
            have[i] = true;
            read++;
        }
    }
    r->final.pinned = 0;
    chaos_client_close(&r->final);
    int first = 0;
    for (int i = 1; i <= r->cluster.n && !first; i++)
        if (have[i])
            first = i;
    if (!first) {
        problem(r, "no peer's state could be read");
        return;
    }
    int differ = 0;
    for (int k = 0; k < r->nkeys; k++) {
        for (int i = first + 1; i <= r->cluster.n; i++) {
            if (have[i] && values[i][k] != values[first][k]) {
                problem(r, "peer%d has %s = %lld but peer%d has %lld", i, r->keys[k],
                        (long long)values[i][k], first, (long long)values[first][k]);
                differ++;
            }
        }
    }
    printf("per-peer reads: %d of %d members read as leader, %s on %d keys\n", read, members,
           differ ? "DIFFERENT" : "identical", r->nkeys);
    if (read < members)
        problem(r, "only %d of %d members could be read as leader", read, members);
}

static uint64_t next_rand(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

static void print_faults(const struct nemesis *m)
{
    printf("faults injected: %d (", nemesis_total(m));
    for (int k = 0; k < FAULT_KINDS; k++)
        printf("%s%s %d", k ? ", " : "", nemesis_kind_name((enum fault_kind)k), m->counts[k]);
    printf(")\n");
}

static void print_power_cuts(const struct power_cuts *pc)
{
    if (!pc->reason[0] && !pc->n) {
        printf("power cuts: off (--no-power-cuts)\n");
        return;
    }
    if (pc->reason[0]) {
        printf("power cuts: SKIPPED, every other fault ran (%s)\n", pc->reason);
        return;
    }
    uint64_t pages, dir_ops, failed;
    power_cuts_totals(pc, &pages, &dir_ops, &failed);
    printf("power cuts: %d disks cut; %" PRIu64 " unsynced pages dropped, %" PRIu64
           " unsynced directory operations undone (%" PRIu64 " could not be)\n",
           pc->cuts, pages, dir_ops, failed);
}

static void print_membership(const struct run *r)
{
    const struct nemesis *m = &r->nemesis;
    if (!r->opt.membership) {
        printf("membership changes: off (--no-membership)\n");
        return;
    }
    printf("membership changes: %d adds of a wiped peer (learner, then voter), %d removals, "
           "%d requests; removed peers: %d exited on their own, %d killed after 2 s; members at "
           "the end:",
           m->added, m->removed, m->member_requests, m->removed_exited, m->removed_killed);
    for (int i = 1; i <= r->cluster.n; i++)
        if (r->cluster.peer[i].member)
            printf(" peer%d", i);
    printf("\n");
}

static int setup(struct run *r)
{
    struct options *o = &r->opt;
    char err[512];
    if (o->no_network) {
        memset(&r->nf, 0, sizeof(r->nf));
        r->nf.n = o->peers;
        for (int i = 0; i <= NETFAULT_MAX_PEERS; i++)
            r->nf.nsfd[i] = -1;
        snprintf(r->nf.reason, sizeof(r->nf.reason), "disabled by --no-network");
    } else if (netfault_setup(&r->nf, o->peers, err, sizeof(err)) != 0) {
        fprintf(stderr, "raft_chaos: %s\n", err);
        return -1;
    }
    const char *bin = getenv("RAFT_BIN_DIR");
    int bootstrap = o->membership ? 3 : o->peers;
    if (chaos_cluster_create(&r->cluster, o->peers, bootstrap, &r->nf, bin && *bin ? bin : "bin",
                             NULL, err, sizeof(err)) != 0) {
        fprintf(stderr, "raft_chaos: %s\n", err);
        return -1;
    }
    r->cluster_made = true;
    if (o->power_cuts != 0 &&
        power_cuts_setup(&r->power, &r->cluster, o->power_cuts == 1, err, sizeof(err)) != 0) {
        fprintf(stderr, "raft_chaos: %s\n", err);
        return -1;
    }
    char path[400];
    snprintf(path, sizeof(path), "%s/nemesis.txt", r->cluster.dir);
    r->timeline = fopen(path, "w");
    printf("raft_chaos: seed %" PRIu64 ", %d peers, %d clients, %d s of faults, directory %s\n",
           o->seed, o->peers, o->clients, o->seconds, r->cluster.dir);
    if (o->membership)
        printf("membership faults: yes, %d of the ini's %d peers start as voters, the others "
               "join with --join when added\n",
               bootstrap, o->peers);
    else
        printf("membership faults: off (--no-membership), all %d peers start as voters\n",
               o->peers);
    if (r->nf.isolated)
        printf("network: one namespace per peer, links cut with blackhole routes%s\n",
               r->nf.user_ns ? " (in a user namespace: not root)" : "");
    else
        printf("network: WITHOUT network faults (%s)\n", r->nf.reason);
    if (r->power.enabled)
        printf("power cuts: yes, each peer's data directory on a lazyfs mount of its own\n");
    else if (o->power_cuts != 0)
        printf("power cuts: SKIPPED (%s); every other fault runs\n", r->power.reason);
    fflush(stdout);
    for (int i = 1; i <= bootstrap; i++) {
        if (chaos_cluster_start(&r->cluster, i, err, sizeof(err)) != 0) {
            fprintf(stderr, "raft_chaos: %s\n", err);
            return -1;
        }
    }
    if (chaos_cluster_find_leader(&r->cluster, 15000) < 0) {
        fprintf(stderr, "raft_chaos: no leader within 15 s of the start\n");
        return -1;
    }
    return 0;
}

static int start_clients(struct run *r)
{
    char run_id[40];
    snprintf(run_id, sizeof(run_id), "%" PRIx64 "-%d", r->opt.seed, (int)getpid());
    r->clients = calloc((size_t)r->opt.clients, sizeof(*r->clients));
    if (!r->clients)
        return -1;
    for (int k = 0; k < r->opt.clients; k++) {
        chaos_client_init(&r->clients[k], k, run_id, r->opt.seed, &r->cluster, &r->stop);
        if (pthread_create(&r->threads[k], NULL, chaos_client_thread, &r->clients[k]) != 0)
            return -1;
        r->started++;
    }
    chaos_client_init(&r->final, HISTORY_FINAL, run_id, r->opt.seed, &r->cluster, &r->stop);
    return 0;
}

static void stop_clients(struct run *r)
{
    atomic_store(&r->stop, 1);
    for (int k = 0; k < r->started; k++)
        pthread_join(r->threads[k], NULL);
    r->started = 0;
}

/* The faults, from the seed, until the run's time is up; then everything healed. */
static void inject(struct run *r, uint64_t end_ms)
{
    uint64_t rng = (r->opt.seed ^ 0x5ca1ab1e) | 1;
    char err[512];
    for (;;) {
        uint64_t now = chaos_now_ms();
        if (now + 1000 > end_ms)
            break;
        int calm = 300 + (int)(next_rand(&rng) % 1200);
        if ((uint64_t)calm > end_ms - now)
            calm = (int)(end_ms - now);
        nemesis_watch(&r->nemesis, calm);
        now = chaos_now_ms();
        if (now + 800 > end_ms)
            break;
        int hold = 500 + (int)(next_rand(&rng) % 3500);
        if ((uint64_t)hold > end_ms - now - 200)
            hold = (int)(end_ms - now - 200);
        if (nemesis_round(&r->nemesis, hold, err, sizeof(err)) != 0) {
            problem(r, "fault injection failed: %s", err);
            break;
        }
    }
    if (nemesis_heal_all(&r->nemesis, err, sizeof(err)) != 0)
        problem(r, "healing failed: %s", err);
}

static int run_chaos(struct run *r)
{
    if (setup(r) != 0)
        return 2;
    if (start_clients(r) != 0) {
        fprintf(stderr, "raft_chaos: cannot start the clients\n");
        return 2;
    }
    nemesis_init(&r->nemesis, &r->cluster, &r->nf, &r->power, r->opt.membership, r->opt.seed,
                 r->timeline);
    uint64_t t0 = chaos_now_ms(), end = t0 + (uint64_t)r->opt.seconds * 1000;
    inject(r, end);
    print_faults(&r->nemesis);
    /* A little more load on the healed cluster, then the clients finish their last op
     * and write their session fence. */
    nemesis_watch(&r->nemesis, 2000);
    stop_clients(r);
    double load_seconds = (double)(chaos_now_ms() - t0) / 1000.0;
    fflush(stdout);

    uint64_t index = wait_converged(r, 30000);
    if (!index)
        problem(r, "the peers did not converge within 30 s of the end");
    else
        printf("converged: every peer's last index, commit index and applied index are %" PRIu64
               "\n",
               index);
    print_statuses(r);
    for (int k = 0; k < r->opt.clients; k++)
        snprintf(r->keys[r->nkeys++], HISTORY_KEY_MAX + 1, "c%d", k);
    for (int k = 0; k < CHAOS_SHARED_KEYS; k++)
        snprintf(r->keys[r->nkeys++], HISTORY_KEY_MAX + 1, "k%d", k);
    read_every_peer(r);
    index = wait_converged(r, 30000);
    if (!index)
        problem(r, "the peers did not converge again after the per-peer reads");
    nemesis_watch(&r->nemesis, 0);
    if (r->nemesis.unexpected_exits)
        problem(r, "%d peer(s) died without being killed; first: %s", r->nemesis.unexpected_exits,
                r->nemesis.first_exit);
    char why[300];
    int lazyfs_deaths = power_cuts_deaths(&r->power, why, sizeof(why));
    if (lazyfs_deaths)
        problem(r, "%d lazyfs process(es) died; first: %s", lazyfs_deaths, why);

    for (int k = 0; k < r->opt.clients; k++) {
        if (r->clients[k].oom || history_extend(&r->all, &r->clients[k].hist) != 0) {
            problem(r, "out of memory recording the history");
            return 1;
        }
    }
    if (history_extend(&r->all, &r->final.hist) != 0) {
        problem(r, "out of memory recording the history");
        return 1;
    }
    history_bound_unknowns(&r->all);
    char path[400], err[512];
    snprintf(path, sizeof(path), "%s/history.txt", r->cluster.dir);
    if (history_save(&r->all, path, err, sizeof(err)) != 0)
        problem(r, "cannot save the history: %s", err);
    fflush(stdout);
    struct check_summary sum;
    int rc = chaos_check_history(&r->all, r->opt.max_steps, stdout, &sum);
    if (rc != 0)
        problem(r, "the history checks failed");

    printf("\n== raft_chaos figures ==\n");
    printf("seed %" PRIu64 "; %d peers, %d clients; faults for %d s (%.1f min), load for %.1f s\n",
           r->opt.seed, r->opt.peers, r->opt.clients, r->opt.seconds, r->opt.seconds / 60.0,
           load_seconds);
    printf("network faults: %s\n", r->nf.isolated ? "yes (network namespaces)" : r->nf.reason);
    print_faults(&r->nemesis);
    print_power_cuts(&r->power);
    print_membership(r);
    printf("peer deaths not caused by the nemesis: %d\n", r->nemesis.unexpected_exits);
    print_summary_ops(&sum, load_seconds);
    printf("verdict: %s\n", r->problems ? "FAIL" : "PASS");
    return r->problems ? 1 : 0;
}

int main(int argc, char **argv)
{
    static struct run run; /* large; static keeps it off the stack */
    if (parse_args(argc, argv, &run.opt) != 0) {
        usage(stderr);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (run.opt.check_file)
        return check_only(&run.opt);
    int rc = run_chaos(&run);
    stop_clients(&run);
    if (run.cluster_made) {
        bool keep = run.opt.keep || rc != 0;
        if (keep)
            printf("kept %s: history.txt, nemesis.txt (the fault timeline), logs/, peerN.out\n",
                   run.cluster.dir);
        /* The peers die before their disks are unmounted, the mounts before rm -rf. */
        for (int i = 1; i <= run.cluster.n; i++)
            chaos_cluster_kill(&run.cluster, i);
        power_cuts_teardown(&run.power);
        chaos_cluster_destroy(&run.cluster, keep);
    }
    if (run.timeline)
        fclose(run.timeline);
    for (int k = 0; run.clients && k < run.opt.clients; k++)
        history_free(&run.clients[k].hist);
    free(run.clients);
    history_free(&run.final.hist);
    history_free(&run.all);
    netfault_close(&run.nf);
    return rc;
}
