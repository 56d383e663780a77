/* test_disk_full.c: a leader whose disk fills up stops acknowledging, steps down, says so
 * in its log, keeps answering status, and loses no acknowledged write. The full disk is
 * real: a 256 KiB tmpfs mounted on the peer's data directory (needs root; skipped
 * otherwise, with a message). */
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/lib/cluster.h"

#define WAIT_MS 8000

static struct cluster cl;
static char mounted[600];

static void teardown(void)
{
    /* Every peer exits before the unmount. Under make valgrind a clean stop, so that the
     * peer whose disk filled up gets its leak check too. */
    for (int i = 1; i <= cl.n; i++)
        cluster_kill_peer(&cl, i, harness_peer_wrapper()[0] ? SIGTERM : SIGKILL);
    if (mounted[0])
        umount2(mounted, MNT_DETACH);
    mounted[0] = 0;
    cluster_stop(&cl);
}

static bool log_mentions(int peer, const char *needle)
{
    char path[600], line[2048];
    snprintf(path, sizeof(path), "%s/logs/peer%d.log", cl.dir, peer);
    FILE *f = fopen(path, "r");
    bool found = false;
    while (f && !found && fgets(line, sizeof(line), f))
        found = strstr(line, needle) != NULL;
    if (f)
        fclose(f);
    return found;
}

Test(disk_full, leader_with_a_full_disk_steps_down_and_loses_nothing, .fini = teardown,
     .timeout = 120)
{
    /* Steady timeouts (cluster.h): peer1 must still lead when its disk fills, and with the
     * default ones a loaded machine that stalls it for a few hundred ms replaces it. */
    static const struct cluster_options steady = {
        .election_timeout_min = CLUSTER_STEADY_TIMEOUT_MIN,
        .election_timeout_max = CLUSTER_STEADY_TIMEOUT_MAX,
    };
    cr_assert_eq(cluster_prepare(&cl, 3, &steady), 0);
    char data[400];
    snprintf(data, sizeof(data), "%s/data", cl.dir);
    mkdir(data, 0755);
    snprintf(mounted, sizeof(mounted), "%s/data/peer1", cl.dir);
    mkdir(mounted, 0755);
    if (mount("tmpfs", mounted, "tmpfs", 0, "size=256k") != 0) {
        int e = errno;
        mounted[0] = 0;
        cr_skip_test("cannot mount a small tmpfs (%s); run as root to test a full disk",
                     strerror(e));
    }
    for (int i = 1; i <= 3; i++)
        cr_assert_eq(cluster_start_peer(&cl, i), 0);
    cr_assert_gt(cluster_wait_leader(&cl, WAIT_MS), 0);
    /* Hand leadership to peer1, asking again if it did not take (a transfer gives up after
     * an election timeout, which a loaded machine can spend descheduled) or if another
     * election moved it on since. */
    int leader = -1;
    uint64_t deadline = harness_now_ms() + (uint64_t)harness_scaled_ms(30000);
    while ((leader = cluster_wait_leader(&cl, WAIT_MS)) != 1 && harness_now_ms() < deadline) {
        char answer[1024];
        if (leader > 0)
            peer_exchange(&cl, leader, "{\"type\":\"transfer\",\"target\":\"peer1\"}\n", answer,
                          sizeof(answer), 2000);
        uint64_t asked = harness_now_ms();
        while (harness_now_ms() < asked + (uint64_t)harness_scaled_ms(3000) &&
               cluster_wait_leader(&cl, 500) != 1)
            harness_sleep_ms(20);
    }
    cr_assert_eq(leader, 1, "could not make peer1 the leader");

    /* Far more than 256 KiB of log: peer1's disk fills while it leads. Should another peer
     * take over first all the same (a stall of over a second), the rest of the commands
     * go to the new leader and peer1 fills its disk as a follower: more rounds do that. */
    int acked = 0, sent = 0;
    struct peer_status st;
    for (int round = 0; round < 5; round++) {
        int ok = cluster_pipeline(&cl, "filler", (uint64_t)sent + 1, 12000, "x add 1", 32, 60000);
        sent += 12000;
        if (ok > 0)
            acked += ok;
        if (cluster_status(&cl, 1, &st) == 0 && st.stopped)
            break;
    }
    cr_assert_gt(acked, 0);

    cr_assert_eq(cluster_status(&cl, 1, &st), 0, "peer1 stopped answering status");
    cr_assert(st.stopped, "peer1 does not report its storage failure");
    cr_assert_str_neq(st.role, "leader", "peer1 still leads with a full disk");
    cr_assert(log_mentions(1, "storage failed"), "peer1's log does not say its disk failed");

    /* Another leader carries on, with every acknowledged write. */
    int next = cluster_wait_leader(&cl, WAIT_MS);
    cr_assert(next == 2 || next == 3, "no new leader (got %d)", next);
    struct client_response resp;
    cr_assert_eq(cluster_command(&cl, "x get", 0, &resp, WAIT_MS), 0);
    cr_assert(resp.ok);
    cr_assert_geq(resp.result, acked, "acknowledged writes lost: %d acked, x = %lld", acked,
                  (long long)resp.result);
    cr_assert_leq(resp.result, sent);
    cr_assert_eq(cluster_command(&cl, "x add 1", 0, &resp, WAIT_MS), 0);
    cr_assert(resp.ok, "the cluster stopped taking writes: %s", resp.message);
}
