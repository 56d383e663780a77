/* test_snapshot_store.c: the snapshot files: save/load round trips, damage refused with
 * the file named, chunked reads, resumable chunked receiving (torn chunks, a different
 * snapshot, a bad checksum) and I/O failure at every point of a save and a receive. */
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "raft_peer/storage/crc32c.h"
#include "raft_peer/storage/snapshot_store.h"

#define HDR 40 /* the snapshot header, docs/STORAGE.md */

static char dir[64];
static char err[512];

static void setup(void)
{
    strcpy(dir, "/tmp/snapshot_test.XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
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
    nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

TestSuite(snapshot, .init = setup, .fini = teardown);

/* ---- helpers ---- */

/* Deterministic bytes that differ per seed and per position. */
static uint8_t *make_data(size_t len, uint32_t seed)
{
    uint8_t *p = malloc(len ? len : 1);
    cr_assert_not_null(p);
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < len; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        p[i] = (uint8_t)x;
    }
    return p;
}

static struct snapshot_meta meta_of(raft_index index, raft_term term, const uint8_t *data,
                                    size_t len)
{
    return (struct snapshot_meta){
        .index = index, .term = term, .size = len, .crc = crc32c(0, data, len)};
}

static void must(int rc)
{
    cr_assert_eq(rc, 0, "rc %d: %s", rc, err);
}

static void path_of(char *out, size_t size, const char *name)
{
    snprintf(out, size, "%s/%s", dir, name);
}

static bool exists(const char *name)
{
    char p[128];
    path_of(p, sizeof p, name);
    return access(p, F_OK) == 0;
}

static off_t file_size(const char *name)
{
    char p[128];
    struct stat st;
    path_of(p, sizeof p, name);
    cr_assert_eq(stat(p, &st), 0, "%s", p);
    return st.st_size;
}

static void flip_byte(const char *name, off_t off)
{
    char p[128];
    uint8_t c;
    path_of(p, sizeof p, name);
    int fd = open(p, O_RDWR);
    cr_assert(fd >= 0);
    cr_assert_eq(pread(fd, &c, 1, off), 1);
    c ^= 0x04;
    cr_assert_eq(pwrite(fd, &c, 1, off), 1);
    close(fd);
}

static void put_le(uint8_t *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* Writes a header with a valid checksum claiming anything, followed by len data bytes. */
static void forge(raft_index index, raft_term term, uint64_t size, size_t len)
{
    uint8_t h[HDR] = "RVSNAP01";
    put_le(h + 8, index, 8);
    put_le(h + 16, term, 8);
    put_le(h + 24, size, 8);
    put_le(h + 32, 0, 4);
    put_le(h + 36, crc32c(0, h, 36), 4);
    char p[128];
    path_of(p, sizeof p, "snapshot");
    FILE *f = fopen(p, "wb");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(h, 1, HDR, f), HDR);
    for (size_t i = 0; i < len; i++)
        fputc(0, f);
    fclose(f);
}

static void assert_loads(raft_index index, raft_term term, const uint8_t *want, size_t len)
{
    struct snapshot_meta m;
    uint8_t *data = NULL;
    must(snapshot_load(dir, &m, &data, err, sizeof err));
    cr_assert_eq(m.index, index);
    cr_assert_eq(m.term, term);
    cr_assert_eq(m.size, len);
    cr_assert_eq(m.crc, crc32c(0, want, len));
    cr_assert_not_null(data);
    cr_assert(len == 0 || memcmp(data, want, len) == 0);
    free(data);
}

static void assert_load_refused(const char *what)
{
    struct snapshot_meta m = {.index = 99};
    uint8_t *data = (uint8_t *)1;
    char want[128];
    cr_assert_eq(snapshot_load(dir, &m, &data, err, sizeof err), -1);
    cr_assert_null(data);
    cr_assert_eq(m.index, 0);
    path_of(want, sizeof want, "snapshot");
    cr_assert(strstr(err, want) != NULL, "message lacks the file: %s", err);
    cr_assert(strstr(err, what) != NULL, "message lacks '%s': %s", what, err);
}

/* ---- save and load ---- */

Test(snapshot, none_is_not_an_error)
{
    struct snapshot_meta m = {.index = 7};
    uint8_t *data = (uint8_t *)1;
    must(snapshot_load(dir, &m, &data, err, sizeof err));
    cr_assert_eq(m.index, 0);
    cr_assert_null(data);
    char missing[128];
    path_of(missing, sizeof missing, "not/there");
    must(snapshot_load(missing, &m, &data, err, sizeof err));
    cr_assert_eq(m.index, 0);
}

Test(snapshot, save_load_round_trip_and_replace)
{
    uint8_t *a = make_data(100000, 1), *b = make_data(3, 2);
    must(snapshot_save(dir, 10, 2, a, 100000, err, sizeof err));
    assert_loads(10, 2, a, 100000);
    cr_assert_eq(file_size("snapshot"), HDR + 100000);
    cr_assert(!exists("snapshot.tmp"));
    must(snapshot_save(dir, 25, 3, b, 3, err, sizeof err));
    assert_loads(25, 3, b, 3);
    must(snapshot_save(dir, 26, 3, NULL, 0, err, sizeof err));
    assert_loads(26, 3, NULL, 0);
    /* A leftover of a save cut by a crash changes nothing and is overwritten. */
    char p[128];
    path_of(p, sizeof p, "snapshot.tmp");
    FILE *f = fopen(p, "w");
    fputs("half a snapshot", f);
    fclose(f);
    assert_loads(26, 3, NULL, 0);
    must(snapshot_save(dir, 30, 4, a, 1000, err, sizeof err));
    assert_loads(30, 4, a, 1000);
    free(a);
    free(b);
}

Test(snapshot, save_refuses_bad_arguments)
{
    uint8_t x = 1;
    cr_assert_eq(snapshot_save(dir, 0, 1, &x, 1, err, sizeof err), -1);
    cr_assert_eq(snapshot_save(dir, 1, 0, &x, 1, err, sizeof err), -1);
    cr_assert_eq(snapshot_save(dir, 1, 1, NULL, 1, err, sizeof err), -1);
    cr_assert_eq(snapshot_save(dir, 1, 1, &x, (size_t)SNAPSHOT_MAX_BYTES + 1, err, sizeof err), -1);
    cr_assert(strstr(err, "SNAPSHOT_MAX_BYTES") != NULL, "message: %s", err);
    char missing[128];
    path_of(missing, sizeof missing, "no/such/dir");
    cr_assert_eq(snapshot_save(missing, 1, 1, &x, 1, err, sizeof err), -1);
    cr_assert(strstr(err, missing) != NULL, "message: %s", err);
    cr_assert(!exists("snapshot"));
}

Test(snapshot, flipped_data_byte_is_refused)
{
    uint8_t *a = make_data(5000, 3);
    must(snapshot_save(dir, 10, 2, a, 5000, err, sizeof err));
    flip_byte("snapshot", HDR + 4321);
    assert_load_refused("checksum");
    free(a);
}

Test(snapshot, flipped_header_byte_is_refused)
{
    uint8_t *a = make_data(50, 4);
    must(snapshot_save(dir, 10, 2, a, 50, err, sizeof err));
    flip_byte("snapshot", 9); /* the index */
    assert_load_refused("header");
    free(a);
}

Test(snapshot, truncated_snapshot_is_refused)
{
    uint8_t *a = make_data(5000, 5);
    must(snapshot_save(dir, 10, 2, a, 5000, err, sizeof err));
    char p[128];
    path_of(p, sizeof p, "snapshot");
    cr_assert_eq(truncate(p, HDR + 4999), 0);
    assert_load_refused("4999");
    cr_assert_eq(truncate(p, 20), 0);
    assert_load_refused("shorter than its header");
    cr_assert_eq(truncate(p, 0), 0);
    assert_load_refused("shorter than its header");
    free(a);
}

Test(snapshot, hostile_headers_are_refused_cleanly)
{
    /* A valid checksum over absurd sizes: refused before anything is allocated. */
    forge(5, 1, UINT64_MAX, 10);
    assert_load_refused("SNAPSHOT_MAX_BYTES");
    forge(5, 1, (uint64_t)SNAPSHOT_MAX_BYTES + 1, 0);
    assert_load_refused("SNAPSHOT_MAX_BYTES");
    forge(0, 1, 4, 4);
    assert_load_refused("index or term 0");
    forge(5, 0, 4, 4);
    assert_load_refused("index or term 0");
    forge(5, 1, 1000, 10); /* claims more than it holds */
    assert_load_refused("1000");
    forge(5, 1, 4, 4); /* right length, data checksum 0 does not match 4 zero bytes */
    assert_load_refused("checksum");
    char p[128];
    path_of(p, sizeof p, "snapshot");
    cr_assert_eq(unlink(p), 0);
    cr_assert_eq(mkdir(p, 0755), 0); /* not even a file */
    struct snapshot_meta m;
    uint8_t *data;
    cr_assert_eq(snapshot_load(dir, &m, &data, err, sizeof err), -1);
    cr_assert_eq(rmdir(p), 0);
}

Test(snapshot, save_survives_io_failure_at_every_point)
{
    uint8_t *a = make_data(3000, 6), *b = make_data(7000, 7);
    must(snapshot_save(dir, 10, 2, a, 3000, err, sizeof err));
    long k = 0;
    for (;; k++) {
        int rc = snapshot_test_save_with_fault(dir, 20, 3, b, 7000, k, k % 2 ? ENOSPC : EIO, err,
                                               sizeof err);
        struct snapshot_meta m;
        uint8_t *data = NULL;
        must(snapshot_load(dir, &m, &data, err, sizeof err));
        free(data);
        if (rc == 0) {
            cr_assert_eq(m.index, 20, "fault %ld", k);
            break;
        }
        cr_assert(strstr(err, dir) != NULL, "fault %ld: %s", k, err);
        /* Only a failing directory fsync comes after the rename. */
        cr_assert(m.index == 10 || m.index == 20, "fault %ld: index %" PRIu64, k, m.index);
        if (m.index == 20)
            cr_assert(strstr(err, "directory") != NULL, "fault %ld: %s", k, err);
        must(snapshot_save(dir, 10, 2, a, 3000, err, sizeof err));
    }
    cr_assert_geq(k, 5, "only %ld I/O calls", k);
    assert_loads(20, 3, b, 7000);
    free(a);
    free(b);
}

/* ---- reading in chunks ---- */

Test(snapshot, read_at_reassembles_and_notices_a_replaced_file)
{
    enum { LEN = 10000 };
    uint8_t *a = make_data(LEN, 8), got_all[LEN], buf[777];
    must(snapshot_save(dir, 10, 2, a, LEN, err, sizeof err));
    struct snapshot_meta m = meta_of(10, 2, a, LEN);
    uint64_t off = 0;
    size_t got;
    for (;;) {
        must(snapshot_read_at(dir, &m, off, buf, sizeof buf, &got, err, sizeof err));
        if (got == 0)
            break;
        memcpy(got_all + off, buf, got);
        off += got;
    }
    cr_assert_eq(off, LEN);
    cr_assert(memcmp(got_all, a, LEN) == 0);
    cr_assert_eq(snapshot_read_at(dir, &m, LEN + 1, buf, sizeof buf, &got, err, sizeof err), -1);

    struct snapshot_meta wrong = m;
    wrong.crc ^= 1;
    cr_assert_eq(snapshot_read_at(dir, &wrong, 0, buf, sizeof buf, &got, err, sizeof err), -1);
    must(snapshot_save(dir, 11, 2, a, LEN, err, sizeof err));
    cr_assert_eq(snapshot_read_at(dir, &m, 0, buf, sizeof buf, &got, err, sizeof err), -1);
    cr_assert(strstr(err, "index 11") != NULL, "message: %s", err);
    free(a);
}

/* ---- receiving ---- */

static struct snapshot_receiver *recv_open(const struct snapshot_meta *m, uint64_t *have)
{
    struct snapshot_receiver *r = NULL;
    int rc = snapshot_receiver_open(dir, m, &r, have, err, sizeof err);
    cr_assert_eq(rc, 0, "open: %s", err);
    cr_assert_not_null(r);
    return r;
}

/* Sends data[from, to) in chunks of `chunk` bytes. */
static void send_range(struct snapshot_receiver *r, const uint8_t *data, uint64_t from, uint64_t to,
                       size_t chunk)
{
    while (from < to) {
        size_t n = to - from < chunk ? (size_t)(to - from) : chunk;
        must(snapshot_receiver_write(r, from, data + from, n, err, sizeof err));
        from += n;
    }
}

Test(snapshot, receive_whole_and_install)
{
    enum { LEN = 50000 };
    uint8_t *a = make_data(LEN, 9);
    struct snapshot_meta m = meta_of(40, 3, a, LEN);
    uint64_t have = 99;
    struct snapshot_receiver *r = recv_open(&m, &have);
    cr_assert_eq(have, 0);
    cr_assert_eq(snapshot_receiver_finish(r, err, sizeof err), -1); /* nothing there yet */
    cr_assert(strstr(err, "only 0 of 50000") != NULL, "message: %s", err);
    send_range(r, a, 0, LEN, 4096);
    must(snapshot_receiver_finish(r, err, sizeof err));
    cr_assert_eq(snapshot_receiver_write(r, LEN, a, 1, err, sizeof err), -1);
    snapshot_receiver_close(r);
    cr_assert(!exists("snapshot.partial"));
    assert_loads(40, 3, a, LEN);
    free(a);
}

/* Sealed, the received snapshot is complete and durable but not yet current: the old
 * one loads until the commit, a crash in between resumes the partial whole, and a
 * discarded partial leaves the old one in place (snapshot_install.c relies on it). */
Test(snapshot, sealed_partial_is_current_only_once_committed)
{
    enum { LEN = 20000 };
    uint8_t *old = make_data(LEN, 4), *a = make_data(LEN, 5), *back = NULL;
    must(snapshot_save(dir, 30, 2, old, LEN, err, sizeof err));
    struct snapshot_meta m = meta_of(40, 3, a, LEN);
    uint64_t have;
    struct snapshot_receiver *r = recv_open(&m, &have);
    cr_assert_eq(snapshot_receiver_commit(r, err, sizeof err), -1); /* not sealed yet */
    cr_assert_eq(snapshot_receiver_data(r, &back, err, sizeof err), -1);
    send_range(r, a, 0, LEN, 4096);
    must(snapshot_receiver_seal(r, err, sizeof err));
    assert_loads(30, 2, old, LEN);
    must(snapshot_receiver_data(r, &back, err, sizeof err));
    cr_assert_eq(memcmp(back, a, LEN), 0);
    free(back);
    snapshot_receiver_close(r); /* a crash here: the old one, and the partial resumes whole */
    assert_loads(30, 2, old, LEN);
    r = recv_open(&m, &have);
    cr_assert_eq(have, LEN);
    must(snapshot_receiver_seal(r, err, sizeof err));
    must(snapshot_receiver_commit(r, err, sizeof err));
    snapshot_receiver_close(r);
    cr_assert(!exists("snapshot.partial"));
    assert_loads(40, 3, a, LEN);

    /* Discarded after sealing: gone, and the current one untouched. */
    struct snapshot_meta m2 = meta_of(50, 3, old, LEN);
    r = recv_open(&m2, &have);
    send_range(r, old, 0, LEN, 4096);
    must(snapshot_receiver_seal(r, err, sizeof err));
    snapshot_receiver_discard(r);
    cr_assert_eq(snapshot_receiver_commit(r, err, sizeof err), -1);
    snapshot_receiver_close(r);
    cr_assert(!exists("snapshot.partial"));
    assert_loads(40, 3, a, LEN);
    free(a);
    free(old);
}

Test(snapshot, receive_refuses_bad_chunks_and_metas)
{
    uint8_t *a = make_data(1000, 10);
    struct snapshot_meta m = meta_of(40, 3, a, 1000);
    uint64_t have;
    struct snapshot_receiver *r = recv_open(&m, &have);
    must(snapshot_receiver_write(r, 0, a, 100, err, sizeof err));
    cr_assert_eq(snapshot_receiver_write(r, 50, a + 50, 10, err, sizeof err), -1);
    cr_assert_eq(snapshot_receiver_write(r, 200, a + 200, 10, err, sizeof err), -1);
    cr_assert_eq(snapshot_receiver_write(r, 100, a + 100, 901, err, sizeof err), -1);
    cr_assert_eq(snapshot_receiver_write(r, 100, NULL, 10, err, sizeof err), -1);
    must(snapshot_receiver_write(r, 100, a + 100, 0, err, sizeof err));
    must(snapshot_receiver_write(r, 100, a + 100, 900, err, sizeof err));
    must(snapshot_receiver_finish(r, err, sizeof err));
    snapshot_receiver_close(r);
    assert_loads(40, 3, a, 1000);

    struct snapshot_meta bad[] = {
        {.index = 0, .term = 1, .size = 1},
        {.index = 1, .term = 0, .size = 1},
        {.index = 1, .term = 1, .size = (uint64_t)SNAPSHOT_MAX_BYTES + 1},
        {.index = 1, .term = 1, .size = UINT64_MAX},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        r = (struct snapshot_receiver *)1;
        cr_assert_eq(snapshot_receiver_open(dir, &bad[i], &r, &have, err, sizeof err), -1);
        cr_assert_null(r);
    }
    cr_assert(!exists("snapshot.partial"));
    free(a);
}

Test(snapshot, resume_after_close_midway)
{
    enum { LEN = 30000 };
    uint8_t *a = make_data(LEN, 11);
    struct snapshot_meta m = meta_of(40, 3, a, LEN);
    uint64_t have;
    struct snapshot_receiver *r = recv_open(&m, &have);
    send_range(r, a, 0, 12345, 1000);
    snapshot_receiver_close(r);

    r = recv_open(&m, &have);
    cr_assert_eq(have, 12345);
    send_range(r, a, 12345, 20000, 3000);
    snapshot_receiver_close(r);
    r = recv_open(&m, &have);
    cr_assert_eq(have, 20000);
    send_range(r, a, 20000, LEN, 3000);
    must(snapshot_receiver_finish(r, err, sizeof err));
    snapshot_receiver_close(r);
    assert_loads(40, 3, a, LEN);
    free(a);
}

Test(snapshot, resume_cuts_a_torn_last_chunk)
{
    enum { LEN = 10000, SLOTS = HDR + LEN };
    uint8_t *a = make_data(LEN, 12);
    struct snapshot_meta m = meta_of(40, 3, a, LEN);
    uint64_t have;
    struct snapshot_receiver *r = recv_open(&m, &have);
    send_range(r, a, 0, 3000, 1000); /* slots written: 0, 1, 0 */
    snapshot_receiver_close(r);
    cr_assert_eq(file_size("snapshot.partial"), HDR + LEN + 32);

    /* The last chunk's data did not all reach the disk, though its slot did. */
    flip_byte("snapshot.partial", HDR + 2500);
    r = recv_open(&m, &have);
    cr_assert_eq(have, 2000);
    send_range(r, a, 2000, 4000, 1000); /* slot 1 held: slots 0 (3000), 1 (4000) */
    snapshot_receiver_close(r);
    r = recv_open(&m, &have);
    cr_assert_eq(have, 4000);
    snapshot_receiver_close(r);

    /* The newest slot (1) itself torn: the other one (0, 3000 bytes) holds. */
    flip_byte("snapshot.partial", SLOTS + 16 + 3);
    r = recv_open(&m, &have);
    cr_assert_eq(have, 3000);
    send_range(r, a, 3000, LEN, 2500);
    must(snapshot_receiver_finish(r, err, sizeof err));
    snapshot_receiver_close(r);
    assert_loads(40, 3, a, LEN);
    free(a);
}

Test(snapshot, resume_with_nothing_verifiable_starts_over)
{
    uint8_t *a = make_data(4000, 13);
    struct snapshot_meta m = meta_of(40, 3, a, 4000);
    uint64_t have;
    struct snapshot_receiver *r = recv_open(&m, &have);
    send_range(r, a, 0, 2000, 1000);
    snapshot_receiver_close(r);
    flip_byte("snapshot.partial", HDR + 10); /* inside both slots' prefixes */
    r = recv_open(&m, &have);
    cr_assert_eq(have, 0);
    send_range(r, a, 0, 4000, 1500);
    must(snapshot_receiver_finish(r, err, sizeof err));
    snapshot_receiver_close(r);
    assert_loads(40, 3, a, 4000);

    /* A damaged partial header: also a fresh start. */
    r = recv_open(&m, &have);
    send_range(r, a, 0, 1000, 1000);
    snapshot_receiver_close(r);
    flip_byte("snapshot.partial", 20);
    r = recv_open(&m, &have);
    cr_assert_eq(have, 0);
    snapshot_receiver_close(r);
    free(a);
}

Test(snapshot, different_meta_discards_the_old_partial)
{
    uint8_t *a = make_data(5000, 14), *b = make_data(6000, 15);
    struct snapshot_meta ma = meta_of(40, 3, a, 5000), mb = meta_of(50, 3, b, 6000);
    uint64_t have;
    struct snapshot_receiver *r = recv_open(&ma, &have);
    send_range(r, a, 0, 3000, 1000);
    snapshot_receiver_close(r);

    struct snapshot_meta same_index = ma;
    same_index.crc ^= 0x100; /* same index, other contents */
    r = recv_open(&same_index, &have);
    cr_assert_eq(have, 0);
    snapshot_receiver_close(r);
    r = recv_open(&ma, &have);
    cr_assert_eq(have, 0, "the old partial must be gone");
    send_range(r, a, 0, 1000, 1000);
    snapshot_receiver_close(r);

    r = recv_open(&mb, &have);
    cr_assert_eq(have, 0);
    cr_assert_eq(file_size("snapshot.partial"), HDR + 6000 + 32);
    send_range(r, b, 0, 6000, 4000);
    must(snapshot_receiver_finish(r, err, sizeof err));
    snapshot_receiver_close(r);
    assert_loads(50, 3, b, 6000);
    free(a);
    free(b);
}

Test(snapshot, finish_with_a_bad_crc_keeps_the_current_snapshot)
{
    uint8_t *cur = make_data(700, 16), *a = make_data(5000, 17);
    must(snapshot_save(dir, 20, 2, cur, 700, err, sizeof err));
    struct snapshot_meta m = meta_of(40, 3, a, 5000);
    m.crc ^= 0xdeadbeef;
    uint64_t have;
    struct snapshot_receiver *r = recv_open(&m, &have);
    send_range(r, a, 0, 5000, 2000);
    cr_assert_eq(snapshot_receiver_finish(r, err, sizeof err), -1);
    cr_assert(strstr(err, "checksum") != NULL && strstr(err, "snapshot.partial") != NULL,
              "message: %s", err);
    cr_assert_eq(snapshot_receiver_finish(r, err, sizeof err), -1);
    snapshot_receiver_close(r);
    assert_loads(20, 2, cur, 700);
    cr_assert(!exists("snapshot.partial"), "a partial that can never be right is dropped");
    r = recv_open(&m, &have);
    cr_assert_eq(have, 0);
    snapshot_receiver_close(r);
    free(cur);
    free(a);
}

Test(snapshot, crash_inside_finish_resumes_complete)
{
    /* finish cuts the progress slots off before the rename: a crash in between leaves a
     * partial of exactly the final length, which is trusted only if its crc matches. */
    uint8_t *a = make_data(3000, 18);
    struct snapshot_meta m = meta_of(40, 3, a, 3000);
    uint64_t have;
    struct snapshot_receiver *r = recv_open(&m, &have);
    send_range(r, a, 0, 3000, 1000);
    snapshot_receiver_close(r);
    char p[128];
    path_of(p, sizeof p, "snapshot.partial");
    cr_assert_eq(truncate(p, HDR + 3000), 0);
    r = recv_open(&m, &have);
    cr_assert_eq(have, 3000);
    must(snapshot_receiver_finish(r, err, sizeof err));
    snapshot_receiver_close(r);
    assert_loads(40, 3, a, 3000);

    r = recv_open(&m, &have);
    send_range(r, a, 0, 3000, 1000);
    snapshot_receiver_close(r);
    cr_assert_eq(truncate(p, HDR + 3000), 0);
    flip_byte("snapshot.partial", HDR + 2999);
    r = recv_open(&m, &have);
    cr_assert_eq(have, 0);
    snapshot_receiver_close(r);
    free(a);
}

/* Receives a with the k-th writing I/O call failing, then (like a restarted peer)
 * reopens, resumes and completes. False once k is past the last I/O call. */
static bool receive_with_fault(long k, const uint8_t *cur, const uint8_t *a, size_t len)
{
    struct snapshot_meta m = meta_of(40, 3, a, len);
    uint64_t have, sent = 0;
    bool failed = false;
    struct snapshot_receiver *r = NULL;
    int rc = 0;

    if (exists("snapshot.partial")) {
        char p[128];
        path_of(p, sizeof p, "snapshot.partial");
        cr_assert_eq(unlink(p), 0);
    }
    must(snapshot_save(dir, 20, 2, cur, 500, err, sizeof err));
    r = recv_open(&m, &have);
    snapshot_receiver_test_fail_io(r, k, k % 2 ? ENOSPC : EIO);
    while (rc == 0 && sent < len) {
        size_t n = len - sent < 1000 ? len - sent : 1000;
        rc = snapshot_receiver_write(r, sent, a + sent, n, err, sizeof err);
        if (rc == 0)
            sent += n;
    }
    if (rc == 0)
        rc = snapshot_receiver_finish(r, err, sizeof err);
    if (rc != 0) {
        failed = true;
        cr_assert(strstr(err, dir) != NULL, "fault %ld: %s", k, err);
        /* A failed handle refuses to go on. */
        cr_assert_eq(snapshot_receiver_write(r, sent, a + sent, 1, err, sizeof err), -1);
    }
    snapshot_receiver_close(r);

    struct snapshot_meta cm;
    uint8_t *data = NULL;
    must(snapshot_load(dir, &cm, &data, err, sizeof err));
    free(data);
    cr_assert(cm.index == 20 || cm.index == 40, "fault %ld", k);
    if (cm.index == 20) {
        /* After a failed write or fsync the page cache may hold bytes the disk lacks,
         * and a later successful fsync would not write them again: the partial is
         * dropped and the transfer starts over. */
        r = recv_open(&m, &have);
        cr_assert_eq(have, 0, "fault %ld: resumed at %" PRIu64 " of %" PRIu64, k, have, sent);
        send_range(r, a, have, len, 1000);
        must(snapshot_receiver_finish(r, err, sizeof err));
        snapshot_receiver_close(r);
    }
    assert_loads(40, 3, a, len);
    return failed;
}

Test(snapshot, receive_survives_io_failure_at_every_point)
{
    uint8_t *cur = make_data(500, 19), *a = make_data(4500, 20);
    long k = 0;
    while (receive_with_fault(k, cur, a, 4500))
        k++;
    printf("snapshot: injected an I/O failure at each of %ld receive points\n", k);
    fflush(stdout);
    cr_assert_geq(k, 15, "only %ld I/O calls", k);
    free(cur);
    free(a);
}
