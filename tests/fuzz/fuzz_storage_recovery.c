/* fuzz_storage_recovery.c: libFuzzer target for recovering data/<peer>/ at start
 * (raft_peer/storage/storage.h, format in docs/STORAGE.md).
 *
 * The input describes a data directory and, optionally, the snapshot the daemon would
 * have loaded before it (layout below, written by make_seeds.c too). The files are
 * written to a fresh directory on tmpfs and storage_open must either refuse it as
 * damaged, with a message, or load a consistent state. A loaded state must then load
 * again identically (recovery repairs at most once), and must take a new entry, a
 * truncation and a compaction and load them back.
 *
 * Input layout, integers little-endian:
 *   u8 flags: bit 0 meta1 present, bit 1 meta2 present, bits 2-3 number of log
 *             segments (0..3), bit 4 fix meta CRCs, bit 5 fix segment and record
 *             CRCs (so the fuzzer reaches the checks behind them), bit 6 write
 *             with 64-byte segments in the write phase (else 4 KiB ones), bit 7 a
 *             snapshot exists
 *   with bit 7: u64 snapshot index, u64 snapshot term (0 = unknown: storage_open)
 *   meta1, meta2 when present: u8 length, then the bytes
 *   each segment: u64 first index (its file name), u32 length, then the bytes
 *   u8 where the write phase compacts (optional)
 * Lengths are cut to what is left of the input.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "raft_peer/storage/crc32c.h"
#include "raft_peer/storage/storage.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c))                                                                                  \
            __builtin_trap();                                                                      \
    } while (0)

#define F_META1     0x01
#define F_META2     0x02
#define F_SEGS(f)   (((f) >> 2) & 3)
#define F_FIX_META  0x10
#define F_FIX_LOG   0x20
#define F_SMALL_SEG 0x40
#define F_SNAPSHOT  0x80

/* The scratch directory: one per process, emptied before every input. */
static char root[128];
static char dir[160];

static void remove_root(void)
{
    char path[256];
    DIR *d = opendir(dir);
    struct dirent *de;
    while (d != NULL && (de = readdir(d)) != NULL) {
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        unlink(path);
    }
    if (d != NULL)
        closedir(d);
    rmdir(dir);
    rmdir(root);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    /* tmpfs: fsync is free there, so the fuzzer measures parsing, not the disk. */
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(root, sizeof(root), "%s/fuzz_storage.XXXXXX", base);
    CHECK(mkdtemp(root) != NULL);
    snprintf(dir, sizeof(dir), "%s/peer1", root);
    atexit(remove_root);
    return 0;
}

static void empty_dir(void)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0) {
        CHECK(errno == ENOENT);
        CHECK(mkdir(dir, 0755) == 0);
        return;
    }
    DIR *d = fdopendir(fd);
    CHECK(d != NULL);
    struct dirent *de;
    while ((de = readdir(d)) != NULL)
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
            CHECK(unlinkat(fd, de->d_name, 0) == 0);
    closedir(d);
}

struct input {
    const uint8_t *p;
    size_t len;
};

static uint64_t take_le(struct input *in, int bytes)
{
    uint64_t v = 0;
    for (int i = 0; i < bytes && in->len > 0; i++, in->p++, in->len--)
        v |= (uint64_t)*in->p << (8 * i);
    return v;
}

static void put_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void write_file(const char *name, const uint8_t *p, size_t len)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    CHECK(fd >= 0);
    CHECK(len == 0 || write(fd, p, len) == (ssize_t)len);
    close(fd);
}

/* Makes the CRCs right, so mutations of lengths, terms and types get past them. */
static void fix_meta(uint8_t *p, size_t len)
{
    if (len == 36)
        put_le32(p + 32, crc32c(0, p, 32));
}

static void fix_segment(uint8_t *p, size_t len)
{
    if (len < 24)
        return;
    put_le32(p + 20, crc32c(0, p, 20));
    for (size_t off = 24; len - off >= 24;) {
        uint32_t dlen = get_le32(p + off);
        if (dlen <= len - off - 24)
            put_le32(p + off + 16, crc32c(0, p + off + 24, dlen));
        put_le32(p + off + 20, crc32c(0, p + off, 20));
        if (dlen > len - off - 24)
            break;
        off += 24 + dlen;
    }
}

/* The snapshot the daemon loaded before the log: index 0 when there is none. */
struct snap {
    raft_index index;
    raft_term term;
};

/* Lays the directory out as the input says. Returns the flags. */
static uint8_t build_dir(struct input *in, struct snap *snap)
{
    static uint8_t buf[1 << 16];
    uint8_t flags = (uint8_t)take_le(in, 1);

    snap->index = snap->term = 0;
    if (flags & F_SNAPSHOT) {
        snap->index = take_le(in, 8);
        snap->term = take_le(in, 8);
    }
    for (int m = 0; m < 2; m++) {
        if (!(flags & (m ? F_META2 : F_META1)))
            continue;
        size_t len = take_le(in, 1);
        if (len > in->len)
            len = in->len;
        memcpy(buf, in->p, len);
        in->p += len;
        in->len -= len;
        if (flags & F_FIX_META)
            fix_meta(buf, len);
        write_file(m ? "meta2" : "meta1", buf, len);
    }
    for (int i = 0; i < F_SEGS(flags); i++) {
        char name[40];
        uint64_t first = take_le(in, 8);
        size_t len = take_le(in, 4);
        if (len > in->len)
            len = in->len;
        if (len > sizeof(buf))
            len = sizeof(buf);
        memcpy(buf, in->p, len);
        in->p += len;
        in->len -= len;
        if (flags & F_FIX_LOG)
            fix_segment(buf, len);
        snprintf(name, sizeof(name), "log-%020llu", (unsigned long long)first);
        write_file(name, buf, len);
    }
    return flags;
}

/* What a successful open recovered, in a form that outlives the boot struct. */
struct state {
    raft_term term;
    raft_id vote;
    raft_index first;
    size_t n;
    raft_term *terms;
    uint8_t *types;
    uint32_t *lens;
    uint64_t *sums;
};

/* Reads every byte of the data, so ASan sees any entry pointing outside its chunk. */
static uint64_t fnv(const uint8_t *p, uint32_t len)
{
    uint64_t h = 1469598103934665603ull;
    for (uint32_t i = 0; i < len; i++)
        h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

static void capture(const struct storage *s, const struct storage_boot *b, const struct snap *snap,
                    struct state *st)
{
    CHECK(b->voted_for >= 0 && b->voted_for <= 16);
    CHECK(b->first_index == snap->index + 1); /* entries start right after the snapshot */
    CHECK(storage_first_index(s) == b->first_index);
    CHECK(storage_last_index(s) == b->first_index + b->n_entries - 1);
    CHECK(b->n_entries == 0 || b->entries != NULL);
    CHECK(strnlen(b->notice, sizeof(b->notice)) < sizeof(b->notice));
    st->term = b->term;
    st->vote = b->voted_for;
    st->first = b->first_index;
    st->n = b->n_entries;
    st->terms = calloc(b->n_entries + 1, sizeof(*st->terms));
    st->types = calloc(b->n_entries + 1, sizeof(*st->types));
    st->lens = calloc(b->n_entries + 1, sizeof(*st->lens));
    st->sums = calloc(b->n_entries + 1, sizeof(*st->sums));
    CHECK(st->terms && st->types && st->lens && st->sums);
    /* Figure 13: what follows a snapshot of known term never has a lower term. */
    raft_term prev = snap->term;
    for (size_t i = 0; i < b->n_entries; i++) {
        const struct raft_entry *e = &b->entries[i];
        /* docs/STORAGE.md: terms at least 1, never decreasing, never above the saved
         * term; the type is never 0 */
        CHECK(e->term >= 1 && e->term >= prev && e->term <= b->term);
        CHECK(e->type != 0);
        CHECK(e->len <= STORAGE_MAX_ENTRY_BYTES);
        CHECK(e->len == 0 || e->data != NULL);
        prev = e->term;
        st->terms[i] = e->term;
        st->types[i] = e->type;
        st->lens[i] = e->len;
        st->sums[i] = e->len ? fnv(e->data, e->len) : 0;
    }
}

static void release_state(struct state *st)
{
    free(st->terms);
    free(st->types);
    free(st->lens);
    free(st->sums);
    memset(st, 0, sizeof(*st));
}

/* b's entries [0, n) are a's entries [skip, skip + n). */
static bool same_run(const struct state *a, size_t skip, const struct state *b, size_t n)
{
    if (a->n < skip + n || b->n < n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (a->terms[skip + i] != b->terms[i] || a->types[skip + i] != b->types[i] ||
            a->lens[skip + i] != b->lens[i] || a->sums[skip + i] != b->sums[i])
            return false;
    return true;
}

static int open_snap(const struct snap *snap, struct storage **s, struct storage_boot *boot,
                     char *err, size_t errlen)
{
    if (snap->term == 0)
        return storage_open(dir, snap->index, s, boot, err, errlen);
    return storage_open_after_snapshot(dir, snap->index, snap->term, s, boot, err, errlen);
}

static struct storage *open_ok(const struct snap *snap, struct storage_boot *boot, struct state *st)
{
    char err[1024];
    struct storage *s = NULL;
    int rc = open_snap(snap, &s, boot, err, sizeof(err));
    CHECK(rc == STORAGE_OK && s != NULL);
    capture(s, boot, snap, st);
    return s;
}

/* Appends one entry, truncates back into the loaded log and appends another (Raft's
 * conflict handling), compacts a prefix, then loads it all again. */
static void write_and_reload(const struct state *was, const struct snap *snap, uint8_t compact_at,
                             bool small_segments)
{
    char err[1024];
    struct storage_boot boot;
    struct state now;
    static uint8_t text1[] = "c1 1 x set 1", text2[] = "c1 2 x add 2";

    /* Near 2^64 the next index would not exist; a hostile name can put us there. */
    if (was->first > UINT64_MAX / 2)
        return;
    struct storage *s = open_ok(snap, &boot, &now);
    CHECK(boot.notice[0] == '\0');
    CHECK(now.n == was->n && same_run(was, 0, &now, was->n));
    /* Small segments either way: a new segment is preallocated to its size plus an
     * eighth, and 8 MiB of zeros per input would be most of what the fuzzer does. */
    storage_test_set_segment_bytes(s, small_segments ? 64 : 4096);
    raft_term term = was->term > snap->term ? was->term : snap->term;
    if (term == 0)
        term = 1;
    if (term != was->term &&
        storage_save_hard_state(s, term, RAFT_NOBODY, err, sizeof(err)) != STORAGE_OK) {
        /* On tmpfs only a version counter at 2^64 - 1 (a forged meta file) makes a save
         * fail; the storage then refuses everything, as after any I/O error. */
        CHECK(storage_failed(s));
        storage_close(s);
        storage_boot_free(&boot);
        release_state(&now);
        return;
    }
    struct raft_entry e1 = {term, RAFT_ENTRY_COMMAND, sizeof(text1) - 1, text1};
    struct raft_entry e2 = {term, RAFT_ENTRY_COMMAND, sizeof(text2) - 1, text2};
    raft_index last = was->first + was->n - 1;
    CHECK(storage_append(s, last + 1, &e1, 1, err, sizeof(err)) == STORAGE_OK);
    CHECK(storage_sync(s, err, sizeof(err)) == STORAGE_OK);
    CHECK(storage_last_index(s) == last + 1);
    size_t keep = was->n / 2;
    CHECK(storage_append(s, was->first + keep, &e2, 1, err, sizeof(err)) == STORAGE_OK);
    CHECK(storage_sync(s, err, sizeof(err)) == STORAGE_OK);
    CHECK(storage_last_index(s) == was->first + keep);

    /* The log is now was[0, keep) then e2. A snapshot covers its first k entries
     * (k == keep + 1: all of them, so the log ends up empty). */
    size_t k = compact_at % (keep + 2);
    struct snap after = *snap;
    if (k > 0) {
        after.index = was->first - 1 + k;
        after.term = k <= keep ? was->terms[k - 1] : term;
        CHECK(storage_compact(s, after.index, after.term, err, sizeof(err)) == STORAGE_OK);
        CHECK(storage_first_index(s) == after.index + 1);
        CHECK(storage_last_index(s) == was->first + keep);
    }
    storage_close(s);
    storage_boot_free(&boot);
    release_state(&now);

    s = open_ok(&after, &boot, &now);
    CHECK(boot.notice[0] == '\0');
    CHECK(now.term == term && now.vote == (term == was->term ? was->vote : RAFT_NOBODY));
    size_t kept = k <= keep ? keep - k : 0; /* entries of was still there */
    CHECK(now.n == kept + (k <= keep));
    CHECK(kept == 0 || same_run(was, k, &now, kept));
    if (k <= keep)
        CHECK(now.terms[kept] == term && now.types[kept] == RAFT_ENTRY_COMMAND &&
              now.lens[kept] == e2.len && now.sums[kept] == fnv(text2, e2.len));
    storage_close(s);
    storage_boot_free(&boot);
    release_state(&now);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct input in = {data, size};
    struct storage_boot boot;
    struct storage *s = NULL;
    struct state first, again;
    struct snap snap;
    char err[1024];

    empty_dir();
    uint8_t flags = build_dir(&in, &snap);
    uint8_t compact_at = (uint8_t)take_le(&in, 1);

    err[0] = '\0';
    int rc = open_snap(&snap, &s, &boot, err, sizeof(err));
    if (rc != STORAGE_OK) {
        /* Refused: only as damage (or, for a snapshot no daemon could have, as a caller
         * bug), with a message, and nothing handed out. */
        bool bad_args = snap.index > UINT64_MAX / 2 || (snap.index == 0 && snap.term != 0);
        CHECK(rc == (bad_args ? STORAGE_EINVAL : STORAGE_ECORRUPT));
        CHECK(s == NULL && err[0] != '\0');
        CHECK(boot.entries == NULL && boot.n_entries == 0 && boot.chunks == NULL);
        storage_boot_free(&boot);
        return 0;
    }
    capture(s, &boot, &snap, &first);
    bool repaired = boot.notice[0] != '\0';
    storage_close(s);
    storage_boot_free(&boot);

    /* Whatever the first open repaired is durable: the second sees the same state. It
     * may still finish a repair (dropping a stale suffix can leave a segment that only
     * the snapshot covers, which the next open removes), but a third open, the one in
     * write_and_reload, must find nothing left to do. */
    s = open_ok(&snap, &boot, &again);
    CHECK(boot.notice[0] == '\0' || repaired);
    CHECK(again.term == first.term && again.vote == first.vote && again.n == first.n &&
          same_run(&first, 0, &again, first.n));
    storage_close(s);
    storage_boot_free(&boot);
    release_state(&again);

    write_and_reload(&first, &snap, compact_at, flags & F_SMALL_SEG);
    release_state(&first);
    return 0;
}
