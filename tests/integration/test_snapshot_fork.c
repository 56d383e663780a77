/* test_snapshot_fork.c: snapshots written by a forked child (raft_peer/snapshot_child.c)
 * with real processes: the leader keeps answering while it takes several, every peer
 * restarts from its snapshot with every value intact, a follower far behind is brought
 * back by an installed snapshot while new ones are being written, and the byte trigger
 * fires on its own. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/lib/cluster.h"

#define WAIT_MS   8000
#define N_VARS    40
#define PER_VAR   100  /* commands per variable: 4000 in all */
#define STATUS_MS 1000 /* the slowest status answer tolerated: generous on a loaded machine */

static struct cluster cl;

static void teardown(void)
{
    cluster_stop(&cl);
}

static void start(const char *extra)
{
    /* Steady timeouts: the test counts on one leader while it writes (cluster.h). */
    struct cluster_options opt = {.extra_raft = extra,
                                  .log_level = "info",
                                  .election_timeout_min = CLUSTER_STEADY_TIMEOUT_MIN,
                                  .election_timeout_max = CLUSTER_STEADY_TIMEOUT_MAX};
    cr_assert_eq(cluster_start(&cl, 3, &opt), 0, "cannot start 3 peers");
    cr_assert_gt(cluster_wait_leader(&cl, WAIT_MS), 0, "no leader");
}

static int64_t run(const char *command)
{
    struct client_response resp;
    cr_assert_eq(cluster_command(&cl, command, 0, &resp, WAIT_MS), 0, "no answer to '%s'", command);
    cr_assert(resp.ok, "'%s' failed: %s %s", command, resp.error, resp.message);
    return resp.result;
}

/* Lines of peer's log that contain needle. */
static int log_count(int peer, const char *needle)
{
    return cluster_log_count(&cl, peer, needle);
}

/* The "N log entries" of peer's last start line, -1 if none. */
static long last_boot_entries(int peer)
{
    char path[600];
    snprintf(path, sizeof(path), "%s/logs/peer%d.log", cl.dir, peer);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char line[2048];
    long n = -1;
    while (fgets(line, sizeof(line), f)) {
        char *at = strstr(line, " log entries from ");
        if (!strstr(line, "started (pid") || !at)
            continue;
        while (at > line && at[-1] >= '0' && at[-1] <= '9')
            at--;
        n = strtol(at, NULL, 10);
    }
    fclose(f);
    return n;
}

static bool data_file_exists(int peer, const char *name)
{
    char path[600];
    struct stat st;
    snprintf(path, sizeof(path), "%s/data/peer%d/%s", cl.dir, peer, name);
    return stat(path, &st) == 0;
}

/* Asks one peer for its status every 10 ms on a fresh connection and keeps the slowest
 * answer (a missing answer counts as the full timeout). */
struct prober {
    pthread_t thread;
    int peer;
    atomic_bool stop;
    uint64_t slowest_ms;
    int answers, misses;
};

static void *probe(void *arg)
{
    struct prober *pr = arg;
    while (!atomic_load(&pr->stop)) {
        char line[8192];
        uint64_t t0 = harness_now_ms();
        int rc = peer_exchange(&cl, pr->peer, "{\"type\":\"status\"}\n", line, sizeof(line),
                               2 * STATUS_MS);
        uint64_t took = harness_now_ms() - t0;
        if (rc == 0)
            pr->answers++;
        else
            pr->misses++;
        if (took > pr->slowest_ms)
            pr->slowest_ms = took;
        harness_sleep_ms(10);
    }
    return NULL;
}

static void write_vars(const char *client, uint64_t first_seq)
{
    for (int v = 0; v < N_VARS; v++) {
        char cmd[64];
        snprintf(cmd, sizeof(cmd), "v%d add %d", v, v + 1);
        int ok = cluster_pipeline(&cl, client, first_seq + (uint64_t)v * PER_VAR, PER_VAR, cmd, 32,
                                  30000);
        cr_assert_eq(ok, PER_VAR, "only %d of %d '%s' succeeded", ok, PER_VAR, cmd);
    }
}

static void check_vars(int times)
{
    for (int v = 0; v < N_VARS; v++) {
        char cmd[64];
        snprintf(cmd, sizeof(cmd), "v%d get", v);
        cr_assert_eq(run(cmd), (int64_t)times * PER_VAR * (v + 1), "v%d is wrong", v);
    }
}

Test(snapshot_fork, leader_answers_while_snapshotting_and_restarts_from_its_snapshot,
     .fini = teardown, .timeout = 180)
{
    start("snapshot_threshold = 300");
    int leader = cluster_wait_leader(&cl, WAIT_MS);
    struct prober pr = {.peer = leader};
    atomic_init(&pr.stop, false);
    cr_assert_eq(pthread_create(&pr.thread, NULL, probe, &pr), 0);
    write_vars("fill", 1);
    atomic_store(&pr.stop, true);
    pthread_join(pr.thread, NULL);

    int taken = log_count(leader, "log kept from index");
    cr_assert_geq(taken, 5, "peer%d took %d snapshots for 4000 commands at threshold 300", leader,
                  taken);
    cr_assert_eq(log_count(leader, "snapshot child"), 0, "a snapshot child failed");
    cr_assert_gt(pr.answers, 10, "only %d status answers", pr.answers);
    cr_assert_eq(pr.misses, 0, "%d status requests went unanswered", pr.misses);
    cr_assert_leq(pr.slowest_ms, STATUS_MS, "a status answer took %llu ms",
                  (unsigned long long)pr.slowest_ms);
    check_vars(1);

    /* Every peer crashes and comes back from its snapshot and the log after it. What a
     * child killed mid-way leaves in snapshot.fork/ (here: garbage) changes nothing. */
    for (int i = 1; i <= 3; i++) {
        cr_assert(data_file_exists(i, "snapshot"), "peer%d has no snapshot", i);
        cluster_kill_peer(&cl, i, SIGKILL);
        char cmd[800];
        snprintf(cmd, sizeof(cmd),
                 "mkdir -p '%s/data/peer%d/snapshot.fork' && cd '%s/data/peer%d/snapshot.fork' "
                 "&& echo garbage > snapshot && echo garbage > snapshot.tmp",
                 cl.dir, i, cl.dir, i);
        cr_assert_eq(system(cmd), 0);
    }
    for (int i = 1; i <= 3; i++)
        cr_assert_eq(cluster_start_peer(&cl, i), 0);
    cr_assert_gt(cluster_wait_leader(&cl, WAIT_MS), 0, "no leader after the restart");
    check_vars(1);
    for (int i = 1; i <= 3; i++) {
        long entries = last_boot_entries(i);
        cr_assert(entries >= 0 && entries < N_VARS * PER_VAR,
                  "peer%d recovered %ld log entries: not from a snapshot", i, entries);
    }
}

Test(snapshot_fork, far_behind_follower_installs_a_snapshot_while_new_ones_are_taken,
     .fini = teardown, .timeout = 180)
{
    start("snapshot_threshold = 300");
    int leader = cluster_wait_leader(&cl, WAIT_MS);
    int victim = leader % 3 + 1;
    cluster_kill_peer(&cl, victim, SIGKILL);
    write_vars("first", 1);
    cr_assert_eq(cluster_start_peer(&cl, victim), 0);
    /* More writes, and so more snapshots on the leader, while the follower catches up. */
    write_vars("second", 1);
    struct client_response resp;
    cr_assert_eq(cluster_command(&cl, "v0 get", 0, &resp, WAIT_MS), 0);
    cr_assert_eq(cluster_wait_applied(&cl, resp.index, 30000), 0, "peer%d did not catch up",
                 victim);
    cr_assert_gt(log_count(victim, "installed snapshot"), 0, "peer%d caught up without a snapshot",
                 victim);
    check_vars(2);
    /* With the old leader gone the follower is one of the two that must carry the
     * cluster: a write commits only with its log, and every value is still there. */
    cluster_kill_peer(&cl, leader, SIGKILL);
    cr_assert_gt(cluster_wait_leader(&cl, WAIT_MS), 0);
    cr_assert_eq(run("v0 add 0"), 2 * PER_VAR);
    check_vars(2);
}

Test(snapshot_fork, byte_threshold_triggers_a_snapshot, .fini = teardown, .timeout = 120)
{
    /* Entries alone would never trigger one here; about 20 bytes of payload each will. */
    start("snapshot_threshold = 1000000\nsnapshot_threshold_bytes = 20000");
    int leader = cluster_wait_leader(&cl, WAIT_MS);
    cr_assert_eq(cluster_pipeline(&cl, "bytes", 1, 3000, "b add 1", 32, 30000), 3000);
    cr_assert_eq(run("b get"), 3000);
    cr_assert_geq(log_count(leader, "log kept from index"), 1, "no snapshot by size");
}

Test(snapshot_fork, failed_child_is_logged_and_retried, .fini = teardown, .timeout = 120)
{
    start("snapshot_threshold = 300");
    int leader = cluster_wait_leader(&cl, WAIT_MS);
    /* A file where the child's directory goes: its snapshot_save cannot open it. */
    char path[600];
    snprintf(path, sizeof(path), "%s/data/peer%d/snapshot.fork", cl.dir, leader);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fclose(f);
    cr_assert_eq(cluster_pipeline(&cl, "first", 1, 600, "f add 1", 32, 30000), 600);
    uint64_t deadline = harness_now_ms() + (uint64_t)harness_scaled_ms(WAIT_MS);
    while (log_count(leader, "snapshot child") == 0 && harness_now_ms() < deadline)
        harness_sleep_ms(50);
    cr_assert_gt(log_count(leader, "snapshot child"), 0, "no failed snapshot child logged");
    cr_assert_eq(log_count(leader, "log kept from index"), 0, "a snapshot was adopted anyway");
    cr_assert_eq(run("f get"), 600, "the leader stopped serving");
    /* Repaired: the retry, after its back-off, succeeds. */
    cr_assert_eq(unlink(path), 0);
    deadline = harness_now_ms() + (uint64_t)harness_scaled_ms(3 * WAIT_MS);
    while (log_count(leader, "log kept from index") == 0 && harness_now_ms() < deadline) {
        run("f add 1");
        harness_sleep_ms(100);
    }
    cr_assert_gt(log_count(leader, "log kept from index"), 0, "no snapshot after the repair");
}

/* The leader's snapshot wins over the one a follower's child is still writing: the child
 * (made slow by a test hook) is stopped or its result discarded, never adopted. */
Test(snapshot_fork, installed_snapshot_wins_over_a_running_child, .fini = teardown, .timeout = 180)
{
    start("snapshot_threshold = 200");
    int leader = cluster_wait_leader(&cl, WAIT_MS);
    int victim = leader % 3 + 1;
    /* Only the victim's children sleep 20 s before saving. */
    cluster_kill_peer(&cl, victim, SIGTERM);
    setenv("RAFT_TEST_SNAPSHOT_CHILD_DELAY_MS", "20000", 1);
    int rc = cluster_start_peer(&cl, victim);
    unsetenv("RAFT_TEST_SNAPSHOT_CHILD_DELAY_MS");
    cr_assert_eq(rc, 0);
    /* Caught up before the writes: a victim still starting (slow under ASan) while the
     * leader compacts would be sent the leader's snapshot instead, and then reach its own
     * threshold only 200 entries later. Writes go on in rounds until its child forks. */
    struct client_response resp;
    cr_assert_eq(cluster_command(&cl, "s add 0", 0, &resp, WAIT_MS), 0);
    cr_assert_eq(cluster_wait_applied(&cl, resp.index, 30000), 0, "peer%d did not start", victim);
    int added = 0;
    uint64_t deadline = harness_now_ms() + (uint64_t)harness_scaled_ms(WAIT_MS);
    while (log_count(victim, "takes the snapshot of index") == 0 && harness_now_ms() < deadline) {
        if (added >= 1200) {
            harness_sleep_ms(20);
            continue;
        }
        cr_assert_eq(cluster_pipeline(&cl, "a", (uint64_t)added + 1, 300, "s add 1", 32, 30000),
                     300);
        added += 300;
    }
    cr_assert_gt(log_count(victim, "takes the snapshot of index"), 0, "peer%d forked no child",
                 victim);
    /* Frozen while the leader moves on and compacts past it. */
    cluster_signal_peer(&cl, victim, SIGSTOP);
    cr_assert_eq(cluster_pipeline(&cl, "b", 1, 1500, "s add 1", 32, 30000), 1500);
    deadline = harness_now_ms() + (uint64_t)harness_scaled_ms(WAIT_MS);
    while (log_count(leader, "log kept from index") < 3 && harness_now_ms() < deadline)
        harness_sleep_ms(20);
    cluster_signal_peer(&cl, victim, SIGCONT);
    cr_assert_eq(cluster_command(&cl, "s get", 0, &resp, WAIT_MS), 0);
    cr_assert_eq(resp.result, added + 1500);
    cr_assert_eq(cluster_wait_applied(&cl, resp.index, 30000), 0, "peer%d did not catch up",
                 victim);
    cr_assert_gt(log_count(victim, "installed snapshot"), 0, "peer%d caught up without a snapshot",
                 victim);
    /* The child is killed when the received snapshot becomes the victim's own, and the
     * line comes when it is reaped, on the victim's next turn of its loop. */
    deadline = harness_now_ms() + (uint64_t)harness_scaled_ms(WAIT_MS);
    while (log_count(victim, "replaced its work") + log_count(victim, "discarded the snapshot") ==
               0 &&
           harness_now_ms() < deadline)
        harness_sleep_ms(20);
    cr_assert_gt(log_count(victim, "replaced its work") +
                     log_count(victim, "discarded the snapshot"),
                 0, "peer%d: the running child was neither stopped nor discarded", victim);
    cr_assert_eq(log_count(victim, "log kept from index"), 0,
                 "peer%d adopted a snapshot of its own (every child sleeps 20 s)", victim);
    /* The installed snapshot is what the victim restarts from. */
    cluster_kill_peer(&cl, victim, SIGKILL);
    cr_assert_eq(cluster_start_peer(&cl, victim), 0);
    cluster_kill_peer(&cl, leader, SIGKILL);
    cr_assert_gt(cluster_wait_leader(&cl, WAIT_MS), 0);
    cr_assert_eq(run("s add 0"), added + 1500);
}
