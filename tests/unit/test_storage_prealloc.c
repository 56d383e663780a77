/* test_storage_prealloc.c: preallocated log segments (docs/STORAGE.md, "Preallocated
 * segments"): a new segment is created at full size and appends overwrite its zeros;
 * zeros after the last record are the log's normal end; a closed segment is trimmed;
 * the spare is prepared ahead and renamed into place; a torn record before the zeros is
 * the unsynced end, rot is still refused, and records of another segment left in the
 * zeros are never read. */
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "raft_peer/storage/storage.h"

#define SEG1      "log-00000000000000000001"
#define SPARE     "spare-segment"
#define SEG_BYTES 512u
/* What a segment is preallocated to: STORAGE_SEGMENT_BYTES's rule, segment + 1/8. */
#define PREALLOC(seg) ((seg) + (seg) / 8)

static char root[64];
static char dir[128];
static char err[512];

static void setup(void)
{
    strcpy(root, "/tmp/storage_prealloc.XXXXXX");
    cr_assert_not_null(mkdtemp(root));
    snprintf(dir, sizeof dir, "%s/peer1", root);
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

TestSuite(prealloc, .init = setup, .fini = teardown);

/* ---- helpers ---- */

static void must(int rc)
{
    cr_assert_eq(rc, STORAGE_OK, "rc %d: %s", rc, err);
}

/* Entry contents follow from (index, term). */
static uint32_t entry_text(char *buf, size_t size, raft_index index, raft_term term)
{
    return (uint32_t)snprintf(buf, size, "v%" PRIu64 " add %" PRIu64 " t%" PRIu64, index % 7, index,
                              term);
}

static int append_range(struct storage *s, raft_index first, size_t n, raft_term term)
{
    struct raft_entry e[64];
    char text[64][48];
    cr_assert_leq(n, 64);
    for (size_t i = 0; i < n; i++) {
        e[i] = (struct raft_entry){.term = term, .type = RAFT_ENTRY_COMMAND};
        e[i].len = entry_text(text[i], sizeof text[i], first + i, term);
        e[i].data = (uint8_t *)text[i];
    }
    return storage_append(s, first, e, n, err, sizeof err);
}

static void append_synced(struct storage *s, raft_index first, size_t n, raft_term term)
{
    must(append_range(s, first, n, term));
    must(storage_sync(s, err, sizeof err));
}

static void assert_entry(const struct storage_boot *b, raft_index index, raft_term term)
{
    char want[48];
    uint32_t len = entry_text(want, sizeof want, index, term);
    cr_assert(index >= b->first_index && index - b->first_index < b->n_entries,
              "index %" PRIu64 " not loaded (%zu entries)", index, b->n_entries);
    const struct raft_entry *e = &b->entries[index - b->first_index];
    cr_assert_eq(e->term, term, "index %" PRIu64, index);
    cr_assert(e->len == len && memcmp(e->data, want, len) == 0, "index %" PRIu64, index);
}

static struct storage *open_in(const char *d, struct storage_boot *b)
{
    struct storage *s = NULL;
    int rc = storage_open(d, 0, &s, b, err, sizeof err);
    cr_assert_eq(rc, STORAGE_OK, "open %s: %d %s", d, rc, err);
    return s;
}

/* Opens dir with small segments, as every test here runs; preallocation is the default. */
static struct storage *open_small(struct storage_boot *b)
{
    struct storage *s = open_in(dir, b);
    storage_test_set_segment_bytes(s, SEG_BYTES);
    return s;
}

static void path_in(char *out, size_t size, const char *d, const char *name)
{
    snprintf(out, size, "%s/%s", d, name);
}

static off_t size_of(const char *name)
{
    char p[256];
    struct stat st;
    path_in(p, sizeof p, dir, name);
    if (stat(p, &st) != 0)
        return -1;
    return st.st_size;
}

/* The whole file, *len bytes; the caller frees it. */
static uint8_t *read_file(const char *d, const char *name, size_t *len)
{
    char p[256];
    path_in(p, sizeof p, d, name);
    FILE *f = fopen(p, "rb");
    cr_assert_not_null(f, "%s", p);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc(n > 0 ? (size_t)n : 1);
    cr_assert_not_null(buf);
    cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static void write_at(const char *name, off_t off, const void *buf, size_t n)
{
    char p[256];
    path_in(p, sizeof p, dir, name);
    int fd = open(p, O_WRONLY);
    cr_assert(fd >= 0, "%s", p);
    cr_assert_eq(pwrite(fd, buf, n, off), (ssize_t)n);
    close(fd);
}

static bool zeros(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != 0)
            return false;
    return true;
}

/* Where the records of a segment file end: walks the headers (length at 0, type at 4,
 * never 0) from the 24-byte segment header to the first zero type. */
static size_t records_end(const uint8_t *p, size_t len)
{
    size_t off = 24;
    while (off + 24 <= len && p[off + 4] != 0) {
        uint32_t n = (uint32_t)p[off] | (uint32_t)p[off + 1] << 8 | (uint32_t)p[off + 2] << 16 |
                     (uint32_t)p[off + 3] << 24;
        off += 24 + n;
    }
    return off;
}

/* The byte offset of entry `index` (1-based, first segment), walking over sync marks. */
static size_t entry_offset(const uint8_t *p, size_t len, raft_index index)
{
    size_t off = 24;
    raft_index at = 1;
    while (off + 24 <= len && p[off + 4] != 0) {
        uint32_t n = (uint32_t)p[off] | (uint32_t)p[off + 1] << 8;
        if (p[off + 4] != 0xFF && at++ == index)
            return off;
        off += 24 + n;
    }
    cr_assert_fail("entry %" PRIu64 " not found", index);
    return 0;
}

static void assert_has(const char *text, const char *part)
{
    cr_assert(strstr(text, part) != NULL, "'%s' lacks '%s'", text, part);
}

/* ---- the format ---- */

Test(prealloc, a_new_segment_is_created_at_full_size_and_appends_keep_it)
{
    struct storage_boot b;
    struct storage *s = open_small(&b);
    must(storage_save_hard_state(s, 1, 1, err, sizeof err));
    append_synced(s, 1, 3, 1);
    cr_assert_eq(size_of(SEG1), PREALLOC(SEG_BYTES));
    append_synced(s, 4, 3, 1);
    cr_assert_eq(size_of(SEG1), PREALLOC(SEG_BYTES), "an append overwrites zeros");
    storage_close(s);
    storage_boot_free(&b);

    /* The zeros after the last record are the end of the log: nothing to report. */
    size_t len;
    uint8_t *p = read_file(dir, SEG1, &len);
    size_t end = records_end(p, len);
    cr_assert_lt(end, len);
    cr_assert(zeros(p + end, len - end));
    free(p);
    s = open_small(&b);
    cr_assert_eq(b.n_entries, 6);
    for (raft_index i = 1; i <= 6; i++)
        assert_entry(&b, i, 1);
    cr_assert_str_empty(b.notice);
    cr_assert_eq(size_of(SEG1), PREALLOC(SEG_BYTES), "open keeps the preallocated end");
    append_synced(s, 7, 1, 1);
    storage_close(s);
    storage_boot_free(&b);
    s = open_small(&b);
    cr_assert_eq(b.n_entries, 7);
    assert_entry(&b, 7, 1);
    storage_close(s);
    storage_boot_free(&b);
}

Test(prealloc, a_full_segment_is_trimmed_to_its_records_before_the_next_starts)
{
    struct storage_boot b;
    struct storage *s = open_small(&b);
    must(storage_save_hard_state(s, 1, 1, err, sizeof err));
    for (raft_index i = 1; i <= 60; i += 4)
        append_synced(s, i, 4, 1);
    storage_close(s);
    storage_boot_free(&b);

    /* Every segment but the last ends with its sync mark; the last is preallocated. */
    char name[64], last[64] = "";
    int segments = 0;
    for (raft_index first = 1; first <= 64; first++) {
        snprintf(name, sizeof name, "log-%020" PRIu64, first);
        if (size_of(name) < 0)
            continue;
        if (last[0] != '\0') {
            size_t len;
            uint8_t *p = read_file(dir, last, &len);
            cr_assert_eq(records_end(p, len), len, "%s ends with its records", last);
            cr_assert_eq(p[len - 24 + 4], 0xFF, "%s ends with its sync mark", last);
            free(p);
        }
        snprintf(last, sizeof last, "%s", name);
        segments++;
    }
    cr_assert_geq(segments, 3);
    cr_assert_geq(size_of(last), (off_t)PREALLOC(SEG_BYTES));
    s = open_small(&b);
    cr_assert_eq(b.n_entries, 60);
    for (raft_index i = 1; i <= 60; i++)
        assert_entry(&b, i, 1);
    cr_assert_str_empty(b.notice);
    storage_close(s);
    storage_boot_free(&b);
}

Test(prealloc, the_spare_is_prepared_ahead_and_renamed_into_place)
{
    struct storage_boot b;
    struct storage *s = open_small(&b);
    must(storage_save_hard_state(s, 1, 1, err, sizeof err));
    append_synced(s, 1, 2, 1);
    storage_prepare(s);
    cr_assert_eq(size_of(SPARE), -1, "not before the segment is half full");

    raft_index next = 3;
    while (size_of(SPARE) < 0) {
        cr_assert_lt(next, 40, "no spare was prepared");
        append_synced(s, next++, 1, 1);
        storage_prepare(s);
    }
    cr_assert_eq(size_of(SPARE), PREALLOC(SEG_BYTES));
    size_t len;
    uint8_t *p = read_file(dir, SPARE, &len);
    cr_assert(zeros(p, len));
    free(p);

    /* Fill the segment: the next one is the spare, renamed. */
    raft_index roll = 0;
    char name[64];
    while (roll == 0) {
        cr_assert_lt(next, 80, "the segment never filled");
        append_synced(s, next, 1, 1);
        snprintf(name, sizeof name, "log-%020" PRIu64, next);
        if (size_of(name) >= 0)
            roll = next;
        next++;
    }
    cr_assert_eq(size_of(SPARE), -1, "the spare became the segment");
    cr_assert_eq(size_of(name), PREALLOC(SEG_BYTES));
    storage_close(s);
    storage_boot_free(&b);
    s = open_small(&b);
    cr_assert_eq(b.n_entries, next - 1);
    for (raft_index i = 1; i < next; i++)
        assert_entry(&b, i, 1);
    cr_assert_str_empty(b.notice);
    storage_close(s);
    storage_boot_free(&b);
}

Test(prealloc, a_leftover_spare_is_ignored_and_made_again_from_zeros)
{
    struct storage_boot b;
    struct storage *s = open_small(&b);
    must(storage_save_hard_state(s, 1, 1, err, sizeof err));
    append_synced(s, 1, 5, 1);
    storage_close(s);
    storage_boot_free(&b);

    /* What a power cut that lost the spare's rename leaves: the spare holds records
     * (here a copy of the segment, header and all). */
    size_t len;
    uint8_t *p = read_file(dir, SEG1, &len);
    char path[256];
    path_in(path, sizeof path, dir, SPARE);
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(p, 1, len, f), len);
    fclose(f);
    free(p);

    s = open_small(&b);
    cr_assert_eq(b.n_entries, 5);
    cr_assert_str_empty(b.notice);
    append_synced(s, 6, 3, 1); /* past half the segment, not full */
    storage_prepare(s);
    p = read_file(dir, SPARE, &len);
    cr_assert_eq(len, PREALLOC(SEG_BYTES));
    cr_assert(zeros(p, len), "the spare is truncated before it is preallocated again");
    free(p);
    storage_close(s);
    storage_boot_free(&b);
}

Test(prealloc, a_truncation_keeps_the_segment_preallocated)
{
    struct storage_boot b;
    struct storage *s = open_in(dir, &b);
    storage_test_set_segment_bytes(s, 4096);
    must(storage_save_hard_state(s, 1, 1, err, sizeof err));
    append_synced(s, 1, 10, 1);
    must(storage_save_hard_state(s, 2, 0, err, sizeof err));
    append_synced(s, 6, 3, 2); /* a new leader replaces 6..10 */
    cr_assert_eq(size_of(SEG1), PREALLOC(4096));
    storage_close(s);
    storage_boot_free(&b);
    s = open_in(dir, &b);
    cr_assert_eq(b.n_entries, 8);
    for (raft_index i = 1; i <= 5; i++)
        assert_entry(&b, i, 1);
    for (raft_index i = 6; i <= 8; i++)
        assert_entry(&b, i, 2);
    cr_assert_str_empty(b.notice);
    storage_close(s);
    storage_boot_free(&b);
}

/* ---- recovery ---- */

/* Entries 1..10 synced, 11..12 handed to the kernel unsynced, then the process dies. */
static void synced_ten_then_two_unsynced(void)
{
    struct storage_boot b;
    struct storage *s = open_in(dir, &b);
    storage_test_set_segment_bytes(s, 4096);
    must(storage_save_hard_state(s, 1, 1, err, sizeof err));
    append_synced(s, 1, 10, 1);
    storage_test_set_flush_bytes(s, 0);
    must(append_range(s, 11, 2, 1));
    storage_test_crash(s);
    storage_boot_free(&b);
}

Test(prealloc, a_torn_record_followed_by_zeros_is_the_unsynced_end)
{
    synced_ten_then_two_unsynced();
    size_t len;
    uint8_t *p = read_file(dir, SEG1, &len);
    size_t at = entry_offset(p, len, 12), end = records_end(p, len);
    free(p);
    /* The second half of record 12 never reached the disk: zeros from there on. */
    uint8_t z[64] = {0};
    write_at(SEG1, (off_t)(at + 30), z, end - at - 30);

    struct storage_boot b;
    struct storage *s = open_in(dir, &b);
    cr_assert_eq(b.n_entries, 11);
    for (raft_index i = 1; i <= 11; i++)
        assert_entry(&b, i, 1);
    char want[320];
    snprintf(want, sizeof want, "dropped the unsynced end of %s/%s: bytes %zu..", dir, SEG1, at);
    assert_has(b.notice, want);
    assert_has(b.notice, "data checksum mismatch, then 0 valid unsynced records");
    append_synced(s, 12, 1, 1);
    storage_close(s);
    storage_boot_free(&b);
    s = open_in(dir, &b);
    cr_assert_eq(b.n_entries, 12);
    storage_close(s);
    storage_boot_free(&b);
}

Test(prealloc, rot_before_a_record_that_vouches_for_it_is_still_refused)
{
    synced_ten_then_two_unsynced();
    size_t len;
    uint8_t *p = read_file(dir, SEG1, &len);
    size_t at = entry_offset(p, len, 5);
    uint8_t x = p[at + 26] ^ 0x20;
    free(p);
    write_at(SEG1, (off_t)(at + 26), &x, 1); /* in entry 5's data */

    struct storage_boot b;
    struct storage *s = (struct storage *)1;
    cr_assert_eq(storage_open(dir, 0, &s, &b, err, sizeof err), STORAGE_ECORRUPT, "%s", err);
    cr_assert_null(s);
    char want[64];
    snprintf(want, sizeof want, "damaged record at byte offset %zu ", at);
    assert_has(err, want);
    assert_has(err, "a later record says so");
    storage_boot_free(&b);
}

Test(prealloc, records_of_another_segment_in_the_zeros_are_never_read)
{
    /* Another log, with many records whose synced fields reach far: written under its
     * own segment's nonce. */
    char other[160];
    snprintf(other, sizeof other, "%s/other", root);
    struct storage_boot b;
    struct storage *s = open_in(other, &b);
    storage_test_set_segment_bytes(s, 4096);
    must(storage_save_hard_state(s, 1, 1, err, sizeof err));
    for (raft_index i = 1; i <= 40; i += 5)
        append_synced(s, i, 5, 1);
    storage_close(s);
    storage_boot_free(&b);
    size_t olen;
    uint8_t *op = read_file(other, SEG1, &olen);
    size_t oend = records_end(op, olen);

    /* Our log: 10 synced entries, then the other segment's records where our zeros
     * are, as stale blocks of a reused or preallocated file would be. */
    s = open_in(dir, &b);
    storage_test_set_segment_bytes(s, 4096);
    must(storage_save_hard_state(s, 1, 1, err, sizeof err));
    append_synced(s, 1, 10, 1);
    storage_close(s);
    storage_boot_free(&b);
    size_t len;
    uint8_t *p = read_file(dir, SEG1, &len);
    size_t end = records_end(p, len);
    free(p);
    cr_assert_leq(end + 100 + (oend - 24), len);
    write_at(SEG1, (off_t)(end + 100), op + 24, oend - 24);
    free(op);

    /* Never loaded, never taken for rot (their synced fields would say so): after the
     * zeros where our records end, damage in the unsynced end, cut off. */
    s = open_in(dir, &b);
    cr_assert_eq(b.n_entries, 10, "notice: %s", b.notice);
    for (raft_index i = 1; i <= 10; i++)
        assert_entry(&b, i, 1);
    char want[320];
    snprintf(want, sizeof want, "dropped the unsynced end of %s/%s: bytes %zu..", dir, SEG1, end);
    assert_has(b.notice, want);
    assert_has(b.notice, "then 0 valid unsynced records");
    storage_close(s);
    storage_boot_free(&b);
}

Test(prealloc, a_segment_whose_header_never_arrived_is_removed)
{
    /* The spare renamed into place, the rename durable, the header not: all zeros. */
    struct storage_boot b;
    struct storage *s = open_small(&b);
    must(storage_save_hard_state(s, 1, 1, err, sizeof err));
    append_synced(s, 1, 3, 1);
    storage_close(s);
    storage_boot_free(&b);
    /* log-1 closed as a roll closes it: trimmed to its records. */
    size_t len;
    uint8_t *p = read_file(dir, SEG1, &len);
    char path[256];
    path_in(path, sizeof path, dir, SEG1);
    cr_assert_eq(truncate(path, (off_t)records_end(p, len)), 0);
    free(p);
    char name[64];
    snprintf(name, sizeof name, "log-%020d", 4);
    path_in(path, sizeof path, dir, name);
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    cr_assert_eq(ftruncate(fileno(f), PREALLOC(SEG_BYTES)), 0);
    fclose(f);

    s = open_small(&b);
    cr_assert_eq(b.n_entries, 3);
    assert_has(b.notice, "its header was never completely written");
    cr_assert_eq(size_of(name), -1);
    append_synced(s, 4, 1, 1);
    storage_close(s);
    storage_boot_free(&b);
}

Test(prealloc, a_segment_that_cannot_be_preallocated_grows_as_before)
{
    /* A file size limit below a segment's preallocation: fallocate fails (EFBIG), as on
     * a nearly full disk; the log goes on without it. */
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit lim = {.rlim_cur = 1u << 20, .rlim_max = RLIM_INFINITY};
    cr_assert_eq(setrlimit(RLIMIT_FSIZE, &lim), 0, "%s", strerror(errno));
    struct storage_boot b;
    struct storage *s = open_in(dir, &b); /* 8 MiB segments: 9 MiB preallocated */
    storage_prepare(s);                   /* no segment yet: the first one's spare */
    cr_assert(!storage_failed(s));
    cr_assert_eq(size_of(SPARE), -1, "a spare that could not be made is removed");
    must(storage_save_hard_state(s, 1, 1, err, sizeof err));
    append_synced(s, 1, 10, 1);
    size_t len;
    uint8_t *p = read_file(dir, SEG1, &len);
    cr_assert_eq(records_end(p, len), len, "the file ends with its records");
    free(p);
    append_synced(s, 11, 1, 1);
    storage_close(s);
    storage_boot_free(&b);
    s = open_in(dir, &b);
    cr_assert_eq(b.n_entries, 11);
    cr_assert_str_empty(b.notice);
    storage_close(s);
    storage_boot_free(&b);
}
