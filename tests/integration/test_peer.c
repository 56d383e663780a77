/* test_peer.c: real raft_peer processes on loopback: elections, replication, crashes,
 * restarts, exactly-once retries, hostile input, log recovery and bad ini files. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/net.h"
#include "tests/lib/cluster.h"

#define LEADER_WAIT_MS 8000 /* generous: elections take ~300 ms */
#define CMD_WAIT_MS    8000

static struct cluster cl;

static void teardown(void)
{
    cluster_stop(&cl);
}

static int64_t run(const char *command)
{
    struct client_response resp;
    cr_assert_eq(cluster_command(&cl, command, 0, &resp, CMD_WAIT_MS), 0, "no answer to '%s'",
                 command);
    cr_assert(resp.ok, "'%s' failed: %s %s", command, resp.error, resp.message);
    return resp.result;
}

static int start_with(int n, const struct cluster_options *opt)
{
    cr_assert_eq(cluster_start(&cl, n, opt), 0, "cannot start %d peers (bin dir %s)", n,
                 harness_bin_dir());
    int leader = cluster_wait_leader(&cl, LEADER_WAIT_MS);
    cr_assert_gt(leader, 0, "no leader elected among %d peers", n);
    return leader;
}

static int start(int n)
{
    return start_with(n, NULL);
}

/* For tests that check which peer leads after a while: see CLUSTER_STEADY_TIMEOUT_MIN. A
 * crashed leader is still replaced at once, since its followers see its connections drop. */
static int start_steady(int n)
{
    static const struct cluster_options steady = {
        .election_timeout_min = CLUSTER_STEADY_TIMEOUT_MIN,
        .election_timeout_max = CLUSTER_STEADY_TIMEOUT_MAX,
    };
    return start_with(n, &steady);
}

static void sum_survives_leader_crash(int n)
{
    int leader = start_steady(n);
    int64_t expected = 0;
    for (int i = 1; i <= 40; i++) {
        expected += i;
        char cmd[64];
        snprintf(cmd, sizeof(cmd), "x add %d", i);
        cr_assert_eq(run(cmd), expected);
        if (i % 10 == 0)
            cr_assert_eq(run("x get"), expected, "a read missed an acknowledged write");
    }
    /* Every peer applies what the leader acknowledged. */
    struct client_response resp;
    cr_assert_eq(cluster_command(&cl, "x get", 0, &resp, CMD_WAIT_MS), 0);
    cr_assert_eq(cluster_wait_applied(&cl, resp.index, CMD_WAIT_MS), 0,
                 "not every peer applied index %llu", (unsigned long long)resp.index);

    /* Crash the leader: a new one is elected and nothing acknowledged is lost. */
    cluster_kill_peer(&cl, leader, SIGKILL);
    int next = cluster_wait_leader(&cl, LEADER_WAIT_MS);
    cr_assert_gt(next, 0, "no new leader after peer%d was killed", leader);
    cr_assert_neq(next, leader);
    cr_assert_eq(run("x get"), expected, "acknowledged writes lost after the leader crashed");
    cr_assert_eq(run("x add 1000"), expected + 1000);

    /* The old leader comes back as a follower and catches up. */
    cr_assert_eq(cluster_start_peer(&cl, leader), 0);
    cr_assert_eq(cluster_command(&cl, "x get", 0, &resp, CMD_WAIT_MS), 0);
    cr_assert_eq(cluster_wait_applied(&cl, resp.index, CMD_WAIT_MS), 0,
                 "the restarted peer%d did not catch up to index %llu", leader,
                 (unsigned long long)resp.index);
    struct peer_status st;
    cr_assert_eq(cluster_status(&cl, leader, &st), 0);
    cr_assert_str_eq(st.role, "follower");
}

Test(peer, three_peers_elect_replicate_and_survive_leader_crash, .fini = teardown, .timeout = 60)
{
    sum_survives_leader_crash(3);
}

Test(peer, five_peers_elect_replicate_and_survive_leader_crash, .fini = teardown, .timeout = 60)
{
    sum_survives_leader_crash(5);
}

Test(peer, commands_sent_to_any_peer_are_redirected_and_applied_everywhere, .fini = teardown,
     .timeout = 60)
{
    int leader = start_steady(3);
    int follower = leader % 3 + 1;
    /* A follower names the leader once it has heard from it, which under valgrind can
     * come well after the leader knows it won. */
    struct peer_status st;
    uint64_t deadline = harness_now_ms() + (uint64_t)harness_scaled_ms(LEADER_WAIT_MS);
    while ((cluster_status(&cl, follower, &st) != 0 || st.leader != leader) &&
           harness_now_ms() < deadline)
        harness_sleep_ms(20);
    char line[4096];
    cr_assert_eq(peer_exchange(&cl, follower,
                               "{\"type\":\"client_request\",\"client_id\":\"redir\",\"seq\":1,"
                               "\"command\":\"y set 7\"}\n",
                               line, sizeof(line), 2000),
                 0);
    cr_assert(strstr(line, "\"not_leader\""), "follower answered: %s", line);
    char want[64];
    snprintf(want, sizeof(want), "\"leader\":\"peer%d\"", leader);
    cr_assert(strstr(line, want), "redirect does not name peer%d: %s", leader, line);
    snprintf(want, sizeof(want), "\"port\":%d", cl.ports[leader]);
    cr_assert(strstr(line, want), "redirect does not give the leader's port: %s", line);
    cr_assert_eq(run("y set 7"), 7);
    cr_assert_eq(run("y mul 6"), 42);
    /* The configuration it uses (docs/MEMBERSHIP.md): the first N peers, all voting. */
    cr_assert_eq(peer_exchange(&cl, follower, "{\"type\":\"status\"}\n", line, sizeof(line), 2000),
                 0);
    cr_assert(strstr(line, "\"voters\":[\"peer1\",\"peer2\",\"peer3\"],\"learners\":[],"
                           "\"config_pending\":false"),
              "status: %s", line);
}

Test(peer, every_peer_restarted_keeps_its_state, .fini = teardown, .timeout = 60)
{
    start(3);
    run("a set 11");
    run("b set -5");
    run("a add 31");
    for (int i = 1; i <= 3; i++)
        cluster_kill_peer(&cl, i, SIGTERM);
    for (int i = 1; i <= 3; i++)
        cr_assert_eq(cluster_start_peer(&cl, i), 0);
    cr_assert_gt(cluster_wait_leader(&cl, LEADER_WAIT_MS), 0);
    cr_assert_eq(run("a get"), 42);
    cr_assert_eq(run("b get"), -5);
}

Test(peer, retried_request_is_applied_once_across_leader_crash, .fini = teardown, .timeout = 60)
{
    int leader = start(3);
    run("z set 100");
    /* Send z add 1, the first request (seq 1) of a new client, straight to the leader
     * and crash it before reading the answer: the outcome is unknown to the client,
     * which retries seq 1 marked as a retry. */
    char err[128];
    int fd = tcp_connect_timeout(err, sizeof(err), "127.0.0.1", cl.ports[leader], 2000);
    cr_assert_geq(fd, 0);
    const char *req = "{\"type\":\"client_request\",\"client_id\":\"retry-client\",\"seq\":1,"
                      "\"command\":\"z add 1\"}\n";
    cr_assert_eq(write(fd, req, strlen(req)), (ssize_t)strlen(req));
    harness_sleep_ms(30);
    cluster_kill_peer(&cl, leader, SIGKILL);
    close(fd);
    cr_assert_gt(cluster_wait_leader(&cl, LEADER_WAIT_MS), 0);
    struct client_response a, b;
    cr_assert_eq(cluster_retry_as(&cl, "retry-client", 1, "z add 1", &a, CMD_WAIT_MS), 0);
    cr_assert(a.ok, "retry failed: %s", a.message);
    cr_assert_eq(a.result, 101);
    cr_assert_eq(cluster_retry_as(&cl, "retry-client", 1, "z add 1", &b, CMD_WAIT_MS), 0);
    cr_assert(b.ok);
    cr_assert_eq(b.result, 101, "a duplicate changed the answer");
    cr_assert_eq(run("z get"), 101, "the retried command was applied twice");
}

static void expect_bad_request(int peer, const char *line, size_t len)
{
    char err[128], answer[4096];
    int fd = tcp_connect_timeout(err, sizeof(err), "127.0.0.1", cl.ports[peer], 2000);
    cr_assert_geq(fd, 0);
    size_t sent = 0;
    while (sent < len) {
        ssize_t n = write(fd, line + sent, len - sent);
        if (n <= 0)
            break; /* a peer may hang up on an oversized line: that is allowed */
        sent += (size_t)n;
    }
    size_t used = 0;
    while (used + 1 < sizeof(answer)) {
        ssize_t n = read(fd, answer + used, 1);
        if (n <= 0 || answer[used] == '\n')
            break;
        used++;
    }
    answer[used] = 0;
    close(fd);
    cr_assert(used == 0 || strstr(answer, "\"bad_request\""), "expected bad_request, got: %s",
              answer);
    cr_assert(used > 0 || len > 65536, "no answer to a short bad line");
}

Test(peer, hostile_input_gets_bad_request_and_cluster_keeps_working, .fini = teardown,
     .timeout = 60)
{
    /* The peer hangs up on a line over its limit while we are still writing it: that
     * must show as a failed write here, not kill the test with SIGPIPE. */
    signal(SIGPIPE, SIG_IGN);
    int leader = start_steady(3);
    run("k set 1");
    const char *bad[] = {
        "garbage\n",
        "{\"type\":\"client_request\",\"client_id\":\"c\",\"seq\":1,\n",
        "{\"type\":\"client_request\",\"client_id\":7,\"seq\":1,\"command\":\"k add 1\"}\n",
        "{\"type\":\"client_request\",\"client_id\":\"c\",\"seq\":-1,\"command\":\"k add 1\"}\n",
        "{\"type\":\"client_request\",\"client_id\":\"c\",\"seq\":\"1\",\"command\":\"k add 1\"}\n",
        "{\"type\":\"client_request\",\"client_id\":\"c\",\"seq\":1,\"command\":[1]}\n",
        "{\"type\":\"append_entries\",\"term\":\"x\"}\n",
        "{\"type\":\"append_entries\",\"term\":99999,\"leader_id\":\"nobody\",\"from\":\"nobody\"}"
        "\n",
        "{\"type\":42}\n",
        "[1,2,3]\n",
        "{}\n",
        "{\"type\":\"request_vote\",\"term\":18446744073709551615}\n",
    };
    for (int p = 1; p <= 3; p++)
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
            expect_bad_request(p, bad[i], strlen(bad[i]));
    size_t huge = 8u << 20;
    char *big = malloc(huge + 1);
    memset(big, 'a', huge);
    big[huge] = '\n';
    expect_bad_request(leader, big, huge + 1);
    free(big);
    for (int p = 1; p <= 3; p++)
        cr_assert(cluster_peer_alive(&cl, p), "peer%d died of bad input", p);
    cr_assert_eq(run("k add 1"), 2);
    struct peer_status st;
    cr_assert_eq(cluster_status(&cl, leader, &st), 0);
    cr_assert_str_eq(st.role, "leader", "bad input changed the leader's state");
}

static void segment_path(int peer, char *out, size_t outlen)
{
    char dir[512];
    snprintf(dir, sizeof(dir), "%s/data/peer%d", cl.dir, peer);
    DIR *d = opendir(dir);
    cr_assert(d, "no data directory %s", dir);
    struct dirent *e;
    char best[256] = "";
    while ((e = readdir(d)))
        if (!strncmp(e->d_name, "log-", 4) && strcmp(e->d_name, best) > 0)
            snprintf(best, sizeof(best), "%s", e->d_name);
    closedir(d);
    cr_assert(best[0], "no log segment in %s", dir);
    snprintf(out, outlen, "%s/%s", dir, best);
}

static int start_and_capture(int peer, char *out, size_t outlen)
{
    char prog[1100], name[16], cmd[4600];
    snprintf(prog, sizeof(prog), "%s/raft_peer", harness_bin_dir());
    snprintf(name, sizeof(name), "peer%d", peer);
    /* Through the wrapper too (make valgrind checks this failing start). */
    snprintf(cmd, sizeof(cmd), "timeout %d %s %s %s %d -c %s 2>&1", 5 * harness_timeout_scale(),
             harness_peer_wrapper(), prog, name, cl.n, cl.ini);
    FILE *f = popen(cmd, "r");
    cr_assert(f);
    size_t n = fread(out, 1, outlen - 1, f);
    out[n] = 0;
    int status = pclose(f);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

Test(peer, torn_log_tail_is_dropped_and_peer_recovers, .fini = teardown, .timeout = 60)
{
    int leader = start(3);
    for (int i = 0; i < 20; i++)
        run("t add 1");
    int victim = leader % 3 + 1;
    struct client_response resp;
    cr_assert_eq(cluster_command(&cl, "t get", 0, &resp, CMD_WAIT_MS), 0);
    cr_assert_eq(cluster_wait_applied(&cl, resp.index, CMD_WAIT_MS), 0);
    cluster_kill_peer(&cl, victim, SIGKILL);
    char seg[800];
    segment_path(victim, seg, sizeof(seg));
    /* A crash in the middle of an append leaves part of a record that was never
     * acknowledged: here, the first bytes of a header. */
    FILE *f = fopen(seg, "ab");
    cr_assert(f);
    fwrite("\x30\x00\x00\x00\x9a\x7b", 1, 6, f);
    fclose(f);
    cr_assert_eq(cluster_start_peer(&cl, victim), 0, "peer%d refused a torn tail", victim);
    cr_assert_eq(run("t add 1"), 21);
    cr_assert_eq(cluster_command(&cl, "t get", 0, &resp, CMD_WAIT_MS), 0);
    cr_assert_eq(cluster_wait_applied(&cl, resp.index, CMD_WAIT_MS), 0,
                 "peer%d did not catch up after dropping its torn tail", victim);
    char logpath[600], text[65536];
    snprintf(logpath, sizeof(logpath), "%s/logs/peer%d.log", cl.dir, victim);
    f = fopen(logpath, "r");
    cr_assert(f);
    size_t n = fread(text, 1, sizeof(text) - 1, f);
    text[n] = 0;
    fclose(f);
    cr_assert(strstr(text, "recovery"), "the log does not mention the repaired tail");
}

Test(peer, corrupted_middle_record_refuses_to_start, .fini = teardown, .timeout = 60)
{
    int leader = start(3);
    for (int i = 0; i < 20; i++)
        run("c add 1");
    int victim = leader % 3 + 1;
    struct client_response resp;
    cr_assert_eq(cluster_command(&cl, "c get", 0, &resp, CMD_WAIT_MS), 0);
    cr_assert_eq(cluster_wait_applied(&cl, resp.index, CMD_WAIT_MS), 0);
    cluster_kill_peer(&cl, victim, SIGKILL);
    char seg[800];
    segment_path(victim, seg, sizeof(seg));
    struct stat sb;
    cr_assert_eq(stat(seg, &sb), 0);
    int fd = open(seg, O_RDWR);
    cr_assert_geq(fd, 0);
    /* The middle of what the log holds: the segment is preallocated, so the records
     * are followed by zeros up to the file's end. Read whole: a byte per read of a
     * 9 MiB file took a minute under valgrind. */
    char *data = malloc((size_t)sb.st_size);
    cr_assert_not_null(data);
    cr_assert_eq(pread(fd, data, (size_t)sb.st_size, 0), sb.st_size);
    off_t used = sb.st_size;
    while (used > 0 && data[used - 1] == 0)
        used--;
    cr_assert_gt(used, 0, "an empty log");
    off_t middle = used / 2;
    char byte = data[middle];
    free(data);
    byte ^= 0x5a;
    cr_assert_eq(pwrite(fd, &byte, 1, middle), 1);
    close(fd);
    char out[4096];
    int code = start_and_capture(victim, out, sizeof(out));
    cr_assert_neq(code, 0, "a peer with a damaged log started anyway");
    cr_assert_neq(code, 124, "a peer with a damaged log kept running");
    cr_assert(strstr(out, "log-"), "the message does not name the file: %s", out);
    cr_assert(strstr(out, "offset"), "the message does not give the offset: %s", out);
}

struct ini_case {
    const char *body;
    const char *expect;
    int n;
    const char *name;
};

Test(peer, bad_ini_files_are_refused_with_exit_code_2, .timeout = 30)
{
    static const char peers[] = "[peer1]\nhost = 127.0.0.1\nport = 6101\n"
                                "[peer2]\nhost = 127.0.0.1\nport = 6102\n";
    struct ini_case cases[] = {
        {"[raft\n", ":1:", 1, "peer1"},
        {"[raft]\nelection_timeout_mn = 3\n", "election_timeout_mn", 1, "peer1"},
        {"[peer3]\nhost = 127.0.0.1\n", "port", 1, "peer1"},
        {"[raft]\nelection_timeout_min = 400\n", "election_timeout", 1, "peer1"},
        {"[raft]\nheartbeat_interval = 150\n", "heartbeat", 1, "peer1"},
        {"[peer3]\nhost = 127.0.0.1\nport = 6101\n", "6101", 1, "peer1"},
        {"", "3", 3, "peer1"},
        {"", "peer2", 1, "peer2"},
        {"[peer3]\nhost = 127.0.0.1\nport = 99999\n", "port", 1, "peer1"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char path[] = "/tmp/raftvillage-ini-XXXXXX";
        int fd = mkstemp(path);
        cr_assert_geq(fd, 0);
        FILE *f = fdopen(fd, "w");
        bool peers_first = strstr(cases[i].body, "[raft") == NULL;
        if (peers_first)
            fputs(peers, f);
        fputs(cases[i].body, f);
        if (!peers_first)
            fputs(peers, f);
        fclose(f);
        char cmd[3500], out[2048];
        snprintf(cmd, sizeof(cmd), "%s %s/raft_peer %s %d -c %s 2>&1", harness_peer_wrapper(),
                 harness_bin_dir(), cases[i].name, cases[i].n, path);
        FILE *pf = popen(cmd, "r");
        size_t n = fread(out, 1, sizeof(out) - 1, pf);
        out[n] = 0;
        int status = pclose(pf);
        unlink(path);
        cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 2,
                  "case %zu: expected exit 2, got %d: %s", i, WEXITSTATUS(status), out);
        cr_assert(strstr(out, path), "case %zu: message does not name the file: %s", i, out);
        cr_assert(strstr(out, cases[i].expect), "case %zu: message lacks '%s': %s", i,
                  cases[i].expect, out);
        cr_assert_eq(strchr(out, '\n'), out + strlen(out) - 1, "case %zu: not one line: %s", i,
                     out);
    }
}

Test(peer, usage_and_help, .timeout = 10)
{
    char cmd[3400];
    snprintf(cmd, sizeof(cmd), "%s %s/raft_peer --help >/dev/null", harness_peer_wrapper(),
             harness_bin_dir());
    int status = system(cmd);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    snprintf(cmd, sizeof(cmd), "%s %s/raft_peer 2>/dev/null", harness_peer_wrapper(),
             harness_bin_dir());
    status = system(cmd);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 2);
}

Test(peer, cluster_token_keeps_strangers_out, .fini = teardown, .timeout = 60)
{
    struct cluster_options opt = {.extra_raft = "token = s3cret-village", .visual = true};
    cr_assert_eq(cluster_start(&cl, 3, &opt), 0);
    int leader = cluster_wait_leader(&cl, LEADER_WAIT_MS);
    cr_assert_gt(leader, 0, "peers with a shared token elected no leader");
    cr_assert_eq(run("s set 1"), 1);
    int follower = leader % 3 + 1;
    char answer[4096], line[512];
    /* A stray process posing as the leader, without a hello. */
    snprintf(line, sizeof(line),
             "{\"type\":\"append_entries\",\"term\":99,\"leader_id\":\"peer%d\",\"from\":"
             "\"peer%d\",\"to\":\"peer%d\",\"prev_log_index\":0,\"prev_log_term\":0,"
             "\"leader_commit\":0,\"read_round\":0,\"entries\":[]}\n",
             leader, leader, follower);
    cr_assert_eq(peer_exchange(&cl, follower, line, answer, sizeof(answer), 2000), 0);
    cr_assert(strstr(answer, "\"forbidden\""), "an RPC without hello was taken: %s", answer);
    /* A hello with the wrong token. */
    cr_assert_eq(peer_exchange(&cl, follower,
                               "{\"type\":\"hello\",\"from\":\"peer1\",\"token\":\"guess\"}\n",
                               answer, sizeof(answer), 2000),
                 0);
    cr_assert(strstr(answer, "\"forbidden\""), "a wrong token was accepted: %s", answer);
    /* A control message without the token. */
    cr_assert_eq(peer_exchange(&cl, follower, "{\"type\":\"control\",\"action\":\"crash\"}\n",
                               answer, sizeof(answer), 2000),
                 0);
    cr_assert(strstr(answer, "\"forbidden\""), "control without the token: %s", answer);
    cr_assert(cluster_peer_alive(&cl, follower));
    struct peer_status st;
    cr_assert_eq(cluster_status(&cl, follower, &st), 0);
    cr_assert_lt(st.term, 99, "the stray RPC moved the follower's term");
    cr_assert_eq(run("s add 1"), 2);
}

Test(peer, control_messages_need_visual_mode, .fini = teardown, .timeout = 60)
{
    start(3);
    char answer[4096];
    cr_assert_eq(peer_exchange(&cl, 1, "{\"type\":\"control\",\"action\":\"crash\"}\n", answer,
                               sizeof(answer), 2000),
                 0);
    cr_assert(strstr(answer, "\"forbidden\""), "control accepted without -v: %s", answer);
    cr_assert(cluster_peer_alive(&cl, 1));
}
