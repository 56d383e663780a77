/* Integration tests of membership changes through the real programs: bin/raft_peer
 * peers (3 started from an ini of 5, the others started with --join) and bin/user_cli's
 * members, add, promote and remove; then launch_raft_peer.sh add and remove.
 * docs/MEMBERSHIP.md has the design, docs/USER_CLI.md the commands. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/lib/cluster.h"
#include "tests/lib/subprocess.h"

static struct cluster h;
static char cli_bin[512];
static struct subprocess_result res; /* large: off the test's stack */

/* Steady timeouts: a test that removes the leader checks who leads next, and a test
 * that adds a peer must not see the machine's stalls as elections. */
static const struct cluster_options five_in_ini = {
    .election_timeout_min = CLUSTER_STEADY_TIMEOUT_MIN,
    .election_timeout_max = CLUSTER_STEADY_TIMEOUT_MAX,
    .spare = 2,
};

static void cluster_up(void)
{
    snprintf(cli_bin, sizeof(cli_bin), "%s/user_cli", harness_bin_dir());
    cr_assert_eq(cluster_start(&h, 3, &five_in_ini), 0, "cannot start the cluster in %s", h.dir);
    cr_assert_eq(h.n_ini, 5);
    cr_assert(cluster_wait_leader(&h, 15000) > 0, "no leader within 15 s (logs in %s)", h.dir);
}

static void cluster_down(void)
{
    cluster_stop(&h);
}

/* Runs user_cli 3 -c INI --timeout 30 WORDS... (NULL-terminated) with stdin. */
static void cli(const char *stdin_text, ...)
{
    char *argv[32] = {cli_bin, "3", "-c", h.ini, "--timeout", "30"};
    int argc = 6;
    va_list ap;
    va_start(ap, stdin_text);
    for (const char *w; argc < 31 && (w = va_arg(ap, const char *)) != NULL;)
        argv[argc++] = (char *)w;
    va_end(ap);
    argv[argc] = NULL;
    cr_assert_eq(subprocess_run(argv, stdin_text, 60000, &res), 0);
    cr_assert(!res.timed_out, "user_cli hung; out: %s err: %s", res.out, res.err);
}

#define CLI_OK(...)                                                                                \
    do {                                                                                           \
        cli(NULL, __VA_ARGS__, NULL);                                                              \
        cr_assert_eq(res.exit_code, 0, "exit %d, out: %s err: %s (logs in %s)", res.exit_code,     \
                     res.out, res.err, h.dir);                                                     \
    } while (0)

#define CLI_REFUSED(err_part, ...)                                                                 \
    do {                                                                                           \
        cli(NULL, __VA_ARGS__, NULL);                                                              \
        cr_assert_eq(res.exit_code, 1, "exit %d, out: %s err: %s", res.exit_code, res.out,         \
                     res.err);                                                                     \
        cr_assert(strstr(res.err, "membership change refused: "), "%s", res.err);                  \
        cr_assert(strstr(res.err, err_part), "stderr lacks '%s': %s", err_part, res.err);          \
    } while (0)

static int count(const char *text, const char *needle)
{
    int n = 0;
    for (const char *p = text; (p = strstr(p, needle)) != NULL; p++)
        n++;
    return n;
}

/* The members table lists name as a voter (role column) exactly once. */
static bool lists_voter(const char *table, const char *name)
{
    char row[64];
    snprintf(row, sizeof(row), "\n%s  voter ", name);
    return count(table, row) == 1;
}

#define N_VALUES 20

/* Writes v0..v19 = 1000..1019 through one user_cli script. */
static void write_values(void)
{
    char script[N_VALUES * 32] = "";
    for (int i = 0; i < N_VALUES; i++) {
        size_t used = strlen(script);
        snprintf(script + used, sizeof(script) - used, "v%d set %d\n", i, 1000 + i);
    }
    cli(script, NULL);
    cr_assert_eq(res.exit_code, 0, "out: %s", res.out);
}

/* Reads them back: every one holds what was written. */
static void read_values(void)
{
    char script[N_VALUES * 16] = "", expected[N_VALUES * 16] = "";
    for (int i = 0; i < N_VALUES; i++) {
        size_t used = strlen(script);
        snprintf(script + used, sizeof(script) - used, "v%d get\n", i);
        used = strlen(expected);
        snprintf(expected + used, sizeof(expected) - used, "%d\n", 1000 + i);
    }
    cli(script, NULL);
    cr_assert_eq(res.exit_code, 0, "out: %s", res.out);
    cr_assert_str_eq(res.out, expected);
}

static const char *peer_name(int i)
{
    static char names[CLUSTER_MAX_PEERS + 1][16];
    snprintf(names[i], sizeof(names[i]), "peer%d", i);
    return names[i];
}

/* Waits (generously) for peer i to exit by itself, as a removed peer does. */
static bool exits_within(int i, int ms)
{
    uint64_t deadline = harness_now_ms() + (uint64_t)harness_scaled_ms(ms);
    while (harness_now_ms() < deadline) {
        if (!cluster_peer_alive(&h, i))
            return true;
        harness_sleep_ms(50);
    }
    return false;
}

TestSuite(membership, .init = cluster_up, .fini = cluster_down, .timeout = 240);

Test(membership, a_peer_joins_then_the_leader_is_removed)
{
    write_values();
    cr_assert_eq(cluster_start_joiner(&h, 4), 0, "peer4 --join did not start (logs in %s)", h.dir);
    CLI_OK("add", "peer4");
    cr_assert(strstr(res.out, "peer4 is a voter now (index "), "%s", res.out);
    cr_assert(strstr(res.out, "voters: peer1, peer2, peer3, peer4; learners: none"), "%s", res.out);

    CLI_OK("members");
    cr_assert(strstr(res.out, "4 voters, 0 learners, as leader peer"), "%s", res.out);
    for (int i = 1; i <= 4; i++)
        cr_assert(lists_voter(res.out, peer_name(i)), "%s missing: %s", peer_name(i), res.out);
    cr_assert_eq(count(res.out, "  leader\n"), 1, "%s", res.out);

    int old = cluster_wait_leader(&h, 15000);
    cr_assert(old >= 1 && old <= 4);
    CLI_OK("remove", peer_name(old));
    char words[64];
    snprintf(words, sizeof(words), "%s is no longer a member (index ", peer_name(old));
    cr_assert(strstr(res.out, words), "%s", res.out);
    /* A removed peer says so in its log and exits (docs/MEMBERSHIP.md). */
    cr_assert(exits_within(old, 15000), "%s still runs after its removal", peer_name(old));

    int now = cluster_wait_leader(&h, 20000);
    cr_assert(now > 0 && now != old, "no new leader among the rest (logs in %s)", h.dir);
    CLI_OK("members");
    cr_assert(strstr(res.out, "3 voters, 0 learners"), "%s", res.out);
    cr_assert(!strstr(res.out, words), "%s", res.out);
    char removed_row[32];
    snprintf(removed_row, sizeof(removed_row), "\n%s ", peer_name(old));
    cr_assert(!strstr(res.out, removed_row), "the removed peer is still listed: %s", res.out);
    read_values();
    CLI_OK("after", "set", "1");
}

Test(membership, refused_changes_say_why_and_fail)
{
    CLI_REFUSED("peer2 is already a", "add", "peer2");
    CLI_REFUSED("peer9", "remove", "peer9");
    CLI_REFUSED("peer5 is not a", "remove", "peer5");
    CLI_REFUSED("peer3", "promote", "peer3");
    /* The raw answer carries the code. */
    cli(NULL, "--json", "add", "peer1", NULL);
    cr_assert_eq(res.exit_code, 1, "out: %s err: %s", res.out, res.err);
    cr_assert(strstr(res.out, "\"error\":\"bad_membership\""), "%s", res.out);
    /* Nothing changed. */
    CLI_OK("members");
    cr_assert(strstr(res.out, "3 voters, 0 learners"), "%s", res.out);
}

Test(membership, a_learner_then_its_promotion)
{
    write_values();
    cr_assert_eq(cluster_start_joiner(&h, 5), 0, "peer5 --join did not start (logs in %s)", h.dir);
    CLI_OK("add", "peer5", "--learner");
    cr_assert(strstr(res.out, "peer5 is a learner now"), "%s", res.out);
    cr_assert(strstr(res.out, "voters: peer1, peer2, peer3; learners: peer5"), "%s", res.out);
    CLI_OK("members");
    cr_assert(strstr(res.out, "3 voters, 1 learner,"), "%s", res.out);
    cr_assert(strstr(res.out, "\npeer5  learner "), "%s", res.out);
    cr_assert(strstr(res.out, "caught up") || strstr(res.out, "catching up"), "%s", res.out);
    CLI_REFUSED("peer5", "add", "peer5");
    CLI_OK("promote", "peer5");
    cr_assert(strstr(res.out, "peer5 is a voter now"), "%s", res.out);
    CLI_OK("members");
    cr_assert(strstr(res.out, "4 voters, 0 learners"), "%s", res.out);
    cr_assert(lists_voter(res.out, "peer5"), "%s", res.out);
    read_values();
}

/* None of the first N peers is a member any more: user_cli N still finds the leader
 * among the file's other peers. */
Test(membership, the_client_finds_the_cluster_past_its_first_n)
{
    write_values();
    cr_assert_eq(cluster_start_joiner(&h, 4), 0);
    cr_assert_eq(cluster_start_joiner(&h, 5), 0);
    CLI_OK("add", "peer4");
    CLI_OK("add", "peer5");
    /* A removed follower may never hear that its removal committed (the leader stops
     * replicating to it at once), so it cannot be relied on to exit: it is stopped, as
     * launch_raft_peer.sh remove does. */
    for (int i = 1; i <= 3; i++) {
        CLI_OK("remove", peer_name(i));
        cluster_kill_peer(&h, i, SIGTERM);
    }
    CLI_OK("members");
    cr_assert(strstr(res.out, "2 voters, 0 learners"), "%s", res.out);
    cr_assert(lists_voter(res.out, "peer4") && lists_voter(res.out, "peer5"), "%s", res.out);
    read_values();
    CLI_OK("status");
    cr_assert(strstr(res.out, "\npeer4  "), "%s", res.out);
    cr_assert(strstr(res.out, "\npeer5  "), "%s", res.out);
    cr_assert(strstr(res.out, " sees it: peer1, peer2, peer3\n"), "%s", res.out);
}

/* launch_raft_peer.sh add and remove, run from a copy in a scratch directory whose bin/
 * is the programs under test, on the ports of a prepared ini (not the repository's
 * fixed ones). */
static char launch_dir[512];

static void launch(const char *a1, const char *a2, int expect_exit)
{
    char script[600];
    snprintf(script, sizeof(script), "%s/launch_raft_peer.sh", launch_dir);
    char *argv[] = {script, (char *)a1, (char *)a2, NULL};
    cr_assert_eq(subprocess_run(argv, NULL, 120000, &res), 0);
    cr_assert(!res.timed_out, "launch_raft_peer.sh hung: %s %s", res.out, res.err);
    cr_assert_eq(res.exit_code, expect_exit, "launch_raft_peer.sh %s %s: exit %d\nout: %s\nerr: %s",
                 a1, a2 ? a2 : "", res.exit_code, res.out, res.err);
}

static void launch_setup(void)
{
    snprintf(cli_bin, sizeof(cli_bin), "%s/user_cli", harness_bin_dir());
    cr_assert_eq(cluster_prepare(&h, 3, &five_in_ini), 0);
    snprintf(launch_dir, sizeof(launch_dir), "%s/launch", h.dir);
    cr_assert_eq(mkdir(launch_dir, 0755), 0);
    char cmd[4096], bin[1100];
    cr_assert_not_null(realpath(harness_bin_dir(), bin));
    /* The script builds with `make` when make -q says so: an empty Makefile target keeps
     * it from building anything here. */
    snprintf(cmd, sizeof(cmd),
             "cp launch_raft_peer.sh '%s/' && ln -s '%s' '%s/bin' && "
             "printf 'all:\\n\\t@:\\n' > '%s/Makefile'",
             launch_dir, bin, launch_dir, launch_dir);
    cr_assert_eq(system(cmd), 0, "%s", cmd);
    setenv("RAFT_INI", h.ini, 1);
}

static void launch_teardown(void)
{
    char script[600];
    snprintf(script, sizeof(script), "%s/launch_raft_peer.sh", launch_dir);
    char *argv[] = {script, "stop", NULL};
    subprocess_run(argv, NULL, 60000, &res);
    unsetenv("RAFT_INI");
    cluster_stop(&h);
}

Test(launch_script, add_and_remove, .init = launch_setup, .fini = launch_teardown, .timeout = 240)
{
    launch("3", NULL, 0);
    cr_assert(strstr(res.out, "grow:  "), "%s", res.out);
    launch("add", "peer4", 0);
    cr_assert(strstr(res.out, "peer4 started with --join"), "%s", res.out);
    cr_assert(strstr(res.out, "peer4 is a voter now"), "%s", res.out);
    CLI_OK("members");
    cr_assert(strstr(res.out, "4 voters, 0 learners"), "%s", res.out);
    launch("add", "peer4", 1); /* already running */
    launch("add", "peer9", 2); /* not in the ini */
    launch("remove", "peer4", 0);
    cr_assert(strstr(res.out, "peer4 is no longer a member"), "%s", res.out);
    CLI_OK("members");
    cr_assert(strstr(res.out, "3 voters, 0 learners"), "%s", res.out);
    cr_assert(!strstr(res.out, "\npeer4 "), "%s", res.out);
    launch("stop", NULL, 0);
    cr_assert(strstr(res.out, "stopped peer1"), "%s", res.out);
}

/* Clusters of real processes share the machine: one test at a time keeps election
 * timing honest. */
int main(int argc, char *argv[])
{
    struct criterion_test_set *tests = criterion_initialize();
    criterion_options.jobs = 1;
    int result = 0;
    if (criterion_handle_args(argc, argv, true))
        result = !criterion_run_all_tests(tests);
    criterion_finalize(tests);
    return result;
}
