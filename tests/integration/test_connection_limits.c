/* test_connection_limits.c: a hostile client that opens more connections than a peer
 * keeps, each holding half a line, must not lock anyone out: new clients still get
 * answers, replication goes on, and the half lines are closed after their time limit
 * (CONN_CLIENT_LINE_MS, raft_peer/net/conn_table.h; docs/SECURITY.md). */
#include <criterion/criterion.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/net.h"
#include "tests/lib/cluster.h"

#define LEADER_WAIT_MS 8000
#define CMD_WAIT_MS    8000
#define FLOOD          1100 /* more than PEER_MAX_CONNS (1024) */

static struct cluster cl;
static int flood_fds[FLOOD];
static int n_flood;

static void teardown(void)
{
    for (int i = 0; i < n_flood; i++)
        close(flood_fds[i]);
    n_flood = 0;
    cluster_stop(&cl);
}

/* The flood needs FLOOD descriptors here, and the peers (our children) inherit the limit. */
static int usable_fds(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return 0;
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < FLOOD + 256) {
        rl.rlim_cur =
            rl.rlim_max == RLIM_INFINITY || rl.rlim_max > FLOOD + 256 ? FLOOD + 256 : rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    return rl.rlim_cur == RLIM_INFINITY ? FLOOD + 256 : (int)rl.rlim_cur;
}

/* True once the peer has closed fd: a read sees the end (or a reset). */
static bool closed_by_peer(int fd)
{
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    if (poll(&pfd, 1, 0) != 1)
        return false;
    char buf[256];
    ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

static int count_open(void)
{
    int open = 0;
    for (int i = 0; i < n_flood; i++) {
        if (flood_fds[i] < 0)
            continue;
        if (closed_by_peer(flood_fds[i])) {
            close(flood_fds[i]);
            flood_fds[i] = -1;
        } else {
            open++;
        }
    }
    return open;
}

Test(connections, half_lines_from_a_flood_lock_nobody_out, .fini = teardown, .timeout = 120)
{
    if (usable_fds() < FLOOD + 128)
        cr_skip_test("the descriptor limit (%d) is too low for a flood of %d", usable_fds(), FLOOD);
    cr_assert_eq(cluster_start(&cl, 3, NULL), 0, "cannot start 3 peers");
    int leader = cluster_wait_leader(&cl, LEADER_WAIT_MS);
    cr_assert_gt(leader, 0, "no leader");

    char err[256];
    static const char half[] = "{\"type\":\"status\",\"pad\":\"";
    for (n_flood = 0; n_flood < FLOOD; n_flood++) {
        int fd = tcp_connect_timeout(err, sizeof(err), "127.0.0.1", cl.ports[leader], 2000);
        cr_assert_geq(fd, 0, "connection %d: %s", n_flood, err);
        flood_fds[n_flood] = fd;
        cr_assert_eq(write(fd, half, sizeof(half) - 1), (ssize_t)sizeof(half) - 1);
    }

    /* A newcomer evicts the idlest flood connection and is answered. */
    uint64_t t0 = harness_now_ms();
    char out[4096];
    cr_assert_eq(peer_exchange(&cl, leader, "{\"type\":\"status\"}\n", out, sizeof(out),
                               harness_scaled_ms(5000)),
                 0, "no status answer while %d connections hold half a line", FLOOD);
    cr_assert(strstr(out, "\"role\""), "not a status: %s", out);
    cr_log_info("status answered in %llu ms beside the flood",
                (unsigned long long)(harness_now_ms() - t0));

    /* Replication is not starved: the followers' connections are never evicted. */
    struct client_response resp;
    cr_assert_eq(cluster_command(&cl, "flood set 7", 0, &resp, CMD_WAIT_MS), 0);
    cr_assert(resp.ok, "write failed beside the flood: %s %s", resp.error, resp.message);
    cr_assert_eq(cluster_wait_applied(&cl, resp.index, CMD_WAIT_MS), 0,
                 "the followers did not apply the write");

    /* Past the 5 s limit for a client's line, every half line is closed. */
    int open = count_open();
    cr_assert_lt(open, FLOOD, "nobody was evicted to make room");
    uint64_t deadline = harness_now_ms() + (uint64_t)harness_scaled_ms(20000);
    while ((open = count_open()) > 0 && harness_now_ms() < deadline)
        harness_sleep_ms(200);
    cr_assert_eq(open, 0, "%d connections still hold half a line after 20 s", open);

    char path[400];
    snprintf(path, sizeof(path), "%s/logs/peer%d.log", cl.dir, leader);
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f);
    char line[1024];
    bool reported = false;
    while (fgets(line, sizeof(line), f))
        reported |= strstr(line, "holding half a line") != NULL;
    fclose(f);
    cr_assert(reported, "the leader's log does not say it closed the half lines");
}

/* Without a token anyone may say hello as a peer: a flood of such hellos must not take
 * every slot for good. Only each peer's newest hello'd connection is kept from eviction
 * (fails on the code that kept every one: the newcomer was closed unanswered). */
Test(connections, a_flood_of_false_hellos_locks_nobody_out, .fini = teardown, .timeout = 120)
{
    if (usable_fds() < FLOOD + 128)
        cr_skip_test("the descriptor limit (%d) is too low for a flood of %d", usable_fds(), FLOOD);
    cr_assert_eq(cluster_start(&cl, 3, NULL), 0, "cannot start 3 peers");
    int leader = cluster_wait_leader(&cl, LEADER_WAIT_MS);
    cr_assert_gt(leader, 0, "no leader");

    char err[256], hello[64];
    int n = snprintf(hello, sizeof(hello), "{\"type\":\"hello\",\"from\":\"peer%d\"}\n",
                     leader % 3 + 1);
    for (n_flood = 0; n_flood < FLOOD; n_flood++) {
        int fd = tcp_connect_timeout(err, sizeof(err), "127.0.0.1", cl.ports[leader], 2000);
        cr_assert_geq(fd, 0, "connection %d: %s", n_flood, err);
        flood_fds[n_flood] = fd;
        cr_assert_eq(write(fd, hello, (size_t)n), (ssize_t)n);
    }

    /* Every hello read before the newcomer comes: once the leader has closed what it
     * could not keep, a status asked on the last flood connection still open is
     * answered after the hellos that arrived before it. */
    char out[4096];
    uint64_t deadline = harness_now_ms() + (uint64_t)harness_scaled_ms(10000);
    while (count_open() > 1022 && harness_now_ms() < deadline)
        harness_sleep_ms(50);
    int last = n_flood - 1;
    while (last >= 0 && flood_fds[last] < 0)
        last--;
    cr_assert_geq(last, 0, "every flood connection was closed");
    cr_assert_eq(write(flood_fds[last], "{\"type\":\"status\"}\n", 18), 18);
    set_io_timeout(err, sizeof(err), flood_fds[last], harness_scaled_ms(5000));
    cr_assert_gt(recv(flood_fds[last], out, sizeof(out), 0), 0, "no status on a flood connection");

    cr_assert_eq(peer_exchange(&cl, leader, "{\"type\":\"status\"}\n", out, sizeof(out),
                               harness_scaled_ms(5000)),
                 0, "no status answer beside %d connections that said hello as a peer", FLOOD);
    cr_assert(strstr(out, "\"role\""), "not a status: %s", out);
    struct client_response resp;
    cr_assert_eq(cluster_command(&cl, "hello set 7", 0, &resp, CMD_WAIT_MS), 0);
    cr_assert(resp.ok, "write failed beside the flood: %s %s", resp.error, resp.message);
    cr_assert_eq(cluster_wait_applied(&cl, resp.index, CMD_WAIT_MS), 0,
                 "the followers did not apply the write");
}

Test(connections, a_line_finished_in_time_is_answered, .fini = teardown, .timeout = 60)
{
    cr_assert_eq(cluster_start(&cl, 1, NULL), 0, "cannot start a peer");
    cr_assert_gt(cluster_wait_leader(&cl, LEADER_WAIT_MS), 0, "no leader");
    char err[256];
    int fd = tcp_connect_timeout(err, sizeof(err), "127.0.0.1", cl.ports[1], 2000);
    cr_assert_geq(fd, 0, "%s", err);
    flood_fds[n_flood++] = fd;
    /* Slow but steady: each piece well within the limit of the line as a whole. */
    static const char *pieces[] = {"{\"type\":", "\"status\"", "}\n"};
    for (size_t i = 0; i < 3; i++) {
        cr_assert_gt(write(fd, pieces[i], strlen(pieces[i])), 0);
        harness_sleep_ms(1000);
    }
    set_io_timeout(err, sizeof(err), fd, 5000);
    char buf[4096];
    ssize_t n = recv(fd, buf, sizeof(buf) - 1, 0);
    cr_assert_gt(n, 0, "a line finished in 3 s got no answer");
    buf[n] = '\0';
    cr_assert(strstr(buf, "\"role\""), "not a status: %s", buf);
}
