/* test_partition.c: the classroom's network faults on real peers started with -v:
 * isolating the leader through user_cli (the majority elects a new leader in a higher
 * term, a write sent to the old leader is never acknowledged, and after heal every peer
 * agrees on term, leader and log, the old leader's uncommitted entry gone), a delay,
 * hostile control messages, and peers without -v refusing. Bounds are generous: the
 * machine is shared, so nothing here depends on tight timing. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/lib/cluster.h"
#include "tests/lib/subprocess.h"

#define TOKEN          "class-token"
#define LEADER_WAIT_MS 15000
#define AGREE_WAIT_MS  20000
#define CMD_WAIT_MS    10000

static struct cluster cl;
static struct subprocess_result res; /* large: off the test's stack */

static void teardown(void)
{
    cluster_stop(&cl);
}

/* Peers with -v and a cluster token, so the control path checks the token too. With
 * the steady timeouts a leader keeps its place unless the machine stalls it for a
 * second, so "the old leader" stays the old leader until the test cuts it off. */
static int start_visual(bool visual)
{
    struct cluster_options opt = {
        .election_timeout_min = CLUSTER_STEADY_TIMEOUT_MIN,
        .election_timeout_max = CLUSTER_STEADY_TIMEOUT_MAX,
        .visual = visual,
        .extra_raft = "token = " TOKEN,
    };
    cr_assert_eq(cluster_start(&cl, 3, &opt), 0, "cannot start 3 peers (bin dir %s)",
                 harness_bin_dir());
    int leader = cluster_wait_leader(&cl, LEADER_WAIT_MS);
    cr_assert_gt(leader, 0, "no leader among 3 peers (logs in %s)", cl.dir);
    return leader;
}

/* user_cli 3 -c INI --timeout 10 WORDS..., its output in res. */
#define cli(...)                                                                                   \
    cr_assert_eq(cluster_user_cli(&cl, &res, __VA_ARGS__), 0,                                      \
                 "user_cli did not run or hung; out: %s err: %s", res.out, res.err)

static void status_line(int peer, char *out, size_t outlen)
{
    cr_assert_eq(peer_exchange(&cl, peer, "{\"type\":\"status\"}\n", out, outlen, 2000), 0,
                 "peer%d does not answer status", peer);
}

/* Waits for a leader other than old, in a term above old_term, named by both others. */
static int wait_new_leader(int old, uint64_t old_term)
{
    uint64_t deadline = harness_now_ms() + (uint64_t)harness_scaled_ms(LEADER_WAIT_MS);
    while (harness_now_ms() < deadline) {
        for (int i = 1; i <= 3; i++) {
            struct peer_status st;
            if (i == old || cluster_status(&cl, i, &st) != 0 || strcmp(st.role, "leader") != 0 ||
                st.term <= old_term)
                continue;
            int other = 6 - old - i;
            struct peer_status so;
            if (cluster_status(&cl, other, &so) == 0 && so.leader == i && so.term == st.term)
                return i;
        }
        harness_sleep_ms(50);
    }
    return -1;
}

/* Every peer in the same term, following the same leader, with the same log, all of
 * it committed and applied. */
static bool all_agree(struct peer_status *st)
{
    for (int i = 1; i <= 3; i++)
        if (cluster_status(&cl, i, &st[i]) != 0)
            return false;
    for (int i = 1; i <= 3; i++)
        if (st[i].term != st[1].term || st[i].leader != st[1].leader || st[i].leader == 0 ||
            st[i].commit_index != st[1].commit_index || st[i].log_length != st[1].log_length ||
            st[i].commit_index != st[i].log_length || st[i].last_applied != st[i].commit_index)
            return false;
    return true;
}

Test(partition, isolated_leader_loses_its_place_and_its_write_then_heal_reunites, .fini = teardown,
     .timeout = 180)
{
    int old = start_visual(true);
    struct client_response resp;
    cr_assert_eq(cluster_command(&cl, "x set 10", 0, &resp, CMD_WAIT_MS), 0);
    cr_assert(resp.ok, "x set 10: %s", resp.message);
    struct peer_status st;
    cr_assert_eq(cluster_status(&cl, old, &st), 0);
    uint64_t old_term = st.term;

    char name[16];
    snprintf(name, sizeof(name), "peer%d", old);
    cli("isolate", name, NULL);
    cr_assert_eq(res.exit_code, 0, "isolate failed: out %s err %s", res.out, res.err);
    cr_assert(strstr(res.out, "cuts its links to"), "isolate said: %s", res.out);

    /* A write sent to the old leader alone: it may take it into its log, but without a
     * majority it must never say ok; it answers unavailable or not_leader, or nothing. */
    char answer[4096];
    int rc = peer_exchange(&cl, old,
                           "{\"type\":\"client_request\",\"client_id\":\"cut-off\",\"seq\":1,"
                           "\"command\":\"x add 1000\"}\n",
                           answer, sizeof(answer), 2000);
    cr_assert(rc != 0 || !strstr(answer, "\"ok\":true"),
              "the isolated leader acknowledged a write: %s", answer);
    if (rc == 0)
        cr_assert(strstr(answer, "unavailable") || strstr(answer, "not_leader"),
                  "unexpected answer from the isolated leader: %s", answer);

    int next = wait_new_leader(old, old_term);
    cr_assert_gt(next, 0, "the two connected peers elected no new leader (logs in %s)", cl.dir);
    char line[8192];
    status_line(old, line, sizeof(line));
    cr_assert(strstr(line, "\"cut\":[\"peer"), "status shows no cut: %s", line);
    cr_assert(strstr(line, "\"fault\":\"isolate "), "status names no fault: %s", line);
    cli("status", NULL);
    char expected[64];
    snprintf(expected, sizeof(expected), "network faults on %s: cut from", name);
    cr_assert(strstr(res.out, expected), "user_cli status shows no cut: %s", res.out);

    /* The majority side still works; its write goes to the new leader. */
    cr_assert_eq(cluster_command_as(&cl, "majority", 1, "x add 7", &resp, CMD_WAIT_MS), 0);
    cr_assert(resp.ok, "the majority side refused a write: %s", resp.message);
    cr_assert_eq(resp.result, 17);
    /* Still nothing from the old leader, well after its answer was due. */
    harness_sleep_ms(500);
    cr_assert(cluster_peer_alive(&cl, old));

    cli("heal", NULL);
    cr_assert_eq(res.exit_code, 0, "heal failed: out %s err %s", res.out, res.err);
    cr_assert(strstr(res.out, "heals"), "heal said: %s", res.out);

    struct peer_status all[4];
    uint64_t deadline = harness_now_ms() + (uint64_t)harness_scaled_ms(AGREE_WAIT_MS);
    bool agreed = false;
    while (!(agreed = all_agree(all)) && harness_now_ms() < deadline)
        harness_sleep_ms(100);
    cr_assert(agreed, "peers disagree after heal: terms %llu/%llu/%llu, commit %llu/%llu/%llu",
              (unsigned long long)all[1].term, (unsigned long long)all[2].term,
              (unsigned long long)all[3].term, (unsigned long long)all[1].commit_index,
              (unsigned long long)all[2].commit_index, (unsigned long long)all[3].commit_index);
    cr_assert_gt(all[1].term, old_term);

    /* The majority's write is there and the old leader's is not, on every peer: each
     * one's status reports the same applied index, and the value read back is 17. */
    cr_assert_eq(cluster_command(&cl, "x get", 0, &resp, CMD_WAIT_MS), 0);
    cr_assert(resp.ok);
    cr_assert_eq(resp.result, 17, "x is %lld: the isolated leader's write survived",
                 (long long)resp.result);
    status_line(old, line, sizeof(line));
    cr_assert(strstr(line, "\"cut\":[]") && strstr(line, "\"fault\":null"),
              "the old leader still shows a cut: %s", line);
}

Test(partition, delay_slows_writes_and_zero_ends_it, .fini = teardown, .timeout = 120)
{
    start_visual(true);
    cli("delay", "150", NULL);
    cr_assert_eq(res.exit_code, 0, "delay failed: out %s err %s", res.out, res.err);
    cr_assert(strstr(res.out, "delays peer messages by 150 ms"), "delay said: %s", res.out);
    char line[8192];
    status_line(1, line, sizeof(line));
    cr_assert(strstr(line, "\"delay_ms\":150"), "status: %s", line);

    /* A commit needs the leader's AppendEntries and an answer, each held 150 ms: a lower
     * bound by construction, not a timing guess. */
    struct client_response resp;
    uint64_t t0 = harness_now_ms();
    cr_assert_eq(cluster_command(&cl, "d add 1", 0, &resp, 30000), 0);
    cr_assert(resp.ok, "a write under delay failed: %s", resp.message);
    cr_assert_geq(harness_now_ms() - t0, 150, "the write was not delayed");

    cli("delay", "0", NULL);
    cr_assert_eq(res.exit_code, 0);
    cr_assert(strstr(res.out, "stops delaying"), "delay 0 said: %s", res.out);
    cr_assert_eq(cluster_command(&cl, "d add 1", 0, &resp, CMD_WAIT_MS), 0);
    cr_assert(resp.ok);
    cr_assert_eq(resp.result, 2);
}

static void expect_control_refused(int peer, const char *json, const char *why)
{
    char line[2048], answer[4096];
    snprintf(line, sizeof(line), "{\"type\":\"control\",\"token\":\"" TOKEN "\",%s}\n", json);
    cr_assert_eq(peer_exchange(&cl, peer, line, answer, sizeof(answer), 2000), 0, "no answer to %s",
                 json);
    cr_assert(strstr(answer, "\"ok\":false") && strstr(answer, "bad_request"),
              "%s was not refused: %s", json, answer);
    cr_assert(strstr(answer, why), "%s: the answer does not say '%s': %s", json, why, answer);
}

Test(partition, hostile_fault_messages_are_refused_whole, .fini = teardown, .timeout = 120)
{
    start_visual(true);
    expect_control_refused(1, "\"action\":\"partition\"", "must be an array of groups");
    expect_control_refused(1, "\"action\":\"partition\",\"groups\":\"peer1\"",
                           "must be an array of groups");
    expect_control_refused(1, "\"action\":\"partition\",\"groups\":[]", "1 to 3 groups");
    expect_control_refused(1, "\"action\":\"partition\",\"groups\":[[],[\"peer1\"]]", "group 1");
    expect_control_refused(1, "\"action\":\"partition\",\"groups\":[[1]]", "name 1 of group 1");
    expect_control_refused(1, "\"action\":\"partition\",\"groups\":[[[\"peer1\"]]]", "peer name");
    expect_control_refused(1, "\"action\":\"partition\",\"groups\":[[\"peer7\"]]",
                           "unknown peer 'peer7'");
    expect_control_refused(1, "\"action\":\"partition\",\"groups\":[[\"peer1\"],[\"peer1\"]]",
                           "more than one group");
    expect_control_refused(1, "\"action\":\"partition\",\"groups\":[[\"a b\\u0001\"]]",
                           "not a valid peer name");
    expect_control_refused(
        1, "\"action\":\"partition\",\"groups\":[[\"peer1\"],[\"peer2\"],[\"peer3\"],[\"peer1\"]]",
        "1 to 3 groups");
    expect_control_refused(1, "\"action\":\"isolate\"", "must be a peer name");
    expect_control_refused(1, "\"action\":\"isolate\",\"target\":null", "must be a peer name");
    expect_control_refused(1, "\"action\":\"cut\",\"from\":\"peer1\",\"to\":\"peer1\"", "itself");
    expect_control_refused(1, "\"action\":\"delay\",\"ms\":-1", "integer from 0 to 10000");
    expect_control_refused(1, "\"action\":\"delay\",\"ms\":10001", "integer from 0 to 10000");
    expect_control_refused(1, "\"action\":\"delay\",\"ms\":\"100\"", "integer from 0 to 10000");
    expect_control_refused(1, "\"action\":\"delay\",\"ms\":1e9", "integer from 0 to 10000");
    /* Nothing was cut by any of them, and the peer still serves. */
    char line[8192];
    status_line(1, line, sizeof(line));
    cr_assert(strstr(line, "\"cut\":[]") && strstr(line, "\"delay_ms\":0"), "status: %s", line);
    struct client_response resp;
    cr_assert_eq(cluster_command(&cl, "h set 1", 0, &resp, CMD_WAIT_MS), 0);
    cr_assert(resp.ok);

    /* Without the token, a fault is forbidden like any control message. */
    char answer[4096];
    cr_assert_eq(peer_exchange(&cl, 1, "{\"type\":\"control\",\"action\":\"heal\"}\n", answer,
                               sizeof(answer), 2000),
                 0);
    cr_assert(strstr(answer, "\"forbidden\""), "a heal without the token: %s", answer);
}

Test(partition, peers_without_v_refuse_and_user_cli_says_so, .fini = teardown, .timeout = 120)
{
    start_visual(false);
    cli("isolate", "peer1", NULL);
    cr_assert_eq(res.exit_code, 1, "exit %d; out %s err %s", res.exit_code, res.out, res.err);
    cr_assert(strstr(res.out, "refused (forbidden)"), "out: %s", res.out);
    cr_assert(strstr(res.err, "started with -v"), "err: %s", res.err);
    char line[8192];
    status_line(1, line, sizeof(line));
    cr_assert(strstr(line, "\"cut\":[]"), "a peer without -v took a cut: %s", line);
    /* Checked before anything is sent. */
    cli("partition", "peer1", "peer9", NULL);
    cr_assert_eq(res.exit_code, 1);
    cr_assert(strstr(res.err, "unknown peer 'peer9'"), "err: %s", res.err);
}
