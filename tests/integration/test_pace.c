/* test_pace.c: the lesson pace on real peers started with -v (docs/CONTRACT.md, "Lesson
 * pace"): `user_cli pace 10 --no-fast-failover` makes every peer's election timeout and
 * heartbeat ten times the ini's, so a killed leader is replaced only after a real,
 * scaled election timeout; `pace 1` gives the ini's timing and the fast failover back;
 * malformed pace messages are refused whole. The lower bound is one of construction
 * (no follower may campaign before its election timeout has run since the last
 * heartbeat it heard); the upper bounds are generous. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "tests/lib/cluster.h"
#include "tests/lib/subprocess.h"

#define TOKEN          "pace-token"
#define LEADER_WAIT_MS 20000
#define PACE           10
/* The ini's timing (the cluster's defaults), and at PACE. */
#define INI_TIMEOUT_MIN 150
#define INI_HEARTBEAT   50
#define SLOW_MIN        (INI_TIMEOUT_MIN * PACE)
#define SLOW_HEARTBEAT  (INI_HEARTBEAT * PACE)

static struct cluster cl;
static struct subprocess_result res; /* large: off the test's stack */

static void teardown(void)
{
    cluster_stop(&cl);
}

static void start_cluster(void)
{
    struct cluster_options opt = {
        .election_timeout_min = INI_TIMEOUT_MIN,
        .election_timeout_max = 300,
        .heartbeat_interval = INI_HEARTBEAT,
        .visual = true,
        .extra_raft = "token = " TOKEN,
    };
    cr_assert_eq(cluster_start(&cl, 3, &opt), 0, "cannot start 3 peers (bin dir %s)",
                 harness_bin_dir());
    cr_assert_gt(cluster_wait_leader(&cl, LEADER_WAIT_MS), 0, "no leader (logs in %s)", cl.dir);
}

/* user_cli 3 -c INI --timeout 10 WORDS..., its output in res. */
#define cli(...)                                                                                   \
    cr_assert_eq(cluster_user_cli(&cl, &res, __VA_ARGS__), 0,                                      \
                 "user_cli did not run or hung; out: %s err: %s", res.out, res.err)

/* Every live peer's status carries what. */
static void status_says(const char *what)
{
    for (int i = 1; i <= 3; i++) {
        if (!cluster_peer_alive(&cl, i))
            continue;
        char line[8192];
        cr_assert_eq(peer_exchange(&cl, i, "{\"type\":\"status\"}\n", line, sizeof(line), 2000), 0,
                     "peer%d does not answer status", i);
        cr_assert(strstr(line, what), "peer%d's status lacks %s: %s", i, what, line);
    }
}

/* A live peer other than old that leads in a term above old_term, or 0. */
static int new_leader(int old, uint64_t old_term)
{
    for (int i = 1; i <= 3; i++) {
        struct peer_status st;
        if (i != old && cluster_peer_alive(&cl, i) && cluster_status(&cl, i, &st) == 0 &&
            strcmp(st.role, "leader") == 0 && st.term > old_term)
            return i;
    }
    return 0;
}

/* Kills the leader and returns its successor; *elapsed_ms: from the kill until the
 * successor was seen. No successor may be seen before not_before_ms (0: no bound): a
 * status answer is given after it was asked for, so "no new leader" in it holds at the
 * moment of asking, and the bound is checked against that moment. */
static int kill_leader_and_wait(int leader, int not_before_ms, uint64_t *elapsed_ms)
{
    struct peer_status st;
    cr_assert_eq(cluster_status(&cl, leader, &st), 0);
    uint64_t old_term = st.term;
    uint64_t t0 = harness_now_ms();
    cluster_kill_peer(&cl, leader, SIGKILL);
    uint64_t deadline = t0 + (uint64_t)harness_scaled_ms(LEADER_WAIT_MS);
    for (;;) {
        uint64_t asked = harness_now_ms();
        int next = new_leader(leader, old_term);
        if (next) {
            cr_assert_geq(asked - t0, (uint64_t)not_before_ms,
                          "peer%d led %llu ms after the kill, before a follower's election "
                          "timeout could run out (logs in %s)",
                          next, (unsigned long long)(asked - t0), cl.dir);
            *elapsed_ms = harness_now_ms() - t0;
            return next;
        }
        cr_assert_lt(asked, deadline, "no new leader %d ms after the kill (logs in %s)",
                     harness_scaled_ms(LEADER_WAIT_MS), cl.dir);
        harness_sleep_ms(10);
    }
}

Test(pace, slow_pace_without_fast_failover_waits_for_an_election_timeout, .fini = teardown,
     .timeout = 240)
{
    start_cluster();
    char factor[8];
    snprintf(factor, sizeof(factor), "%d", PACE);
    cli("pace", factor, "--no-fast-failover", NULL);
    cr_assert_eq(res.exit_code, 0, "pace failed: out %s err %s", res.out, res.err);
    char said[160];
    /* The ini's values are scaled under valgrind (RAFT_TEST_TIMEOUT_SCALE). */
    snprintf(
        said, sizeof(said),
        "runs at pace 10: election timeout %d..%d ms, heartbeat every %d ms; fast failover off",
        harness_scaled_ms(INI_TIMEOUT_MIN) * PACE, harness_scaled_ms(300) * PACE,
        harness_scaled_ms(INI_HEARTBEAT) * PACE);
    cr_assert(strstr(res.out, said), "pace said: %s", res.out);
    status_says("\"pace\":10");
    status_says("\"fast_failover\":false");
    cli("status", NULL);
    cr_assert(strstr(res.out, "lesson pace on peer1: 10x the ini's timeouts and heartbeat; fast "
                              "failover off"),
              "user_cli status: %s", res.out);

    /* A leader at the slow pace, one slow heartbeat out already. */
    int leader = cluster_wait_leader(&cl, LEADER_WAIT_MS);
    cr_assert_gt(leader, 0);
    harness_sleep_ms(harness_scaled_ms(2 * SLOW_HEARTBEAT));
    leader = cluster_wait_leader(&cl, LEADER_WAIT_MS);
    cr_assert_gt(leader, 0);

    /* The last heartbeat left at most one interval before the kill, and no follower
     * campaigns before its election timeout (at least SLOW_MIN) has run since. The fast
     * failover would elect one within about 100 ms. */
    uint64_t elapsed;
    int next = kill_leader_and_wait(leader, harness_scaled_ms(SLOW_MIN - SLOW_HEARTBEAT), &elapsed);
    cr_log_info("pace %d without fast failover: new leader peer%d %llu ms after the kill", PACE,
                next, (unsigned long long)elapsed);

    /* The killed peer comes back at the ini's pace (the pace lives in memory); then pace
     * 1 puts every peer back on the ini's timing with the fast failover. */
    cr_assert_eq(cluster_start_peer(&cl, leader), 0);
    cli("pace", "1", NULL);
    cr_assert_eq(res.exit_code, 0, "pace 1 failed: out %s err %s", res.out, res.err);
    snprintf(said, sizeof(said),
             "runs at pace 1: election timeout %d..%d ms, heartbeat every %d ms; fast failover on",
             harness_scaled_ms(INI_TIMEOUT_MIN), harness_scaled_ms(300),
             harness_scaled_ms(INI_HEARTBEAT));
    cr_assert(strstr(res.out, said), "pace 1 said: %s", res.out);
    status_says("\"pace\":1,");
    status_says("\"fast_failover\":true");
    leader = cluster_wait_leader(&cl, LEADER_WAIT_MS);
    cr_assert_gt(leader, 0);
    struct client_response resp;
    cr_assert_eq(cluster_command(&cl, "p set 1", 0, &resp, 10000), 0);
    cr_assert(resp.ok, "a write at pace 1 failed: %s", resp.message);
    /* Every peer has the write, and the others' links to the restarted peer are out of
     * their reconnect backoff (at most 1 s): the next election needs its vote. */
    cr_assert_eq(cluster_wait_applied(&cl, resp.index, harness_scaled_ms(10000)), 0);
    harness_sleep_ms(harness_scaled_ms(1200));

    /* Sooner than pace 10 allows at all: the old timing is back. */
    next = kill_leader_and_wait(leader, 0, &elapsed);
    cr_log_info("pace 1: new leader peer%d %llu ms after the kill", next,
                (unsigned long long)elapsed);
    cr_assert_lt(elapsed, (uint64_t)harness_scaled_ms(SLOW_MIN),
                 "pace 1 took %llu ms to replace the leader, as slow as pace %d",
                 (unsigned long long)elapsed, PACE);
}

static void expect_refused(const char *json, const char *why)
{
    char line[1024], answer[4096];
    snprintf(line, sizeof(line),
             "{\"type\":\"control\",\"token\":\"" TOKEN "\",\"action\":\"pace\"%s}\n", json);
    cr_assert_eq(peer_exchange(&cl, 1, line, answer, sizeof(answer), 2000), 0, "no answer to %s",
                 json);
    cr_assert(strstr(answer, "\"ok\":false") && strstr(answer, "bad_request"),
              "pace%s was not refused: %s", json, answer);
    cr_assert(strstr(answer, why), "pace%s: the answer does not say '%s': %s", json, why, answer);
}

Test(pace, malformed_pace_is_refused_whole, .fini = teardown, .timeout = 120)
{
    start_cluster();
    expect_refused("", "needs \\\"factor\\\"");
    expect_refused(",\"factor\":\"10\"", "needs \\\"factor\\\"");
    expect_refused(",\"factor\":2.5", "needs \\\"factor\\\"");
    expect_refused(",\"factor\":0", "out of bounds");
    expect_refused(",\"factor\":51", "out of bounds");
    expect_refused(",\"factor\":-3", "out of bounds");
    expect_refused(",\"factor\":99999999999999999999", "out of bounds");
    expect_refused(",\"factor\":5,\"fast_failover\":\"no\"", "must be true or false");
    status_says("\"pace\":1,");
    status_says("\"fast_failover\":true");

    /* Without the token, forbidden like every control message. */
    char answer[4096];
    cr_assert_eq(peer_exchange(&cl, 1, "{\"type\":\"control\",\"action\":\"pace\",\"factor\":5}\n",
                               answer, sizeof(answer), 2000),
                 0);
    cr_assert(strstr(answer, "\"forbidden\""), "a pace without the token: %s", answer);
}
