/* storage_meta.c: term and vote in two alternating files, meta1 and meta2.
 *
 * A save always overwrites the copy that is NOT the newest valid one, with a version
 * one higher, and fsyncs it before returning. So a crash in the middle of a save can
 * only damage the copy being written, which was never acknowledged; the other copy is
 * the last acknowledged state. Load takes the valid copy with the highest version. */
#include "raft_peer/storage/storage_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "raft_peer/storage/crc32c.h"

static const char *const meta_names[2] = {"meta1", "meta2"};

struct meta_copy {
    bool present; /* the file exists */
    bool valid;   /* right size, magic and checksum, sane fields */
    uint64_t version;
    raft_term term;
    raft_id voted_for;
    char why[64]; /* why it is not valid */
};

static void meta_encode(uint8_t out[META_SIZE], uint64_t version, raft_term term, raft_id vote)
{
    memset(out, 0, META_SIZE);
    memcpy(out, META_MAGIC, 8);
    put_le64(out + 8, version);
    put_le64(out + 16, term);
    put_le32(out + 24, (uint32_t)vote);
    put_le32(out + META_CRC_AT, crc32c(0, out, META_CRC_AT));
}

static void meta_decode(struct meta_copy *c, const uint8_t *in)
{
    uint32_t vote = get_le32(in + 24);
    if (memcmp(in, META_MAGIC, 8) != 0) {
        strcpy(c->why, "bad magic");
    } else if (get_le32(in + META_CRC_AT) != crc32c(0, in, META_CRC_AT)) {
        strcpy(c->why, "checksum mismatch");
    } else if (get_le32(in + 28) != 0 || vote > RAFT_MAX_PEERS || get_le64(in + 8) == 0) {
        strcpy(c->why, "impossible field values");
    } else {
        c->valid = true;
        c->version = get_le64(in + 8);
        c->term = get_le64(in + 16);
        c->voted_for = (raft_id)vote;
    }
}

/* Reads one copy. Only a failure to read (not damage) is an error. */
static int meta_read(struct storage *s, int which, struct meta_copy *c, char *err, size_t errlen)
{
    uint8_t raw[META_SIZE];
    uint64_t size = 0;
    int rc = -1;

    memset(c, 0, sizeof *c);
    int fd = sio_open(s->dir_fd, meta_names[which], O_RDONLY);
    if (fd < 0) {
        if (errno == ENOENT)
            return 0;
        set_err(err, errlen, "%s/%s: cannot open: %s", s->dir, meta_names[which], strerror(errno));
        return -1;
    }
    c->present = true;
    if (sio_file_size(fd, &size) < 0) {
        set_err(err, errlen, "%s/%s: %s", s->dir, meta_names[which], strerror(errno));
        goto out;
    }
    /* A crashed process may have left this copy in the page cache only; it is read
     * as the hard state now, so it must be durable (its directory entry is synced
     * by storage_open). */
    if (!STORAGE_MUTATED(STORAGE_MUT_NO_OPEN_SYNC) && sio_fdatasync(&s->io, fd) < 0) {
        set_err(err, errlen, "%s/%s: cannot fsync: %s", s->dir, meta_names[which], strerror(errno));
        goto out;
    }
    if (size != META_SIZE) {
        snprintf(c->why, sizeof c->why, "size %" PRIu64 " instead of %u", size, META_SIZE);
    } else if (sio_pread_all(fd, raw, META_SIZE, 0) < 0) {
        set_err(err, errlen, "%s/%s: cannot read: %s", s->dir, meta_names[which], strerror(errno));
        goto out;
    } else {
        meta_decode(c, raw);
    }
    rc = 0;
out:
    sio_close(fd);
    return rc;
}

int storage_meta_load(struct storage *s, char *err, size_t errlen)
{
    struct meta_copy c[2];

    for (int i = 0; i < 2; i++)
        if (meta_read(s, i, &c[i], err, errlen) < 0)
            return STORAGE_EIO;
    s->meta_present[0] = c[0].present;
    s->meta_present[1] = c[1].present;
    s->term = 0;
    s->voted_for = RAFT_NOBODY;
    s->meta_version = 0;
    s->meta_newest = -1;

    if (c[0].valid && c[1].valid && c[0].version == c[1].version) {
        set_err(err, errlen,
                "%s: meta1 and meta2 both claim version %" PRIu64
                "; saves never reuse a version, so the hard state cannot be trusted",
                s->dir, c[0].version);
        return STORAGE_ECORRUPT;
    }
    if (c[0].present && c[1].present && !c[0].valid && !c[1].valid) {
        /* A save starts only after the previous one completed, so one crash cannot
         * damage both copies: this is not a torn write. */
        set_err(err, errlen, "%s: both meta1 (%s) and meta2 (%s) are damaged", s->dir, c[0].why,
                c[1].why);
        return STORAGE_ECORRUPT;
    }
    for (int i = 0; i < 2; i++) {
        if (c[i].valid && c[i].version > s->meta_version) {
            s->meta_version = c[i].version;
            s->meta_newest = i;
            s->term = c[i].term;
            s->voted_for = c[i].voted_for;
        }
    }
    /* What remains: one valid copy and a damaged one (the save in progress at the
     * crash; the valid copy holds the last acknowledged state), or a lone damaged copy
     * (the very first save was cut: nothing was acknowledged, term 0 is right), or no
     * file at all (a new peer). storage_open() also checks the log against the term. */
    return STORAGE_OK;
}

int storage_meta_save(struct storage *s, raft_term term, raft_id voted_for, char *err,
                      size_t errlen)
{
    uint8_t raw[META_SIZE];
    int target = s->meta_newest == 0 ? 1 : 0;
    const char *name = meta_names[target];

    /* Version 2^64 - 1 comes only from a forged or rotten file that still passes its
     * CRC; the next version would wrap to 0, which load rejects, so this save would be
     * acknowledged and then lost (found by tests/fuzz/fuzz_storage_recovery). */
    if (s->meta_version == UINT64_MAX)
        return storage_fail(s, 0, err, errlen, "%s/%s: version %" PRIu64 " cannot be followed",
                            s->dir, meta_names[s->meta_newest], s->meta_version);
    meta_encode(raw, s->meta_version + 1, term, voted_for);
    int fd = sio_create(&s->io, s->dir_fd, name, O_WRONLY | O_TRUNC);
    if (fd < 0)
        return storage_fail(s, errno, err, errlen, "%s/%s: cannot create", s->dir, name);
    if (sio_pwrite_all(&s->io, fd, raw, sizeof raw, 0) < 0) {
        int e = errno;
        sio_close(fd);
        return storage_fail(s, e, err, errlen, "%s/%s: cannot write", s->dir, name);
    }
    if (sio_fdatasync(&s->io, fd) < 0) {
        int e = errno;
        sio_close(fd);
        return storage_fail(s, e, err, errlen, "%s/%s: cannot fsync", s->dir, name);
    }
    if (sio_close(fd) < 0)
        return storage_fail(s, errno, err, errlen, "%s/%s: cannot close", s->dir, name);
    if (!s->meta_present[target]) {
        /* A new file is durable only once its directory entry is. */
        if (sio_fsync(&s->io, s->dir_fd) < 0)
            return storage_fail(s, errno, err, errlen, "%s: cannot fsync the directory", s->dir);
        s->meta_present[target] = true;
    }
    s->meta_version++;
    s->meta_newest = target;
    s->term = term;
    s->voted_for = voted_for;
    return STORAGE_OK;
}
