/* test_snapshot_install.c: a follower that receives a snapshot it cannot use keeps the
 * one it had (raft_peer/snapshot_install.c). The test plays a leader of its own: it
 * takes a real snapshot from a peer that got ahead, then, with only the follower left
 * running, sends it install_snapshot chunks itself: bytes the transfer's CRC covers but
 * the follower cannot load, then the intact snapshot. Only the intact one may replace
 * data/<peer>/snapshot, and the follower must start again from whatever it kept. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/base64.h"
#include "tests/lib/cluster.h"

#define WAIT_MS  8000
#define SNAP_HDR 40 /* magic 8, index 8, term 8, size 8, data crc 4, header crc 4 (STORAGE.md) */

static struct cluster cl;

static void teardown(void)
{
    cluster_stop(&cl);
}

struct file {
    uint8_t *bytes;
    size_t len;
};

static struct file read_snapshot(int peer)
{
    char path[600];
    snprintf(path, sizeof(path), "%s/data/peer%d/snapshot", cl.dir, peer);
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "peer%d has no snapshot", peer);
    struct file out = {.bytes = malloc(1u << 24)};
    cr_assert_not_null(out.bytes);
    out.len = fread(out.bytes, 1, 1u << 24, f);
    fclose(f);
    cr_assert_gt(out.len, SNAP_HDR, "peer%d's snapshot is %zu bytes", peer, out.len);
    return out;
}

static uint64_t le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static uint64_t snapshot_index(const struct file *f)
{
    return le64(f->bytes + 8);
}

/* crc32c as raft_peer/storage/crc32c.c computes it (not linked into the tests). */
static uint32_t crc32c(const uint8_t *p, size_t n)
{
    uint32_t c = ~0u;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = c >> 1 ^ (0x82F63B78u & (0u - (c & 1u)));
    }
    return ~c;
}

static bool same_file(const struct file *a, const struct file *b)
{
    return a->len == b->len && memcmp(a->bytes, b->bytes, a->len) == 0;
}

/* Says hello to peer as `from` and sends it the whole snapshot data in one chunk. */
static void send_snapshot(int peer, int from, uint64_t term, uint64_t index, uint64_t last_term,
                          const uint8_t *data, size_t len)
{
    cr_assert_lt(len, 60000, "the test sends one chunk of at most 64 KiB");
    char *b64 = malloc(len * 2 + 8);
    size_t room = len * 2 + 1024;
    char *line = malloc(room);
    cr_assert(b64 && line);
    base64_encode(data, len, b64);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)cl.ports[peer])};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0, "cannot reach peer%d", peer);
    int n = snprintf(line, room,
                     "{\"type\":\"hello\",\"from\":\"peer%d\"}\n"
                     "{\"type\":\"install_snapshot\",\"term\":%llu,\"leader_id\":\"peer%d\","
                     "\"from\":\"peer%d\",\"to\":\"peer%d\",\"last_included_index\":%llu,"
                     "\"last_included_term\":%llu,\"size\":%zu,\"crc\":%u,\"offset\":0,"
                     "\"data\":\"%s\",\"done\":true}\n",
                     from, (unsigned long long)term, from, from, peer, (unsigned long long)index,
                     (unsigned long long)last_term, len, (unsigned)crc32c(data, len), b64);
    cr_assert(n > 0 && (size_t)n < room);
    cr_assert_eq(write(fd, line, (size_t)n), n);
    harness_sleep_ms(200); /* let it read before the close */
    close(fd);
    free(line);
    free(b64);
}

static void wait_log(int peer, const char *needle, int at_least)
{
    uint64_t deadline = harness_now_ms() + (uint64_t)harness_scaled_ms(WAIT_MS);
    while (cluster_log_count(&cl, peer, needle) < at_least && harness_now_ms() < deadline)
        harness_sleep_ms(20);
    cr_assert_geq(cluster_log_count(&cl, peer, needle), at_least, "peer%d never logged '%s'", peer,
                  needle);
}

static void write_n(const char *client, int n)
{
    cr_assert_eq(cluster_pipeline(&cl, client, 1, n, "x add 1", 32, 30000), n);
}

/* Leaves the follower alone and behind: the peer `ahead` took a snapshot past
 * everything the follower holds, which the test returns as the file to send. */
static struct file follower_left_behind(int *follower, int *ahead)
{
    struct cluster_options opt = {.extra_raft = "snapshot_threshold = 100",
                                  .log_level = "info",
                                  .election_timeout_min = CLUSTER_STEADY_TIMEOUT_MIN,
                                  .election_timeout_max = CLUSTER_STEADY_TIMEOUT_MAX};
    cr_assert_eq(cluster_start(&cl, 3, &opt), 0, "cannot start 3 peers");
    int leader = cluster_wait_leader(&cl, WAIT_MS);
    cr_assert_gt(leader, 0, "no leader");
    int f = leader % 3 + 1;
    write_n("first", 400);
    struct client_response resp;
    cr_assert_eq(cluster_command(&cl, "x get", 0, &resp, WAIT_MS), 0);
    cr_assert_eq(cluster_wait_applied(&cl, resp.index, 30000), 0);
    wait_log(f, "log kept from index", 1); /* a snapshot of its own to keep */
    cluster_kill_peer(&cl, f, SIGKILL);
    write_n("second", 600);
    struct file ours = read_snapshot(f);
    uint64_t deadline = harness_now_ms() + (uint64_t)harness_scaled_ms(WAIT_MS);
    struct file theirs = read_snapshot(leader);
    while (snapshot_index(&theirs) <= resp.index + 10 && harness_now_ms() < deadline) {
        free(theirs.bytes);
        harness_sleep_ms(50);
        theirs = read_snapshot(leader);
    }
    cr_assert_gt(snapshot_index(&theirs), resp.index + 10, "peer%d took no snapshot past %llu",
                 leader, (unsigned long long)resp.index);
    free(ours.bytes);
    for (int i = 1; i <= 3; i++)
        if (i != f)
            cluster_kill_peer(&cl, i, SIGKILL);
    cr_assert_eq(cluster_start_peer(&cl, f), 0);
    *follower = f;
    *ahead = leader;
    return theirs;
}

static uint64_t term_of(int peer)
{
    struct peer_status st;
    cr_assert_eq(cluster_status(&cl, peer, &st), 0);
    return st.term;
}

Test(snapshot_install, unreadable_snapshot_leaves_the_old_one_in_place, .fini = teardown,
     .timeout = 180)
{
    int f, from;
    struct file snap = follower_left_behind(&f, &from);
    struct file before = read_snapshot(f);
    uint64_t index = snapshot_index(&snap), last_term = le64(snap.bytes + 16);
    const uint8_t *data = snap.bytes + SNAP_HDR;
    size_t len = snap.len - SNAP_HDR;
    cr_assert_eq(crc32c(data, len), (uint32_t)le64(snap.bytes + 32) & 0xffffffffu,
                 "the test's crc32c is not the peer's");
    uint64_t term = term_of(f) + 1;

    /* Bytes the transfer's CRC covers but that are no snapshot this peer can start
     * from: the state machine's own checksum (its last 4 bytes) broken, a damaged
     * configuration, a state machine at another index than the one claimed. */
    uint8_t *bad = malloc(len);
    memcpy(bad, data, len);
    bad[len - 1] ^= 0x5a;
    const uint8_t damaged_conf[] = {'R', 'V', 'C', 'F', 9, 'v', 'o', 't', 'e', 'r', 's', '=', '1'};
    struct {
        uint64_t index;
        const uint8_t *data;
        size_t len;
    } bads[] = {
        {index, bad, len}, {index, damaged_conf, sizeof(damaged_conf)}, {index + 5, data, len}};
    for (int k = 0; k < 3; k++) {
        send_snapshot(f, from, term, bads[k].index, last_term, bads[k].data, bads[k].len);
        wait_log(f, "cannot load the received snapshot", k + 1);
        struct file after = read_snapshot(f);
        cr_assert(same_file(&before, &after),
                  "peer%d's snapshot was replaced by one it cannot load (case %d)", f, k);
        free(after.bytes);
    }

    /* It starts again from the snapshot it kept. */
    cluster_kill_peer(&cl, f, SIGKILL);
    cr_assert_eq(cluster_start_peer(&cl, f), 0, "peer%d cannot start again", f);
    harness_sleep_ms(300);
    cr_assert(cluster_peer_alive(&cl, f), "peer%d died starting from its snapshot", f);

    /* The intact snapshot is installed, durable as the file sent. */
    send_snapshot(f, from, term_of(f) + 1, index, last_term, data, len);
    wait_log(f, "installed snapshot from", 1);
    struct file after = read_snapshot(f);
    cr_assert(same_file(&snap, &after), "peer%d installed a snapshot but kept another file", f);
    cluster_kill_peer(&cl, f, SIGKILL);
    cr_assert_eq(cluster_start_peer(&cl, f), 0);
    harness_sleep_ms(300);
    cr_assert(cluster_peer_alive(&cl, f), "peer%d died starting from the installed snapshot", f);
    free(after.bytes);
    free(bad);
    free(before.bytes);
    free(snap.bytes);
}
