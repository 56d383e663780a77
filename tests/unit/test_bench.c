/* test_bench.c: raft_bench's own pieces: exact percentiles, the mix, the command line,
 * and the load loop against fake peers that redirect, push back and stay silent.
 * The Makefile builds every bench source into one program, so this test is built by
 * hand: the command is in docs/PERFORMANCE.md ("Testing the bench"). */
#include <criterion/criterion.h>

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench/fsync_round.h"
#include "bench/latency.h"
#include "bench/load.h"
#include "bench/mix.h"
#include "bench/options.h"
#include "common/client_protocol.h"
#include "common/net.h"

/* ---- a majority's fsyncs together ------------------------------------------- */

Test(fsync_round, one_sample_per_round_from_first_start_to_the_quorum)
{
    char dir[] = "/tmp/raftvillage-test-round-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    struct latency l;
    latency_init(&l);
    char err[256] = "";
    cr_assert_eq(fsync_round_measure(dir, 3, 2, 20, 60000000u, &l, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(l.n, 20);
    cr_assert_gt(latency_min(&l), 0); /* a write and an fdatasync take some time */
    latency_free(&l);
    for (int i = 0; i < 3; i++) {
        char path[96];
        snprintf(path, sizeof(path), "%s/writer%d", dir, i);
        cr_assert_eq(unlink(path), 0, "writer %d had no file of its own", i);
    }
    cr_assert_eq(rmdir(dir), 0);
}

Test(fsync_round, refuses_a_quorum_it_cannot_have)
{
    struct latency l;
    latency_init(&l);
    char err[256] = "";
    cr_assert_eq(fsync_round_measure("/nonexistent", 3, 4, 5, 1000000u, &l, err, sizeof(err)), -1);
    cr_assert_neq(err[0], '\0');
    cr_assert_eq(fsync_round_measure("/nonexistent", 3, 2, 5, 1000000u, &l, err, sizeof(err)), -1);
    cr_assert(strstr(err, "/nonexistent") != NULL, "%s", err);
    cr_assert_eq(l.n, 0);
    latency_free(&l);
}

/* ---- latency ---------------------------------------------------------------- */

Test(latency, nearest_rank_percentiles_are_exact)
{
    struct latency l;
    latency_init(&l);
    for (uint64_t v = 1000; v >= 1; v--) /* reversed, so sorting matters */
        latency_add(&l, v);
    cr_assert_eq(latency_percentile(&l, 50), 500);
    cr_assert_eq(latency_percentile(&l, 99), 990);
    cr_assert_eq(latency_percentile(&l, 99.9), 999);
    cr_assert_eq(latency_min(&l), 1);
    cr_assert_eq(latency_max(&l), 1000);
    cr_assert_float_eq(latency_mean(&l), 500.5, 1e-9);
    latency_free(&l);
}

Test(latency, small_and_empty_sets)
{
    struct latency l;
    latency_init(&l);
    cr_assert_eq(latency_percentile(&l, 50), 0);
    cr_assert_eq(latency_mean(&l), 0);
    latency_add(&l, 7);
    cr_assert_eq(latency_percentile(&l, 50), 7);
    cr_assert_eq(latency_percentile(&l, 99.9), 7);
    latency_add(&l, 3);
    /* 2 samples: the median is the lower one (rank ceil(1) = 1). */
    cr_assert_eq(latency_percentile(&l, 50), 3);
    cr_assert_eq(latency_percentile(&l, 51), 7);
    latency_free(&l);
}

Test(latency, merge_keeps_every_sample)
{
    struct latency a, b;
    latency_init(&a);
    latency_init(&b);
    for (int i = 0; i < 10000; i++)
        latency_add(i % 2 ? &a : &b, (uint64_t)i);
    cr_assert_eq(latency_merge(&a, &b), 0);
    cr_assert_eq(a.n, 10000);
    cr_assert_eq(latency_percentile(&a, 100), 9999);
    cr_assert_eq(latency_percentile(&a, 50), 4999);
    latency_free(&a);
    latency_free(&b);
}

/* ---- mix -------------------------------------------------------------------- */

Test(mix, parses_and_canonicalises)
{
    struct mix m;
    char err[200];
    cr_assert_eq(mix_parse("get=10,add=90", &m, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(m.weight[MIX_ADD], 90);
    cr_assert_eq(m.weight[MIX_GET], 10);
    cr_assert_eq(m.total, 100);
    cr_assert_str_eq(m.text, "add=90,get=10");
    cr_assert_eq(mix_parse("set=1,add=1,sub=1,mul=1,div=1,cas=1,get=1,del=1", &m, err, sizeof(err)),
                 0);
    cr_assert_eq(m.total, 8);
}

Test(mix, refuses_bad_specs)
{
    static const char *const bad[] = {
        "",       "add",    "add=",  "add=-1",       "add=+1",
        "add=1x", "add=1,", "foo=1", "add=1,add=2",  "get=0",
        " add=1", "add= 1", "=5",    "add=1,,get=1", "add=1000001",
    };
    struct mix m;
    char err[200];
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        cr_assert_eq(mix_parse(bad[i], &m, err, sizeof(err)), -1, "accepted '%s'", bad[i]);
    char longer[300];
    memset(longer, 'a', sizeof(longer) - 1);
    longer[sizeof(longer) - 1] = 0;
    cr_assert_eq(mix_parse(longer, &m, err, sizeof(err)), -1);
}

Test(mix, draws_follow_the_weights)
{
    struct mix m;
    char err[200], cmd[64];
    cr_assert_eq(mix_parse("add=90,get=10", &m, err, sizeof(err)), 0);
    uint64_t rng = 42;
    int writes = 0;
    for (int i = 0; i < 20000; i++) {
        bool w;
        enum mix_op op = mix_draw(&m, &rng, 5, cmd, sizeof(cmd), &w);
        cr_assert(op == MIX_ADD || op == MIX_GET);
        cr_assert_eq(w, op == MIX_ADD);
        unsigned key;
        char verb[8];
        cr_assert_eq(sscanf(cmd, "k%u %7s", &key, verb), 2, "%s", cmd);
        cr_assert_lt(key, 5);
        cr_assert_str_eq(verb, op == MIX_ADD ? "add" : "get");
        writes += w;
    }
    cr_assert(writes > 17600 && writes < 18400, "writes %d of 20000", writes);
}

/* ---- options ---------------------------------------------------------------- */

static int parse(struct bench_options *o, const char *const *args, int n)
{
    char *argv[32];
    char err[512];
    argv[0] = "raft_bench";
    for (int i = 0; i < n; i++)
        argv[i + 1] = (char *)args[i];
    argv[n + 1] = NULL;
    return options_parse(n + 1, argv, o, err, sizeof(err));
}

Test(options, defaults_and_modes)
{
    struct bench_options o;
    cr_assert_eq(parse(&o, NULL, 0), 0);
    cr_assert_eq(o.mode, MODE_RUN);
    cr_assert_eq(o.peers, 3);
    cr_assert_eq(o.clients, 1);
    cr_assert_eq(o.request_timeout_ms, 1000);
    cr_assert_str_eq(o.log_level, "warn");
    const char *fo[] = {"failover", "--signal", "STOP", "--timeouts", "12-24", "--heartbeat", "4"};
    cr_assert_eq(parse(&o, fo, 7), 0);
    cr_assert_eq(o.mode, MODE_FAILOVER);
    cr_assert_eq(o.signal, SIGSTOP);
    cr_assert_eq(o.timeout_min, 12);
    cr_assert_eq(o.timeout_max, 24);
    cr_assert_eq(o.request_timeout_ms, 12);
    const char *run[] = {"-n", "5", "-C", "64", "-T", "2.5", "--mix", "get=1", "run", "--json"};
    cr_assert_eq(parse(&o, run, 10), 0);
    cr_assert_eq(o.peers, 5);
    cr_assert_eq(o.clients, 64);
    cr_assert_float_eq(o.seconds, 2.5, 1e-9);
    cr_assert(o.json);
    const char *fw[] = {"follower", "-C", "64", "-T", "10", "--warmup", "3"};
    cr_assert_eq(parse(&o, fw, 7), 0);
    cr_assert_eq(o.mode, MODE_FOLLOWER);
    cr_assert_eq(o.clients, 64);
    cr_assert_float_eq(o.warmup, 3, 1e-9);
    const char *help[] = {"--help"};
    cr_assert_eq(parse(&o, help, 1), 1);
}

Test(options, refuses_bad_usage)
{
    struct bench_options o;
    const char *const cases[][4] = {
        {"-C", "0"},
        {"-C", "100000"},
        {"-n", "x"},
        {"-T", "nan"},
        {"--timeouts", "300-150"},
        {"--timeouts", "150"},
        {"--heartbeat", "150"}, /* not below the default minimum timeout of 150 */
        {"failover", "-c", "raft_peer.ini"},
        {"failover", "-n", "2"},
        {"follower", "-n", "2"},
        {"follower", "-c", "raft_peer.ini"},
        {"bogus"},
        {"run", "extra"},
        {"--signal", "HUP"},
        {"--log-level", "loud"},
        {"--kills"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int n = 0;
        while (n < 4 && cases[i][n])
            n++;
        cr_assert_eq(parse(&o, cases[i], n), -1, "case %zu (%s) accepted", i, cases[i][0]);
    }
}

/* ---- the load loop against fake peers --------------------------------------- */

/* Four fake peers on one thread: "a" redirects to "b"; "b" answers every other
 * request with unavailable and the others with ok; "s" accepts and never answers;
 * "u" names "s" as the leader, as followers do for a while after a leader froze. */
#define FAKES 4
struct fake {
    int lfd[FAKES];
    int port[FAKES];
    int stop_pipe[2];
    unsigned served_b;
    _Atomic unsigned accepted[FAKES]; /* connections each fake took */
    _Atomic unsigned answered[FAKES]; /* answers each fake sent */
};

static void answer(int fd, const struct client_response *resp)
{
    char line[1024];
    int len = client_response_encode(resp, line, sizeof(line));
    if (len > 0 && write(fd, line, (size_t)len) != len)
        return;
}

static void *fake_main(void *arg)
{
    struct fake *f = arg;
    struct pollfd pfd[64];
    int kind[64];
    int n = 0;
    for (int i = 0; i < FAKES; i++) {
        pfd[n] = (struct pollfd){.fd = f->lfd[i], .events = POLLIN};
        kind[n++] = 10 + i; /* listening socket of peer i */
    }
    pfd[n] = (struct pollfd){.fd = f->stop_pipe[0], .events = POLLIN};
    kind[n++] = -1;
    char err[128], buf[4096];
    for (;;) {
        if (poll(pfd, (nfds_t)n, 1000) < 0)
            break;
        for (int i = 0; i < n; i++) {
            if (!(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            if (kind[i] == -1)
                goto done;
            if (kind[i] >= 10) {
                int fd = tcp_accept(err, sizeof(err), pfd[i].fd, NULL, 0, NULL);
                if (fd < 0)
                    continue;
                int slot = 0; /* reuse the slot of a closed connection: clients reconnect a lot */
                while (slot < n && pfd[slot].fd >= 0)
                    slot++;
                if (slot == 64) {
                    close(fd);
                    continue;
                }
                set_nonblock(err, sizeof(err), fd, false);
                atomic_fetch_add(&f->accepted[kind[i] - 10], 1);
                pfd[slot] = (struct pollfd){.fd = fd, .events = POLLIN};
                kind[slot] = kind[i] - 10;
                if (slot == n)
                    n++;
                continue;
            }
            ssize_t got = read(pfd[i].fd, buf, sizeof(buf));
            if (got <= 0) {
                close(pfd[i].fd);
                pfd[i].fd = -1; /* poll ignores negative fds */
                continue;
            }
            /* One request per read is what a closed-loop client sends. */
            struct client_response resp = {0};
            if (kind[i] == 0) {
                snprintf(resp.error, sizeof(resp.error), "not_leader");
                snprintf(resp.leader, sizeof(resp.leader), "b");
                snprintf(resp.host, sizeof(resp.host), "127.0.0.1");
                resp.port = f->port[1];
                answer(pfd[i].fd, &resp);
            } else if (kind[i] == 1) {
                if (f->served_b++ % 2 == 0) {
                    snprintf(resp.error, sizeof(resp.error), "unavailable");
                } else {
                    resp.ok = true;
                    resp.has_result = true;
                    resp.result = 1;
                    resp.index = f->served_b;
                    snprintf(resp.leader, sizeof(resp.leader), "b");
                }
                answer(pfd[i].fd, &resp);
            } else if (kind[i] == 3) {
                snprintf(resp.error, sizeof(resp.error), "not_leader");
                snprintf(resp.leader, sizeof(resp.leader), "s");
                snprintf(resp.host, sizeof(resp.host), "127.0.0.1");
                resp.port = f->port[2];
                answer(pfd[i].fd, &resp);
            }
            /* kind 2 ("s") stays silent. */
            if (kind[i] != 2)
                atomic_fetch_add(&f->answered[kind[i]], 1);
        }
    }
done:
    for (int i = 0; i < n; i++)
        if (pfd[i].fd >= 0 && kind[i] >= 0 && kind[i] < 10)
            close(pfd[i].fd);
    return NULL;
}

static void fake_start(struct fake *f, pthread_t *t, struct load_target targets[FAKES])
{
    char err[128];
    static const char *const names[] = {"a", "b", "s", "u"};
    for (int i = 0; i < FAKES; i++) {
        f->lfd[i] = tcp_listen(err, sizeof(err), "127.0.0.1", 0, 16);
        cr_assert_geq(f->lfd[i], 0, "%s", err);
        f->port[i] = tcp_local_port(err, sizeof(err), f->lfd[i]);
        snprintf(targets[i].name, sizeof(targets[i].name), "%s", names[i]);
        snprintf(targets[i].host, sizeof(targets[i].host), "127.0.0.1");
        targets[i].port = f->port[i];
    }
    cr_assert_eq(pipe(f->stop_pipe), 0);
    cr_assert_eq(pthread_create(t, NULL, fake_main, f), 0);
}

static void fake_stop(struct fake *f, pthread_t t)
{
    cr_assert_eq(write(f->stop_pipe[1], "x", 1), 1);
    pthread_join(t, NULL);
    for (int i = 0; i < FAKES; i++)
        close(f->lfd[i]);
    close(f->stop_pipe[0]);
    close(f->stop_pipe[1]);
}

/* A run does not last a fixed time, which a loaded machine may spend descheduled: a
 * watcher thread ends it through the probe once it has shown what the test checks.
 * Runs also get a duration of RUN_LIMIT_US, so that a broken loop cannot hang. */
#define RUN_LIMIT_US 30000000u
struct watch {
    struct load_probe *probe;
    const struct fake *fake;
    bool (*enough)(const struct watch *w);
    /* What starts the minimum window: NULL for the first answer the probe counts. */
    bool (*begun)(const struct watch *w);
    /* May be NULL; when true, the run is ended at once: the test is bound to fail, and
     * need not wait for enough. */
    bool (*failed)(const struct watch *w);
    uint64_t min_window_us; /* and at least this long since it began */
    uint64_t first_ok_us;   /* when the watcher first saw it begin, 0 before */
    uint64_t stop_us;       /* when it ended the run, 0 if it did not */
    _Atomic int done;       /* load_run returned: stop watching */
    pthread_t thread;
};

static bool probe_answered(const struct watch *w)
{
    return atomic_load(&w->probe->ok_count) > 0;
}

static void *watch_main(void *arg)
{
    struct watch *w = arg;
    bool (*begun)(const struct watch *) = w->begun ? w->begun : probe_answered;
    while (!atomic_load(&w->done)) {
        uint64_t now = bench_now_us();
        if (!w->first_ok_us && begun(w))
            w->first_ok_us = now;
        if (w->failed && w->failed(w)) {
            w->stop_us = now;
            atomic_store(&w->probe->stop, 1);
            break;
        }
        if (w->first_ok_us && w->enough(w) && w->first_ok_us + w->min_window_us <= now) {
            w->stop_us = now;
            atomic_store(&w->probe->stop, 1);
            break;
        }
        struct timespec ts = {.tv_nsec = 1000000};
        nanosleep(&ts, NULL);
    }
    return NULL;
}

static void watch_start(struct watch *w)
{
    cr_assert_eq(pthread_create(&w->thread, NULL, watch_main, w), 0);
}

static void watch_stop(struct watch *w)
{
    atomic_store(&w->done, 1);
    pthread_join(w->thread, NULL);
}

static bool more_than_10_ok(const struct watch *w)
{
    return atomic_load(&w->probe->ok_count) > 10;
}

static bool u_answered(const struct watch *w)
{
    return atomic_load(&w->fake->answered[3]) > 0;
}

static bool u_answered_more_than_25(const struct watch *w)
{
    return atomic_load(&w->fake->answered[3]) > 25;
}

static bool s_dialled_again(const struct watch *w)
{
    return atomic_load(&w->fake->accepted[2]) > 1;
}

static bool always(const struct watch *w)
{
    (void)w;
    return true;
}

/* What every load test starts from: the fakes listening, and the mix parsed. */
struct rig {
    struct fake f;
    pthread_t t;
    struct load_target targets[FAKES];
    struct mix m;
};

static void rig_start(struct rig *g, const char *mix)
{
    signal(SIGPIPE, SIG_IGN);
    *g = (struct rig){0};
    fake_start(&g->f, &g->t, g->targets);
    char err[256];
    cr_assert_eq(mix_parse(mix, &g->m, err, sizeof(err)), 0, "%s", err);
}

/* One load run with its watcher; returns how long load_run took, in microseconds. */
static uint64_t run_watched(const struct load_options *o, struct watch *w, struct load_result *r)
{
    char err[256];
    watch_start(w);
    uint64_t before = bench_now_us();
    int rc = load_run(o, r, err, sizeof(err));
    uint64_t took = bench_now_us() - before;
    watch_stop(w);
    cr_assert_eq(rc, 0, "%s", err);
    return took;
}

Test(load, follows_redirects_and_retries_unavailable)
{
    struct rig g;
    rig_start(&g, "add=3,get=1");
    struct load_probe probe = {0};
    /* More than 10 commands answered over at least 300 ms, however long that takes. */
    struct watch w = {
        .probe = &probe, .fake = &g.f, .enough = more_than_10_ok, .min_window_us = 300000};
    struct load_options o = {
        .targets = g.targets,
        .n_targets = 2, /* a and b only */
        .first_target = 0,
        .clients = 4,
        .duration_us = RUN_LIMIT_US,
        .mix = &g.m,
        .keys = 10,
        .seed = 1,
        /* The fakes always answer: no request may time out, even on a stalled machine. */
        .request_timeout_ms = 10000,
        .retry_delay_ms = 0,
        .suspect_ms = 100,
        .id_prefix = "t",
        .probe = &probe,
    };
    struct load_result r;
    uint64_t took = run_watched(&o, &w, &r);
    fake_stop(&g.f, g.t);
    cr_assert_neq(w.stop_us, 0, "not enough answers in %u s", RUN_LIMIT_US / 1000000);
    cr_assert_gt(r.ok, 10, "ok %llu", (unsigned long long)r.ok);
    cr_assert_eq(r.bad, 0, "%s", r.first_bad);
    cr_assert_geq(r.redirects, 4, "each client starts at a and is sent to b");
    cr_assert_geq(r.unavailable, r.ok - 4, "b answers unavailable before each ok");
    cr_assert_eq(r.all.n, r.ops);
    cr_assert_eq(r.writes.n + r.reads.n, r.ops);
    cr_assert_eq(r.timeouts, 0);
    /* The window runs from the start to the stop: it covers what the watcher saw. */
    cr_assert_geq(r.window_us, w.stop_us - w.first_ok_us, "window %llu us",
                  (unsigned long long)r.window_us);
    cr_assert_leq(r.window_us, took, "window %llu us", (unsigned long long)r.window_us);
    load_result_free(&r);
}

/* A run with a duration and no one to stop it (raft_bench run): it ends at the window's
 * end, and the window is exactly the duration (clamped to it). The probe sees every
 * answer, the window only those up to its end: the probe is never behind the window, and
 * ahead of it by at most one answer per client (in the loop's last round). */
Test(load, a_run_with_a_duration_ends_there)
{
    struct rig g;
    rig_start(&g, "add=3,get=1");
    /* A machine that deschedules this process for all of the 200 ms leaves no answer in
     * the window: up to 5 runs, the window checks on each, an answer needed in one. */
    bool answered = false;
    for (int run = 0; run < 5 && !answered; run++) {
        struct load_probe probe = {0};
        /* Nobody stops the run; the watcher only ends one that ignores its duration. */
        struct watch w = {.probe = &probe,
                          .fake = &g.f,
                          .begun = always,
                          .enough = always,
                          .min_window_us = RUN_LIMIT_US};
        struct load_options o = {
            .targets = g.targets,
            .n_targets = 2, /* a and b only */
            .first_target = 0,
            .clients = 4,
            .duration_us = 200000,
            .mix = &g.m,
            .keys = 10,
            .seed = (uint64_t)run + 1,
            .request_timeout_ms = 10000,
            .retry_delay_ms = 0,
            .suspect_ms = 100,
            .id_prefix = "d",
            .probe = &probe,
        };
        struct load_result r;
        uint64_t took = run_watched(&o, &w, &r);
        cr_assert_eq(w.stop_us, 0, "the run went on past its duration until stopped after %u s",
                     RUN_LIMIT_US / 1000000);
        cr_assert_geq(took, o.duration_us, "the run ended after %llu us", (unsigned long long)took);
        cr_assert_eq(r.window_us, o.duration_us, "window %llu us", (unsigned long long)r.window_us);
        cr_assert_eq(r.bad, 0, "%s", r.first_bad);
        cr_assert_eq(r.all.n, r.ops);
        uint64_t seen = atomic_load(&probe.ok_count);
        cr_assert_geq(seen, r.ok, "probe %llu, window %llu", (unsigned long long)seen,
                      (unsigned long long)r.ok);
        cr_assert_leq(seen, r.ok + (uint64_t)o.clients, "probe %llu, window %llu",
                      (unsigned long long)seen, (unsigned long long)r.ok);
        answered = r.ok > 0;
        load_result_free(&r);
    }
    fake_stop(&g.f, g.t);
    cr_assert(answered, "no command answered inside a 200 ms window in 5 runs");
}

Test(load, gives_up_on_a_silent_peer)
{
    struct rig g;
    rig_start(&g, "add=1");
    /* Order s, a, b: the silent one first, then a redirect, then the answering one. */
    struct load_target order[3] = {g.targets[2], g.targets[0], g.targets[1]};
    struct load_probe probe = {0};
    struct watch w = {.probe = &probe, .fake = &g.f, .enough = more_than_10_ok};
    struct load_options o = {
        .targets = order,
        .n_targets = 3,
        .first_target = 0,
        .clients = 1,
        .duration_us = RUN_LIMIT_US,
        .mix = &g.m,
        .keys = 1,
        .seed = 2,
        .request_timeout_ms = 30,
        .retry_delay_ms = 1,
        .suspect_ms = 1000,
        .id_prefix = "silent",
        .probe = &probe,
    };
    struct load_result r;
    run_watched(&o, &w, &r);
    fake_stop(&g.f, g.t);
    cr_assert_neq(w.stop_us, 0, "not enough answers in %u s", RUN_LIMIT_US / 1000000);
    /* At least the first request; more only when this machine stalls the fake for 30 ms. */
    cr_assert_geq(r.timeouts, 1);
    cr_assert_gt(r.ok, 10);
    /* The probe stopped the run, so the window took in every answer the probe saw. */
    cr_assert_eq(atomic_load(&probe.ok_count), r.ok, "probe %llu, window %llu",
                 (unsigned long long)atomic_load(&probe.ok_count), (unsigned long long)r.ok);
    cr_assert_eq((int)(atomic_load(&probe.last_ok) & 0xff), 2, "answered by b");
    /* The first command waited out the timeout, so the worst latency shows it. */
    cr_assert_geq(latency_max(&r.all), 30000);
    load_result_free(&r);
}

Test(load, refuses_bad_options)
{
    struct mix m;
    char err[256];
    cr_assert_eq(mix_parse("add=1", &m, err, sizeof(err)), 0);
    struct load_target t = {.name = "a", .host = "127.0.0.1", .port = 1};
    struct load_options o = {.targets = &t,
                             .n_targets = 1,
                             .clients = 0,
                             .duration_us = 1,
                             .mix = &m,
                             .keys = 1,
                             .request_timeout_ms = 1,
                             .id_prefix = "x"};
    struct load_result r;
    cr_assert_eq(load_run(&o, &r, err, sizeof(err)), -1);
    o.clients = 1;
    o.duration_us = 0; /* no duration and no probe: would never stop */
    cr_assert_eq(load_run(&o, &r, err, sizeof(err)), -1);
}

Test(load, does_not_return_to_a_silent_peer_while_it_is_suspect)
{
    struct rig g;
    rig_start(&g, "add=1");
    /* s, then two followers that both still name s: plain round robin would come back
     * to s after every pair of redirects and wait out a timeout each time. */
    struct load_target order[3] = {g.targets[2], g.targets[3], g.targets[3]};
    struct load_probe probe = {0};
    /* Watched for half a second after u first answered, suspicion lasting a minute: a
     * client that forgot s was suspect in well under that (a suspicion counted in the
     * wrong unit, plain round robin) dials s again, and the run ends right there. */
    struct watch w = {.probe = &probe,
                      .fake = &g.f,
                      .begun = u_answered,
                      .enough = u_answered_more_than_25,
                      .failed = s_dialled_again,
                      .min_window_us = 500000};
    struct load_options o = {
        .targets = order,
        .n_targets = 3,
        .first_target = 0,
        .clients = 1,
        .duration_us = RUN_LIMIT_US,
        .mix = &g.m,
        .keys = 1,
        .seed = 3,
        /* Long enough that u, which always answers, never times out on a stalled machine:
         * then every peer would be suspect, and going back to s would be right. */
        .request_timeout_ms = 2000,
        .retry_delay_ms = 1,
        .suspect_ms = 60000,
        .id_prefix = "suspect",
        .probe = &probe,
    };
    struct load_result r;
    run_watched(&o, &w, &r);
    fake_stop(&g.f, g.t);
    cr_assert_eq(atomic_load(&g.f.accepted[2]), 1, "s was connected to %u times",
                 atomic_load(&g.f.accepted[2]));
    cr_assert_neq(w.stop_us, 0, "u was not asked often enough in %u s", RUN_LIMIT_US / 1000000);
    cr_assert_geq(w.stop_us - w.first_ok_us, w.min_window_us);
    cr_assert_eq(r.timeouts, 1, "timeouts %llu", (unsigned long long)r.timeouts);
    cr_assert_gt(r.redirects, 20);
    cr_assert_eq(r.ok, 0);
    load_result_free(&r);
}
