/* Integration tests of bin/user_cli against a real 3-peer cluster of
 * bin/raft_peer: one-shot commands, script mode on stdin, the interactive
 * prompt through a pseudo-terminal, failover after the leader is killed, the
 * error sentences, and the status table with a peer down. */
#include <criterion/criterion.h>
#include <errno.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "tests/lib/cluster.h"
#include "tests/lib/subprocess.h"

static struct cluster h;
static char cli_bin[512];

static void cluster_up(void)
{
    /* Some tests check that the status table and `leader` name the peer that led a moment
     * before, or that a transfer's target still leads: with the steady timeouts a leader
     * keeps its place unless this machine stalls it for a second or more. */
    static const struct cluster_options steady = {
        .election_timeout_min = CLUSTER_STEADY_TIMEOUT_MIN,
        .election_timeout_max = CLUSTER_STEADY_TIMEOUT_MAX,
    };
    snprintf(cli_bin, sizeof(cli_bin), "%s/user_cli", harness_bin_dir());
    cr_assert_eq(cluster_start(&h, 3, &steady), 0, "cannot start the cluster in %s", h.dir);
    cr_assert(cluster_wait_leader(&h, 15000) > 0, "no leader within 15 s (logs in %s)", h.dir);
}

static void cluster_down(void)
{
    cluster_stop(&h);
}

/* Runs user_cli 3 -c INI --timeout 10 WORDS... (NULL-terminated) with stdin. */
static void cli(struct subprocess_result *r, const char *stdin_text, ...)
{
    char *argv[32] = {cli_bin, "3", "-c", h.ini, "--timeout", "10"};
    int argc = 6;
    va_list ap;
    va_start(ap, stdin_text);
    for (const char *w; argc < 31 && (w = va_arg(ap, const char *)) != NULL;)
        argv[argc++] = (char *)w;
    va_end(ap);
    argv[argc] = NULL;
    cr_assert_eq(subprocess_run(argv, stdin_text, 30000, r), 0);
    cr_assert(!r->timed_out, "user_cli hung; out: %s err: %s", r->out, r->err);
}

static struct subprocess_result res; /* large: off the test's stack */

#define EXPECT_OK(out_text, ...)                                                                   \
    do {                                                                                           \
        cli(&res, NULL, __VA_ARGS__, NULL);                                                        \
        cr_assert_eq(res.exit_code, 0, "exit %d, err: %s", res.exit_code, res.err);                \
        cr_assert_str_eq(res.out, out_text);                                                       \
    } while (0)

#define EXPECT_FAIL(code, err_part, ...)                                                           \
    do {                                                                                           \
        cli(&res, NULL, __VA_ARGS__, NULL);                                                        \
        cr_assert_eq(res.exit_code, code, "exit %d, out: %s err: %s", res.exit_code, res.out,      \
                     res.err);                                                                     \
        cr_assert(strstr(res.err, err_part), "stderr lacks '%s': %s", err_part, res.err);          \
    } while (0)

TestSuite(user_cli, .init = cluster_up, .fini = cluster_down, .timeout = 120);

Test(user_cli, one_shot_commands_print_the_result_alone)
{
    EXPECT_OK("5\n", "x", "set", "5");
    EXPECT_OK("105\n", "x", "add", "100");
    EXPECT_OK("102\n", "x", "sub", "3");
    EXPECT_OK("204\n", "x", "mul", "2");
    EXPECT_OK("68\n", "x", "div", "3");
    EXPECT_OK("68\n", "x", "get");
    EXPECT_OK("68\n", "get", "x");
    EXPECT_OK("70\n", "x", "cas", "68", "70");
    EXPECT_OK("-5\n", "x", "add", "-75");
    EXPECT_OK("-5\n", "x", "del");
    EXPECT_OK("0\n", "x", "get");
    EXPECT_OK("0\n", "never_set", "get");
}

Test(user_cli, errors_are_sentences_and_change_nothing)
{
    EXPECT_OK("5\n", "c", "set", "5");
    EXPECT_FAIL(1, "cas failed: c is 5, not 1", "c", "cas", "1", "2");
    EXPECT_FAIL(1, "division by zero; nothing changed", "c", "div", "0");
    EXPECT_OK("9223372036854775807\n", "o", "set", "9223372036854775807");
    EXPECT_FAIL(1, "overflow: the result would not fit a signed 64-bit integer; nothing changed",
                "o", "add", "1");
    EXPECT_OK("5\n", "c", "get");
    EXPECT_OK("9223372036854775807\n", "o", "get");
    /* Refused locally, before any contact with the cluster. */
    EXPECT_FAIL(1, "unknown operation 'mod'", "x", "mod", "3");
    EXPECT_FAIL(1, "error:", "1x", "set", "3");
    EXPECT_FAIL(1, "error:", "x", "add", "99999999999999999999");
    EXPECT_FAIL(1, "unknown peer 'peer7'", "transfer", "peer7");
}

Test(user_cli, json_prints_the_raw_reply)
{
    EXPECT_OK("4\n", "j", "set", "4");
    cli(&res, NULL, "--json", "j", "add", "1", NULL);
    cr_assert_eq(res.exit_code, 0);
    cr_assert(strstr(res.out, "\"type\":\"client_response\""), "%s", res.out);
    cr_assert(strstr(res.out, "\"ok\":true"), "%s", res.out);
    cr_assert(strstr(res.out, "\"result\":5"), "%s", res.out);
    cli(&res, NULL, "--json", "j", "div", "0", NULL);
    cr_assert_eq(res.exit_code, 1);
    cr_assert(strstr(res.out, "\"error\":\"div_by_zero\""), "%s", res.out);
}

Test(user_cli, stdin_script_one_result_per_line)
{
    cli(&res, "s set 1\ns add 2\n\n# a comment\ns mod 4\ns div 0\ns get\n", NULL);
    cr_assert_eq(res.exit_code, 1, "err: %s", res.err);
    cr_assert_str_eq(res.out, "1\n3\nerror: unknown operation 'mod': expected set, add, sub, mul, "
                              "div, cas, get, del\nerror: division by zero; nothing changed\n3\n");
    cli(&res, "s add 10\ns get\n", NULL);
    cr_assert_eq(res.exit_code, 0);
    cr_assert_str_eq(res.out, "13\n13\n");
    /* No prompt and no history in script mode. */
    cr_assert_null(strstr(res.out, "raft"));
}

static const char *name_of(int peer)
{
    static char names[4][16];
    snprintf(names[peer], sizeof(names[peer]), "peer%d", peer);
    return names[peer];
}

Test(user_cli, leader_killed_client_finds_the_new_one)
{
    int to, from;
    char *argv[] = {cli_bin, "3", "-c", h.ini, "--timeout", "20", NULL};
    pid_t pid = subprocess_spawn(argv, &to, &from);
    cr_assert(pid > 0);
    char buf[8192];
    size_t len = 0;

    cr_assert_eq(write(to, "k set 1\n", 8), 8);
    cr_assert_eq(subprocess_read_until(from, buf, sizeof(buf), &len, "1\n", 15000), 0, "%s", buf);
    int old = cluster_wait_leader(&h, 5000);
    cr_assert(old > 0);
    cluster_kill_peer(&h, old, SIGKILL);

    /* The client remembered the dead leader: it must notice, look elsewhere and
     * follow redirects, and the add must be applied once. */
    cr_assert_eq(write(to, "k add 1\n", 8), 8);
    cr_assert_eq(subprocess_read_until(from, buf, sizeof(buf), &len, "1\n2\n", 25000), 0, "out: %s",
                 buf);
    cr_assert_eq(write(to, "leader\n", 7), 7);
    cr_assert_eq(subprocess_read_until(from, buf, sizeof(buf), &len, ", term ", 25000), 0,
                 "out: %s", buf);
    char *line = strstr(buf, "1\n2\n") + 4;
    char dead[32];
    snprintf(dead, sizeof(dead), "%s (", name_of(old));
    cr_assert(strncmp(line, dead, strlen(dead)) != 0, "the dead peer is still named: %s", line);
    close(to);
    int status;
    waitpid(pid, &status, 0);
    close(from);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %d", status);

    /* The crashed peer comes back and catches up. */
    cr_assert_eq(cluster_start_peer(&h, old), 0);
    EXPECT_OK("2\n", "k", "get");
}

Test(user_cli, status_table_with_a_peer_down)
{
    int lead = cluster_wait_leader(&h, 5000);
    cr_assert(lead > 0);
    int down = lead % 3 + 1;
    cluster_kill_peer(&h, down, SIGKILL);
    cli(&res, NULL, "status", NULL);
    cr_assert_eq(res.exit_code, 0, "err: %s out: %s", res.err, res.out);
    cr_assert(strncmp(res.out, "NAME", 4) == 0, "%s", res.out);
    for (int i = 1; i <= 3; i++) {
        char key[32];
        snprintf(key, sizeof(key), "\n%s ", name_of(i));
        char *row = strstr(res.out, key);
        cr_assert(row, "no row for %s: %s", name_of(i), res.out);
        char *eol = strchr(row + 1, '\n');
        char *state = strstr(row, i == down ? " DOWN " : " up ");
        cr_assert(state && state < eol, "%s: %s", name_of(i), res.out);
        if (i == lead) {
            char *role = strstr(row, " leader ");
            cr_assert(role && role < eol, "%s", res.out);
        }
    }
    char note[64];
    snprintf(note, sizeof(note), "%s is unreachable", name_of(down));
    cr_assert(strstr(res.out, note), "%s", res.out);

    cli(&res, NULL, "leader", NULL);
    cr_assert_eq(res.exit_code, 0);
    cr_assert(strncmp(res.out, name_of(lead), strlen(name_of(lead))) == 0, "%s", res.out);

    /* The peer comes back: everyone up again. */
    cr_assert_eq(cluster_start_peer(&h, down), 0);
    cli(&res, NULL, "status", NULL);
    cr_assert_eq(res.exit_code, 0);
    cr_assert_null(strstr(res.out, "DOWN"), "%s", res.out);

    /* Everyone down: a clear failure within the timeout, exit code 3. 3 s: user_cli tries
     * the three peers a few ms apart, and has them all tried even if it stalls meanwhile. */
    for (int i = 1; i <= 3; i++)
        cluster_kill_peer(&h, i, SIGKILL);
    char *argv[] = {cli_bin, "3", "-c", h.ini, "--timeout", "3", "x", "get", NULL};
    cr_assert_eq(subprocess_run(argv, NULL, 20000, &res), 0);
    cr_assert_eq(res.exit_code, 3, "%s", res.err);
    cr_assert(strstr(res.err, "no leader reachable within 3 s (tried peer1, peer2, peer3)"), "%s",
              res.err);
}

Test(user_cli, transfer_moves_leadership)
{
    int lead = cluster_wait_leader(&h, 5000);
    cr_assert(lead > 0);
    int target = lead % 3 + 1;
    cli(&res, NULL, "transfer", name_of(target), NULL);
    cr_assert_eq(res.exit_code, 0, "out: %s err: %s", res.out, res.err);
    cr_assert(strstr(res.out, "leadership transferred to"), "%s", res.out);
    /* A deadline, not a count of polls: generous, for a loaded machine. */
    int now = -1;
    uint64_t deadline = harness_now_ms() + (uint64_t)harness_scaled_ms(15000);
    while ((now = cluster_wait_leader(&h, 5000)) != target && harness_now_ms() < deadline)
        usleep(100000);
    cr_assert_eq(now, target);
}

/* --- the interactive prompt through a pseudo-terminal --- */

static pid_t pty_start(int *fd, const char *hist)
{
    pid_t pid = forkpty(fd, NULL, NULL, NULL);
    cr_assert(pid >= 0);
    if (pid == 0) {
        setenv("RAFT_CLI_HISTORY", hist, 1);
        setenv("TERM", "xterm", 1);
        char *argv[] = {cli_bin, "3", "-c", h.ini, "--timeout", "10", NULL};
        execv(cli_bin, argv);
        _exit(127);
    }
    return pid;
}

/* What the terminal showed so far; each expectation only looks at what came
 * after the keys it typed. */
static char screen[65536];
static size_t screen_len;

/* libedit prints its prompt a moment before it switches the terminal to raw mode.
 * Keys typed in between reach the cooked line discipline instead: a Ctrl-D there
 * becomes a stray character in the next line, and later Ctrl-Ds on that non-empty
 * line do not leave. A person sees the prompt long after the switch; the test waits
 * for it too. On Linux the master side of a pty reads the terminal's own modes. */
static void wait_for_raw_mode(int fd, int timeout_ms)
{
    uint64_t deadline = harness_now_ms() + (uint64_t)timeout_ms;
    struct termios t;
    while (tcgetattr(fd, &t) == 0 && (t.c_lflag & ICANON) && harness_now_ms() < deadline)
        usleep(1000);
}

/* Sends `keys` once the prompt reads raw keys, and waits for the program to exit.
 * The keys are sent again every second, as an impatient user would. What the
 * terminal shows meanwhile goes to the screen, for the failure message. */
static int pty_exit_with(pid_t pid, int fd, const char *keys)
{
    int status = -1;
    uint64_t deadline = harness_now_ms() + 30000; /* generous, for a loaded machine */
    for (int i = 0; harness_now_ms() < deadline; i++) {
        if (i % 10 == 0)
            wait_for_raw_mode(fd, 5000);
        if (i % 10 == 0 && write(fd, keys, strlen(keys)) < 0)
            usleep(10000);
        if (waitpid(pid, &status, WNOHANG) == pid)
            return status;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 100) <= 0)
            continue;
        char buf[4096];
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n < 0 && errno != EAGAIN)
            usleep(10000);
        if (n > 0 && screen_len + (size_t)n < sizeof(screen)) {
            memcpy(screen + screen_len, buf, (size_t)n);
            screen_len += (size_t)n;
            screen[screen_len] = 0;
        }
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    return -1;
}

static void type_and_expect(int fd, const char *keys, const char *needle, int timeout_ms)
{
    size_t mark = screen_len, len = 0;
    if (keys[0] != '\0') {
        wait_for_raw_mode(fd, 10000);
        cr_assert_eq(write(fd, keys, strlen(keys)), (ssize_t)strlen(keys));
    }
    int rc =
        subprocess_read_until(fd, screen + mark, sizeof(screen) - mark, &len, needle, timeout_ms);
    screen_len = mark + len;
    cr_assert_eq(rc, 0, "after typing '%s' no '%s' in: %s", keys, needle, screen + mark);
}

/* Runs one line at the prompt: waits for the next prompt, so keys typed later
 * reach libedit and not the terminal's cooked mode, then checks the output. */
static void run_line(int fd, const char *keys, const char *expected)
{
    size_t mark = screen_len;
    type_and_expect(fd, keys, expected, 15000);
    const char *after = strstr(screen + mark, expected) + strlen(expected);
    if (strstr(after, "> ") == NULL)
        type_and_expect(fd, "", "> ", 15000);
}

Test(user_cli, interactive_prompt_editing_completion_history)
{
    char hist[400];
    snprintf(hist, sizeof(hist), "%s/history", h.dir);
    int fd;
    pid_t pid = pty_start(&fd, hist);

    type_and_expect(fd, "", "> ", 10000);
    cr_assert(strstr(screen, "Type help"), "greeting: %s", screen);
    run_line(fd, "z set 7\r", "\n7\r\n");
    /* Tab completes the operation ("ad" -> "add "); backspace edits the number. */
    type_and_expect(fd, "z ad\t", "d ", 5000);
    run_line(fd, "59\x7f\r", "\n12\r\n");
    run_line(fd, "z mod 1\r", "unknown operation 'mod'");
    run_line(fd, "status\r", "APPLIED");
    int status = pty_exit_with(pid, fd, "\x04"); /* Ctrl-D leaves */
    close(fd);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %d; screen:\n%s", status,
              screen);

    /* History survives the run: Up three times from an empty line gives
     * status, z mod 1, then z add 5, which runs again. */
    pid = pty_start(&fd, hist);
    screen_len = 0;
    type_and_expect(fd, "", "> ", 10000);
    run_line(fd, "\x1b[A\x1b[A\x1b[A\r", "\n17\r\n");
    status = pty_exit_with(pid, fd, "quit\r");
    close(fd);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %d; screen:\n%s", status,
              screen);
}

/* Usage needs no cluster. */
Test(user_cli_usage, help_and_wrong_usage)
{
    snprintf(cli_bin, sizeof(cli_bin), "%s/user_cli", harness_bin_dir());
    char *help[] = {cli_bin, "--help", NULL};
    cr_assert_eq(subprocess_run(help, NULL, 5000, &res), 0);
    cr_assert_eq(res.exit_code, 0);
    cr_assert(strstr(res.out, "usage: user_cli N"), "%s", res.out);
    char *none[] = {cli_bin, NULL};
    cr_assert_eq(subprocess_run(none, NULL, 5000, &res), 0);
    cr_assert_eq(res.exit_code, 2);
    cr_assert(strstr(res.err, "usage: user_cli N"), "%s", res.err);
    char *bad[] = {cli_bin, "3", "--frob", NULL};
    cr_assert_eq(subprocess_run(bad, NULL, 5000, &res), 0);
    cr_assert_eq(res.exit_code, 2);
    char *noini[] = {cli_bin, "3", "-c", "/nonexistent/raft_peer.ini", "x", "get", NULL};
    cr_assert_eq(subprocess_run(noini, NULL, 5000, &res), 0);
    cr_assert_eq(res.exit_code, 2);
    cr_assert(strstr(res.err, "/nonexistent/raft_peer.ini"), "%s", res.err);
}

/* Clusters of real processes share the machine: one test at a time keeps
 * election timing honest. */
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
