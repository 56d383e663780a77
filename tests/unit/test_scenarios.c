/* test_scenarios.c: data-driven scenario tests of the Raft core (tests/scenarios/ *.txt).
 *
 * A scenario file is a list of commands run against an in-memory cluster of real
 * raft cores: every peer has its own manual clock, messages wait in one queue until
 * a command delivers or drops them, and each ready is persisted at once to an
 * in-memory "disk" that survives `crash`/`restart` (or, for a peer on a manual disk,
 * held until `sync`, and lost in a crash). Indented lines under a command are
 * the exact output that command must print (messages sent, role changes, commits...);
 * a mismatch fails the test with a diff. docs/SCENARIOS.md describes the language.
 *
 * Set RAFT_SCENARIO_REWRITE=1 to write the actual output back into the files (review
 * the diff before committing it: the file is the specification, not a recording).
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/scenario/runner.h"
#include "tests/scenario/text.h"

static void run_scenario(const char *name)
{
    const char *rw = getenv("RAFT_SCENARIO_REWRITE");
    struct text err = {0};
    int rc = run_file(name, rw && strcmp(rw, "1") == 0, &err);
    if (rc != 0) {
        /* The diff can be long: print it whole, and keep the assertion message short. */
        fprintf(stderr, "%s", err.buf ? err.buf : "");
        text_free(&err);
        cr_assert_fail("scenario %s failed (details above)", name);
    }
    text_free(&err);
}

/* ------------------------------------------------------------------------- */
/* One Criterion test per scenario file. Keep this list and the directory in step:
 * the last test fails when a file has no test here. */

#define SCENARIOS(X)                                                                               \
    X(election)                                                                                    \
    X(split_vote)                                                                                  \
    X(stale_leader)                                                                                \
    X(vote_log_behind)                                                                             \
    X(vote_once_per_term)                                                                          \
    X(pre_vote)                                                                                    \
    X(check_quorum)                                                                                \
    X(read_index)                                                                                  \
    X(read_rounds)                                                                                 \
    X(stall_check)                                                                                 \
    X(log_conflict)                                                                                \
    X(figure7)                                                                                     \
    X(figure8_d)                                                                                   \
    X(figure8_e)                                                                                   \
    X(durability)                                                                                  \
    X(transfer)                                                                                    \
    X(transfer_abandoned)                                                                          \
    X(disconnect)                                                                                  \
    X(unreachable)                                                                                 \
    X(inflight_bytes)                                                                              \
    X(membership_bug)                                                                              \
    X(membership_leader_removal)                                                                   \
    X(membership_learner)                                                                          \
    X(snapshot_slow_follower)                                                                      \
    X(snapshot_behind_compaction)                                                                  \
    X(snapshot_lost)                                                                               \
    X(snapshot_install_crash)

#define SCENARIO_TEST(name)                                                                        \
    Test(scenario, name)                                                                           \
    {                                                                                              \
        run_scenario(#name);                                                                       \
    }
SCENARIOS(SCENARIO_TEST)

#define SCENARIO_NAME(name) #name,
static const char *const scenario_names[] = {SCENARIOS(SCENARIO_NAME)};

Test(scenario_files, every_file_has_a_test)
{
    DIR *d = opendir(scenario_dir());
    cr_assert_not_null(d, "cannot open %s (run from the repository root)", scenario_dir());
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        if (n < 5 || strcmp(e->d_name + n - 4, ".txt") != 0)
            continue;
        bool known = false;
        for (size_t i = 0; i < sizeof(scenario_names) / sizeof(scenario_names[0]); i++)
            known = known || (strlen(scenario_names[i]) == n - 4 &&
                              strncmp(scenario_names[i], e->d_name, n - 4) == 0);
        cr_expect(known, "%s/%s has no Test in test_scenarios.c", scenario_dir(), e->d_name);
    }
    closedir(d);
}

/* Runs a scenario given as a string from a scratch directory. */
static int run_text(const char *body, struct text *err)
{
    char dir[] = "/tmp/raft_scenario_XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char path[600];
    snprintf(path, sizeof(path), "%s/t.txt", dir);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(body, f);
    fclose(f);
    setenv("RAFT_SCENARIO_DIR", dir, 1);
    int rc = run_file("t", false, err);
    unsetenv("RAFT_SCENARIO_DIR");
    remove(path);
    rmdir(dir);
    return rc;
}

/* Bad scenario lines fail with the file and line, never crash the harness. */
Test(scenario_files, malformed_lines_fail_cleanly)
{
    static const char *const bad[] = {
        "tick 1 100\n",            /* no cluster */
        "cluster 0\n",             /* no peers */
        "cluster 99\n",            /* too many */
        "cluster 3 bogus\n",       /* unknown option */
        "cluster 3\ncluster 3\n",  /* twice */
        "cluster 3\nlog 1: 3 2\n", /* terms decrease */
        "cluster 3\nlog 4: 1\n",   /* no such peer */
        "cluster 3\nterm 1 99999999999999999999999\n",
        "cluster 3\ntick 1 99999999999\n", /* clock overflow bound */
        "cluster 3\ntick\n",
        "cluster 3\ndeliver 1-2\n",
        "cluster 3\ndeliver 1->9\n",
        "cluster 3\ncampaign\n",
        "cluster 3\nexpect\n",
        "cluster 3\nexpect role 1\n",
        "cluster 3\nexpect role 1 leader\n", /* a false expectation */
        "cluster 3\nexpect nonsense 1 2\n",
        "cluster 3\ncrash 1\ncrash 1\n",
        "cluster 3\nrestart 1\n",
        "cluster 3\ncampaign 1\nstabilize\ncampaign 1\n", /* a leader's timer never fires */
        "cluster 3\nfrobnicate\n",
        "cluster 3\nsnapshot 1\n", /* nothing applied yet */
        "cluster 3\ncompact 1\n",  /* no snapshot to compact into */
        "cluster 3\ncompact 1 x\n",
        "cluster 1\ncampaign 1\nsnapshot 1\ncompact 1 5\n", /* past its snapshot */
        "cluster 3\nexpect snapshot 1 4\n",                 /* want INDEX/TERM */
        "cluster 3\nexpect snapshot 1 1/1\n",               /* a false expectation */
        "cluster 3\nexpect log 1: compacted=0/1\n",         /* nothing compacted is no prefix */
        "cluster 3\nexpect log 1: compacted=2/1\n",         /* a false expectation */
        "  1->2 output before any command\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct text err = {0};
        int rc = run_text(bad[i], &err);
        cr_expect_eq(rc, -1, "should fail: %s", bad[i]);
        cr_expect(err.buf && strstr(err.buf, "t.txt"), "error names the file: %s",
                  err.buf ? err.buf : "(none)");
        text_free(&err);
    }
}

/* The interpreter itself must fail loudly on a wrong expectation, or every green
 * scenario above would prove nothing. */
Test(scenario_files, a_wrong_expectation_fails)
{
    struct text err = {0};
    int rc = run_text("cluster 3\ncampaign 1\n  1->2 request_vote term=9 last=0/0\n", &err);
    cr_expect_eq(rc, -1);
    cr_expect(err.buf && strstr(err.buf, "t.txt:2: output of `campaign 1` differs"),
              "the diff should name the line: %s", err.buf ? err.buf : "");
    cr_expect(err.buf && strstr(err.buf, "  - 1->2 request_vote term=9 last=0/0"),
              "the diff should show the expected line: %s", err.buf ? err.buf : "");
    cr_expect(err.buf && strstr(err.buf, "  + 1->2 request_vote term=1 last=0/0"),
              "the diff should show the actual line: %s", err.buf ? err.buf : "");
    text_free(&err);
}
