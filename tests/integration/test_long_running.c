/* test_long_running.c: issue 7 with real processes: snapshots and InstallSnapshot, a
 * wiped follower, PreVote against a returning follower, CheckQuorum on an isolated
 * leader, and leadership transfer. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/lib/cluster.h"

#define WAIT_MS 8000

static struct cluster cl;

static void teardown(void)
{
    cluster_stop(&cl);
}

static void start_with(int n, const char *extra, bool steady)
{
    /* At info every committed command is a log line; the snapshot test reads them. */
    struct cluster_options opt = {.extra_raft = extra, .log_level = "info"};
    if (steady) {
        /* The test needs one leader throughout (thousands of commands on one connection,
         * a term that must not move): with the default timeouts a loaded machine that
         * stalls the leader for a few hundred ms replaces it. See cluster.h. */
        opt.election_timeout_min = CLUSTER_STEADY_TIMEOUT_MIN;
        opt.election_timeout_max = CLUSTER_STEADY_TIMEOUT_MAX;
    }
    cr_assert_eq(cluster_start(&cl, n, &opt), 0, "cannot start %d peers", n);
    cr_assert_gt(cluster_wait_leader(&cl, WAIT_MS), 0, "no leader");
}

static void start(int n, const char *extra)
{
    start_with(n, extra, true);
}

static int64_t run(const char *command)
{
    struct client_response resp;
    cr_assert_eq(cluster_command(&cl, command, 0, &resp, WAIT_MS), 0, "no answer to '%s'", command);
    cr_assert(resp.ok, "'%s' failed: %s %s", command, resp.error, resp.message);
    return resp.result;
}

static uint64_t leader_commit(void)
{
    struct client_response resp;
    cr_assert_eq(cluster_command(&cl, "x get", 0, &resp, WAIT_MS), 0);
    return resp.index;
}

static bool log_mentions(int peer, const char *needle)
{
    return cluster_log_count(&cl, peer, needle) > 0;
}

Test(long_running, follower_down_during_10000_commands_rejoins_through_a_snapshot, .fini = teardown,
     .timeout = 120)
{
    start(3, "snapshot_threshold = 1000");
    int leader = cluster_wait_leader(&cl, WAIT_MS);
    int victim = leader % 3 + 1;
    run("x set 0");
    cluster_kill_peer(&cl, victim, SIGKILL);
    int ok = cluster_pipeline(&cl, "bulk", 1, 10000, "x add 1", 64, 60000);
    cr_assert_eq(ok, 10000, "only %d of 10000 commands succeeded", ok);
    cr_assert_eq(run("x get"), 10000);
    cr_assert_eq(cluster_start_peer(&cl, victim), 0);
    uint64_t index = leader_commit();
    cr_assert_eq(cluster_wait_applied(&cl, index, 30000), 0, "peer%d did not catch up to %llu",
                 victim, (unsigned long long)index);
    leader = cluster_wait_leader(&cl, WAIT_MS);
    cr_assert(log_mentions(victim, "installed snapshot"), "peer%d caught up without a snapshot",
              victim);
    /* And it keeps following: the whole cluster still commits. */
    cr_assert_eq(run("x add 5"), 10005);
    cr_assert_eq(cluster_wait_applied(&cl, leader_commit(), WAIT_MS), 0);
}

Test(long_running, follower_with_wiped_data_directory_rejoins, .fini = teardown, .timeout = 90)
{
    start(3, "snapshot_threshold = 500");
    int leader = cluster_wait_leader(&cl, WAIT_MS);
    int victim = leader % 3 + 1;
    cr_assert_eq(cluster_pipeline(&cl, "bulk", 1, 2000, "w add 2", 64, 30000), 2000);
    cluster_kill_peer(&cl, victim, SIGKILL);
    char cmd[800];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s/data/peer%d'", cl.dir, victim);
    cr_assert_eq(system(cmd), 0);
    cr_assert_eq(cluster_start_peer(&cl, victim), 0);
    uint64_t index = leader_commit();
    cr_assert_eq(cluster_wait_applied(&cl, index, 30000), 0, "wiped peer%d did not catch up",
                 victim);
    /* Now the wiped peer and one other must be able to carry the cluster. */
    cluster_kill_peer(&cl, leader, SIGKILL);
    cr_assert_gt(cluster_wait_leader(&cl, WAIT_MS), 0);
    cr_assert_eq(run("w get"), 4000);
}

Test(long_running, returning_follower_does_not_raise_the_majority_term, .fini = teardown,
     .timeout = 60)
{
    start(3, NULL);
    int leader = cluster_wait_leader(&cl, WAIT_MS);
    int victim = leader % 3 + 1;
    run("p set 1");
    struct peer_status before, after;
    cr_assert_eq(cluster_status(&cl, leader, &before), 0);
    /* Cut it off for longer than its longest election timeout: its timer fires as soon as
     * it runs again. */
    cluster_signal_peer(&cl, victim, SIGSTOP);
    harness_sleep_ms(harness_scaled_ms(CLUSTER_STEADY_TIMEOUT_MAX + 1000));
    cluster_signal_peer(&cl, victim, SIGCONT);
    harness_sleep_ms(harness_scaled_ms(1500));
    cr_assert_eq(cluster_status(&cl, leader, &after), 0);
    cr_assert_str_eq(after.role, "leader", "the returning follower deposed the leader");
    cr_assert_eq(after.term, before.term, "the majority's term moved from %llu to %llu",
                 (unsigned long long)before.term, (unsigned long long)after.term);
    cr_assert_eq(run("p add 1"), 2);
}

Test(long_running, isolated_leader_steps_down, .fini = teardown, .timeout = 60)
{
    /* Default timeouts: whichever peer leads when the others are frozen must step down. */
    start_with(3, NULL, false);
    int leader = cluster_wait_leader(&cl, WAIT_MS);
    for (int i = 1; i <= 3; i++)
        if (i != leader)
            cluster_signal_peer(&cl, i, SIGSTOP);
    /* CheckQuorum: within about an election timeout it stops acting as leader; the wait
     * is far longer, for a loaded machine. */
    bool stepped_down = false;
    uint64_t deadline = harness_now_ms() + (uint64_t)harness_scaled_ms(10000);
    while (!stepped_down && harness_now_ms() < deadline) {
        struct peer_status st;
        if (cluster_status(&cl, leader, &st) == 0 && strcmp(st.role, "leader") != 0)
            stepped_down = true;
        harness_sleep_ms(50);
    }
    for (int i = 1; i <= 3; i++)
        if (i != leader)
            cluster_signal_peer(&cl, i, SIGCONT);
    cr_assert(stepped_down, "peer%d still claims leadership with no majority", leader);
    cr_assert_gt(cluster_wait_leader(&cl, WAIT_MS), 0);
    run("q set 1");
}

Test(long_running, transfer_hands_leadership_to_the_named_peer, .fini = teardown, .timeout = 60)
{
    start(3, NULL);
    int leader = cluster_wait_leader(&cl, WAIT_MS);
    run("t set 1");
    int target = leader % 3 + 1;
    char line[200], answer[1024];
    snprintf(line, sizeof(line), "{\"type\":\"transfer\",\"target\":\"peer%d\"}\n", target);
    cr_assert_eq(peer_exchange(&cl, leader, line, answer, sizeof(answer), 2000), 0);
    cr_assert(strstr(answer, "\"ok\":true"), "transfer refused: %s", answer);
    uint64_t deadline = harness_now_ms() + (uint64_t)harness_scaled_ms(10000);
    int now_leader = -1;
    while (harness_now_ms() < deadline && now_leader != target) {
        now_leader = cluster_wait_leader(&cl, 1000);
        harness_sleep_ms(20);
    }
    cr_assert_eq(now_leader, target, "leader is peer%d, not peer%d", now_leader, target);
    cr_assert_eq(run("t add 1"), 2);
}
