/* storage_log.c: appending to the log, conflict truncation, segment rolling, sync.
 *
 * Records are encoded into one memory buffer and handed to the kernel in large
 * writes; only storage_log_sync() waits for the disk, so a batch of entries costs one
 * fdatasync (group commit). Two rare events sync by themselves, because recovery
 * relies on them: closing a full segment (so only the last segment can be torn) and
 * dropping entries (so stale records can never reappear behind new ones). Compaction
 * deletes whole segments that a snapshot covers. */
#include "raft_peer/storage/storage_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "raft_peer/storage/crc32c.h"

int storage_reserve_entries(struct storage *s, size_t more)
{
    if (s->cap_entries - s->n_entries >= more)
        return 0;
    size_t cap = s->cap_entries ? s->cap_entries : 1024;
    while (cap - s->n_entries < more) {
        if (cap > SIZE_MAX / 2 / sizeof *s->slots)
            return -1;
        cap *= 2;
    }
    struct storage_slot *grown = realloc(s->slots, cap * sizeof *grown);
    if (grown == NULL)
        return -1;
    s->slots = grown;
    s->cap_entries = cap;
    return 0;
}

int storage_reserve_segs(struct storage *s, size_t more)
{
    if (s->cap_segs - s->n_segs >= more)
        return 0;
    size_t cap = s->cap_segs ? s->cap_segs * 2 : 16;
    while (cap - s->n_segs < more)
        cap *= 2;
    raft_index *grown = realloc(s->seg_first, cap * sizeof *grown);
    if (grown == NULL)
        return -1;
    s->seg_first = grown;
    s->cap_segs = cap;
    return 0;
}

static int reserve_buf(struct storage *s, size_t more)
{
    if (s->buf_cap - s->buf_len >= more)
        return 0;
    size_t cap = s->buf_cap ? s->buf_cap : STORAGE_FLUSH_BYTES + 4096;
    while (cap - s->buf_len < more)
        cap *= 2;
    uint8_t *grown = realloc(s->buf, cap);
    if (grown == NULL)
        return -1;
    s->buf = grown;
    s->buf_cap = cap;
    return 0;
}

static void tail_name(const struct storage *s, char name[SEG_NAME_MAX])
{
    storage_seg_name(name, s->seg_first[s->n_segs - 1]);
}

/* Bytes of the last segment, queued ones included. */
static uint64_t tail_size(const struct storage *s)
{
    return s->tail_written + s->buf_len;
}

int storage_log_flush(struct storage *s, char *err, size_t errlen)
{
    if (s->buf_len == 0)
        return STORAGE_OK;
    if (sio_pwrite_all(&s->io, s->tail_fd, s->buf, s->buf_len, s->tail_written) < 0) {
        char name[SEG_NAME_MAX];
        tail_name(s, name);
        return storage_fail(s, errno, err, errlen,
                            "%s/%s: cannot write %zu bytes at offset %" PRIu64, s->dir, name,
                            s->buf_len, s->tail_written);
    }
    s->tail_written += s->buf_len;
    s->buf_len = 0;
    s->tail_dirty = true;
    return STORAGE_OK;
}

/* Fills a record header at h for the tail; synced is in bytes of the tail. */
static void encode_record_header(const struct storage *s, uint8_t *h, uint32_t len, uint8_t type,
                                 uint64_t synced, raft_term term, uint32_t data_crc)
{
    uint64_t units = synced / REC_SYNCED_UNIT;
    if (units > 0xFFFFFFu)
        units = 0xFFFFFFu; /* rounding down only ever refuses less */
    put_le32(h, len);
    h[4] = type;
    h[5] = (uint8_t)units;
    h[6] = (uint8_t)(units >> 8);
    h[7] = (uint8_t)(units >> 16);
    put_le64(h + 8, term);
    put_le32(h + 16, data_crc);
    put_le32(h + 20, crc32c(s->tail_nonce, h, 20));
}

/* The term a record that is not an entry carries (it must not be 0). */
static raft_term last_term(const struct storage *s)
{
    raft_term term = s->n_entries > 0 ? s->slots[s->n_entries - 1].term : s->prefix_term;
    return term ? term : 1;
}

/* Writes a sync mark after what the last fdatasync covered. It is not synced itself:
 * it only has to reach the disk before rot could, and the kernel writes it back
 * within seconds. */
static int write_sync_mark(struct storage *s, char *err, size_t errlen)
{
    uint8_t h[REC_HDR_SIZE];
    encode_record_header(s, h, 0, REC_TYPE_SYNC_MARK, s->tail_synced, last_term(s),
                         crc32c(0, NULL, 0));
    if (sio_pwrite_all(&s->io, s->tail_fd, h, sizeof h, s->tail_written) < 0) {
        char name[SEG_NAME_MAX];
        tail_name(s, name);
        return storage_fail(s, errno, err, errlen, "%s/%s: cannot write a sync mark", s->dir, name);
    }
    s->tail_written += sizeof h;
    return STORAGE_OK;
}

int storage_log_sync(struct storage *s, char *err, size_t errlen)
{
    int rc = storage_log_flush(s, err, errlen);
    if (rc != STORAGE_OK)
        return rc;
    if (s->tail_dirty) {
        if (!STORAGE_MUTATED(STORAGE_MUT_NO_SYNC_BEFORE_ACK) &&
            sio_fdatasync(&s->io, s->tail_fd) < 0) {
            char name[SEG_NAME_MAX];
            tail_name(s, name);
            return storage_fail(s, errno, err, errlen, "%s/%s: cannot fsync", s->dir, name);
        }
        s->tail_dirty = false;
        s->tail_synced = s->tail_written;
        int mrc = write_sync_mark(s, err, errlen);
        if (mrc != STORAGE_OK)
            return mrc;
    }
    if (s->dir_dirty) {
        if (sio_fsync(&s->io, s->dir_fd) < 0)
            return storage_fail(s, errno, err, errlen, "%s: cannot fsync the directory", s->dir);
        s->dir_dirty = false;
    }
    return STORAGE_OK;
}

/* Makes the full last segment durable down to its last byte, and cuts off the zeros of
 * its preallocated end: only the last segment may end in zeros, so damage anywhere in
 * an earlier one stays refused. */
static int close_tail(struct storage *s, char *err, size_t errlen)
{
    char name[SEG_NAME_MAX];
    uint64_t size = 0;
    tail_name(s, name);
    int rc = storage_log_sync(s, err, errlen);
    if (rc != STORAGE_OK)
        return rc;
    if (sio_file_size(s->tail_fd, &size) < 0)
        return storage_fail(s, errno, err, errlen, "%s/%s: cannot stat", s->dir, name);
    bool trim = size > s->tail_written && !STORAGE_MUTATED(STORAGE_MUT_NO_TRIM_AT_CLOSE);
    if (trim && sio_ftruncate(&s->io, s->tail_fd, s->tail_written) < 0)
        return storage_fail(s, errno, err, errlen, "%s/%s: cannot trim to %" PRIu64, s->dir, name,
                            s->tail_written);
    /* The sync mark too: an unsynced byte in a closed segment would read as rot. */
    if ((trim || s->tail_written > s->tail_synced) && sio_fdatasync(&s->io, s->tail_fd) < 0)
        return storage_fail(s, errno, err, errlen, "%s: cannot fsync a full segment", s->dir);
    sio_close(s->tail_fd);
    s->tail_fd = -1;
    return STORAGE_OK;
}

/* Starts a new last segment whose first record will be `first`: the spare that
 * storage_prepare() made ready, renamed, or else a new file preallocated at once. Its
 * header is queued with the records, so it reaches the file in the same write. */
static int start_segment(struct storage *s, raft_index first, char *err, size_t errlen)
{
    char name[SEG_NAME_MAX];

    if (s->n_segs > 0) {
        /* Close the full segment durably: recovery then only has to expect a torn
         * write in the last segment. */
        int rc = close_tail(s, err, errlen);
        if (rc != STORAGE_OK)
            return rc;
    }
    if (storage_reserve_segs(s, 1) < 0 || reserve_buf(s, SEG_HDR_SIZE) < 0)
        return storage_fail(s, ENOMEM, err, errlen, "%s: cannot start a segment", s->dir);
    storage_seg_name(name, first);
    int fd;
    if (s->spare_fd >= 0) {
        /* Zeros at full size, already durable: the appends' fdatasyncs write data only.
         * The rename replaces a leftover of that name (a removed suffix), and is made
         * durable with the directory at the next sync, like a created file. */
        if (sio_rename(&s->io, s->dir_fd, SPARE_NAME, name) < 0)
            return storage_fail(s, errno, err, errlen, "%s/%s: cannot rename %s to it", s->dir,
                                name, SPARE_NAME);
        fd = s->spare_fd;
        s->spare_fd = -1;
    } else {
        /* O_TRUNC: a file of that name can only be a leftover of a removed suffix. */
        fd = sio_create(&s->io, s->dir_fd, name, O_RDWR | O_TRUNC);
        if (fd < 0)
            return storage_fail(s, errno, err, errlen, "%s/%s: cannot create", s->dir, name);
        /* Its size reaches the disk with the first sync of the segment, once; without
         * it (a full disk), every sync of the segment writes the growing size. */
        if (s->prealloc)
            (void)sio_preallocate(fd, storage_prealloc_bytes(s));
    }
    s->tail_fd = fd;
    s->seg_first[s->n_segs++] = first;
    s->tail_written = 0;
    s->tail_synced = 0;
    s->tail_nonce = sio_nonce();
    s->tail_dirty = false;
    s->dir_dirty = !STORAGE_MUTATED(STORAGE_MUT_NO_SEGMENT_DIR_FSYNC);

    uint8_t *h = s->buf + s->buf_len;
    memset(h, 0, SEG_HDR_SIZE);
    memcpy(h, SEG_MAGIC, 8);
    put_le64(h + 8, first);
    put_le32(h + 16, s->tail_nonce);
    put_le32(h + 20, crc32c(0, h, 20));
    s->buf_len += SEG_HDR_SIZE;
    return STORAGE_OK;
}

void storage_log_prepare(struct storage *s)
{
    if (!s->prealloc || s->spare_fd >= 0 || (s->n_segs > 0 && tail_size(s) < s->segment_bytes / 2))
        return;
    /* Not injectable (no storage_io) and never fatal: a spare that cannot be made is
     * only a slower first sync of the next segment. O_TRUNC: a leftover spare of an
     * earlier run may hold anything (records written after a rename a power cut lost),
     * and its zeros must be fresh. */
    int fd = sio_create(NULL, s->dir_fd, SPARE_NAME, O_RDWR | O_TRUNC);
    if (fd < 0)
        return;
    if (sio_preallocate(fd, storage_prealloc_bytes(s)) < 0 || sio_fdatasync(NULL, fd) < 0 ||
        sio_fsync(NULL, s->dir_fd) < 0) {
        sio_close(fd);
        (void)sio_unlink(NULL, s->dir_fd, SPARE_NAME);
        return;
    }
    s->spare_fd = fd;
}

int storage_read_tail_nonce(struct storage *s)
{
    uint8_t h[SEG_HDR_SIZE];
    if (sio_pread_all(s->tail_fd, h, sizeof h, 0) < 0)
        return -1;
    s->tail_nonce = get_le32(h + 16);
    return 0;
}

/* Before a cut into synced data: a synced record at the end of the file that names the
 * offset the file is being cut at (REC_TYPE_TRUNCATE), so recovery finishes a cut that
 * a power cut interrupted instead of taking its half-zeroed end for rot. */
static int write_truncate_intent(struct storage *s, uint64_t off, char *err, size_t errlen)
{
    char name[SEG_NAME_MAX];
    uint8_t rec[REC_HDR_SIZE + 8];
    put_le64(rec + REC_HDR_SIZE, off);
    encode_record_header(s, rec, 8, REC_TYPE_TRUNCATE, s->tail_synced, last_term(s),
                         crc32c(0, rec + REC_HDR_SIZE, 8));
    tail_name(s, name);
    if (sio_pwrite_all(&s->io, s->tail_fd, rec, sizeof rec, s->tail_written) < 0)
        return storage_fail(s, errno, err, errlen, "%s/%s: cannot write a truncation intent",
                            s->dir, name);
    if (sio_fdatasync(&s->io, s->tail_fd) < 0)
        return storage_fail(s, errno, err, errlen, "%s/%s: cannot fsync", s->dir, name);
    s->tail_written += sizeof rec;
    return STORAGE_OK;
}

/* Largest segment position whose first index is <= index. */
static size_t segment_of(const struct storage *s, raft_index index)
{
    size_t lo = 0, hi = s->n_segs; /* answer in [lo, hi) */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->seg_first[mid] <= index)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

/* Drops every entry >= first (first_index <= first <= last index), durably. */
static int truncate_from(struct storage *s, raft_index first, char *err, size_t errlen)
{
    char name[SEG_NAME_MAX];
    size_t keep = segment_of(s, first);
    int rc = storage_log_flush(s, err, errlen);
    if (rc != STORAGE_OK)
        return rc;

    if (keep + 1 < s->n_segs) {
        sio_close(s->tail_fd);
        s->tail_fd = -1;
        /* Newest first: a crash in between leaves a shorter log, never a gap. */
        while (s->n_segs > keep + 1) {
            storage_seg_name(name, s->seg_first[s->n_segs - 1]);
            if (sio_unlink(&s->io, s->dir_fd, name) < 0)
                return storage_fail(s, errno, err, errlen, "%s/%s: cannot remove", s->dir, name);
            s->n_segs--;
        }
        /* The removals must be durable before new records follow the kept ones, or a
         * crash could bring back stale segments behind new entries. */
        if (sio_fsync(&s->io, s->dir_fd) < 0)
            return storage_fail(s, errno, err, errlen, "%s: cannot fsync the directory", s->dir);
        s->dir_dirty = false;
        tail_name(s, name);
        s->tail_fd = sio_open(s->dir_fd, name, O_RDWR);
        uint64_t size = 0;
        if (s->tail_fd < 0 || sio_file_size(s->tail_fd, &size) < 0 ||
            storage_read_tail_nonce(s) < 0)
            return storage_fail(s, errno, err, errlen, "%s/%s: cannot open", s->dir, name);
        /* A closed segment was synced whole, its sync mark included. */
        s->tail_written = s->tail_synced = size;
    }
    uint64_t off = s->slots[first - s->first_index].offset;
    tail_name(s, name);
    if (off < s->tail_synced) {
        int rc2 = write_truncate_intent(s, off, err, errlen);
        if (rc2 != STORAGE_OK)
            return rc2;
    }
    uint64_t size = 0;
    if (sio_file_size(s->tail_fd, &size) < 0)
        return storage_fail(s, errno, err, errlen, "%s/%s: cannot stat", s->dir, name);
    if (sio_ftruncate(&s->io, s->tail_fd, off) < 0)
        return storage_fail(s, errno, err, errlen, "%s/%s: cannot truncate to %" PRIu64, s->dir,
                            name, off);
    /* A preallocated tail stays so: the cut bytes read as zeros, the size is unchanged.
     * The same fdatasync covers both; a power cut before it leaves old bytes or zeros
     * in any sector of the cut range, which is what an interrupted cut always left. */
    if (s->prealloc && size >= storage_prealloc_bytes(s))
        (void)sio_preallocate(s->tail_fd, size);
    if (sio_fdatasync(&s->io, s->tail_fd) < 0)
        return storage_fail(s, errno, err, errlen, "%s/%s: cannot fsync", s->dir, name);
    s->tail_written = off;
    s->tail_synced = off;
    s->tail_dirty = false;
    s->n_entries = (size_t)(first - s->first_index);
    return STORAGE_OK;
}

static int check_entries(const struct storage *s, raft_index first,
                         const struct raft_entry *entries, size_t n, char *err, size_t errlen)
{
    /* The entry just before the new ones bounds their terms from below. */
    raft_term prev =
        first > s->first_index ? s->slots[first - 1 - s->first_index].term : s->prefix_term;
    for (size_t i = 0; i < n; i++) {
        const struct raft_entry *e = &entries[i];
        const char *why = NULL;
        if (e->type == 0 || e->type == REC_TYPE_SYNC_MARK)
            why = "type 0 or the storage's own sync mark";
        else if (e->len > STORAGE_MAX_ENTRY_BYTES)
            why = "larger than STORAGE_MAX_ENTRY_BYTES";
        else if (e->len > 0 && e->data == NULL)
            why = "NULL data";
        else if (e->term == 0)
            why = "term 0";
        else if (e->term < (i > 0 ? entries[i - 1].term : prev))
            why = "term below the previous entry's";
        else if (e->term > s->term)
            why = "term above the saved term (save the hard state first)";
        if (why != NULL) {
            set_err(err, errlen, "storage_append: entry %zu of %zu: %s", i, n, why);
            return STORAGE_EINVAL;
        }
    }
    return STORAGE_OK;
}

int storage_log_append(struct storage *s, raft_index first, const struct raft_entry *entries,
                       size_t n, char *err, size_t errlen)
{
    raft_index next = s->first_index + s->n_entries;
    if (first < s->first_index || first > next) {
        set_err(err, errlen,
                "storage_append: index %" PRIu64 " outside the log [%" PRIu64 ", %" PRIu64 "]",
                first, s->first_index, next);
        return STORAGE_EINVAL;
    }
    if (n > 0 && entries == NULL) {
        set_err(err, errlen, "storage_append: NULL entries");
        return STORAGE_EINVAL;
    }
    int rc = check_entries(s, first, entries, n, err, errlen);
    if (rc != STORAGE_OK)
        return rc;
    size_t needed = (size_t)(first - s->first_index) + n;
    if (needed > s->n_entries && storage_reserve_entries(s, needed - s->n_entries) < 0) {
        set_err(err, errlen, "storage_append: out of memory for %zu entries", n);
        return STORAGE_EIO; /* nothing changed, but the caller cannot go on either */
    }
    if (first < next) {
        rc = truncate_from(s, first, err, errlen);
        if (rc != STORAGE_OK)
            return rc;
    }
    for (size_t i = 0; i < n; i++) {
        const struct raft_entry *e = &entries[i];
        raft_index index = s->first_index + s->n_entries;
        /* Close the tail only once it holds an entry the snapshot does not cover. A tail
         * of covered records only, closed here, would be removed by the next open as
         * "an unfinished compaction", a false warning (found by fuzz_storage_recovery). */
        raft_index tail_live = s->n_segs > 0 && s->seg_first[s->n_segs - 1] > s->first_index
                                   ? s->seg_first[s->n_segs - 1]
                                   : s->first_index;
        if (s->n_segs == 0 || (tail_size(s) >= s->segment_bytes && tail_live < index)) {
            rc = start_segment(s, index, err, errlen);
            if (rc != STORAGE_OK)
                return rc;
        }
        if (reserve_buf(s, REC_HDR_SIZE + (size_t)e->len) < 0)
            return storage_fail(s, ENOMEM, err, errlen, "%s: cannot queue a record", s->dir);
        s->slots[s->n_entries] = (struct storage_slot){.offset = tail_size(s), .term = e->term};

        uint8_t *h = s->buf + s->buf_len;
        encode_record_header(s, h, e->len, e->type, s->tail_synced, e->term,
                             crc32c(0, e->data, e->len));
        if (e->len > 0)
            memcpy(h + REC_HDR_SIZE, e->data, e->len);
        s->buf_len += REC_HDR_SIZE + e->len;
        s->n_entries++;
        if (s->buf_len >= s->flush_bytes) {
            rc = storage_log_flush(s, err, errlen);
            if (rc != STORAGE_OK)
                return rc;
        }
    }
    return STORAGE_OK;
}

/* True when every record of segment i has an index <= index. */
static bool segment_covered(const struct storage *s, size_t i, raft_index index)
{
    if (i + 1 < s->n_segs)
        return s->seg_first[i + 1] <= index + 1;
    return storage_last_index(s) <= index;
}

int storage_log_compact(struct storage *s, raft_index index, raft_term term, char *err,
                        size_t errlen)
{
    char name[SEG_NAME_MAX];
    int rc;

    if (index < s->first_index) {
        if (index + 1 == s->first_index)
            s->prefix_term = term;
        return STORAGE_OK; /* already compacted that far */
    }
    /* Figure 13: if the entry at index has another term, nothing after it follows the
     * snapshot. Dropping it first (durably) means a crash can never leave that suffix
     * behind the snapshot. */
    raft_index last = storage_last_index(s);
    if (index < last && s->slots[index - s->first_index].term != term) {
        rc = truncate_from(s, index + 1, err, errlen);
        if (rc != STORAGE_OK)
            return rc;
        last = index;
    }

    size_t del = 0;
    while (del < s->n_segs && segment_covered(s, del, index))
        del++;
    if (del > 0 && del == s->n_segs) {
        /* The tail goes too; what is queued for it is covered as well. The next append
         * starts a new segment at index + 1. */
        sio_close(s->tail_fd);
        s->tail_fd = -1;
        s->buf_len = 0;
        s->tail_written = 0;
        s->tail_synced = 0;
        s->tail_dirty = false;
    }
    /* Oldest first: a crash in between leaves a contiguous run of segments, whose
     * covered head the next open removes. */
    for (size_t i = 0; i < del; i++) {
        storage_seg_name(name, s->seg_first[i]);
        if (sio_unlink(&s->io, s->dir_fd, name) < 0)
            return storage_fail(s, errno, err, errlen, "%s/%s: cannot remove", s->dir, name);
    }
    if (del > 0) {
        memmove(s->seg_first, s->seg_first + del, (s->n_segs - del) * sizeof *s->seg_first);
        s->n_segs -= del;
        if (sio_fsync(&s->io, s->dir_fd) < 0)
            return storage_fail(s, errno, err, errlen, "%s: cannot fsync the directory", s->dir);
        s->dir_dirty = false;
    }

    size_t drop = index >= last ? s->n_entries : (size_t)(index + 1 - s->first_index);
    /* Not when nothing is left: slots is NULL in an empty log (a wiped follower
     * installing its first snapshot), and memmove(NULL, ...) is undefined even for 0. */
    if (drop < s->n_entries)
        memmove(s->slots, s->slots + drop, (s->n_entries - drop) * sizeof *s->slots);
    s->n_entries -= drop;
    s->first_index = index + 1;
    s->prefix_term = term;
    return STORAGE_OK;
}
