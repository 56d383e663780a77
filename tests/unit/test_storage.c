/* test_storage.c: the peer's durable storage: round trips, truncation, synced marks and
 * sync marks, what a power cut leaves in the unsynced end (torn records, holes) against
 * damage to synced data, alternating metadata, the lock, restart speed and I/O failure
 * at every point. */
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "raft_peer/storage/crc32c.h"
#include "raft_peer/storage/storage.h"
#include "tests/lib/time_scale.h"

#define SEG1 "log-00000000000000000001"

static char root[64];
static char dir[128];
static char err[512];

static void setup(void)
{
    strcpy(root, "/tmp/storage_test.XXXXXX");
    cr_assert_not_null(mkdtemp(root));
    /* Two levels that do not exist yet: open must create them. */
    snprintf(dir, sizeof dir, "%s/data/peer1", root);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void teardown(void)
{
    nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

TestSuite(storage, .init = setup, .fini = teardown);

/* ---- helpers ---- */

/* Entry contents follow from (index, term), so a log is checked by its terms alone. */
static uint32_t entry_text(char *buf, size_t size, raft_index index, raft_term term)
{
    int n = snprintf(buf, size, "x add %" PRIu64 " t%" PRIu64 "%.*s", index, term, (int)(index % 5),
                     "#####");
    return (uint32_t)n;
}

static uint32_t record_size(raft_index index, raft_term term)
{
    char buf[64];
    return 24 + entry_text(buf, sizeof buf, index, term);
}

static int append_range(struct storage *s, raft_index first, size_t n, raft_term term)
{
    struct raft_entry *e = calloc(n ? n : 1, sizeof *e);
    char(*text)[64] = calloc(n ? n : 1, sizeof *text);
    cr_assert(e != NULL && text != NULL);
    for (size_t i = 0; i < n; i++) {
        e[i].term = term;
        e[i].type = RAFT_ENTRY_COMMAND;
        e[i].len = entry_text(text[i], sizeof text[i], first + i, term);
        e[i].data = (uint8_t *)text[i];
    }
    int rc = storage_append(s, first, e, n, err, sizeof err);
    free(e);
    free(text);
    return rc;
}

static void assert_entry(const struct storage_boot *b, raft_index index, raft_term term)
{
    char want[64];
    uint32_t len = entry_text(want, sizeof want, index, term);
    cr_assert(index >= b->first_index && index - b->first_index < b->n_entries, "index %" PRIu64,
              index);
    const struct raft_entry *e = &b->entries[index - b->first_index];
    cr_assert_eq(e->term, term, "index %" PRIu64 ": term %" PRIu64 " != %" PRIu64, index, e->term,
                 term);
    cr_assert_eq(e->type, RAFT_ENTRY_COMMAND);
    cr_assert_eq(e->len, len, "index %" PRIu64, index);
    cr_assert(memcmp(e->data, want, len) == 0, "index %" PRIu64, index);
}

static struct storage *open_ok(struct storage_boot *boot)
{
    struct storage *s = NULL;
    int rc = storage_open(dir, 0, &s, boot, err, sizeof err);
    cr_assert_eq(rc, STORAGE_OK, "open: %d %s", rc, err);
    cr_assert_not_null(s);
    /* These tests check the byte format to the byte, file sizes included: new segments
     * end with their last record. Preallocated ones: test_storage_prealloc.c. */
    storage_test_set_prealloc(s, false);
    return s;
}

static void must(int rc)
{
    cr_assert_eq(rc, STORAGE_OK, "rc %d: %s", rc, err);
}

static void path_of(char *out, size_t size, const char *name)
{
    snprintf(out, size, "%s/%s", dir, name);
}

static off_t file_size(const char *name)
{
    char p[256];
    struct stat st;
    path_of(p, sizeof p, name);
    cr_assert_eq(stat(p, &st), 0, "%s", p);
    return st.st_size;
}

static void flip_byte(const char *name, off_t off)
{
    char p[256];
    uint8_t c;
    path_of(p, sizeof p, name);
    int fd = open(p, O_RDWR);
    cr_assert(fd >= 0);
    cr_assert_eq(pread(fd, &c, 1, off), 1);
    c ^= 0x10;
    cr_assert_eq(pwrite(fd, &c, 1, off), 1);
    close(fd);
}

static void cut_file(const char *name, off_t size)
{
    char p[256];
    path_of(p, sizeof p, name);
    cr_assert_eq(truncate(p, size), 0);
}

static int count_segments(void)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "ls %s | grep -c '^log-'", dir);
    FILE *f = popen(cmd, "r");
    int n = -1;
    cr_assert_eq(fscanf(f, "%d", &n), 1);
    pclose(f);
    return n;
}

/* Writes 10 entries of term 1 to a fresh directory and closes it. */
static void write_ten(void)
{
    struct storage_boot b;
    struct storage *s = open_ok(&b);
    must(storage_save_hard_state(s, 1, 1, err, sizeof err));
    must(append_range(s, 1, 10, 1));
    must(storage_sync(s, err, sizeof err));
    storage_close(s);
    storage_boot_free(&b);
}

/* Byte offset of record `index` in a single-segment log of term-1 entries (or of any
 * one-digit term: the size is the same) written in one batch. */
static off_t offset_of(raft_index index)
{
    off_t off = 24;
    for (raft_index i = 1; i < index; i++)
        off += record_size(i, 1);
    return off;
}

/* Each storage_sync writes a sync mark after the batch it synced: a 24-byte record
 * header of type 0xFF, length 0, whose synced field covers everything before it
 * (docs/STORAGE.md). write_ten's file is offset_of(11) + MARK bytes long. */
#define MARK           24
#define SYNC_MARK_TYPE 0xFF

/* offset_of() in a log with a sync mark after each record listed in marks (ascending,
 * 0-terminated): offset_with_marks(n + 1, marks) is where the file ends when the last
 * mark follows record n. */
static off_t offset_with_marks(raft_index index, const raft_index *marks)
{
    off_t off = offset_of(index);
    for (size_t i = 0; marks[i] != 0 && marks[i] < index; i++)
        off += MARK;
    return off;
}

static void read_bytes(const char *name, off_t off, uint8_t *buf, size_t n)
{
    char p[256];
    path_of(p, sizeof p, name);
    int fd = open(p, O_RDONLY);
    cr_assert(fd >= 0, "%s", p);
    cr_assert_eq(pread(fd, buf, n, off), (ssize_t)n, "%s at %lld", p, (long long)off);
    close(fd);
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* The synced field (header bytes 5..7, in 16-byte units) of the record at off, whose
 * header must be valid. */
static uint32_t synced_units_at(const char *name, off_t off)
{
    uint8_t h[24], seg[24];
    read_bytes(name, off, h, sizeof h);
    read_bytes(name, 0, seg, sizeof seg);
    /* Record header checksums are seeded with the segment's nonce (header bytes 16..19). */
    cr_assert_eq(le32(h + 20), crc32c(le32(seg + 16), h, 20), "no valid record header at %lld",
                 (long long)off);
    return (uint32_t)h[5] | (uint32_t)h[6] << 8 | (uint32_t)h[7] << 16;
}

/* What the synced field holds when an fdatasync had covered `synced` bytes. */
static uint32_t units(off_t synced)
{
    return (uint32_t)(synced / 16);
}

/* A sync mark at off, saying that `synced` bytes had been synced when it was written. */
static void assert_sync_mark(const char *name, off_t off, off_t synced)
{
    uint8_t h[24];
    read_bytes(name, off, h, sizeof h);
    cr_assert_eq(le32(h), 0, "sync mark at %lld: length %u", (long long)off, le32(h));
    cr_assert_eq(h[4], SYNC_MARK_TYPE, "sync mark at %lld: type %u", (long long)off, h[4]);
    cr_assert_eq(synced_units_at(name, off), units(synced), "sync mark at %lld: synced %u * 16",
                 (long long)off, synced_units_at(name, off));
    cr_assert_neq(le32(h + 8) | le32(h + 12), 0, "sync mark at %lld: term 0", (long long)off);
    cr_assert_eq(le32(h + 16), crc32c(0, NULL, 0), "sync mark at %lld: data CRC", (long long)off);
}

/* Overwrites [off, off + n) with zeros (fill 0) or with a byte pattern: what a power cut
 * leaves where an unsynced page never reached the disk. */
static void overwrite(const char *name, off_t off, size_t n, int fill)
{
    char p[256];
    uint8_t buf[512];
    cr_assert_leq(n, sizeof buf);
    for (size_t i = 0; i < n; i++)
        buf[i] = fill == 0 ? 0 : (uint8_t)(fill + 37 * i);
    path_of(p, sizeof p, name);
    int fd = open(p, O_RDWR);
    cr_assert(fd >= 0);
    cr_assert_eq(pwrite(fd, buf, n, off), (ssize_t)n);
    close(fd);
}

/* Opens the log in dir, appends entries first.. (n of them) and dies as kill -9 would:
 * every record reaches the file (the page cache), no fdatasync covers them, no sync
 * mark follows them. */
static void append_then_crash(raft_index first, size_t n, raft_term term)
{
    struct storage_boot b;
    struct storage *s = NULL;
    int rc = storage_open(dir, 0, &s, &b, err, sizeof err);
    cr_assert_eq(rc, STORAGE_OK, "open: %d %s", rc, err);
    storage_test_set_prealloc(s, false);
    storage_test_set_flush_bytes(s, 0);
    must(append_range(s, first, n, term));
    storage_test_crash(s);
    storage_boot_free(&b);
}

static void assert_has(const char *text, const char *part)
{
    cr_assert(strstr(text, part) != NULL, "'%s' lacks '%s'", text, part);
}

/* Opens the log, which must come back with entries 1..kept, say `why` in its notice and
 * have been cut to `size` bytes; then closes it. */
static void assert_open_keeps(raft_index kept, const char *why, off_t size)
{
    struct storage_boot b;
    struct storage *s = open_ok(&b);
    cr_assert_eq(b.n_entries, kept, "notice: %s", b.notice);
    assert_has(b.notice, why);
    cr_assert_eq(file_size(SEG1), size);
    storage_close(s);
    storage_boot_free(&b);
}

/* ---- round trips ---- */

Test(storage, fresh_directory_is_empty)
{
    struct storage_boot b;
    struct storage *s = open_ok(&b);
    cr_assert_eq(b.term, 0);
    cr_assert_eq(b.voted_for, RAFT_NOBODY);
    cr_assert_eq(b.first_index, 1);
    cr_assert_eq(b.n_entries, 0);
    cr_assert_str_empty(b.notice);
    cr_assert_eq(storage_first_index(s), 1);
    cr_assert_eq(storage_last_index(s), 0);
    storage_close(s);
    storage_boot_free(&b);
}

Test(storage, hard_state_and_entries_survive_close_and_open)
{
    struct storage_boot b;
    struct storage *s = open_ok(&b);
    must(storage_save_hard_state(s, 3, 2, err, sizeof err));
    must(append_range(s, 1, 40, 2));
    struct raft_entry noop = {.term = 3, .type = RAFT_ENTRY_NOOP, .len = 0, .data = NULL};
    must(storage_append(s, 41, &noop, 1, err, sizeof err));
    must(append_range(s, 42, 59, 3));
    cr_assert_eq(storage_last_index(s), 100);
    must(storage_sync(s, err, sizeof err));
    storage_close(s);
    storage_boot_free(&b);

    s = open_ok(&b);
    cr_assert_eq(b.term, 3);
    cr_assert_eq(b.voted_for, 2);
    cr_assert_eq(b.n_entries, 100);
    cr_assert_str_empty(b.notice);
    for (raft_index i = 1; i <= 40; i++)
        assert_entry(&b, i, 2);
    cr_assert_eq(b.entries[40].type, RAFT_ENTRY_NOOP);
    cr_assert_eq(b.entries[40].len, 0);
    cr_assert_eq(b.entries[40].term, 3);
    for (raft_index i = 42; i <= 100; i++)
        assert_entry(&b, i, 3);
    cr_assert_eq(storage_last_index(s), 100);
    storage_close(s);
    storage_boot_free(&b);
}

Test(storage, hard_state_rules)
{
    struct storage_boot b;
    struct storage *s = open_ok(&b);
    must(storage_save_hard_state(s, 5, 0, err, sizeof err));
    must(storage_save_hard_state(s, 5, 3, err, sizeof err));
    must(storage_save_hard_state(s, 5, 3, err, sizeof err));
    cr_assert_eq(storage_save_hard_state(s, 5, 2, err, sizeof err), STORAGE_EINVAL);
    cr_assert_eq(storage_save_hard_state(s, 5, 0, err, sizeof err), STORAGE_EINVAL);
    cr_assert_eq(storage_save_hard_state(s, 4, 3, err, sizeof err), STORAGE_EINVAL);
    cr_assert_eq(storage_save_hard_state(s, 6, -1, err, sizeof err), STORAGE_EINVAL);
    cr_assert_eq(storage_save_hard_state(s, 6, RAFT_MAX_PEERS + 1, err, sizeof err),
                 STORAGE_EINVAL);
    must(storage_save_hard_state(s, 7, 0, err, sizeof err));
    cr_assert(!storage_failed(s));
    storage_close(s);
    storage_boot_free(&b);
    s = open_ok(&b);
    cr_assert_eq(b.term, 7);
    cr_assert_eq(b.voted_for, 0);
    storage_close(s);
    storage_boot_free(&b);
}

Test(storage, append_refuses_bad_arguments_and_changes_nothing)
{
    struct storage_boot b;
    struct storage *s = open_ok(&b);
    must(storage_save_hard_state(s, 2, 1, err, sizeof err));
    must(append_range(s, 1, 5, 2));
    cr_assert_eq(append_range(s, 7, 1, 2), STORAGE_EINVAL); /* gap */
    cr_assert_eq(append_range(s, 6, 1, 1), STORAGE_EINVAL); /* term below entry 5's */
    cr_assert_eq(append_range(s, 3, 1, 1), STORAGE_EINVAL); /* below entry 2's, even truncating */
    cr_assert_eq(append_range(s, 0, 1, 2), STORAGE_EINVAL); /* before the log */
    cr_assert_eq(append_range(s, 6, 1, 3), STORAGE_EINVAL); /* term not saved yet */
    cr_assert_eq(append_range(s, 6, 1, 0), STORAGE_EINVAL); /* term 0 */
    struct raft_entry e[2] = {{.term = 2, .type = 1, .len = 3, .data = NULL}};
    cr_assert_eq(storage_append(s, 6, e, 1, err, sizeof err), STORAGE_EINVAL);
    uint8_t x = 'x';
    e[0] = (struct raft_entry){.term = 2, .type = 1, .len = 1, .data = &x};
    e[1] = (struct raft_entry){.term = 1, .type = 1, .len = 1, .data = &x};
    cr_assert_eq(storage_append(s, 6, e, 2, err, sizeof err), STORAGE_EINVAL); /* term drops */
    cr_assert(!storage_failed(s));
    cr_assert_eq(storage_last_index(s), 5);
    must(storage_sync(s, err, sizeof err));
    storage_close(s);
    storage_boot_free(&b);
    s = open_ok(&b);
    cr_assert_eq(b.n_entries, 5);
    assert_entry(&b, 5, 2);
    /* Replacing the whole log may lower the terms: nothing comes before it. */
    must(append_range(s, 1, 1, 1));
    cr_assert_eq(storage_last_index(s), 1);
    storage_close(s);
    storage_boot_free(&b);
}

/* ---- truncation ---- */

Test(storage, truncation_then_append)
{
    struct storage_boot b;
    struct storage *s = open_ok(&b);
    must(storage_save_hard_state(s, 2, 1, err, sizeof err));
    must(append_range(s, 1, 50, 1));
    must(storage_sync(s, err, sizeof err));
    must(append_range(s, 30, 11, 2)); /* drops 30..50, writes 30..40 */
    cr_assert_eq(storage_last_index(s), 40);
    must(storage_sync(s, err, sizeof err));
    storage_close(s);
    storage_boot_free(&b);

    s = open_ok(&b);
    cr_assert_eq(b.n_entries, 40);
    for (raft_index i = 1; i < 30; i++)
        assert_entry(&b, i, 1);
    for (raft_index i = 30; i <= 40; i++)
        assert_entry(&b, i, 2);
    /* A pure truncation (no entries) down to 10, then one more entry. */
    must(storage_append(s, 11, NULL, 0, err, sizeof err));
    cr_assert_eq(storage_last_index(s), 10);
    must(append_range(s, 11, 1, 2));
    must(storage_sync(s, err, sizeof err));
    storage_close(s);
    storage_boot_free(&b);

    s = open_ok(&b);
    cr_assert_eq(b.n_entries, 11);
    assert_entry(&b, 10, 1);
    assert_entry(&b, 11, 2);
    /* The truncation to 10 was synced, so record 11's synced field covers 1..10; the
     * sync after it covers record 11 too, and its mark says so. */
    cr_assert_eq(file_size(SEG1), offset_of(12) + MARK);
    cr_assert_eq(synced_units_at(SEG1, offset_of(11)), units(offset_of(11)));
    assert_sync_mark(SEG1, offset_of(12), offset_of(12));
    storage_close(s);
    storage_boot_free(&b);
}

Test(storage, segments_roll_and_truncation_removes_later_ones)
{
    struct storage_boot b;
    struct storage *s = open_ok(&b);
    storage_test_set_segment_bytes(s, 400); /* about 10 records per segment */
    must(storage_save_hard_state(s, 2, 1, err, sizeof err));
    must(append_range(s, 1, 100, 1));
    must(storage_sync(s, err, sizeof err));
    int before = count_segments();
    cr_assert_geq(before, 8, "only %d segments", before);
    must(append_range(s, 15, 3, 2));
    must(storage_sync(s, err, sizeof err));
    cr_assert_leq(count_segments(), 3);
    storage_close(s);
    storage_boot_free(&b);

    s = open_ok(&b);
    cr_assert_eq(b.n_entries, 17);
    for (raft_index i = 1; i < 15; i++)
        assert_entry(&b, i, 1);
    for (raft_index i = 15; i <= 17; i++)
        assert_entry(&b, i, 2);
    /* Truncating to the very first index keeps an empty first segment. */
    must(storage_append(s, 1, NULL, 0, err, sizeof err));
    cr_assert_eq(storage_last_index(s), 0);
    must(append_range(s, 1, 2, 2));
    must(storage_sync(s, err, sizeof err));
    storage_close(s);
    storage_boot_free(&b);

    s = open_ok(&b);
    cr_assert_eq(b.n_entries, 2);
    assert_entry(&b, 1, 2);
    assert_entry(&b, 2, 2);
    cr_assert_eq(count_segments(), 1);
    storage_close(s);
    storage_boot_free(&b);
}

/* ---- recovery ---- */

Test(storage, sync_writes_a_sync_mark_and_records_carry_the_synced_length)
{
    /* The format of docs/STORAGE.md: a record's bytes 5..7 say how much of the segment
     * an fdatasync had covered when it was written (16-byte units, rounded down), and
     * each sync is followed by a sync mark covering everything before it. */
    struct storage_boot b;
    struct storage *s = open_ok(&b);
    must(storage_save_hard_state(s, 1, 1, err, sizeof err));
    must(append_range(s, 1, 10, 1));
    must(storage_sync(s, err, sizeof err));
    must(storage_sync(s, err, sizeof err)); /* nothing new: no second mark */
    const raft_index marks[] = {10, 0};
    cr_assert_eq(file_size(SEG1), offset_with_marks(11, marks));
    for (raft_index i = 1; i <= 10; i++)
        cr_assert_eq(synced_units_at(SEG1, offset_of(i)), 0, "record %" PRIu64, i);
    assert_sync_mark(SEG1, offset_of(11), offset_of(11));
    must(append_range(s, 11, 5, 1));
    must(storage_sync(s, err, sizeof err));
    storage_close(s);
    storage_boot_free(&b);

    const raft_index two[] = {10, 15, 0};
    cr_assert_eq(file_size(SEG1), offset_with_marks(16, two));
    for (raft_index i = 11; i <= 15; i++)
        cr_assert_eq(synced_units_at(SEG1, offset_with_marks(i, two)), units(offset_of(11)),
                     "record %" PRIu64, i);
    assert_sync_mark(SEG1, offset_with_marks(16, two) - MARK, offset_with_marks(16, two) - MARK);

    /* Sync marks are not entries. */
    s = open_ok(&b);
    cr_assert_eq(b.n_entries, 15);
    for (raft_index i = 1; i <= 15; i++)
        assert_entry(&b, i, 1);
    cr_assert_str_empty(b.notice);
    storage_close(s);
    storage_boot_free(&b);
}

Test(storage, append_refuses_the_sync_mark_type)
{
    /* Type 0xFF is the storage's own sync mark, skipped at load: an entry of that type
     * would vanish from the log at the next open. */
    struct storage_boot b;
    struct storage *s = open_ok(&b);
    must(storage_save_hard_state(s, 1, 1, err, sizeof err));
    must(append_range(s, 1, 3, 1));
    uint8_t x = 'x';
    struct raft_entry e = {.term = 1, .type = SYNC_MARK_TYPE, .len = 1, .data = &x};
    cr_assert_eq(storage_append(s, 4, &e, 1, err, sizeof err), STORAGE_EINVAL);
    assert_has(err, "sync mark");
    e = (struct raft_entry){.term = 1, .type = SYNC_MARK_TYPE, .len = 0, .data = NULL};
    cr_assert_eq(storage_append(s, 4, &e, 1, err, sizeof err), STORAGE_EINVAL);
    cr_assert_eq(storage_append(s, 2, &e, 1, err, sizeof err), STORAGE_EINVAL, "no truncation");
    cr_assert(!storage_failed(s));
    cr_assert_eq(storage_last_index(s), 3);
    must(storage_sync(s, err, sizeof err));
    storage_close(s);
    storage_boot_free(&b);
    s = open_ok(&b);
    cr_assert_eq(b.n_entries, 3);
    assert_entry(&b, 3, 1);
    storage_close(s);
    storage_boot_free(&b);
}

Test(storage, torn_last_record_is_dropped)
{
    /* Records appended after the last sync reach the file unsynced (here: handed to
     * the kernel at every append, then the process dies), so a power cut can cut the
     * last of them short. The file then ends inside it: dropped. */
    struct storage_boot b;
    struct storage *s = open_ok(&b);
    must(storage_save_hard_state(s, 1, 1, err, sizeof err));
    must(append_range(s, 1, 10, 1));
    must(storage_sync(s, err, sizeof err));
    storage_test_set_flush_bytes(s, 0);
    must(append_range(s, 11, 2, 1));
    storage_test_crash(s);
    storage_boot_free(&b);
    const raft_index marks[] = {10, 0};
    off_t end = offset_with_marks(13, marks);
    cr_assert_eq(file_size(SEG1), end);
    cut_file(SEG1, end - 3);

    s = open_ok(&b);
    cr_assert_eq(b.n_entries, 11);
    for (raft_index i = 1; i <= 11; i++)
        assert_entry(&b, i, 1);
    char want[320];
    snprintf(want, sizeof want, "dropped the unsynced end of %s/%s: bytes %lld..%lld", dir, SEG1,
             (long long)offset_with_marks(12, marks), (long long)(end - 3));
    assert_has(b.notice, want);
    assert_has(b.notice, "data cut short");
    assert_has(b.notice, "never acknowledged");
    cr_assert_eq(file_size(SEG1), offset_with_marks(12, marks), "the torn bytes are cut off");
    /* Appending goes on right after the valid prefix. */
    must(append_range(s, 12, 1, 1));
    must(storage_sync(s, err, sizeof err));
    storage_close(s);
    storage_boot_free(&b);

    s = open_ok(&b);
    cr_assert_eq(b.n_entries, 12);
    cr_assert_str_empty(b.notice);
    assert_entry(&b, 12, 1);
    storage_close(s);
    storage_boot_free(&b);
}

Test(storage, torn_sync_mark_is_dropped_and_the_synced_batch_kept)
{
    /* The mark is written after the fdatasync and not synced itself: a power cut can
     * cut it (the old test cut the file 3 bytes short of its end; that end is now the
     * mark). The batch before it was synced and stays. */
    write_ten();
    off_t end = offset_of(11) + MARK;
    cr_assert_eq(file_size(SEG1), end);
    cut_file(SEG1, end - 3);
    struct storage_boot b;
    struct storage *s = open_ok(&b);
    cr_assert_eq(b.n_entries, 10);
    for (raft_index i = 1; i <= 10; i++)
        assert_entry(&b, i, 1);
    char want[64];
    snprintf(want, sizeof want, "bytes %lld..%lld", (long long)offset_of(11), (long long)(end - 3));
    assert_has(b.notice, want);
    assert_has(b.notice, "incomplete header");
    cr_assert_eq(file_size(SEG1), offset_of(11));
    must(append_range(s, 11, 1, 1));
    must(storage_sync(s, err, sizeof err));
    storage_close(s);
    storage_boot_free(&b);
    s = open_ok(&b);
    cr_assert_eq(b.n_entries, 11);
    cr_assert_str_empty(b.notice);
    assert_entry(&b, 11, 1);
    storage_close(s);
    storage_boot_free(&b);
}

Test(storage, torn_header_is_dropped_and_a_zero_fill_is_the_end)
{
    /* In the unsynced end (record 11, after the sync mark of 1..10): only 10 bytes of
     * its header made it. */
    write_ten();
    append_then_crash(11, 1, 1);
    off_t at = offset_of(11) + MARK;
    cut_file(SEG1, at + 10);
    assert_open_keeps(10, "incomplete header", at);

    /* The file grew but the data never arrived (zeros after a power cut): zeros after
     * the last record are the end of the log, as in a preallocated segment. Nothing is
     * cut or reported, and the next record goes where the zeros start. */
    cut_file(SEG1, at + 300);
    struct storage_boot b;
    struct storage *s = open_ok(&b);
    cr_assert_eq(b.n_entries, 10);
    cr_assert_str_empty(b.notice);
    cr_assert_eq(file_size(SEG1), at + 300, "the zeros stay");
    must(append_range(s, 11, 1, 1));
    must(storage_sync(s, err, sizeof err));
    storage_close(s);
    storage_boot_free(&b);
    cr_assert_eq(file_size(SEG1), at + 300, "written over the zeros");
    s = open_ok(&b);
    cr_assert_eq(b.n_entries, 11);
    assert_entry(&b, 11, 1);
    cr_assert_str_empty(b.notice);
    storage_close(s);
    storage_boot_free(&b);
}

static void assert_open_refused_at(off_t off)
{
    struct storage_boot b;
    struct storage *s = (struct storage *)1;
    char want[64];
    int rc = storage_open(dir, 0, &s, &b, err, sizeof err);
    cr_assert_eq(rc, STORAGE_ECORRUPT, "rc %d: %s", rc, err);
    cr_assert_null(s);
    cr_assert_eq(b.n_entries, 0);
    cr_assert(strstr(err, SEG1) != NULL, "message: %s", err);
    snprintf(want, sizeof want, "byte offset %lld ", (long long)off);
    cr_assert(strstr(err, want) != NULL, "message lacks '%s': %s", want, err);
    storage_boot_free(&b);
}

Test(storage, damaged_last_record_of_a_synced_batch_is_refused)
{
    /* This used to be dropped as a torn write ("damaged_last_record_counts_as_torn"),
     * on the argument that a majority holds the record. Wrong: this peer may have been
     * part of the majority that committed it, and the leader may since have died.
     * Record 10 was synced, and the sync mark written after that sync says so: the
     * damage is rot, and open refuses instead of losing a committed entry. */
    write_ten();
    flip_byte(SEG1, offset_of(10) + 30);
    assert_open_refused_at(offset_of(10));
    assert_has(err, "in data that was synced (a later record says so)");
    assert_has(err, "data checksum mismatch");
    cr_assert_eq(file_size(SEG1), offset_of(11) + MARK, "refusing repairs nothing");

    /* The same in the header (its length can then not be trusted). */
    flip_byte(SEG1, offset_of(10) + 30);
    flip_byte(SEG1, offset_of(10) + 9);
    assert_open_refused_at(offset_of(10));
    assert_has(err, "header checksum mismatch");
}

Test(storage, damaged_last_unsynced_record_counts_as_torn)
{
    /* Record 11 was written after the last sync and nothing after it says a sync
     * covered it: a power cut may have kept only some of its bytes. */
    write_ten();
    append_then_crash(11, 1, 1);
    off_t at = offset_of(11) + MARK;
    flip_byte(SEG1, at + 30);
    assert_open_keeps(10, "data checksum mismatch, then 0 valid unsynced records", at);
}

Test(storage, damaged_last_record_whose_sync_mark_never_arrived_counts_as_torn)
{
    /* The blind spot (docs/STORAGE.md): a power cut right after the sync lost the
     * mark, and then the synced record rotted. Nothing on disk tells this from a torn
     * unsynced write, so it is dropped. */
    write_ten();
    cut_file(SEG1, offset_of(11));
    flip_byte(SEG1, offset_of(10) + 30);
    struct storage_boot b;
    struct storage *s = open_ok(&b);
    cr_assert_eq(b.n_entries, 9);
    assert_has(b.notice, "checksum");
    cr_assert_eq(file_size(SEG1), offset_of(10));
    storage_close(s);
    storage_boot_free(&b);
}

Test(storage, flipped_byte_in_middle_record_data_refuses_open)
{
    write_ten();
    flip_byte(SEG1, offset_of(5) + 26);
    assert_open_refused_at(offset_of(5));
    /* Refusing must not have "repaired" anything. */
    cr_assert_eq(file_size(SEG1), offset_of(11) + MARK);
}

Test(storage, flipped_byte_in_middle_record_header_refuses_open)
{
    write_ten();
    flip_byte(SEG1, offset_of(5)); /* the length field */
    assert_open_refused_at(offset_of(5));
}

/* Entries 1..10 synced, then 11..20 handed to the kernel and the process killed: the
 * file holds header, 1..10, the sync mark, 11..20, and nothing vouches for 11..20. */
static const raft_index batch_of_ten[] = {10, 0};

static void synced_ten_then_ten_unsynced(void)
{
    struct storage_boot b;
    struct storage *s = open_ok(&b);
    must(storage_save_hard_state(s, 1, 1, err, sizeof err));
    must(append_range(s, 1, 10, 1));
    must(storage_sync(s, err, sizeof err));
    storage_test_set_flush_bytes(s, 0);
    must(append_range(s, 11, 10, 1));
    storage_test_crash(s);
    storage_boot_free(&b);
    cr_assert_eq(file_size(SEG1), offset_with_marks(21, batch_of_ten));
    /* They only know that 1..10 were synced (the mark does not count: unsynced). */
    for (raft_index i = 11; i <= 20; i++)
        cr_assert_eq(synced_units_at(SEG1, offset_with_marks(i, batch_of_ten)),
                     units(offset_of(11)), "record %" PRIu64, i);
}

/* Opens a log where [hole, ...) was dropped as the unsynced end, with `later` valid
 * records after the damage, and checks that it keeps 1..kept, that appending then
 * works and that the next open finds nothing to repair. */
static void assert_hole_dropped(off_t hole, raft_index kept, size_t later, const char *why)
{
    off_t size = file_size(SEG1);
    struct storage_boot b;
    struct storage *s = open_ok(&b);
    cr_assert_eq(b.n_entries, kept, "kept %zu entries, notice: %s", b.n_entries, b.notice);
    for (raft_index i = 1; i <= kept; i++)
        assert_entry(&b, i, 1);
    char want[512];
    snprintf(want, sizeof want,
             "dropped the unsynced end of %s/%s: bytes %lld..%lld (%s, then %zu valid unsynced "
             "records; never acknowledged)",
             dir, SEG1, (long long)hole, (long long)size, why, later);
    assert_has(b.notice, want);
    cr_assert_eq(file_size(SEG1), hole, "cut at the hole");
    must(storage_save_hard_state(s, 2, 0, err, sizeof err));
    must(append_range(s, kept + 1, 3, 2));
    must(storage_sync(s, err, sizeof err));
    storage_close(s);
    storage_boot_free(&b);
    s = open_ok(&b);
    cr_assert_str_empty(b.notice);
    cr_assert_eq(b.n_entries, kept + 3);
    for (raft_index i = 1; i <= kept; i++)
        assert_entry(&b, i, 1);
    for (raft_index i = kept + 1; i <= kept + 3; i++)
        assert_entry(&b, i, 2);
    storage_close(s);
    storage_boot_free(&b);
}

Test(storage, hole_in_the_unsynced_tail_is_dropped)
{
    /* The unsynced end of a file reaches the disk page by page in any order: a power
     * cut can keep records 15..20 and lose 14. The old rule refused that ("damage
     * with valid data after it"), so a peer could not restart after an ordinary power
     * cut. Now: nothing after the hole says a sync covered it, so it is dropped from
     * there (14..20 were never acknowledged), and 11..13 are kept (and synced). */
    synced_ten_then_ten_unsynced();
    off_t hole = offset_with_marks(14, batch_of_ten);
    overwrite(SEG1, hole, (size_t)record_size(14, 1), 0);
    assert_hole_dropped(hole, 13, 6, "header checksum mismatch");
}

Test(storage, garbled_data_in_the_unsynced_tail_is_dropped)
{
    /* The same with stale bytes instead of zeros, inside record 14's data. */
    synced_ten_then_ten_unsynced();
    off_t at = offset_with_marks(14, batch_of_ten);
    overwrite(SEG1, at + 26, 5, 0x5a);
    assert_hole_dropped(at, 13, 6, "data checksum mismatch");
}

Test(storage, hole_over_the_unsynced_sync_mark_is_dropped)
{
    /* The mark itself was never synced and can be the page that is lost. The records
     * after it claim only what came before the mark: dropped from the mark, and the
     * synced batch 1..10 kept. */
    synced_ten_then_ten_unsynced();
    overwrite(SEG1, offset_of(11), MARK + 8, 0);
    assert_hole_dropped(offset_of(11), 10, 9, "header checksum mismatch");
}

Test(storage, damage_exactly_where_the_sync_ended_is_unsynced)
{
    /* The rule's boundary: a synced mark of X says bytes 0..X-1 were synced, so damage
     * starting at X is still the unsynced end. One entry of 16 bytes puts the end of
     * the first sync at 24 + 24 + 16 = 64, a whole number of 16-byte units. */
    struct storage_boot b;
    struct storage *s = open_ok(&b);
    must(storage_save_hard_state(s, 1, 1, err, sizeof err));
    uint8_t data[16] = "sixteen bytes..";
    struct raft_entry e = {.term = 1, .type = RAFT_ENTRY_COMMAND, .len = 16, .data = data};
    must(storage_append(s, 1, &e, 1, err, sizeof err));
    must(storage_sync(s, err, sizeof err));
    storage_test_set_flush_bytes(s, 0);
    must(append_range(s, 2, 3, 1));
    storage_test_crash(s);
    storage_boot_free(&b);
    assert_sync_mark(SEG1, 64, 64);
    cr_assert_eq(synced_units_at(SEG1, 64 + MARK), units(64));
    overwrite(SEG1, 64, MARK, 0);
    s = open_ok(&b);
    cr_assert_eq(b.n_entries, 1, "notice: %s", b.notice);
    cr_assert(b.entries[0].len == 16 && memcmp(b.entries[0].data, data, 16) == 0);
    assert_has(b.notice, "bytes 64..");
    assert_has(b.notice, "then 3 valid unsynced records");
    cr_assert_eq(file_size(SEG1), 64);
    storage_close(s);
    storage_boot_free(&b);
}

Test(storage, rot_in_synced_data_with_later_records_is_refused)
{
    struct storage_boot b;
    struct storage *s = open_ok(&b);
    must(storage_save_hard_state(s, 1, 1, err, sizeof err));
    must(append_range(s, 1, 10, 1));
    must(storage_sync(s, err, sizeof err));
    must(append_range(s, 11, 10, 1));
    must(storage_sync(s, err, sizeof err));
    storage_close(s);
    storage_boot_free(&b);
    const raft_index marks[] = {10, 20, 0};
    off_t end = offset_with_marks(21, marks);
    cr_assert_eq(file_size(SEG1), end);
    assert_sync_mark(SEG1, offset_of(11), offset_of(11));
    assert_sync_mark(SEG1, end - MARK, end - MARK);

    /* The last record of the first batch: the second batch says it was synced. */
    flip_byte(SEG1, offset_of(10) + 30);
    assert_open_refused_at(offset_of(10));
    assert_has(err, "in data that was synced");
    cr_assert_eq(file_size(SEG1), end, "refusing repairs nothing");
    flip_byte(SEG1, offset_of(10) + 30);

    /* The first batch's sync mark: written unsynced, but the second sync covered it. */
    flip_byte(SEG1, offset_of(11) + 2);
    assert_open_refused_at(offset_of(11));
    flip_byte(SEG1, offset_of(11) + 2);

    /* Without the second mark (a power cut right after the second sync), the second
     * batch's own records still say the first batch was synced. */
    cut_file(SEG1, end - MARK);
    flip_byte(SEG1, offset_of(5) + 26);
    assert_open_refused_at(offset_of(5));
    assert_has(err, "(a later record says so)");
    flip_byte(SEG1, offset_of(5) + 26);

    /* Undamaged, it opens. */
    s = open_ok(&b);
    cr_assert_eq(b.n_entries, 20);
    cr_assert_str_empty(b.notice);
    storage_close(s);
    storage_boot_free(&b);
}

Test(storage, entries_a_killed_process_left_reopen_and_count_as_synced)
{
    /* A process killed with kill -9 leaves records in the page cache that no fsync
     * covered. Open loads them and makes them durable (fdatasync of every segment it
     * reads, fsync of the directory; raft_new counts the loaded log as persisted).
     * The fsyncs themselves cannot be seen from here (the simulator's model file
     * system and the strace check see them); what can be seen: the entries are there,
     * and the records written after the open vouch for them, so later damage to them
     * is refused as rot instead of dropped as a torn write. */
    synced_ten_then_ten_unsynced();
    off_t end = offset_with_marks(21, batch_of_ten);
    struct storage_boot b;
    struct storage *s = open_ok(&b);
    cr_assert_eq(b.n_entries, 20);
    for (raft_index i = 1; i <= 20; i++)
        assert_entry(&b, i, 1);
    cr_assert_str_empty(b.notice);
    storage_test_set_flush_bytes(s, 0);
    must(append_range(s, 21, 1, 1));
    storage_test_crash(s);
    storage_boot_free(&b);
    cr_assert_eq(synced_units_at(SEG1, end), units(end), "record 21 must cover what open loaded");

    flip_byte(SEG1, offset_with_marks(15, batch_of_ten) + 26);
    assert_open_refused_at(offset_with_marks(15, batch_of_ten));
}

/* Segments of 400 bytes: entries 1..k fill the first one, which ends at *end (its sync
 * mark follows); returns k. */
static raft_index first_segment_entries(off_t *end, off_t *last)
{
    off_t off = 24;
    raft_index i = 1;
    for (; off < 400; i++) {
        *last = off;
        off += record_size(i, 1);
    }
    *end = off;
    return i - 1;
}

Test(storage, damage_in_an_earlier_segment_refuses_open)
{
    off_t end = 0, last = 0;
    first_segment_entries(&end, &last);
    for (int run = 0; run < 2; run++) {
        snprintf(dir, sizeof dir, "%s/earlier%d", root, run);
        struct storage_boot b;
        struct storage *s = open_ok(&b);
        storage_test_set_segment_bytes(s, 400);
        must(storage_save_hard_state(s, 1, 1, err, sizeof err));
        must(append_range(s, 1, 30, 1));
        must(storage_sync(s, err, sizeof err));
        storage_close(s);
        storage_boot_free(&b);
        /* A full segment is synced with its sync mark before the next is created. */
        cr_assert_eq(file_size(SEG1), end + MARK);
        assert_sync_mark(SEG1, end, end);
        if (run == 0) {
            /* Cut the last record of the first segment: in the last segment that would
             * be a torn write, here it is lost acknowledged data. */
            cut_file(SEG1, end - 2);
            assert_open_refused_at(last);
        } else {
            /* Even its sync mark was synced: damage there is rot too. */
            flip_byte(SEG1, end + 1);
            assert_open_refused_at(end);
        }
        assert_has(err, "(not the last segment)");
    }
}

Test(storage, torn_header_of_an_unsynced_last_segment_is_removed_with_its_records)
{
    off_t end = 0, last = 0;
    raft_index k = first_segment_entries(&end, &last);
    char seg2[40];
    snprintf(seg2, sizeof seg2, "log-%020" PRIu64, k + 1);
    for (int synced = 0; synced < 2; synced++) {
        snprintf(dir, sizeof dir, "%s/seg%d", root, synced);
        struct storage_boot b;
        struct storage *s = open_ok(&b);
        storage_test_set_segment_bytes(s, 400);
        must(storage_save_hard_state(s, 1, 1, err, sizeof err));
        must(append_range(s, 1, k, 1));
        must(storage_sync(s, err, sizeof err));
        storage_test_set_flush_bytes(s, 0);
        must(append_range(s, k + 1, 3, 1)); /* starts seg2 */
        if (synced)
            must(storage_sync(s, err, sizeof err));
        storage_test_crash(s);
        storage_boot_free(&b);
        cr_assert_eq(count_segments(), 2);
        flip_byte(seg2, 3); /* the magic */
        s = (struct storage *)1;
        int rc = storage_open(dir, 0, &s, &b, err, sizeof err);
        if (!synced) {
            /* The segment's header and records all came after the last sync: a power
             * cut that kept the records and lost the header's page is ordinary (the
             * old rule refused it). */
            cr_assert_eq(rc, STORAGE_OK, "open: %d %s", rc, err);
            cr_assert_eq(b.n_entries, k);
            assert_has(b.notice, "removed");
            assert_has(b.notice, seg2);
            assert_has(b.notice, "3 unsynced records after it");
            cr_assert_eq(count_segments(), 1);
            must(append_range(s, k + 1, 1, 1));
            must(storage_sync(s, err, sizeof err));
            storage_close(s);
            storage_boot_free(&b);
            s = open_ok(&b);
            cr_assert_eq(b.n_entries, k + 1);
            cr_assert_str_empty(b.notice);
            storage_close(s);
        } else {
            /* Its sync mark says a sync covered it: the header was synced, and its
             * damage is rot. */
            cr_assert_eq(rc, STORAGE_ECORRUPT, "open: %d %s", rc, err);
            cr_assert_null(s);
            assert_has(err, seg2);
            assert_has(err, "damaged segment header at byte offset 0 with synced records");
            cr_assert_eq(count_segments(), 2);
        }
        storage_boot_free(&b);
    }
}

/* ---- alternating metadata ---- */

static void save_three(void)
{
    struct storage_boot b;
    struct storage *s = open_ok(&b);
    must(storage_save_hard_state(s, 1, 1, err, sizeof err)); /* meta1, version 1 */
    must(storage_save_hard_state(s, 2, 1, err, sizeof err)); /* meta2, version 2 */
    must(storage_save_hard_state(s, 3, 2, err, sizeof err)); /* meta1, version 3 */
    must(append_range(s, 1, 3, 2));
    must(storage_sync(s, err, sizeof err));
    storage_close(s);
    storage_boot_free(&b);
}

Test(storage, damaged_newest_meta_falls_back_to_the_older_copy)
{
    /* meta1 holds the newest save. If it is damaged, that save was in progress at the
     * crash and never acknowledged, so meta2 is the last acknowledged state. */
    save_three();
    cr_assert_eq(file_size("meta1"), 36);
    flip_byte("meta1", 17);
    struct storage_boot b;
    struct storage *s = open_ok(&b);
    cr_assert_eq(b.term, 2);
    cr_assert_eq(b.voted_for, 1);
    cr_assert_eq(b.n_entries, 3);
    /* The next save overwrites the damaged copy and wins from then on. */
    must(storage_save_hard_state(s, 4, 0, err, sizeof err));
    storage_close(s);
    storage_boot_free(&b);
    s = open_ok(&b);
    cr_assert_eq(b.term, 4);
    cr_assert_eq(b.voted_for, 0);
    storage_close(s);
    storage_boot_free(&b);
    /* And meta2 (version 2) is untouched, so damaging meta1 again gives term 2 again. */
    flip_byte("meta1", 3);
    s = open_ok(&b);
    cr_assert_eq(b.term, 2);
    storage_close(s);
    storage_boot_free(&b);
}

Test(storage, meta_fallback_refused_when_the_log_proves_it_stale)
{
    /* Entries of term 3 exist, so term 3 was durable once: a fallback to term 2 would
     * let this peer vote twice in term 3. Only rot, not a crash, can cause this. */
    save_three();
    struct storage_boot b;
    struct storage *s = open_ok(&b);
    must(append_range(s, 4, 2, 3));
    must(storage_sync(s, err, sizeof err));
    storage_close(s);
    storage_boot_free(&b);
    flip_byte("meta1", 20);
    s = NULL;
    cr_assert_eq(storage_open(dir, 0, &s, &b, err, sizeof err), STORAGE_ECORRUPT);
    cr_assert(strstr(err, "saved term is 2") != NULL, "message: %s", err);
    cr_assert_null(s);
}

Test(storage, both_meta_copies_damaged_refuses_open)
{
    save_three();
    flip_byte("meta1", 9);
    cut_file("meta2", 20);
    struct storage_boot b;
    struct storage *s = NULL;
    cr_assert_eq(storage_open(dir, 0, &s, &b, err, sizeof err), STORAGE_ECORRUPT);
    cr_assert(strstr(err, "meta1") && strstr(err, "meta2"), "message: %s", err);
}

Test(storage, torn_first_meta_write_means_nothing_was_saved)
{
    struct storage_boot b;
    struct storage *s = open_ok(&b);
    must(storage_save_hard_state(s, 1, 1, err, sizeof err));
    storage_close(s);
    storage_boot_free(&b);
    cut_file("meta1", 12);
    s = open_ok(&b);
    cr_assert_eq(b.term, 0);
    cr_assert_eq(b.voted_for, RAFT_NOBODY);
    must(storage_save_hard_state(s, 1, 2, err, sizeof err));
    storage_close(s);
    storage_boot_free(&b);
    s = open_ok(&b);
    cr_assert_eq(b.term, 1);
    cr_assert_eq(b.voted_for, 2);
    storage_close(s);
    storage_boot_free(&b);
}

/* ---- the lock ---- */

Test(storage, lock_refuses_a_second_open)
{
    struct storage_boot b, b2;
    struct storage *s = open_ok(&b);
    struct storage *s2 = (struct storage *)1;
    cr_assert_eq(storage_open(dir, 0, &s2, &b2, err, sizeof err), STORAGE_ELOCKED);
    cr_assert_null(s2);
    cr_assert(strstr(err, "in use by another process") != NULL, "message: %s", err);
    cr_assert(strstr(err, "LOCK") != NULL, "message: %s", err);
    storage_close(s);
    storage_boot_free(&b);
    s = open_ok(&b);
    storage_close(s);
    storage_boot_free(&b);

    /* A process that dies without closing leaves no lock behind. */
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        struct storage *c = NULL;
        _exit(storage_open(dir, 0, &c, &b, NULL, 0) == STORAGE_OK ? 0 : 1);
    }
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    s = open_ok(&b);
    storage_close(s);
    storage_boot_free(&b);
}

/* ---- speed ---- */

/* CPU time of this process (user and system: reading the log counts), not wall-clock
 * time, which a loaded machine stretches by however long it deschedules the test. */
static double cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Wall-clock time, for a loose bound next to the CPU one: time spent blocked on the disk
 * (an fsync per segment, say) is no CPU time. Loose, so that only that, and not a
 * descheduled moment on a loaded machine, can reach it. */
static double wall_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

Test(storage, million_entries_load_quickly, .timeout = 300)
{
    enum { TOTAL = 1000000, BATCH = 10000 };
    static struct raft_entry e[BATCH];
    static char text[BATCH][21];
    struct storage_boot b;
    struct storage *s = open_ok(&b);
    storage_test_set_prealloc(s, true); /* as the daemon writes it: the last one ends in zeros */
    must(storage_save_hard_state(s, 1, 0, err, sizeof err));
    for (unsigned first = 1; first <= TOTAL; first += BATCH) {
        for (unsigned i = 0; i < BATCH; i++) {
            snprintf(text[i], sizeof text[i], "cmd%017u", first + i);
            e[i] = (struct raft_entry){.term = 1, .type = 1, .len = 20, .data = (uint8_t *)text[i]};
        }
        must(storage_append(s, first, e, BATCH, err, sizeof err));
    }
    must(storage_sync(s, err, sizeof err));
    storage_close(s);
    storage_boot_free(&b);

    double t0 = cpu_seconds(), w0 = wall_seconds();
    s = open_ok(&b);
    double secs = cpu_seconds() - t0, wall = wall_seconds() - w0;
    printf("storage: opened a log of %zu entries in %.3f s of CPU, %.3f s in all (%d segments)\n",
           b.n_entries, secs, wall, count_segments());
    fflush(stdout);
    cr_assert_eq(b.n_entries, TOTAL);
    for (unsigned i = 1; i <= TOTAL; i += 99999) {
        char want[21];
        snprintf(want, sizeof want, "cmd%017u", i);
        cr_assert(b.entries[i - 1].len == 20 && memcmp(b.entries[i - 1].data, want, 20) == 0);
    }
    cr_assert_eq(storage_last_index(s), TOTAL);
    cr_assert_lt(secs, 5.0 * test_time_scale(), "open took %.3f s", secs);
    cr_assert_lt(wall, 30.0 * test_time_scale(), "open took %.3f s of wall-clock time", wall);
    storage_close(s);
    storage_boot_free(&b);
}

/* ---- I/O errors ---- */

Test(storage, disk_full_is_reported_and_sticks)
{
    struct storage_boot b;
    struct storage *s = open_ok(&b);
    must(storage_save_hard_state(s, 1, 1, err, sizeof err));
    must(append_range(s, 1, 5, 1));
    must(storage_sync(s, err, sizeof err));

    /* From now on the segment's writes land on /dev/full: a real ENOSPC. */
    int full = open("/dev/full", O_WRONLY);
    cr_assert(full >= 0);
    cr_assert(dup2(full, storage_test_log_fd(s)) >= 0);
    close(full);
    must(append_range(s, 6, 5, 1)); /* only queued */
    cr_assert_eq(storage_sync(s, err, sizeof err), STORAGE_EIO);
    cr_assert(strstr(err, strerror(ENOSPC)) != NULL, "message: %s", err);
    cr_assert(strstr(err, SEG1) != NULL, "message: %s", err);
    cr_assert(storage_failed(s));
    cr_assert_eq(append_range(s, 11, 1, 1), STORAGE_EIO);
    cr_assert(strstr(err, "failed earlier") != NULL, "message: %s", err);
    cr_assert_eq(storage_save_hard_state(s, 2, 0, err, sizeof err), STORAGE_EIO);
    cr_assert_eq(storage_sync(s, err, sizeof err), STORAGE_EIO);
    storage_close(s);
    storage_boot_free(&b);

    s = open_ok(&b);
    cr_assert_eq(b.term, 1);
    cr_assert_eq(b.n_entries, 5);
    storage_close(s);
    storage_boot_free(&b);
}

/* What the fault-injection run below does after the baseline (term 1, entries 1..5). */
enum op_kind { OP_SAVE, OP_APPEND, OP_SYNC };
struct op {
    enum op_kind kind;
    raft_term term;
    raft_id vote;
    raft_index first;
    size_t n;
};
static const struct op script[] = {
    {OP_SAVE, 2, 1, 0, 0},    {OP_APPEND, 2, 0, 6, 8},   {OP_SYNC, 0, 0, 0, 0},
    {OP_APPEND, 2, 0, 14, 8}, {OP_APPEND, 2, 0, 22, 4},  {OP_SYNC, 0, 0, 0, 0},
    {OP_SAVE, 3, 0, 0, 0},    {OP_SAVE, 3, 2, 0, 0},     {OP_APPEND, 3, 0, 8, 6},
    {OP_SYNC, 0, 0, 0, 0},    {OP_APPEND, 3, 0, 14, 10}, {OP_SYNC, 0, 0, 0, 0},
    {OP_APPEND, 3, 0, 20, 0}, {OP_SYNC, 0, 0, 0, 0},     {OP_APPEND, 3, 0, 20, 3},
    {OP_SYNC, 0, 0, 0, 0},
};

/* A log as the terms of entries 1..n (contents follow from index and term). */
struct model {
    raft_term terms[64];
    size_t n;
};

static void model_append(struct model *m, raft_index first, size_t n, raft_term term)
{
    m->n = first - 1;
    for (size_t i = 0; i < n; i++)
        m->terms[m->n++] = term;
}

static bool is_prefix(const struct storage_boot *b, const struct model *m)
{
    if (b->n_entries > m->n)
        return false;
    for (size_t i = 0; i < b->n_entries; i++)
        if (b->entries[i].term != m->terms[i])
            return false;
    return true;
}

/* Runs the script with the k-th writing I/O call failing; returns false when the script
 * made fewer calls than that (so every point has been tried). */
static bool run_with_fault(long k)
{
    struct storage_boot b;
    struct model acked = {.n = 0}, pending;
    raft_term hs_term = 1, try_term = 1;
    raft_id hs_vote = 1, try_vote = 1;
    bool failed = false;

    snprintf(dir, sizeof dir, "%s/fault%ld", root, k);
    struct storage *s = open_ok(&b);
    storage_test_set_segment_bytes(s, 256);
    storage_test_set_prealloc(s, true); /* preallocated segments, the daemon's */
    must(storage_save_hard_state(s, 1, 1, err, sizeof err));
    must(append_range(s, 1, 5, 1));
    must(storage_sync(s, err, sizeof err));
    model_append(&acked, 1, 5, 1);
    pending = acked;

    storage_test_fail_io(s, k, k % 2 ? ENOSPC : EIO);
    for (size_t i = 0; i < sizeof script / sizeof script[0]; i++) {
        const struct op *op = &script[i];
        int rc;
        if (op->kind == OP_SAVE) {
            if (!failed) {
                try_term = op->term;
                try_vote = op->vote;
            }
            rc = storage_save_hard_state(s, op->term, op->vote, err, sizeof err);
            if (rc == STORAGE_OK) {
                hs_term = op->term;
                hs_vote = op->vote;
            }
        } else if (op->kind == OP_APPEND) {
            if (!failed)
                model_append(&pending, op->first, op->n, op->term);
            rc = append_range(s, op->first, op->n, op->term);
        } else {
            rc = storage_sync(s, err, sizeof err);
            if (rc == STORAGE_OK)
                acked = pending;
            storage_prepare(s); /* as the daemon does once it has answered */
        }
        if (failed) {
            cr_assert_eq(rc, STORAGE_EIO, "fault %ld op %zu: a failed storage went on", k, i);
        } else if (rc != STORAGE_OK) {
            cr_assert_eq(rc, STORAGE_EIO, "fault %ld op %zu: rc %d %s", k, i, rc, err);
            cr_assert(storage_failed(s));
            failed = true;
        }
    }
    storage_close(s);
    storage_boot_free(&b);

    /* Restart: the state is the acknowledged one, or the one being written. */
    s = open_ok(&b);
    cr_assert((b.term == hs_term && b.voted_for == hs_vote) ||
                  (b.term == try_term && b.voted_for == try_vote),
              "fault %ld: hard state %" PRIu64 "/%d", k, b.term, b.voted_for);
    size_t common = 0;
    while (common < acked.n && common < pending.n && acked.terms[common] == pending.terms[common])
        common++;
    cr_assert(is_prefix(&b, &acked) || is_prefix(&b, &pending),
              "fault %ld: loaded log of %zu entries is neither old nor new", k, b.n_entries);
    cr_assert_geq(b.n_entries, common, "fault %ld: acknowledged entries lost", k);
    for (size_t i = 0; i < b.n_entries; i++)
        assert_entry(&b, i + 1, b.entries[i].term);

    /* And it accepts writes again. */
    size_t n = b.n_entries;
    must(storage_save_hard_state(s, b.term + 1, 0, err, sizeof err));
    must(append_range(s, n + 1, 2, b.term + 1));
    must(storage_sync(s, err, sizeof err));
    raft_term last_term = b.term + 1;
    storage_close(s);
    storage_boot_free(&b);
    s = open_ok(&b);
    cr_assert_eq(b.n_entries, n + 2);
    assert_entry(&b, n + 2, last_term);
    storage_close(s);
    storage_boot_free(&b);
    return failed;
}

Test(storage, every_io_failure_point_leaves_a_state_that_opens, .timeout = 120)
{
    long k = 0;
    while (run_with_fault(k))
        k++;
    printf("storage: injected an I/O failure at each of %ld points\n", k);
    fflush(stdout);
    cr_assert_geq(k, 20, "the script should reach many I/O calls, got %ld", k);
}

/* ---- compaction ---- */

static struct storage *open_at(raft_index snapshot_index, struct storage_boot *boot)
{
    struct storage *s = NULL;
    int rc = storage_open(dir, snapshot_index, &s, boot, err, sizeof err);
    cr_assert_eq(rc, STORAGE_OK, "open at %" PRIu64 ": %d %s", snapshot_index, rc, err);
    cr_assert_eq(boot->first_index, snapshot_index + 1);
    cr_assert_eq(storage_first_index(s), snapshot_index + 1);
    return s;
}

/* First index of the oldest segment on disk, 0 when there is none. */
static raft_index oldest_segment(void)
{
    char cmd[256];
    unsigned long long first = 0;
    snprintf(cmd, sizeof cmd, "ls %s | grep '^log-' | sort | head -1 | cut -c5-", dir);
    FILE *f = popen(cmd, "r");
    if (fscanf(f, "%llu", &first) != 1)
        first = 0;
    pclose(f);
    return first;
}

/* 100 entries of term 1 in segments of about 10 records; returns the open storage. */
static struct storage *write_hundred_small(struct storage_boot *b)
{
    struct storage *s = open_ok(b);
    storage_test_set_segment_bytes(s, 400);
    must(storage_save_hard_state(s, 3, 1, err, sizeof err));
    must(append_range(s, 1, 100, 1));
    must(storage_sync(s, err, sizeof err));
    return s;
}

Test(storage, compact_deletes_whole_segments_and_open_skips_older_records)
{
    struct storage_boot b;
    struct storage *s = write_hundred_small(&b);
    int before = count_segments();
    must(storage_compact(s, 55, 1, err, sizeof err));
    cr_assert_eq(storage_first_index(s), 56);
    cr_assert_eq(storage_last_index(s), 100);
    int after = count_segments();
    raft_index oldest = oldest_segment();
    cr_assert_lt(after, before);
    cr_assert(oldest > 1 && oldest <= 56, "oldest segment starts at %" PRIu64, oldest);
    cr_assert_geq(before - after, 4, "only %d of %d segments deleted", before - after, before);
    /* Compacting again below the first index changes nothing. */
    must(storage_compact(s, 30, 1, err, sizeof err));
    cr_assert_eq(storage_first_index(s), 56);
    cr_assert_eq(count_segments(), after);
    must(append_range(s, 101, 5, 2));
    must(storage_sync(s, err, sizeof err));
    storage_close(s);
    storage_boot_free(&b);

    s = open_at(55, &b);
    cr_assert_eq(b.n_entries, 50);
    cr_assert_str_empty(b.notice);
    for (raft_index i = 56; i <= 100; i++)
        assert_entry(&b, i, 1);
    for (raft_index i = 101; i <= 105; i++)
        assert_entry(&b, i, 2);
    cr_assert_eq(oldest_segment(), oldest, "open must not delete a partly covered segment");
    /* Dropping every entry after the snapshot keeps the older records in that segment;
     * new entries follow them, and the next open still skips them. */
    must(storage_append(s, 56, NULL, 0, err, sizeof err));
    cr_assert_eq(storage_last_index(s), 55);
    must(append_range(s, 56, 3, 3));
    must(storage_sync(s, err, sizeof err));
    storage_close(s);
    storage_boot_free(&b);

    s = open_at(55, &b);
    cr_assert_eq(b.n_entries, 3);
    for (raft_index i = 56; i <= 58; i++)
        assert_entry(&b, i, 3);
    storage_close(s);
    storage_boot_free(&b);
}

Test(storage, compacted_prefix_bounds_the_terms_of_appends)
{
    struct storage_boot b;
    struct storage *s = write_hundred_small(&b);
    must(append_range(s, 101, 10, 2));
    must(storage_compact(s, 105, 2, err, sizeof err));
    /* Replacing every entry after the snapshot: not below the snapshot's term. */
    cr_assert_eq(append_range(s, 106, 1, 1), STORAGE_EINVAL);
    cr_assert(!storage_failed(s));
    must(append_range(s, 106, 1, 3));
    cr_assert_eq(append_range(s, 105, 1, 3), STORAGE_EINVAL); /* inside the snapshot */
    cr_assert_eq(storage_last_index(s), 106);
    storage_close(s);
    storage_boot_free(&b);
}

Test(storage, compact_past_the_end_then_append_at_index_plus_one)
{
    struct storage_boot b;
    struct storage *s = write_hundred_small(&b);
    must(append_range(s, 101, 3, 1)); /* queued only: covered as well */
    must(storage_compact(s, 200, 2, err, sizeof err));
    cr_assert_eq(count_segments(), 0);
    cr_assert_eq(storage_first_index(s), 201);
    cr_assert_eq(storage_last_index(s), 200);
    cr_assert_eq(append_range(s, 202, 1, 2), STORAGE_EINVAL); /* a gap */
    cr_assert_eq(append_range(s, 201, 1, 1), STORAGE_EINVAL); /* below the snapshot's term */
    must(append_range(s, 201, 30, 2));
    must(storage_sync(s, err, sizeof err));
    cr_assert_eq(oldest_segment(), 201);
    storage_close(s);
    storage_boot_free(&b);

    s = open_at(200, &b);
    cr_assert_eq(b.n_entries, 30);
    for (raft_index i = 201; i <= 230; i++)
        assert_entry(&b, i, 2);
    storage_close(s);
    storage_boot_free(&b);

    /* Compacting exactly to the last entry empties the log too. */
    s = open_at(200, &b);
    must(storage_compact(s, 230, 2, err, sizeof err));
    cr_assert_eq(count_segments(), 0);
    storage_close(s);
    storage_boot_free(&b);
    s = open_at(230, &b);
    cr_assert_eq(b.n_entries, 0);
    must(append_range(s, 231, 1, 3));
    must(storage_sync(s, err, sizeof err));
    storage_close(s);
    storage_boot_free(&b);
    s = open_at(230, &b);
    cr_assert_eq(b.n_entries, 1);
    assert_entry(&b, 231, 3);
    storage_close(s);
    storage_boot_free(&b);
}

Test(storage, gap_between_snapshot_and_log_refuses_open)
{
    struct storage_boot b;
    struct storage *s = write_hundred_small(&b);
    must(storage_compact(s, 55, 1, err, sizeof err));
    raft_index oldest = oldest_segment();
    storage_close(s);
    storage_boot_free(&b);

    /* Without the snapshot (index 0), entries 1..oldest-1 are missing. */
    char want[64];
    snprintf(want, sizeof want, "log-%020" PRIu64, oldest);
    s = (struct storage *)1;
    cr_assert_eq(storage_open(dir, 0, &s, &b, err, sizeof err), STORAGE_ECORRUPT);
    cr_assert_null(s);
    cr_assert(strstr(err, want) != NULL, "message: %s", err);
    cr_assert(strstr(err, "byte offset 24") != NULL, "message: %s", err);
    cr_assert(strstr(err, "missing") != NULL, "message: %s", err);
    cr_assert_eq(count_segments() > 0, true, "a refused open deletes nothing");
    storage_boot_free(&b);

    /* An older snapshot than the log's start: the same. */
    cr_assert_eq(storage_open(dir, oldest - 2, &s, &b, err, sizeof err), STORAGE_ECORRUPT);
    storage_boot_free(&b);
    /* Exactly adjacent is fine. */
    s = open_at(oldest - 1, &b);
    cr_assert_eq(b.n_entries, 100 - (oldest - 1));
    storage_close(s);
    storage_boot_free(&b);
}

Test(storage, open_finishes_an_interrupted_compaction)
{
    /* The snapshot was saved but the crash came before storage_compact. */
    struct storage_boot b;
    struct storage *s = write_hundred_small(&b);
    storage_close(s);
    storage_boot_free(&b);
    int before = count_segments();

    s = open_at(55, &b);
    cr_assert(strstr(b.notice, "covers them") != NULL, "notice: %s", b.notice);
    cr_assert_lt(count_segments(), before);
    cr_assert_eq(b.n_entries, 45);
    for (raft_index i = 56; i <= 100; i++)
        assert_entry(&b, i, 1);
    storage_close(s);
    storage_boot_free(&b);

    /* A snapshot past the end: nothing is left, and appends start after it. */
    s = open_at(120, &b);
    cr_assert_eq(b.n_entries, 0);
    cr_assert_eq(count_segments(), 0, "notice: %s", b.notice);
    cr_assert_str_not_empty(b.notice);
    must(append_range(s, 121, 2, 2));
    must(storage_sync(s, err, sizeof err));
    storage_close(s);
    storage_boot_free(&b);
    s = open_at(120, &b);
    cr_assert_eq(b.n_entries, 2);
    assert_entry(&b, 122, 2);
    cr_assert_str_empty(b.notice);
    storage_close(s);
    storage_boot_free(&b);
}

Test(storage, covered_records_are_skipped_unchecked_but_later_damage_is_not)
{
    write_ten();
    /* Rotten data in a record the snapshot covers does not matter. */
    flip_byte(SEG1, offset_of(3) + 26);
    struct storage_boot b;
    struct storage *s = open_at(5, &b);
    cr_assert_eq(b.n_entries, 5);
    for (raft_index i = 6; i <= 10; i++)
        assert_entry(&b, i, 1);
    cr_assert_str_empty(b.notice);
    storage_close(s);
    storage_boot_free(&b);
    /* Damage after the snapshot is still refused, with file and offset. */
    flip_byte(SEG1, offset_of(7) + 26);
    s = (struct storage *)1;
    cr_assert_eq(storage_open(dir, 5, &s, &b, err, sizeof err), STORAGE_ECORRUPT);
    char want[64];
    snprintf(want, sizeof want, "byte offset %lld ", (long long)offset_of(7));
    cr_assert(strstr(err, want) != NULL && strstr(err, SEG1) != NULL, "message: %s", err);
    storage_boot_free(&b);
}

Test(storage, torn_tail_inside_the_covered_part_is_cut_and_the_segment_removed)
{
    write_ten();
    cut_file(SEG1, offset_of(10) + 7);
    struct storage_boot b;
    struct storage *s = open_at(12, &b);
    cr_assert_eq(b.n_entries, 0);
    cr_assert_eq(count_segments(), 0);
    must(append_range(s, 13, 1, 1));
    must(storage_sync(s, err, sizeof err));
    storage_close(s);
    storage_boot_free(&b);
    s = open_at(12, &b);
    assert_entry(&b, 13, 1);
    storage_close(s);
    storage_boot_free(&b);
}

Test(storage, compact_with_another_term_drops_the_entries_after_it)
{
    /* Figure 13: the entry at the snapshot's index has another term, so nothing after
     * it follows the snapshot. */
    struct storage_boot b;
    struct storage *s = write_hundred_small(&b);
    must(storage_compact(s, 40, 2, err, sizeof err));
    cr_assert_eq(storage_first_index(s), 41);
    cr_assert_eq(storage_last_index(s), 40);
    cr_assert_eq(count_segments(), 0);
    storage_close(s);
    storage_boot_free(&b);
    s = open_at(40, &b);
    cr_assert_eq(b.n_entries, 0);
    storage_close(s);
    storage_boot_free(&b);
}

Test(storage, open_with_the_snapshot_term_drops_a_stale_suffix)
{
    /* A crash between saving an installed snapshot (index 5, term 2) and compacting
     * left entries of term 1 after it. */
    write_ten();
    struct storage_boot b;
    struct storage *s = NULL;
    must(storage_open_after_snapshot(dir, 5, 2, &s, &b, err, sizeof err));
    cr_assert_eq(b.first_index, 6);
    cr_assert_eq(b.n_entries, 0);
    cr_assert(strstr(b.notice, "dropped entries 6..10") != NULL, "notice: %s", b.notice);
    storage_close(s);
    storage_boot_free(&b);
    /* Durably: even without the term, the next open sees nothing after 5. */
    s = open_at(5, &b);
    cr_assert_eq(b.n_entries, 0);
    storage_close(s);
    storage_boot_free(&b);

    /* With the matching term nothing is dropped. */
    snprintf(dir, sizeof dir, "%s/other", root);
    write_ten();
    must(storage_open_after_snapshot(dir, 5, 1, &s, &b, err, sizeof err));
    cr_assert_eq(b.n_entries, 5);
    cr_assert_str_empty(b.notice);
    storage_close(s);
    storage_boot_free(&b);
    /* The entry at the snapshot's index is gone (the log starts right after it): a
     * first entry of a lower term than the snapshot's is stale too. */
    s = open_at(5, &b);
    must(storage_compact(s, 20, 1, err, sizeof err));
    must(append_range(s, 21, 3, 1));
    must(storage_sync(s, err, sizeof err));
    storage_close(s);
    storage_boot_free(&b);
    cr_assert_eq(oldest_segment(), 21);
    must(storage_open_after_snapshot(dir, 20, 1, &s, &b, err, sizeof err));
    cr_assert_eq(b.n_entries, 3);
    storage_close(s);
    storage_boot_free(&b);
    must(storage_open_after_snapshot(dir, 20, 2, &s, &b, err, sizeof err));
    cr_assert_eq(b.n_entries, 0);
    cr_assert(strstr(b.notice, "dropped entries 21..23") != NULL, "notice: %s", b.notice);
    /* And the snapshot's term bounds what comes next. */
    cr_assert_eq(append_range(s, 21, 1, 1), STORAGE_EINVAL);
    storage_close(s);
    storage_boot_free(&b);
    cr_assert_eq(storage_open_after_snapshot(dir, 0, 1, &s, &b, err, sizeof err), STORAGE_EINVAL);
}

Test(storage, million_entries_compacted_to_a_hundred_reopen_fast, .timeout = 300)
{
    enum { TOTAL = 1000000, BATCH = 10000, KEEP = 100 };
    static struct raft_entry e[BATCH];
    static char text[BATCH][21];
    struct storage_boot b;
    struct storage *s = open_ok(&b);
    must(storage_save_hard_state(s, 1, 0, err, sizeof err));
    for (unsigned first = 1; first <= TOTAL; first += BATCH) {
        for (unsigned i = 0; i < BATCH; i++) {
            snprintf(text[i], sizeof text[i], "cmd%017u", first + i);
            e[i] = (struct raft_entry){.term = 1, .type = 1, .len = 20, .data = (uint8_t *)text[i]};
        }
        must(storage_append(s, first, e, BATCH, err, sizeof err));
    }
    must(storage_sync(s, err, sizeof err));
    int before = count_segments();
    must(storage_compact(s, TOTAL - KEEP, 1, err, sizeof err));
    int after = count_segments();
    cr_assert_eq(after, 1, "%d of %d segments left", after, before);
    storage_close(s);
    storage_boot_free(&b);

    double t0 = cpu_seconds(), w0 = wall_seconds();
    s = open_at(TOTAL - KEEP, &b);
    double secs = cpu_seconds() - t0, wall = wall_seconds() - w0;
    printf("storage: reopened a log compacted to %zu of %d entries in %.3f s of CPU, %.3f s in "
           "all\n",
           b.n_entries, TOTAL, secs, wall);
    fflush(stdout);
    cr_assert_eq(b.n_entries, KEEP);
    for (unsigned i = 0; i < KEEP; i++) {
        char want[21];
        snprintf(want, sizeof want, "cmd%017u", TOTAL - KEEP + 1 + i);
        cr_assert(b.entries[i].len == 20 && memcmp(b.entries[i].data, want, 20) == 0);
    }
    cr_assert_lt(secs, 1.0 * test_time_scale(), "open took %.3f s", secs);
    cr_assert_lt(wall, 30.0 * test_time_scale(), "open took %.3f s of wall-clock time", wall);
    storage_close(s);
    storage_boot_free(&b);
}

/* Runs appends and a compaction to 20 with the k-th writing I/O call failing, then
 * reopens as the daemon would after a crash: the snapshot at 20 is durable. */
static bool run_compaction_with_fault(long k)
{
    struct storage_boot b;
    bool failed = false;
    size_t acked = 30; /* entries 1..acked (term 1) are durable */

    snprintf(dir, sizeof dir, "%s/cfault%ld", root, k);
    struct storage *s = open_ok(&b);
    storage_test_set_segment_bytes(s, 256);
    storage_test_set_prealloc(s, true); /* preallocated segments, the daemon's */
    must(storage_save_hard_state(s, 1, 1, err, sizeof err));
    must(append_range(s, 1, 30, 1));
    must(storage_sync(s, err, sizeof err));
    storage_test_fail_io(s, k, k % 2 ? ENOSPC : EIO);
    int rc = storage_compact(s, 20, 1, err, sizeof err);
    if (rc == STORAGE_OK)
        rc = append_range(s, 31, 5, 1);
    if (rc == STORAGE_OK)
        rc = storage_sync(s, err, sizeof err);
    storage_prepare(s);
    if (rc == STORAGE_OK)
        acked = 35;
    if (rc == STORAGE_OK)
        rc = storage_compact(s, 40, 1, err, sizeof err); /* past the end */
    if (rc == STORAGE_OK)
        rc = append_range(s, 41, 2, 1);
    if (rc == STORAGE_OK)
        rc = storage_sync(s, err, sizeof err);
    if (rc != STORAGE_OK) {
        cr_assert_eq(rc, STORAGE_EIO, "fault %ld: rc %d %s", k, rc, err);
        cr_assert(storage_failed(s));
        failed = true;
    }
    storage_close(s);
    storage_boot_free(&b);

    raft_index snap = acked == 35 ? 40 : 20;
    if (!failed) {
        s = open_at(snap, &b);
        cr_assert_eq(b.n_entries, 2);
        assert_entry(&b, 42, 1);
    } else {
        /* The last snapshot that may have been saved: 20, or 40 once 35 was acked. */
        s = open_at(snap, &b);
        for (size_t i = 0; i < b.n_entries; i++)
            assert_entry(&b, snap + 1 + i, 1);
        if (snap == 20)
            cr_assert_geq(b.n_entries, acked - 20, "fault %ld: acknowledged entries lost", k);
        must(append_range(s, snap + 1 + b.n_entries, 1, 1));
        must(storage_sync(s, err, sizeof err));
    }
    storage_close(s);
    storage_boot_free(&b);
    return failed;
}

Test(storage, every_io_failure_point_of_compaction_leaves_a_state_that_opens, .timeout = 120)
{
    long k = 0;
    while (run_compaction_with_fault(k))
        k++;
    printf("storage: injected an I/O failure at each of %ld compaction points\n", k);
    fflush(stdout);
    cr_assert_geq(k, 8, "the run should reach several I/O calls, got %ld", k);
}

/* ---- truncation intents and forged records ---- */

/* Entries 1..10 synced, then 11..20 synced: two batches, two sync marks. */
static const raft_index two_batches[] = {10, 20, 0};

static void two_synced_batches(void)
{
    struct storage_boot b;
    struct storage *s = open_ok(&b);
    must(storage_save_hard_state(s, 1, 1, err, sizeof err));
    must(append_range(s, 1, 10, 1));
    must(storage_sync(s, err, sizeof err));
    must(append_range(s, 11, 10, 1));
    must(storage_sync(s, err, sizeof err));
    storage_close(s);
    storage_boot_free(&b);
    cr_assert_eq(file_size(SEG1), offset_with_marks(21, two_batches));
}

/* Two synced batches, then a conflict truncation from entry 6 that dies after its
 * intent was written and synced and before the cut: the intent durable, the cut not
 * done. */
static void truncation_cut_short(void)
{
    two_synced_batches();
    struct storage_boot b;
    struct storage *s = open_ok(&b);
    must(storage_save_hard_state(s, 2, 0, err, sizeof err));
    storage_test_fail_io(s, 2, EIO); /* the intent's write and fdatasync pass, the cut fails */
    cr_assert_neq(append_range(s, 6, 1, 2), STORAGE_OK);
    storage_test_crash(s);
    storage_boot_free(&b);
    cr_assert_gt(file_size(SEG1), offset_with_marks(21, two_batches), "the intent is there");
}

Test(storage, truncation_interrupted_by_a_power_cut_is_finished)
{
    /* A conflict truncation back into the first synced batch. The power cut lands in
     * the middle of the cut: the old size survives, but the bytes at the new end are
     * zeros (the file system zeroed the partial block past the new size and wrote it
     * back before the size change committed). Records after the zeros carry synced
     * marks past them, so without more the zeros read as rot and the peer could not
     * restart. The intent written (and synced) before the cut says those bytes were
     * being cut away: open finishes the cut. */
    truncation_cut_short();
    off_t cut = offset_of(6);
    overwrite(SEG1, cut, 40, 0); /* the zeroed new end */

    struct storage_boot b;
    struct storage *s = open_ok(&b);
    cr_assert_eq(b.n_entries, 5, "kept %zu entries, notice: %s", b.n_entries, b.notice);
    for (raft_index i = 1; i <= 5; i++)
        assert_entry(&b, i, 1);
    assert_has(b.notice, "finished a truncation");
    cr_assert_eq(file_size(SEG1), cut);
    must(append_range(s, 6, 2, 2));
    must(storage_sync(s, err, sizeof err));
    storage_close(s);
    storage_boot_free(&b);
    s = open_ok(&b);
    cr_assert_str_empty(b.notice);
    cr_assert_eq(b.n_entries, 7);
    assert_entry(&b, 6, 2);
    assert_entry(&b, 7, 2);
    storage_close(s);
    storage_boot_free(&b);
}

Test(storage, truncation_interrupted_before_the_cut_is_finished)
{
    /* The same intent with nothing zeroed: the cut simply never happened. Open reads
     * the old records, then the intent, and cuts. */
    truncation_cut_short();
    struct storage_boot b;
    struct storage *s = open_ok(&b);
    cr_assert_eq(b.n_entries, 5, "notice: %s", b.notice);
    assert_has(b.notice, "finished a truncation");
    cr_assert_eq(file_size(SEG1), offset_of(6));
    storage_close(s);
    storage_boot_free(&b);
}

Test(storage, rot_before_an_interrupted_truncation_is_still_refused)
{
    /* The intent excuses only what lies at or after the offset it names. */
    truncation_cut_short();
    flip_byte(SEG1, offset_of(3) + 2);
    struct storage_boot b;
    struct storage *s = (struct storage *)1;
    int rc = storage_open(dir, 0, &s, &b, err, sizeof err);
    cr_assert_eq(rc, STORAGE_ECORRUPT, "rc %d: %s", rc, err);
    storage_boot_free(&b);
}

/* A record header as a client would forge it inside a command, not knowing the
 * segment's nonce: a valid checksum with seed 0 and a synced mark meant to make a
 * harmless hole before it look like rot. */
static void forge_record(uint8_t *h, uint32_t synced_units)
{
    memset(h, 0, 24);
    h[4] = RAFT_ENTRY_COMMAND;
    h[5] = (uint8_t)synced_units;
    h[6] = (uint8_t)(synced_units >> 8);
    h[7] = (uint8_t)(synced_units >> 16);
    h[8] = 1; /* term 1 */
    uint32_t dcrc = crc32c(0, NULL, 0);
    memcpy(h + 16, &dcrc, 4);
    uint32_t hcrc = crc32c(0, h, 20);
    memcpy(h + 20, &hcrc, 4);
}

Test(storage, a_record_forged_in_a_command_cannot_make_a_power_cut_look_like_rot)
{
    /* 1..10 synced; then 11 and a command carrying a forged record, unsynced; a power
     * cut loses record 11's first page. The forged record claims a sync past the
     * hole; were it taken for ours, open would refuse to start. Record checksums are
     * seeded with the segment's nonce, so it is not. */
    struct storage_boot b;
    struct storage *s = open_ok(&b);
    must(storage_save_hard_state(s, 1, 1, err, sizeof err));
    must(append_range(s, 1, 10, 1));
    must(storage_sync(s, err, sizeof err));
    storage_test_set_flush_bytes(s, 0);
    must(append_range(s, 11, 1, 1));
    off_t hole = offset_with_marks(11, batch_of_ten);
    uint8_t payload[24];
    forge_record(payload, (uint32_t)((hole + 16) / 16));
    struct raft_entry e = {.term = 1, .type = RAFT_ENTRY_COMMAND, .data = payload, .len = 24};
    must(storage_append(s, 12, &e, 1, err, sizeof err));
    storage_test_crash(s);
    storage_boot_free(&b);
    overwrite(SEG1, hole, 24, 0);

    s = open_ok(&b);
    cr_assert_eq(b.n_entries, 10, "notice: %s", b.notice);
    assert_has(b.notice, "dropped the unsynced end");
    storage_close(s);
    storage_boot_free(&b);
}

Test(storage, a_record_never_claims_a_sync_past_its_own_start)
{
    /* Even with the right nonce, a header whose synced mark lies past its own offset
     * cannot be ours (it was written after that sync): it does not count. Forge one
     * with the segment's real nonce, as a stray old page could hold one. */
    synced_ten_then_ten_unsynced();
    off_t hole = offset_with_marks(14, batch_of_ten);
    off_t at = offset_with_marks(16, batch_of_ten);
    uint8_t seg[24], h[24];
    read_bytes(SEG1, 0, seg, sizeof seg);
    read_bytes(SEG1, at, h, sizeof h);
    uint32_t claim = (uint32_t)((at + 64) / 16); /* past its own start */
    h[5] = (uint8_t)claim;
    h[6] = (uint8_t)(claim >> 8);
    h[7] = (uint8_t)(claim >> 16);
    uint32_t hcrc = crc32c(le32(seg + 16), h, 20);
    memcpy(h + 20, &hcrc, 4);
    char p[256];
    path_of(p, sizeof p, SEG1);
    int fd = open(p, O_RDWR);
    cr_assert(fd >= 0);
    cr_assert_eq(pwrite(fd, h, sizeof h, at), (ssize_t)sizeof h);
    close(fd);
    overwrite(SEG1, hole, 24, 0);
    struct storage_boot b;
    struct storage *s = open_ok(&b);
    cr_assert_eq(b.n_entries, 13, "notice: %s", b.notice);
    storage_close(s);
    storage_boot_free(&b);
}
