/* make_seeds.c: writes the fuzzers' seed corpora into tests/fuzz/corpus/<target>/.
 *
 * Seeds are real: RPC lines made by rpc_encode (and the examples of docs/PROTOCOL.md),
 * client lines made by the client protocol encoders, snapshots made by a state machine
 * that ran real commands, ini files, and data directories written by the storage
 * module itself, packed in fuzz_storage_recovery.c's input layout.
 *
 * Usage: make_seeds CORPUS_DIR (normally run as `make fuzz-seeds`). Names are fixed,
 * so running it again rewrites the same files. */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buffer.h"
#include "common/client_protocol.h"
#include "raft_peer/net/rpc_codec.h"
#include "raft_peer/sm/state_machine.h"
#include "raft_peer/storage/storage.h"

static const char *corpus;

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "make_seeds: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(1);
}

static void seed(const char *target, const char *name, const void *p, size_t len)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", corpus, target);
    if (mkdir(path, 0755) != 0 && errno != EEXIST)
        die("cannot create %s: %s", path, strerror(errno));
    snprintf(path, sizeof(path), "%s/%s/seed-%s", corpus, target, name);
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(p, 1, len, f) != len || fclose(f) != 0)
        die("cannot write %s", path);
}

static void seed_str(const char *target, const char *name, const char *s)
{
    seed(target, name, s, strlen(s));
}

/* ---- fuzz_rpc_decode ---------------------------------------------------- */

static const char *const peers[] = {"peer1", "peer2", "peer3", "peer4", "peer5"};

static void rpc_seed(const char *name, const struct raft_message *m)
{
    struct buffer b;
    buffer_init(&b);
    if (rpc_encode(m, peers, 5, &b) != 0)
        die("rpc_encode refused seed %s", name);
    seed("rpc_decode", name, buffer_peek(&b), buffer_len(&b));
    buffer_free(&b);
}

static void rpc_seeds(void)
{
    /* The examples of docs/PROTOCOL.md, as written there. */
    seed_str("rpc_decode", "doc-request_vote",
             "{\"type\":\"request_vote\",\"term\":5,\"candidate_id\":\"peer2\",\"last_log_index\":"
             "12,\"last_log_term\":4,\"pre_vote\":false,\"leadership_transfer\":false,\"from\":"
             "\"peer2\",\"to\":\"peer1\"}\n");
    seed_str("rpc_decode", "doc-request_vote_result",
             "{\"type\":\"request_vote_result\",\"term\":5,\"vote_granted\":true,\"pre_vote\":"
             "false,\"from\":\"peer1\",\"to\":\"peer2\"}\n");
    seed_str("rpc_decode", "doc-append_entries",
             "{\"type\":\"append_entries\",\"term\":5,\"leader_id\":\"peer1\",\"prev_log_index\":"
             "11,\"prev_log_term\":4,\"leader_commit\":11,\"read_round\":3,\"entries\":[{\"term\":"
             "5,\"type\":\"noop\",\"data\":\"\"},{\"term\":5,\"type\":\"command\",\"data\":\"cli-1 "
             "7 x add 100\"}],\"from\":\"peer1\",\"to\":\"peer3\"}\n");
    seed_str("rpc_decode", "doc-append_entries_result-ok",
             "{\"type\":\"append_entries_result\",\"term\":5,\"success\":true,\"match_index\":13,"
             "\"rejected_index\":0,\"conflict_term\":0,\"conflict_index\":0,\"last_log_index\":13,"
             "\"read_round\":3,\"from\":\"peer3\",\"to\":\"peer1\"}\n");
    seed_str("rpc_decode", "doc-append_entries_result-fail",
             "{\"type\":\"append_entries_result\",\"term\":5,\"success\":false,\"match_index\":0,"
             "\"rejected_index\":11,\"conflict_term\":3,\"conflict_index\":9,\"last_log_index\":10,"
             "\"read_round\":0,\"from\":\"peer2\",\"to\":\"peer1\"}\n");
    seed_str("rpc_decode", "doc-timeout_now",
             "{\"type\":\"timeout_now\",\"term\":5,\"last_log_index\":12,\"from\":\"peer1\","
             "\"to\":\"peer2\"}\n");

    /* Made by the encoder: the edges of every field. */
    struct raft_message m;
    memset(&m, 0, sizeof(m));
    m.type = RAFT_MSG_REQUEST_VOTE;
    m.from = 5;
    m.to = 4;
    m.term = JSON_UINT_MAX;
    m.u.request_vote = (struct raft_request_vote){JSON_UINT_MAX, 0, true, true};
    rpc_seed("enc-request_vote-max", &m);

    memset(&m, 0, sizeof(m));
    m.type = RAFT_MSG_APPEND_ENTRIES;
    m.from = 1;
    m.to = 2;
    m.term = 9;
    static uint8_t d1[] = "cli-x 1 x set 5", d2[] = "q\"uo\\te 3 y add -9", d3[] = " ~";
    struct raft_entry es[] = {
        {8, RAFT_ENTRY_COMMAND, sizeof(d1) - 1, d1},
        {9, RAFT_ENTRY_NOOP, 0, NULL},
        {9, RAFT_ENTRY_COMMAND, sizeof(d2) - 1, d2},
        {9, RAFT_ENTRY_COMMAND, sizeof(d3) - 1, d3},
    };
    m.u.append_entries = (struct raft_append_entries){40, 8, 39, 17, 4, es};
    rpc_seed("enc-append_entries-escapes", &m);
    m.u.append_entries.n_entries = 0;
    m.u.append_entries.entries = NULL;
    rpc_seed("enc-heartbeat", &m);

    memset(&m, 0, sizeof(m));
    m.type = RAFT_MSG_APPEND_ENTRIES_RESULT;
    m.from = 3;
    m.to = 1;
    m.term = 2;
    m.u.append_entries_result = (struct raft_append_entries_result){false, 0, 7, 1, 3, 6, 1};
    rpc_seed("enc-append_entries_result", &m);

    /* Near misses: a sender that lies about its id, and a number past 2^63-1. */
    seed_str("rpc_decode", "bad-leader_id",
             "{\"type\":\"append_entries\",\"term\":1,\"leader_id\":\"peer2\",\"prev_log_index\":"
             "0,\"prev_log_term\":0,\"leader_commit\":0,\"read_round\":0,\"entries\":[],\"from\":"
             "\"peer1\",\"to\":\"peer3\"}\n");
    seed_str("rpc_decode", "bad-term-overflow",
             "{\"type\":\"timeout_now\",\"term\":9223372036854775808,\"last_log_index\":1,"
             "\"from\":\"peer1\",\"to\":\"peer2\"}\n");

    /* InstallSnapshot, a chunk and its answer (the same corpus: the target tries both). */
    struct buffer b;
    buffer_init(&b);
    static const uint8_t bytes[] = {0, 1, 2, 0xff, 'R', 'V', '\n', '"'};
    struct rpc_install_snapshot is = {1,          3,  7,     120,           6,   20,
                                      0xdeadbeef, 12, bytes, sizeof(bytes), true};
    if (rpc_encode_install_snapshot(&is, peers, 5, &b) != 0)
        die("rpc_encode_install_snapshot refused its seed");
    seed("rpc_decode", "enc-install_snapshot", buffer_peek(&b), buffer_len(&b));
    buffer_truncate(&b, 0);
    struct rpc_install_snapshot_result isr = {3, 1, 7, 120, 21, true};
    if (rpc_encode_install_snapshot_result(&isr, peers, 5, &b) != 0)
        die("rpc_encode_install_snapshot_result refused its seed");
    seed("rpc_decode", "enc-install_snapshot_result", buffer_peek(&b), buffer_len(&b));
    buffer_free(&b);
}

/* ---- fuzz_client_request ------------------------------------------------ */

static void request_seed(const char *name, const char *id, uint64_t seq, const char *command)
{
    struct client_request r;
    char line[1024];
    memset(&r, 0, sizeof(r));
    snprintf(r.client_id, sizeof(r.client_id), "%s", id);
    r.seq = seq;
    snprintf(r.command, sizeof(r.command), "%s", command);
    int n = client_request_encode(&r, line, sizeof(line));
    if (n < 0)
        die("client_request_encode refused seed %s", name);
    seed("client_request", name, line, (size_t)n);
}

static void response_seed(const char *name, const struct client_response *r)
{
    char line[2048];
    int n = client_response_encode(r, line, sizeof(line));
    if (n < 0)
        die("client_response_encode refused seed %s", name);
    seed("client_request", name, line, (size_t)n);
}

static void client_seeds(void)
{
    /* CONTRACT.md's examples. */
    seed_str("client_request", "spec-request",
             "{\"type\":\"client_request\",\"client_id\":\"cli-4f2a\",\"seq\":7,\"command\":\"x "
             "add 100\"}\n");
    seed_str("client_request", "spec-success",
             "{\"type\":\"client_response\",\"ok\":true,\"result\":100,\"index\":42,\"leader\":"
             "\"peer1\"}\n");
    seed_str("client_request", "spec-not_leader",
             "{\"type\":\"client_response\",\"ok\":false,\"error\":\"not_leader\",\"leader\":"
             "\"peer2\",\"host\":\"127.0.0.1\",\"port\":6002,\"message\":\"peer1 is a follower; "
             "the leader is peer2\"}\n");

    static const char *const commands[] = {
        "x set 5",
        "x add 100",
        "x sub 3",
        "x mul 2",
        "x div 2",
        "x cas 5 7",
        "x get",
        "get x",
        "x del",
        "get del",
        "\tlong_Name_9  set  -9223372036854775808 ",
        "y div 0",
        "z cas 1",
        "9x set 1",
        "x add 99999999999999999999",
        "x set 1 2",
        "get",
        "x frob",
    };
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        char name[32];
        snprintf(name, sizeof(name), "request-%02zu", i);
        request_seed(name, i % 2 ? "cli-0001" : "~!", i * 1000, commands[i]);
    }
    request_seed("request-max-seq", "cli-9", JSON_UINT_MAX, "a_b cas -1 1");

    struct client_response r;
    memset(&r, 0, sizeof(r));
    r.ok = false;
    snprintf(r.error, sizeof(r.error), "cas_failed");
    r.has_result = true;
    r.result = -12;
    snprintf(r.leader, sizeof(r.leader), "peer3");
    snprintf(r.host, sizeof(r.host), "::1");
    r.port = 65535;
    snprintf(r.message, sizeof(r.message), "'x cas 1 2' failed: x is -12");
    response_seed("response-cas_failed", &r);
    memset(&r, 0, sizeof(r));
    snprintf(r.error, sizeof(r.error), "unavailable");
    snprintf(r.message, sizeof(r.message), "lost quorum \"retry\"");
    response_seed("response-unavailable-nulls", &r);
}

/* ---- fuzz_command_apply ------------------------------------------------- */

/* Runs payloads through a real machine and returns its snapshot. */
static uint8_t *real_snapshot(size_t *len)
{
    static const char *const payloads[] = {
        "cli-1 1 x set 5",           "cli-1 2 x add 100", "cli-2 1 y set -9223372036854775808",
        "cli-2 2 y sub 1",           "cli-3 7 x div 0",   "cli-1 3 z cas 0 42",
        "cli-3 8 bad command",       "cli-1 2 x add 100", "cli-4 1 get x",
        "cli-1 4 long_name_1 set 3", "cli-2 3 y del",
    };
    struct state_machine *sm = sm_new();
    struct sm_result r;
    uint8_t *out;
    if (sm == NULL)
        die("out of memory");
    for (size_t i = 0; i < sizeof(payloads) / sizeof(payloads[0]); i++)
        if (sm_apply(sm, 2 * i + 1, (const uint8_t *)payloads[i], strlen(payloads[i]), &r) != 0)
            die("sm_apply failed on seed payload %zu", i);
    if (sm_snapshot_encode(sm, &out, len) != 0)
        die("sm_snapshot_encode failed");
    sm_free(sm);
    return out;
}

static void apply_seeds(void)
{
    size_t len;
    uint8_t *snap = real_snapshot(&len);
    uint8_t *buf = malloc(len + 1);
    if (buf == NULL)
        die("out of memory");
    memcpy(buf + 1, snap, len);
    buf[0] = 0; /* decode as is */
    seed("command_apply", "snapshot-raw", buf, len + 1);
    buf[0] = 1; /* decode with length and CRC fixed up */
    seed("command_apply", "snapshot-fixed", buf, len + 1);
    free(buf);
    free(snap);

    /* Programs (fuzz_command_apply.c): op & 7 = 0/1 raw payload (u8 length, bytes),
     * 2..4 structured (client, seq, shape, values), 5 noop, 6 snapshot, 7 stale index. */
    static const uint8_t structured[] = {
        2,                    /* program */
        2, 0, 1, 0,    2,     /* c0 seq 1: x set values[1] = 1 */
        3, 0, 1, 1,    28,    /* c0 seq 1 again: x add, a retry */
        4, 1, 2, 1,    14,    /* c1: x add INT64_MAX: overflow */
        6,                    /* snapshot: a clone follows from here */
        2, 2, 3, 4,    0,     /* c2: x div 0 */
        3, 3, 1, 5,    2,  0, /* c3: x cas 1 0 */
        5,                    /* noop */
        4, 4, 1, 0x46,        /* c4: get x, as "get x" */
        2, 0, 0, 7,           /* c0 seq 0: stale */
        7,                    /* an index not above last applied */
        2, 5, 1, 0x0f,        /* c5: y del */
    };
    seed("command_apply", "program-structured", structured, sizeof(structured));
    /* Raw payloads: op byte, u8 length, the bytes; 0x06 takes a snapshot between. */
    static const struct {
        uint8_t op;
        const char *payload;
    } raw[] = {
        {0x00, "c1 1 x set 1234"},
        {0x01, "c1 2 x\tmul -2"},
        {0x06, NULL},
        {0x08, "c1 2 x mul 2"}, /* a retry, answered from the session */
        {0x00, "c2 1 ??x"},
        {0x00, "c3  1 x"},
        {0x00, "c4 18446744073709551615 x get"},
    };
    struct buffer b;
    buffer_init(&b);
    buffer_append(&b, "\x02", 1);
    for (size_t i = 0; i < sizeof(raw) / sizeof(raw[0]); i++) {
        buffer_append(&b, &raw[i].op, 1);
        if (raw[i].payload == NULL)
            continue;
        uint8_t plen = (uint8_t)strlen(raw[i].payload);
        buffer_append(&b, &plen, 1);
        buffer_append(&b, raw[i].payload, plen);
    }
    seed("command_apply", "program-raw", buffer_peek(&b), buffer_len(&b));
    buffer_free(&b);
}

/* ---- fuzz_config -------------------------------------------------------- */

static void config_seeds(void)
{
    FILE *f = fopen("raft_peer.ini", "rb");
    if (f != NULL) {
        char buf[8192];
        size_t n = fread(buf, 1, sizeof(buf), f);
        fclose(f);
        seed("config", "shipped-raft_peer.ini", buf, n);
    }
    seed_str("config", "minimal.ini", "[p]\nhost=h\nport=1\n");
    seed_str("config", "every-key.ini",
             "\xEF\xBB\xBF; all keys\n[raft]\nelection_timeout_min = 10\nelection_timeout_max = "
             "10\nheartbeat_interval = 9\ndata_dir = /var/lib/raft\nlog_dir = logs # x\ntoken = "
             "s3cret\nsnapshot_threshold = 1000000000000\nsnapshot_threshold_bytes = 0\n"
             "log_level = debug\npre_vote = off\n"
             "check_quorum = YES\n\n[game]\nhost = ::1\nport = 65535\nfont = /f.ttf\n\n"
             "[a-b_9]\nhost = 10.0.0.1\nport = 6001\n[A]\r\nhost = 10.0.0.1\r\nport = 6002\r\n");
    seed_str("config", "bad-dup-addr.ini",
             "[p1]\nhost=127.0.0.1\nport=6001\n[p2]\nhost=127.0.0.1\nport=6001\n");
    seed_str("config", "bad-heartbeat.ini",
             "[raft]\nheartbeat_interval=150\n[p1]\nhost=x\nport=7\n");
    seed_str("config", "bad-indent.ini", "[p1]\n  host=x\nport=7\n");
}

/* ---- fuzz_storage_recovery ---------------------------------------------- */

#define F_META1    0x01
#define F_META2    0x02
#define F_SEGS(n)  ((n) << 2)
#define F_FIX_META 0x10
#define F_FIX_LOG  0x20
#define F_SMALL    0x40
#define F_SNAP     0x80

static char scratch[256];

static void rm_dir(const char *path)
{
    char p[512];
    DIR *d = opendir(path);
    struct dirent *de;
    while (d != NULL && (de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        snprintf(p, sizeof(p), "%s/%s", path, de->d_name);
        unlink(p);
    }
    if (d != NULL)
        closedir(d);
    rmdir(path);
}

static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    uint8_t *buf = malloc(1 << 20);
    if (buf == NULL)
        die("out of memory");
    *len = fread(buf, 1, 1 << 20, f);
    fclose(f);
    return buf;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void put_u64(struct buffer *b, uint64_t v)
{
    uint8_t le[8];
    for (int k = 0; k < 8; k++)
        le[k] = (uint8_t)(v >> (8 * k));
    buffer_append(b, le, 8);
}

/* Packs the directory in the fuzzer's layout; cut drops that many bytes from the end
 * of the last segment (a torn write). With F_SNAP in extra_flags, snap_index and
 * snap_term say which snapshot the daemon loaded before the log. */
static void pack_snap(const char *dir, const char *name, uint8_t extra_flags, size_t cut,
                      raft_index snap_index, raft_term snap_term)
{
    struct buffer b;
    char path[512];
    char *segs[3];
    size_t n_segs = 0;
    uint8_t flags = extra_flags;

    buffer_init(&b);
    DIR *d = opendir(dir);
    struct dirent *de;
    while (d != NULL && (de = readdir(d)) != NULL)
        if (strncmp(de->d_name, "log-", 4) == 0) {
            if (n_segs == 3)
                die("%s: more than 3 segments", name);
            segs[n_segs++] = strdup(de->d_name);
        }
    if (d != NULL)
        closedir(d);
    qsort(segs, n_segs, sizeof(segs[0]), cmp_str);
    flags |= (uint8_t)F_SEGS(n_segs);

    uint8_t *meta[2];
    size_t meta_len[2] = {0, 0};
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof(path), "%s/meta%d", dir, i + 1);
        meta[i] = slurp(path, &meta_len[i]);
        if (meta[i] != NULL)
            flags |= i ? F_META2 : F_META1;
    }
    buffer_append(&b, &flags, 1);
    if (flags & F_SNAP) {
        put_u64(&b, snap_index);
        put_u64(&b, snap_term);
    }
    for (int i = 0; i < 2; i++) {
        if (meta[i] == NULL)
            continue;
        uint8_t l = (uint8_t)meta_len[i];
        buffer_append(&b, &l, 1);
        buffer_append(&b, meta[i], meta_len[i]);
        free(meta[i]);
    }
    for (size_t i = 0; i < n_segs; i++) {
        size_t len;
        uint64_t first = strtoull(segs[i] + 4, NULL, 10);
        uint8_t le[4];
        snprintf(path, sizeof(path), "%s/%s", dir, segs[i]);
        uint8_t *data = slurp(path, &len);
        if (data == NULL)
            die("cannot read %s", path);
        if (i + 1 == n_segs)
            len = cut < len ? len - cut : 0;
        put_u64(&b, first);
        for (int k = 0; k < 4; k++)
            le[k] = (uint8_t)(len >> (8 * k));
        buffer_append(&b, le, 4);
        buffer_append(&b, data, len);
        free(data);
        free(segs[i]);
    }
    seed("storage_recovery", name, buffer_peek(&b), buffer_len(&b));
    buffer_free(&b);
}

static void pack(const char *dir, const char *name, uint8_t extra_flags, size_t cut)
{
    pack_snap(dir, name, extra_flags, cut, 0, 0);
}

/* Writes a directory with the real storage module: saves of (term, vote), then
 * entries of the given terms, with segments closed at seg_bytes; then, unless
 * compact_at is 0, a compaction of the entries up to compact_at. Segments end with
 * their records unless prealloc (the daemon's way: the last one goes on with zeros up
 * to seg_bytes plus an eighth), so that cutting bytes off the end tears a record. */
static void make_dir_as(const char *dir, int saves, const raft_term *terms, size_t n,
                        uint64_t seg_bytes, raft_index compact_at, bool prealloc)
{
    struct storage *s;
    struct storage_boot boot;
    char err[512];

    rm_dir(dir);
    if (storage_open(dir, 0, &s, &boot, err, sizeof(err)) != 0)
        die("storage_open: %s", err);
    storage_boot_free(&boot);
    if (seg_bytes)
        storage_test_set_segment_bytes(s, seg_bytes);
    storage_test_set_prealloc(s, prealloc);
    for (int i = 1; i <= saves; i++)
        if (storage_save_hard_state(s, (raft_term)i, i % 3, err, sizeof(err)) != 0)
            die("storage_save_hard_state: %s", err);
    for (size_t i = 0; i < n; i++) {
        char text[64];
        int len = snprintf(text, sizeof(text), "cli-%zu %zu x add %zu", i % 3, i, i * 7);
        struct raft_entry e = {terms[i], i % 4 == 0 ? RAFT_ENTRY_NOOP : RAFT_ENTRY_COMMAND,
                               i % 4 == 0 ? 0 : (uint32_t)len, (uint8_t *)text};
        if (e.len == 0)
            e.data = NULL;
        if (storage_append(s, storage_last_index(s) + 1, &e, 1, err, sizeof(err)) != 0)
            die("storage_append: %s", err);
    }
    if (storage_sync(s, err, sizeof(err)) != 0)
        die("storage_sync: %s", err);
    if (compact_at > 0 &&
        storage_compact(s, compact_at, terms[compact_at - 1], err, sizeof(err)) != 0)
        die("storage_compact: %s", err);
    storage_close(s);
    unlink(strcat(strcpy(err, dir), "/LOCK"));
}

static void make_dir(const char *dir, int saves, const raft_term *terms, size_t n,
                     uint64_t seg_bytes, raft_index compact_at)
{
    make_dir_as(dir, saves, terms, n, seg_bytes, compact_at, false);
}

static void storage_seeds(void)
{
    char dir[320];
    static const raft_term terms[] = {1, 1, 1, 2, 2, 3, 3, 3, 3};

    snprintf(scratch, sizeof(scratch), "/tmp/make_seeds.XXXXXX");
    if (mkdtemp(scratch) == NULL)
        die("mkdtemp: %s", strerror(errno));
    snprintf(dir, sizeof(dir), "%s/peer1", scratch);

    static const uint8_t empty = 0;
    seed("storage_recovery", "empty-dir", &empty, 1);

    make_dir(dir, 1, NULL, 0, 0, 0);
    pack(dir, "one-save", 0, 0);
    make_dir(dir, 2, NULL, 0, 0, 0);
    pack(dir, "two-saves", F_FIX_META, 0);
    make_dir(dir, 3, terms, 9, 0, 0);
    pack(dir, "log-one-segment", 0, 0);
    pack(dir, "log-one-segment-fixed", F_FIX_META | F_FIX_LOG, 0);
    pack(dir, "log-torn-tail", 0, 7);
    pack(dir, "log-torn-header", 0, 30);
    /* A snapshot up to index 5 (term 2) covers the first records of the segment. */
    pack_snap(dir, "snapshot-inside-segment", F_SNAP | F_FIX_LOG, 0, 5, 2);
    /* A snapshot whose term disagrees with the entry at its index: the suffix goes. */
    pack_snap(dir, "snapshot-stale-suffix", F_SNAP, 0, 5, 3);
    /* 64-byte segments: a segment closes after each record or two. */
    make_dir(dir, 3, terms, 3, 64, 0);
    pack(dir, "log-three-segments", F_SMALL, 0);
    pack(dir, "log-three-segments-fixed", F_SMALL | F_FIX_LOG, 0);
    pack(dir, "log-three-segments-torn", 0, 3);
    /* What a compaction up to 2 leaves, and the same compaction interrupted before it
     * removed the covered segments. */
    pack_snap(dir, "snapshot-compaction-interrupted", F_SNAP | F_SMALL, 0, 2, 1);
    make_dir(dir, 3, terms, 3, 64, 2);
    pack_snap(dir, "snapshot-compacted", F_SNAP | F_SMALL, 0, 2, 1);
    pack_snap(dir, "snapshot-compacted-unknown-term", F_SNAP, 0, 2, 0);
    /* Preallocated segments: the last one's records followed by zeros to its end (one
     * segment of 512 bytes; then 160-byte ones, the closed ones trimmed). */
    make_dir_as(dir, 3, terms, 9, 512, 0, true);
    pack(dir, "log-preallocated", 0, 0);
    pack(dir, "log-preallocated-fixed", F_FIX_META | F_FIX_LOG, 0);
    make_dir_as(dir, 3, terms, 9, 160, 0, true);
    pack(dir, "log-preallocated-segments", F_SMALL, 0);
    rm_dir(dir);
    rmdir(scratch);
}

/* ---- fuzz_net_faults ---------------------------------------------------- */

/* The control messages of docs/CONTRACT.md (Network faults), and near misses. */
static void fault_seeds(void)
{
    seed_str("net_faults", "partition",
             "{\"type\":\"control\",\"action\":\"partition\",\"groups\":[[\"peer1\"],[\"peer2\","
             "\"peer3\"]]}");
    seed_str("net_faults", "partition-rest",
             "{\"type\":\"control\",\"action\":\"partition\",\"groups\":[[\"peer1\",\"peer4\"],["
             "\"peer2\"]],\"token\":\"t\"}");
    seed_str("net_faults", "isolate",
             "{\"type\":\"control\",\"action\":\"isolate\",\"target\":\"peer3\"}");
    seed_str("net_faults", "cut",
             "{\"type\":\"control\",\"action\":\"cut\",\"from\":\"peer1\",\"to\":\"peer2\"}");
    seed_str("net_faults", "heal", "{\"type\":\"control\",\"action\":\"heal\"}");
    seed_str("net_faults", "delay", "{\"type\":\"control\",\"action\":\"delay\",\"ms\":200}");
    seed_str(
        "net_faults", "near-twice",
        "{\"type\":\"control\",\"action\":\"partition\",\"groups\":[[\"peer1\"],[\"peer1\"]]}");
    seed_str("net_faults", "near-unknown",
             "{\"type\":\"control\",\"action\":\"isolate\",\"target\":\"peer9\"}");
    seed_str("net_faults", "near-delay",
             "{\"type\":\"control\",\"action\":\"delay\",\"ms\":10001}");
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: make_seeds CORPUS_DIR\n");
        return 2;
    }
    corpus = argv[1];
    if (mkdir(corpus, 0755) != 0 && errno != EEXIST)
        die("cannot create %s: %s", corpus, strerror(errno));
    rpc_seeds();
    client_seeds();
    apply_seeds();
    config_seeds();
    storage_seeds();
    fault_seeds();
    return 0;
}
