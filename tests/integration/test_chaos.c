/* test_chaos.c: runs the chaos program (tests/chaos/, built as $RAFT_CHAOS_BIN) for a short
 * while against real peers, and checks that its history checker refuses a bad history. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/lib/subprocess.h"

#define SHORT_RUN_SECONDS "35"

static const char *chaos_bin(void)
{
    const char *p = getenv("RAFT_CHAOS_BIN");
    return p && *p ? p : "build/release/tests/raft_chaos";
}

static struct subprocess_result res; /* large: off the stack */

static int run_chaos(char *const argv[], int timeout_ms)
{
    cr_assert_eq(subprocess_run(argv, NULL, timeout_ms, &res), 0, "cannot run %s", argv[0]);
    return res.exit_code;
}

Test(chaos, usage)
{
    char *help[] = {(char *)chaos_bin(), "--help", NULL};
    cr_expect_eq(run_chaos(help, 10000), 0);
    cr_expect(strstr(res.out, "usage: raft_chaos") != NULL);
    char *bad[] = {(char *)chaos_bin(), "--seconds", "zero", NULL};
    cr_expect_eq(run_chaos(bad, 10000), 2);
}

/* The checker inside the program, end to end on a saved history: a write acknowledged
 * before a read began, and the read returned the older value. */
Test(chaos, check_refuses_a_stale_read)
{
    char path[] = "/tmp/raft-chaos-history-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    FILE *f = fdopen(fd, "w");
    cr_assert_not_null(f);
    fprintf(f, "# client seq key op a b outcome result call_us return_us bound_us attempts "
               "error\n"
               "0 1 k0 set 5 0 ok 5 100 200 - 1 -\n"
               "1 1 k0 get 0 0 ok 0 300 400 - 1 -\n"
               "99 1 k0 get 0 0 ok 5 500 600 - 1 -\n");
    fclose(f);
    char *argv[] = {(char *)chaos_bin(), "--check", path, NULL};
    int code = run_chaos(argv, 20000);
    unlink(path);
    cr_expect_eq(code, 1, "output:\n%s%s", res.out, res.err);
    cr_expect(strstr(res.out, "key k0: 3 operations, NOT LINEARIZABLE") != NULL, "%s", res.out);
    cr_expect(strstr(res.out, "client 1 seq 1: k0 get -> 0") != NULL, "%s", res.out);
    cr_expect(strstr(res.out, "verdict: FAIL") != NULL, "%s", res.out);
}

Test(chaos, check_refuses_a_lost_acknowledged_add)
{
    char path[] = "/tmp/raft-chaos-history-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    FILE *f = fdopen(fd, "w");
    cr_assert_not_null(f);
    fprintf(f, "0 1 c0 add 3 0 ok 3 100 200 - 1 -\n"
               "0 2 c0 add 4 0 unknown - 300 2500 - 3 no_answer\n"
               "0 3 c0 add 2 0 ok 5 2600 2700 - 1 -\n"
               "99 1 c0 get 0 0 ok 5 3000 3100 - 1 -\n");
    fclose(f);
    char *argv[] = {(char *)chaos_bin(), "--check", path, NULL};
    int code = run_chaos(argv, 20000);
    cr_expect_eq(code, 0, "the unknown add never happened: fine\n%s", res.out);
    /* Now the final read misses the acknowledged add of 2. */
    f = fopen(path, "w");
    cr_assert_not_null(f);
    fprintf(f, "0 1 c0 add 3 0 ok 3 100 200 - 1 -\n"
               "0 2 c0 add 2 0 ok 5 300 400 - 1 -\n"
               "99 1 c0 get 0 0 ok 3 3000 3100 - 1 -\n");
    fclose(f);
    code = run_chaos(argv, 20000);
    unlink(path);
    cr_expect_eq(code, 1, "%s", res.out);
    cr_expect(strstr(res.out, "FAILED: acknowledged adds are missing") != NULL, "%s", res.out);
}

/* A short run: 3 voters of a 5-peer ini, 5 clients, every kind of fault (membership changes
 * included), all checks. */
Test(chaos, short_run_passes_every_check, .timeout = 400)
{
    char *argv[] = {(char *)chaos_bin(), "--seconds", SHORT_RUN_SECONDS, NULL};
    int code = run_chaos(argv, 360000);
    /* The figures belong in the test's output whether it passes or not. */
    fprintf(stderr, "%s%s", res.out, res.err);
    cr_assert_not(res.timed_out, "the chaos run did not finish in 6 minutes");
    cr_expect_eq(code, 0, "the chaos run failed (exit %d); see its output above", code);
    cr_expect(strstr(res.out, "verdict: PASS") != NULL);
}
