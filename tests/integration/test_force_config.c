/* test_force_config.c: the unsafe way out of a lost quorum (raft_peer --force-config,
 * docs/MEMBERSHIP.md): with two of three voters gone for good, the survivor is restarted
 * with itself as the only voter, leads again, keeps what it had, and takes writes. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "tests/lib/cluster.h"

#define WAIT_MS 8000

static struct cluster cl;

static void teardown(void)
{
    cluster_stop(&cl);
}

static int64_t run(const char *command)
{
    struct client_response resp;
    cr_assert_eq(cluster_command(&cl, command, 0, &resp, WAIT_MS), 0, "no answer to %s", command);
    cr_assert(resp.ok, "%s failed: %s %s", command, resp.error, resp.message);
    return resp.result;
}

Test(force_config, a_lone_survivor_is_forced_to_lead_alone, .fini = teardown, .timeout = 60)
{
    cr_assert_eq(cluster_start(&cl, 3, NULL), 0);
    cr_assert_gt(cluster_wait_leader(&cl, WAIT_MS), 0);
    run("x set 5");
    run("y set 7");
    cr_assert_eq(cluster_wait_applied(&cl, 3, WAIT_MS), 0);
    /* Two machines lost for good; the third restarts and cannot be elected. */
    cluster_kill_peer(&cl, 2, SIGKILL);
    cluster_kill_peer(&cl, 3, SIGKILL);
    cluster_kill_peer(&cl, 1, SIGKILL);
    const char *force[] = {"--force-config", "peer1", NULL};
    cr_assert_eq(cluster_start_peer_with(&cl, 1, force), 0, "peer1 did not start forced");
    cr_assert_eq(cluster_wait_leader(&cl, WAIT_MS), 1, "the forced peer does not lead");
    char out[4096];
    cr_assert_eq(peer_exchange(&cl, 1, "{\"type\":\"status\"}\n", out, sizeof(out), 2000), 0);
    cr_assert(strstr(out, "\"voters\":[\"peer1\"]"), "not the forced configuration: %s", out);
    cr_assert_eq(run("x get"), 5);
    cr_assert_eq(run("y get"), 7);
    cr_assert_eq(run("z set 9"), 9);

    /* It said so, loudly. */
    char path[400], line[1024];
    snprintf(path, sizeof(path), "%s/logs/peer1.log", cl.dir);
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f);
    bool warned = false;
    while (fgets(line, sizeof(line), f))
        warned |= strstr(line, "WARN") && strstr(line, "--force-config") && strstr(line, "UNSAFE");
    fclose(f);
    cr_assert(warned, "no warning in the log");
}

Test(force_config, a_list_without_the_peer_itself_is_refused, .fini = teardown, .timeout = 30)
{
    cr_assert_eq(cluster_start(&cl, 1, NULL), 0);
    cluster_kill_peer(&cl, 1, SIGKILL);
    const char *force[] = {"--force-config", "peer9", NULL};
    cr_assert_neq(cluster_start_peer_with(&cl, 1, force), 0, "an unknown name was accepted");
}
