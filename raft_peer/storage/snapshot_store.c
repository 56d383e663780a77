/* snapshot_store.c: the snapshot files in data/<peer>/ (docs/STORAGE.md).
 *
 * "snapshot" only ever changes by rename(2) of a complete, fsynced file, so a crash
 * leaves the old or the new one; damage found in it is rot, and is refused. A received
 * snapshot is written in place into "snapshot.partial", laid out as the final file plus
 * two progress slots behind it while chunks arrive; sealing cuts the slots off and
 * fdatasyncs, and only the commit that the caller asks for once it has checked the
 * contents renames it. Until then, and after the caller refuses it, the partial is the
 * sealed file, which a resend of the same snapshot resumes whole. */
#include "raft_peer/storage/snapshot_store.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "raft_peer/storage/crc32c.h"
#include "raft_peer/storage/storage_internal.h"

#define SNAP_NAME    "snapshot"
#define SNAP_TMP     "snapshot.tmp"
#define SNAP_PARTIAL "snapshot.partial"
#define SNAP_MAGIC   "RVSNAP01"
#define SNAP_HDR     40u /* magic 8, index 8, term 8, size 8, data crc 4, header crc 4 */
#define SNAP_HDR_CRC 36u
#define SLOT_SIZE    16u /* have 8, crc of data[0, have) 4, slot crc 4 */
#define VERIFY_CHUNK (1u << 20)

static void encode_header(uint8_t h[SNAP_HDR], const struct snapshot_meta *m)
{
    memcpy(h, SNAP_MAGIC, 8);
    put_le64(h + 8, m->index);
    put_le64(h + 16, m->term);
    put_le64(h + 24, m->size);
    put_le32(h + 32, m->crc);
    put_le32(h + SNAP_HDR_CRC, crc32c(0, h, SNAP_HDR_CRC));
}

/* NULL when h is a header we could have written, else why not. */
static const char *decode_header(const uint8_t h[SNAP_HDR], struct snapshot_meta *m)
{
    if (memcmp(h, SNAP_MAGIC, 8) != 0)
        return "bad magic";
    if (get_le32(h + SNAP_HDR_CRC) != crc32c(0, h, SNAP_HDR_CRC))
        return "header checksum mismatch";
    m->index = get_le64(h + 8);
    m->term = get_le64(h + 16);
    m->size = get_le64(h + 24);
    m->crc = get_le32(h + 32);
    if (m->index == 0 || m->term == 0)
        return "index or term 0";
    if (m->size > SNAPSHOT_MAX_BYTES)
        return "size over SNAPSHOT_MAX_BYTES";
    return NULL;
}

static bool same_meta(const struct snapshot_meta *a, const struct snapshot_meta *b)
{
    return a->index == b->index && a->term == b->term && a->size == b->size && a->crc == b->crc;
}

static const char *check_meta(const struct snapshot_meta *m)
{
    if (m->index == 0 || m->term == 0)
        return "index or term 0";
    if (m->size > SNAPSHOT_MAX_BYTES)
        return "larger than SNAPSHOT_MAX_BYTES";
    return NULL;
}

/* Extends *crc over bytes [from, to) of the data area of fd. */
static int crc_range(int fd, uint64_t from, uint64_t to, uint32_t *crc)
{
    uint8_t *buf = malloc(VERIFY_CHUNK);
    if (buf == NULL)
        return -1;
    while (from < to) {
        size_t n = to - from < VERIFY_CHUNK ? (size_t)(to - from) : VERIFY_CHUNK;
        if (sio_pread_all(fd, buf, n, SNAP_HDR + from) < 0) {
            free(buf);
            return -1;
        }
        *crc = crc32c(*crc, buf, n);
        from += n;
    }
    free(buf);
    return 0;
}

/* Opens "<dir>/snapshot" for reading and checks its header and length. 1 with the fd
 * and meta, 0 when the file does not exist, -1 (message in err) otherwise. */
static int open_snapshot(const char *dir, int *fd_out, struct snapshot_meta *m, char *err,
                         size_t errlen)
{
    uint8_t h[SNAP_HDR];
    uint64_t size = 0;
    const char *why;

    int dir_fd = sio_open_dir(dir);
    if (dir_fd < 0) {
        if (errno == ENOENT)
            return 0; /* no data directory yet: no snapshot either */
        set_err(err, errlen, "%s: cannot open: %s", dir, strerror(errno));
        return -1;
    }
    int fd = sio_open(dir_fd, SNAP_NAME, O_RDONLY);
    int e = errno;
    sio_close(dir_fd);
    if (fd < 0) {
        if (e == ENOENT)
            return 0;
        set_err(err, errlen, "%s/%s: cannot open: %s", dir, SNAP_NAME, strerror(e));
        return -1;
    }
    if (sio_file_size(fd, &size) < 0) {
        set_err(err, errlen, "%s/%s: %s", dir, SNAP_NAME, strerror(errno));
        goto fail;
    }
    if (size < SNAP_HDR) {
        set_err(err, errlen, "%s/%s: damaged snapshot: %" PRIu64 " bytes, shorter than its header",
                dir, SNAP_NAME, size);
        goto fail;
    }
    if (sio_pread_all(fd, h, SNAP_HDR, 0) < 0) {
        set_err(err, errlen, "%s/%s: cannot read: %s", dir, SNAP_NAME, strerror(errno));
        goto fail;
    }
    if ((why = decode_header(h, m)) != NULL) {
        set_err(err, errlen, "%s/%s: damaged snapshot header (%s)", dir, SNAP_NAME, why);
        goto fail;
    }
    if (size != SNAP_HDR + m->size) {
        set_err(err, errlen,
                "%s/%s: damaged snapshot: the header says %" PRIu64
                " bytes of data but the file holds %" PRIu64,
                dir, SNAP_NAME, m->size, size - SNAP_HDR);
        goto fail;
    }
    *fd_out = fd;
    return 1;
fail:
    sio_close(fd);
    return -1;
}

/* ---- saving, loading, reading ---- */

static int save(const char *dir, const struct snapshot_meta *m, const uint8_t *data,
                struct storage_io *io, char *err, size_t errlen)
{
    uint8_t h[SNAP_HDR];
    const char *step = "create";
    int fd = -1;
    int dir_fd = sio_open_dir(dir);
    if (dir_fd < 0) {
        set_err(err, errlen, "%s: cannot open: %s", dir, strerror(errno));
        return -1;
    }
    /* O_TRUNC: a leftover tmp file is a save that a crash interrupted. */
    fd = sio_create(io, dir_fd, SNAP_TMP, O_WRONLY | O_TRUNC);
    if (fd < 0)
        goto fail;
    encode_header(h, m);
    step = "write";
    if (sio_pwrite_all(io, fd, h, SNAP_HDR, 0) < 0 ||
        (m->size > 0 && sio_pwrite_all(io, fd, data, (size_t)m->size, SNAP_HDR) < 0))
        goto fail;
    if (STORAGE_MUTATED(STORAGE_MUT_SNAPSHOT_EARLY_RENAME)) {
        step = "rename to " SNAP_NAME;
        if (sio_rename(io, dir_fd, SNAP_TMP, SNAP_NAME) < 0 || sio_fsync(io, dir_fd) < 0)
            goto fail;
    }
    step = "fsync";
    if (sio_fdatasync(io, fd) < 0)
        goto fail;
    sio_close(fd);
    fd = -1;
    if (!STORAGE_MUTATED(STORAGE_MUT_SNAPSHOT_EARLY_RENAME)) {
        step = "rename to " SNAP_NAME;
        if (sio_rename(io, dir_fd, SNAP_TMP, SNAP_NAME) < 0)
            goto fail;
    }
    /* The rename is the commit point, and it is durable only with the directory. */
    if (sio_fsync(io, dir_fd) < 0) {
        set_err(err, errlen, "%s: cannot fsync the directory after renaming %s: %s", dir, SNAP_NAME,
                strerror(errno));
        sio_close(dir_fd);
        return -1;
    }
    sio_close(dir_fd);
    return 0;
fail:
    set_err(err, errlen, "%s/%s: cannot %s: %s", dir, SNAP_TMP, step, strerror(errno));
    if (fd >= 0)
        sio_close(fd);
    (void)sio_unlink(NULL, dir_fd, SNAP_TMP); /* best effort: the next save truncates it */
    sio_close(dir_fd);
    return -1;
}

static int save_checked(const char *dir, raft_index index, raft_term term, const uint8_t *data,
                        size_t len, struct storage_io *io, char *err, size_t errlen)
{
    struct snapshot_meta m = {.index = index, .term = term, .size = len};
    const char *why = check_meta(&m);
    if (dir == NULL || (len > 0 && data == NULL))
        why = "NULL argument";
    if (why != NULL) {
        set_err(err, errlen, "snapshot_save: %s", why);
        return -1;
    }
    m.crc = crc32c(0, data, len);
    return save(dir, &m, data, io, err, errlen);
}

int snapshot_save(const char *dir, raft_index index, raft_term term, const uint8_t *data,
                  size_t len, char *err, size_t errlen)
{
    struct storage_io io = {.fail_after = -1};
    return save_checked(dir, index, term, data, len, &io, err, errlen);
}

int snapshot_test_save_with_fault(const char *dir, raft_index index, raft_term term,
                                  const uint8_t *data, size_t len, long after, int errnum,
                                  char *err, size_t errlen)
{
    struct storage_io io = {.fail_after = after, .fail_errno = errnum};
    return save_checked(dir, index, term, data, len, &io, err, errlen);
}

int snapshot_load(const char *dir, struct snapshot_meta *m, uint8_t **data, char *err,
                  size_t errlen)
{
    int fd = -1;
    uint8_t *buf = NULL;

    if (m != NULL)
        memset(m, 0, sizeof *m);
    if (data != NULL)
        *data = NULL;
    if (dir == NULL || m == NULL || data == NULL) {
        set_err(err, errlen, "snapshot_load: NULL argument");
        return -1;
    }
    struct snapshot_meta got;
    int rc = open_snapshot(dir, &fd, &got, err, errlen);
    if (rc <= 0)
        return rc;
    buf = malloc(got.size > 0 ? (size_t)got.size : 1);
    if (buf == NULL) {
        set_err(err, errlen, "%s/%s: out of memory for %" PRIu64 " bytes", dir, SNAP_NAME,
                got.size);
        goto fail;
    }
    if (sio_pread_all(fd, buf, (size_t)got.size, SNAP_HDR) < 0) {
        set_err(err, errlen, "%s/%s: cannot read: %s", dir, SNAP_NAME, strerror(errno));
        goto fail;
    }
    if (crc32c(0, buf, (size_t)got.size) != got.crc) {
        set_err(err, errlen, "%s/%s: damaged snapshot: data checksum mismatch", dir, SNAP_NAME);
        goto fail;
    }
    sio_close(fd);
    *m = got;
    *data = buf;
    return 0;
fail:
    free(buf);
    sio_close(fd);
    return -1;
}

int snapshot_read_at(const char *dir, const struct snapshot_meta *m, uint64_t offset, uint8_t *buf,
                     size_t len, size_t *got, char *err, size_t errlen)
{
    int fd = -1;
    struct snapshot_meta on_disk;

    if (got != NULL)
        *got = 0;
    if (dir == NULL || m == NULL || got == NULL || (len > 0 && buf == NULL)) {
        set_err(err, errlen, "snapshot_read_at: NULL argument");
        return -1;
    }
    int rc = open_snapshot(dir, &fd, &on_disk, err, errlen);
    if (rc == 0)
        set_err(err, errlen, "%s/%s: no snapshot to send", dir, SNAP_NAME);
    if (rc <= 0)
        return -1;
    if (!same_meta(&on_disk, m)) {
        set_err(err, errlen,
                "%s/%s: holds the snapshot at index %" PRIu64 " (term %" PRIu64
                "), not the one at index %" PRIu64 " being sent",
                dir, SNAP_NAME, on_disk.index, on_disk.term, m->index);
        sio_close(fd);
        return -1;
    }
    if (offset > m->size) {
        set_err(err, errlen, "%s/%s: offset %" PRIu64 " past the end (%" PRIu64 " bytes)", dir,
                SNAP_NAME, offset, m->size);
        sio_close(fd);
        return -1;
    }
    size_t n = m->size - offset < len ? (size_t)(m->size - offset) : len;
    if (n > 0 && sio_pread_all(fd, buf, n, SNAP_HDR + offset) < 0) {
        set_err(err, errlen, "%s/%s: cannot read: %s", dir, SNAP_NAME, strerror(errno));
        sio_close(fd);
        return -1;
    }
    sio_close(fd);
    *got = n;
    return 0;
}

/* ---- receiving ---- */

struct snapshot_receiver {
    char *dir; /* for messages */
    int dir_fd;
    int fd; /* snapshot.partial */
    struct snapshot_meta m;
    uint64_t have; /* bytes durable in the partial file */
    uint32_t crc;  /* crc32c of those bytes */
    int next_slot; /* the progress slot the next chunk records itself in; the other one
                      holds the durable fallback */
    bool failed;   /* an I/O error: nothing more may be trusted from this handle */
    bool sealed;   /* complete, checked and durable at its final length; still partial */
    bool done;     /* committed (renamed) or refused: the partial is gone */
    struct storage_io io;
};

static uint64_t slot_offset(const struct snapshot_receiver *r, int slot)
{
    return SNAP_HDR + r->m.size + (uint64_t)slot * SLOT_SIZE;
}

struct slot {
    bool valid;
    uint64_t have;
    uint32_t crc;
};

static struct slot decode_slot(const struct snapshot_receiver *r, const uint8_t *p)
{
    struct slot s = {.have = get_le64(p), .crc = get_le32(p + 8)};
    s.valid = get_le32(p + 12) == crc32c(0, p, 12) && s.have > 0 && s.have <= r->m.size;
    return s;
}

/* Finds how much of an existing partial for r->m can be trusted: the largest progress
 * slot whose claimed prefix checksum matches the bytes on disk. A chunk cut by a crash
 * fails that check (its slot may be on disk before its data), and the other slot,
 * written one fdatasync earlier, is then right. A file already cut to its final length
 * was sealed and not committed: the caller was still reading it, or refused it after
 * reading (the core would not take it then), or a crash came before the commit. It is
 * trusted whole if its checksum matches. 1 when resumed, 0 when the partial must be
 * started again, -1 on a read error. */
static int resume(struct snapshot_receiver *r, char *err, size_t errlen)
{
    uint8_t h[SNAP_HDR], raw[2 * SLOT_SIZE];
    struct snapshot_meta on_disk;
    uint64_t size = 0;

    if (sio_file_size(r->fd, &size) < 0 || size < SNAP_HDR)
        return 0;
    if (sio_pread_all(r->fd, h, SNAP_HDR, 0) < 0)
        goto read_error;
    if (decode_header(h, &on_disk) != NULL || !same_meta(&on_disk, &r->m))
        return 0;
    uint32_t running = 0;
    if (size == SNAP_HDR + r->m.size) {
        if (crc_range(r->fd, 0, r->m.size, &running) < 0)
            goto read_error;
        if (running != r->m.crc)
            return 0;
        r->have = r->m.size;
        r->crc = running;
        return 1;
    }
    if (size != SNAP_HDR + r->m.size + 2 * SLOT_SIZE)
        return 0;
    if (sio_pread_all(r->fd, raw, sizeof raw, slot_offset(r, 0)) < 0)
        goto read_error;
    struct slot s[2] = {decode_slot(r, raw), decode_slot(r, raw + SLOT_SIZE)};
    int order[2] = {0, 1}; /* check the smaller claim first: one pass over the data */
    if (s[1].have < s[0].have) {
        order[0] = 1;
        order[1] = 0;
    }
    uint64_t pos = 0;
    int best = -1;
    for (int k = 0; k < 2; k++) {
        struct slot *c = &s[order[k]];
        if (!c->valid)
            continue;
        if (crc_range(r->fd, pos, c->have, &running) < 0)
            goto read_error;
        pos = c->have;
        if (running == c->crc)
            best = order[k];
    }
    if (best < 0)
        return 0;
    r->have = s[best].have;
    r->crc = s[best].crc;
    r->next_slot = 1 - best;
    return 1;
read_error:
    set_err(err, errlen, "%s/%s: cannot read: %s", r->dir, SNAP_PARTIAL, strerror(errno));
    return -1;
}

/* Starts an empty partial for r->m: header, room for the data, zeroed slots. Its
 * directory entry is synced so that what is written next survives a crash. */
static int start_partial(struct snapshot_receiver *r, char *err, size_t errlen)
{
    uint8_t h[SNAP_HDR];
    const char *step = "create";

    if (r->fd >= 0)
        sio_close(r->fd);
    r->fd = sio_create(&r->io, r->dir_fd, SNAP_PARTIAL, O_RDWR | O_TRUNC);
    if (r->fd < 0)
        goto fail;
    encode_header(h, &r->m);
    step = "write";
    if (sio_pwrite_all(&r->io, r->fd, h, SNAP_HDR, 0) < 0)
        goto fail;
    step = "size";
    if (sio_ftruncate(&r->io, r->fd, SNAP_HDR + r->m.size + 2 * SLOT_SIZE) < 0)
        goto fail;
    step = "fsync";
    if (sio_fdatasync(&r->io, r->fd) < 0 || sio_fsync(&r->io, r->dir_fd) < 0)
        goto fail;
    r->have = 0;
    r->crc = 0;
    r->next_slot = 0;
    return 0;
fail:
    set_err(err, errlen, "%s/%s: cannot %s: %s", r->dir, SNAP_PARTIAL, step, strerror(errno));
    r->failed = true;
    return -1;
}

int snapshot_receiver_open(const char *dir, const struct snapshot_meta *m,
                           struct snapshot_receiver **out, uint64_t *have, char *err, size_t errlen)
{
    struct snapshot_receiver *r = NULL;

    if (out != NULL)
        *out = NULL;
    if (have != NULL)
        *have = 0;
    if (dir == NULL || m == NULL || out == NULL || have == NULL) {
        set_err(err, errlen, "snapshot_receiver_open: NULL argument");
        return -1;
    }
    const char *why = check_meta(m);
    if (why != NULL) {
        set_err(err, errlen,
                "snapshot_receiver_open: refusing a snapshot at index %" PRIu64 " of term %" PRIu64
                " and %" PRIu64 " bytes: %s",
                m->index, m->term, m->size, why);
        return -1;
    }
    r = calloc(1, sizeof *r);
    if (r == NULL || (r->dir = strdup(dir)) == NULL) {
        free(r);
        set_err(err, errlen, "snapshot_receiver_open: out of memory");
        return -1;
    }
    r->m = *m;
    r->fd = r->dir_fd = -1;
    r->io.fail_after = -1;
    r->dir_fd = sio_open_dir(dir);
    if (r->dir_fd < 0) {
        set_err(err, errlen, "%s: cannot open: %s", dir, strerror(errno));
        goto fail;
    }
    r->fd = sio_open(r->dir_fd, SNAP_PARTIAL, O_RDWR);
    int rc = 0;
    if (r->fd >= 0)
        rc = resume(r, err, errlen);
    else if (errno != ENOENT) {
        set_err(err, errlen, "%s/%s: cannot open: %s", dir, SNAP_PARTIAL, strerror(errno));
        goto fail;
    }
    if (rc < 0)
        goto fail;
    if (rc == 0 && start_partial(r, err, errlen) < 0)
        goto fail;
    *have = r->have;
    *out = r;
    return 0;
fail:
    snapshot_receiver_close(r);
    return -1;
}

/* After a failed write or fsync, Linux may have marked the unwritten pages clean: they
 * read back fine (so resume() would trust them) yet never reach the disk, and later
 * fsyncs do not retry them. The partial is removed so the transfer starts over; the
 * handle refuses everything. If even the removal fails, a resume may trust such pages;
 * snapshot_load() checks the whole file's CRC at the next start, so the damage is then
 * refused, never used. */
static void discard_partial(struct snapshot_receiver *r)
{
    r->failed = true;
    if (sio_unlink(&r->io, r->dir_fd, SNAP_PARTIAL) == 0)
        (void)sio_fsync(&r->io, r->dir_fd);
}

/* Refuses calls on a receiver that can no longer be trusted or is finished. */
static int receiver_usable(const struct snapshot_receiver *r, const char *what, char *err,
                           size_t errlen)
{
    if (r == NULL) {
        set_err(err, errlen, "%s: NULL receiver", what);
        return -1;
    }
    if (r->failed || r->done) {
        set_err(err, errlen, "%s: %s/%s %s", what, r->dir, SNAP_PARTIAL,
                r->failed ? "failed earlier: close and open it again"
                          : "is finished or was refused");
        return -1;
    }
    return 0;
}

int snapshot_receiver_write(struct snapshot_receiver *r, uint64_t offset, const uint8_t *data,
                            size_t len, char *err, size_t errlen)
{
    uint8_t slot[SLOT_SIZE];

    if (receiver_usable(r, "snapshot_receiver_write", err, errlen) < 0)
        return -1;
    if (offset != r->have || len > r->m.size - r->have || (len > 0 && data == NULL)) {
        set_err(err, errlen,
                "%s/%s: chunk of %zu bytes at offset %" PRIu64 " refused: %" PRIu64 " of %" PRIu64
                " bytes are there",
                r->dir, SNAP_PARTIAL, len, offset, r->have, r->m.size);
        return -1;
    }
    if (len == 0)
        return 0;
    uint32_t crc = crc32c(r->crc, data, len);
    put_le64(slot, r->have + len);
    put_le32(slot + 8, crc);
    put_le32(slot + 12, crc32c(0, slot, 12));
    /* Data and slot under one fdatasync: if the crash lands before it, resume() sees
     * the slot's checksum disagree with the data and falls back to the other slot. */
    const char *step = "write";
    if (sio_pwrite_all(&r->io, r->fd, data, len, SNAP_HDR + offset) < 0 ||
        sio_pwrite_all(&r->io, r->fd, slot, SLOT_SIZE, slot_offset(r, r->next_slot)) < 0)
        goto fail;
    step = "fsync";
    if (sio_fdatasync(&r->io, r->fd) < 0)
        goto fail;
    r->have += len;
    r->crc = crc;
    r->next_slot = 1 - r->next_slot;
    return 0;
fail:
    set_err(err, errlen, "%s/%s: cannot %s %zu bytes at offset %" PRIu64 ": %s", r->dir,
            SNAP_PARTIAL, step, len, offset, strerror(errno));
    discard_partial(r);
    return -1;
}

int snapshot_receiver_seal(struct snapshot_receiver *r, char *err, size_t errlen)
{
    if (receiver_usable(r, "snapshot_receiver_seal", err, errlen) < 0)
        return -1;
    if (r->have != r->m.size) {
        set_err(err, errlen, "%s/%s: only %" PRIu64 " of %" PRIu64 " bytes received", r->dir,
                SNAP_PARTIAL, r->have, r->m.size);
        return -1;
    }
    if (r->crc != r->m.crc) {
        set_err(err, errlen,
                "%s/%s: data checksum 0x%08" PRIx32 " differs from the leader's 0x%08" PRIx32
                "; discarded, the current snapshot is unchanged",
                r->dir, SNAP_PARTIAL, r->crc, r->m.crc);
        r->done = true;
        /* Resuming it would only fail again; best effort, a leftover is replaced. */
        if (sio_unlink(&r->io, r->dir_fd, SNAP_PARTIAL) == 0)
            (void)sio_fsync(&r->io, r->dir_fd);
        return -1;
    }
    const char *step = "cut the progress slots off";
    if (sio_ftruncate(&r->io, r->fd, SNAP_HDR + r->m.size) < 0)
        goto fail;
    step = "fsync";
    if (sio_fdatasync(&r->io, r->fd) < 0)
        goto fail;
    r->sealed = true;
    return 0;
fail:
    set_err(err, errlen, "%s/%s: cannot %s: %s", r->dir, SNAP_PARTIAL, step, strerror(errno));
    discard_partial(r);
    return -1;
}

/* Refuses calls that need a sealed partial. */
static int receiver_sealed(const struct snapshot_receiver *r, const char *what, char *err,
                           size_t errlen)
{
    if (receiver_usable(r, what, err, errlen) < 0)
        return -1;
    if (!r->sealed) {
        set_err(err, errlen, "%s: %s/%s is not sealed", what, r->dir, SNAP_PARTIAL);
        return -1;
    }
    return 0;
}

int snapshot_receiver_data(struct snapshot_receiver *r, uint8_t **data, char *err, size_t errlen)
{
    if (data != NULL)
        *data = NULL;
    if (data == NULL) {
        set_err(err, errlen, "snapshot_receiver_data: NULL argument");
        return -1;
    }
    if (receiver_sealed(r, "snapshot_receiver_data", err, errlen) < 0)
        return -1;
    uint8_t *buf = malloc(r->m.size > 0 ? (size_t)r->m.size : 1);
    if (buf == NULL) {
        set_err(err, errlen, "%s/%s: out of memory for %" PRIu64 " bytes", r->dir, SNAP_PARTIAL,
                r->m.size);
        return -1;
    }
    if (sio_pread_all(r->fd, buf, (size_t)r->m.size, SNAP_HDR) < 0) {
        set_err(err, errlen, "%s/%s: cannot read: %s", r->dir, SNAP_PARTIAL, strerror(errno));
        free(buf);
        return -1;
    }
    /* What comes back from the page cache, checked as snapshot_load checks a file. */
    if (crc32c(0, buf, (size_t)r->m.size) != r->m.crc) {
        set_err(err, errlen, "%s/%s: data checksum mismatch reading it back", r->dir, SNAP_PARTIAL);
        free(buf);
        return -1;
    }
    *data = buf;
    return 0;
}

int snapshot_receiver_commit(struct snapshot_receiver *r, char *err, size_t errlen)
{
    if (receiver_sealed(r, "snapshot_receiver_commit", err, errlen) < 0)
        return -1;
    if (sio_rename(&r->io, r->dir_fd, SNAP_PARTIAL, SNAP_NAME) < 0) {
        set_err(err, errlen, "%s/%s: cannot rename to %s: %s", r->dir, SNAP_PARTIAL, SNAP_NAME,
                strerror(errno));
        discard_partial(r);
        return -1;
    }
    r->done = true;
    /* The rename is the commit point, and it is durable only with the directory. */
    if (sio_fsync(&r->io, r->dir_fd) < 0) {
        r->failed = true;
        set_err(err, errlen, "%s: cannot fsync the directory after renaming %s: %s", r->dir,
                SNAP_NAME, strerror(errno));
        return -1;
    }
    return 0;
}

int snapshot_receiver_finish(struct snapshot_receiver *r, char *err, size_t errlen)
{
    if (snapshot_receiver_seal(r, err, errlen) < 0)
        return -1;
    return snapshot_receiver_commit(r, err, errlen);
}

void snapshot_receiver_discard(struct snapshot_receiver *r)
{
    if (r == NULL || r->done)
        return;
    r->done = true;
    if (sio_unlink(&r->io, r->dir_fd, SNAP_PARTIAL) == 0)
        (void)sio_fsync(&r->io, r->dir_fd);
}

void snapshot_receiver_close(struct snapshot_receiver *r)
{
    if (r == NULL)
        return;
    if (r->fd >= 0)
        sio_close(r->fd);
    if (r->dir_fd >= 0)
        sio_close(r->dir_fd);
    free(r->dir);
    free(r);
}

void snapshot_receiver_test_fail_io(struct snapshot_receiver *r, long after, int err)
{
    r->io.fail_after = after;
    r->io.fail_errno = err;
}
