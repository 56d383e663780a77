/* test_snapshot_install.c: a follower that receives a snapshot it cannot use keeps the
 * one it had (raft_peer/snapshot_install.c). The test plays a leader of its own: it
 * takes a real snapshot from a peer that got ahead, then, with only the follower left
 * running, sends it install_snapshot chunks itself. Only a snapshot that parses and that
 * the core takes may replace data/<peer>/snapshot, and the follower must start again
 * from whatever it kept. Two ways to be refused: bytes the transfer's CRC covers but the
 * follower cannot load (refused while parsing), and a snapshot that parses but that the
 * core refuses when asked afterwards (raft_snapshot_check): the file must not have been
 * committed before the core was asked. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "common/base64.h"
#include "raft_peer/sm/kv_store.h"
#include "tests/lib/cluster.h"

#define WAIT_MS  8000
#define SNAP_HDR 40    /* magic 8, index 8, term 8, size 8, data crc 4, header crc 4 (STORAGE.md) */
#define CHUNK    60000 /* bytes per install_snapshot, under RPC_SNAPSHOT_CHUNK_MAX (64 KiB) */
/* Variables in the snapshot the follower reads while its term moves on: it reads 16384
 * a slice (about 2 ms each on the bench VM), so about 30 slices and 60 ms or more of
 * reading, far longer than the few microseconds the test's second line takes. */
#define BIG_VARIABLES 500000

static struct cluster cl;

static void teardown(void)
{
    cluster_stop(&cl);
}

struct file {
    uint8_t *bytes;
    size_t len;
};

/* data/peer<peer>/<name>, whole; .bytes is NULL when there is no such file. */
static struct file read_data_file(int peer, const char *name)
{
    char path[600];
    snprintf(path, sizeof(path), "%s/data/peer%d/%s", cl.dir, peer, name);
    struct file out = {0};
    FILE *f = fopen(path, "rb");
    if (!f)
        return out;
    struct stat st;
    cr_assert_eq(fstat(fileno(f), &st), 0);
    out.bytes = malloc((size_t)st.st_size + 1);
    cr_assert_not_null(out.bytes);
    out.len = fread(out.bytes, 1, (size_t)st.st_size + 1, f);
    fclose(f);
    return out;
}

static struct file read_snapshot(int peer)
{
    struct file out = read_data_file(peer, "snapshot");
    cr_assert_not_null(out.bytes, "peer%d has no snapshot", peer);
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

static void put_le(uint8_t *p, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        p[i] = (uint8_t)(v >> (8 * i));
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

static void write_all(int fd, const char *s, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, s, n);
        cr_assert_gt(w, 0, "the follower closed the connection");
        s += w;
        n -= (size_t)w;
    }
}

/* A connection to peer on which the test says hello as peer `from`. */
static int connect_as(int peer, int from)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)cl.ports[peer])};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0, "cannot reach peer%d", peer);
    char hello[64];
    int n = snprintf(hello, sizeof(hello), "{\"type\":\"hello\",\"from\":\"peer%d\"}\n", from);
    write_all(fd, hello, (size_t)n);
    return fd;
}

/* Bytes of a snapshot of len bytes that peer holds durably in its partial file: the
 * larger `have` of the two progress slots behind the data (docs/STORAGE.md). */
static uint64_t partial_have(int peer, size_t len)
{
    char path[600];
    uint8_t slots[32];
    snprintf(path, sizeof(path), "%s/data/peer%d/snapshot.partial", cl.dir, peer);
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    bool got = fseek(f, (long)(SNAP_HDR + len), SEEK_SET) == 0 &&
               fread(slots, 1, sizeof(slots), f) == sizeof(slots);
    fclose(f);
    if (!got)
        return 0;
    uint64_t a = le64(slots), b = le64(slots + 16);
    return a > b ? a : b;
}

/* Sends peer, as its leader `from` in term, the snapshot data in chunks from byte `first`
 * on (a transfer resumed there), all on one connection. `after`, when not NULL, is one
 * more line that must be read in the same read as the last chunk: the last chunk is
 * then a few bytes only, written with `after` in one small write once the follower has
 * taken in everything before it, so the two lines reach its socket together. The
 * follower's answers go to the real `from`, which is not running. */
static void send_chunks(int peer, int from, uint64_t term, uint64_t index, uint64_t last_term,
                        const uint8_t *data, size_t len, size_t first, const char *after)
{
    size_t extra = after ? strlen(after) : 0;
    size_t room = base64_encoded_len(CHUNK) + extra + 1024;
    char *b64 = malloc(base64_encoded_len(CHUNK) + 1);
    char *line = malloc(room);
    cr_assert(b64 && line);
    uint32_t crc = crc32c(data, len);
    size_t tail = after ? (len < 16 ? len : 16) : 0; /* the last chunk's bytes, when apart */
    int fd = connect_as(peer, from);
    for (size_t off = first; off < len;) {
        size_t end = off < len - tail ? len - tail : len;
        size_t n = end - off < CHUNK ? end - off : CHUNK;
        bool done = off + n == len;
        if (done && after) {
            uint64_t deadline = harness_now_ms() + (uint64_t)harness_scaled_ms(WAIT_MS);
            while (partial_have(peer, len) < off && harness_now_ms() < deadline)
                harness_sleep_ms(5);
            cr_assert_eq(partial_have(peer, len), off, "peer%d did not take in %zu bytes", peer,
                         off);
        }
        base64_encode(data + off, n, b64);
        int k = snprintf(line, room,
                         "{\"type\":\"install_snapshot\",\"term\":%llu,\"leader_id\":\"peer%d\","
                         "\"from\":\"peer%d\",\"to\":\"peer%d\",\"last_included_index\":%llu,"
                         "\"last_included_term\":%llu,\"size\":%zu,\"crc\":%u,\"offset\":%zu,"
                         "\"data\":\"%s\",\"done\":%s}\n%s",
                         (unsigned long long)term, from, from, peer, (unsigned long long)index,
                         (unsigned long long)last_term, len, (unsigned)crc, off, b64,
                         done ? "true" : "false", done && after ? after : "");
        cr_assert(k > 0 && (size_t)k < room);
        write_all(fd, line, (size_t)k);
        off += n;
    }
    harness_sleep_ms(200); /* let it read before the close */
    close(fd);
    free(line);
    free(b64);
}

static void send_snapshot(int peer, int from, uint64_t term, uint64_t index, uint64_t last_term,
                          const uint8_t *data, size_t len)
{
    send_chunks(peer, from, term, index, last_term, data, len, 0, NULL);
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

/* Restarts peer and checks that it booted from the snapshot at index: it answers status,
 * its log starts right after index, and its state machine is at index (alone, it can
 * commit nothing more). */
static struct peer_status restart_from(int peer, uint64_t index)
{
    cluster_kill_peer(&cl, peer, SIGKILL);
    cr_assert_eq(cluster_start_peer(&cl, peer), 0, "peer%d cannot start again", peer);
    struct peer_status st;
    uint64_t deadline = harness_now_ms() + (uint64_t)harness_scaled_ms(WAIT_MS);
    while (cluster_status(&cl, peer, &st) != 0) {
        cr_assert(cluster_peer_alive(&cl, peer), "peer%d died starting again", peer);
        cr_assert_lt(harness_now_ms(), deadline, "peer%d does not answer after its restart", peer);
        harness_sleep_ms(20);
    }
    cr_assert_eq(st.snapshot_index, index, "peer%d started from a snapshot at %llu, not %llu", peer,
                 (unsigned long long)st.snapshot_index, (unsigned long long)index);
    cr_assert_eq(st.last_applied, index, "peer%d's state machine is at %llu, not %llu", peer,
                 (unsigned long long)st.last_applied, (unsigned long long)index);
    return st;
}

/* The partial a refusal leaves: the sealed file exactly, header then data, with no
 * progress slots (docs/STORAGE.md), so that a resend of the same snapshot resumes it whole. */
static void assert_sealed_partial(int peer, uint64_t index, uint64_t last_term, const uint8_t *data,
                                  size_t len)
{
    struct file part = read_data_file(peer, "snapshot.partial");
    cr_assert_not_null(part.bytes, "peer%d kept no partial of the refused snapshot", peer);
    cr_assert_eq(part.len, SNAP_HDR + len, "peer%d's partial is %zu bytes, not sealed at %zu", peer,
                 part.len, SNAP_HDR + len);
    cr_assert(memcmp(part.bytes, "RVSNAP01", 8) == 0 && le64(part.bytes + 8) == index &&
                  le64(part.bytes + 16) == last_term && le64(part.bytes + 24) == len,
              "peer%d's partial has another header", peer);
    cr_assert(memcmp(part.bytes + SNAP_HDR, data, len) == 0, "peer%d's partial has other data",
              peer);
    free(part.bytes);
}

struct var {
    uint64_t hash;
    char name[9];
};

/* The order the format requires, from the key table itself (linked in for it). */
static int canonical_cmp(const void *a, const void *b)
{
    const struct var *x = a, *y = b;
    return kv_canonical_cmp(x->hash, x->name, y->hash, y->name);
}

/* Snapshot data a leader could send: the configuration prefix conf (RVCF, its length,
 * its text) of a real snapshot, then a state machine at index holding n variables and
 * no session (docs/STATE_MACHINE.md, format version 2: canonical order, CRC-32 last). */
static struct file big_snapshot_data(const uint8_t *conf, size_t conf_len, uint64_t index,
                                     uint32_t n)
{
    struct var *vars = malloc(n * sizeof(*vars));
    cr_assert_not_null(vars);
    for (uint32_t i = 0; i < n; i++) {
        snprintf(vars[i].name, sizeof(vars[i].name), "v%07u", (unsigned)i);
        vars[i].hash = kv_hash(vars[i].name, 8);
    }
    qsort(vars, n, sizeof(*vars), canonical_cmp);
    size_t sm_len = 28 + (size_t)n * (1 + 8 + 8) + 4 + 4;
    struct file out = {.bytes = malloc(conf_len + sm_len), .len = conf_len + sm_len};
    cr_assert_not_null(out.bytes);
    memcpy(out.bytes, conf, conf_len);
    uint8_t *sm = out.bytes + conf_len, *p = sm;
    memcpy(p, "RVSM", 4);
    put_le(p + 4, 2, 4);
    put_le(p + 8, sm_len, 8);
    put_le(p + 16, index, 8);
    put_le(p + 24, n, 4);
    p += 28;
    for (uint32_t i = 0; i < n; i++) {
        *p++ = 8;
        memcpy(p, vars[i].name, 8);
        put_le(p + 8, i, 8);
        p += 16;
    }
    put_le(p, 0, 4); /* sessions */
    p += 4;
    put_le(p, crc32_z(0, sm, (size_t)(p - sm)), 4);
    free(vars);
    return out;
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
    restart_from(f, snapshot_index(&before));

    /* The intact snapshot is installed, durable as the file sent. */
    send_snapshot(f, from, term_of(f) + 1, index, last_term, data, len);
    wait_log(f, "installed snapshot from", 1);
    struct file after = read_snapshot(f);
    cr_assert(same_file(&snap, &after), "peer%d installed a snapshot but kept another file", f);
    restart_from(f, index);
    free(after.bytes);
    free(bad);
    free(before.bytes);
    free(snap.bytes);
}

/* The core is asked after the bytes parsed, and the file becomes ours only if it says
 * yes: a refusal there must leave data/<peer>/snapshot as it was. Of the core's reasons
 * (raft_snapshot_check) only a term that ended can reach it from the wire: the codec and
 * raft_snapshot_chunk refuse the others before anything is written. */
Test(snapshot_install, snapshot_the_core_refuses_leaves_the_old_one_in_place, .fini = teardown,
     .timeout = 240)
{
    int f, from;
    struct file snap = follower_left_behind(&f, &from);
    struct file before = read_snapshot(f);
    uint64_t index = snapshot_index(&snap), last_term = le64(snap.bytes + 16);
    const uint8_t *data = snap.bytes + SNAP_HDR;

    /* The follower's term moves on while it reads: the leader's last chunk, then at once,
     * on the same connection so never before it, an AppendEntries of a newer term (the
     * leader elected again). Both come in one read (send_chunks), so the newer term is
     * seen before the first slice; were the second line late, the state machine is big
     * enough to take tens of slices. raft_snapshot_check then refuses the older term. */
    cr_assert_eq(memcmp(data, "RVCF", 4), 0, "peer%d's snapshot carries no configuration", from);
    struct file big = big_snapshot_data(data, 5 + (size_t)data[4], index, BIG_VARIABLES);
    uint64_t term = term_of(f) + 1;
    char newer[512], needle[128];
    snprintf(newer, sizeof(newer),
             "{\"type\":\"append_entries\",\"term\":%llu,\"leader_id\":\"peer%d\","
             "\"prev_log_index\":0,\"prev_log_term\":0,\"leader_commit\":0,\"read_round\":0,"
             "\"entries\":[],\"from\":\"peer%d\",\"to\":\"peer%d\"}\n",
             (unsigned long long)term + 1, from, from, f);
    send_chunks(f, from, term, index, last_term, big.bytes, big.len, 0, newer);
    snprintf(needle, sizeof(needle), "term %llu is over (we are in term %llu)",
             (unsigned long long)term, (unsigned long long)term + 1);
    wait_log(f, needle, 1);
    cr_assert_eq(cluster_log_count(&cl, f, "installed snapshot from"), 0);
    struct file after = read_snapshot(f);
    cr_assert(same_file(&before, &after), "peer%d committed a snapshot of a term that is over", f);
    free(after.bytes);
    assert_sealed_partial(f, index, last_term, big.bytes, big.len);

    /* It starts again from the snapshot it kept... */
    restart_from(f, snapshot_index(&before));

    /* ...and the partial it kept is resumed whole when the same snapshot comes again:
     * only the last chunk is sent, and it is installed, durable as sent. */
    size_t last_chunk = (big.len - 1) / CHUNK * CHUNK;
    send_chunks(f, from, term_of(f) + 1, index, last_term, big.bytes, big.len, last_chunk, NULL);
    wait_log(f, "bytes, resuming)", 1);
    wait_log(f, "installed snapshot from", 1);
    after = read_snapshot(f);
    cr_assert(after.len == SNAP_HDR + big.len &&
                  memcmp(after.bytes + SNAP_HDR, big.bytes, big.len) == 0,
              "peer%d installed a snapshot but kept another file", f);
    free(after.bytes);
    cr_assert_null(read_data_file(f, "snapshot.partial").bytes, "the partial outlived its commit");
    struct peer_status st = restart_from(f, index);
    cr_assert_eq(st.variables, BIG_VARIABLES, "peer%d has %llu variables", f,
                 (unsigned long long)st.variables);
    free(big.bytes);
    free(before.bytes);
    free(snap.bytes);
}
