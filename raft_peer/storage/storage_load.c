/* storage_load.c: reads the log segments at open, checks every record, and cuts off a
 * torn tail.
 *
 * Recovery rule (docs/STORAGE.md): only the last segment can end in a torn write,
 * because a segment is fsynced before the next one is created. In the last segment,
 * the first damaged record is a torn tail when no valid record follows it anywhere in
 * the file: a crash can only cut the bytes written after the last fsync, and those
 * were never acknowledged. Damage followed by a valid record, or damage in any other
 * segment, means acknowledged data is lost: open fails, naming the file and offset. */
#include "raft_peer/storage/storage_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "raft_peer/storage/crc32c.h"

enum rec_status {
    REC_OK,
    REC_SHORT,      /* fewer bytes left than a header */
    REC_BAD_HEADER, /* header checksum or fields wrong: its length cannot be trusted */
    REC_CUT,        /* a good header whose data runs past the end of the file */
    REC_BAD_DATA,   /* a good header, the data checksum does not match */
};

static const char *const rec_status_text[] = {
    [REC_OK] = "valid",
    [REC_SHORT] = "incomplete header",
    [REC_BAD_HEADER] = "header checksum mismatch",
    [REC_CUT] = "data cut short by the end of the file",
    [REC_BAD_DATA] = "data checksum mismatch",
};

/* Checks the record at off; on REC_OK, REC_CUT and REC_BAD_DATA *len is its data size.
 * Without check_data the data checksum is not computed (a record the snapshot covers is
 * only walked over, and its header alone says how far). */
static uint64_t record_synced(const uint8_t *h);

static enum rec_status check_record(const uint8_t *p, uint64_t size, uint64_t off, uint32_t *len,
                                    bool check_data, uint32_t nonce)
{
    if (size - off < REC_HDR_SIZE)
        return REC_SHORT;
    const uint8_t *h = p + off;
    /* Type 0 first: it rejects the zeros of a preallocated end without a checksum, so
     * searching them byte by byte costs little. */
    if (h[4] == 0 || get_le32(h + 20) != crc32c(nonce, h, 20))
        return REC_BAD_HEADER;
    *len = get_le32(h);
    /* A record never claims a sync past its own start: it was written after that sync. */
    if (*len > STORAGE_MAX_ENTRY_BYTES || get_le64(h + 8) == 0 || record_synced(h) > off)
        return REC_BAD_HEADER; /* checksummed, yet never written by us */
    if (size - off - REC_HDR_SIZE < *len)
        return REC_CUT;
    if (check_data && get_le32(h + 16) != crc32c(0, h + REC_HDR_SIZE, *len))
        return REC_BAD_DATA;
    return REC_OK;
}

/* How much of its segment an fdatasync had covered when the record at h was written. */
static uint64_t record_synced(const uint8_t *h)
{
    return ((uint64_t)h[5] | (uint64_t)h[6] << 8 | (uint64_t)h[7] << 16) * REC_SYNCED_UNIT;
}

/* The offset a valid truncation intent at h names, or UINT64_MAX when h is none. */
static uint64_t truncate_target(const uint8_t *h, uint32_t len)
{
    if (h[4] != REC_TYPE_TRUNCATE || len != 8)
        return UINT64_MAX;
    return get_le64(h + REC_HDR_SIZE);
}

/* Looks for whole valid records starting at any byte offset in [from, size): how many,
 * the largest synced mark among them, and the lowest cut a truncation intent among
 * them names. Only run on damage, so the byte-by-byte search costs nothing in normal
 * operation. */
struct records_after {
    size_t count;
    uint64_t max_synced;
    uint64_t cut; /* UINT64_MAX: no intent */
};

static struct records_after valid_records_after(const uint8_t *p, uint64_t size, uint64_t from,
                                                uint32_t nonce)
{
    struct records_after found = {0, 0, UINT64_MAX};
    uint32_t len;
    for (uint64_t off = from; off + REC_HDR_SIZE <= size;) {
        if (check_record(p, size, off, &len, true, nonce) != REC_OK) {
            off++;
            continue;
        }
        uint64_t synced = record_synced(p + off), cut = truncate_target(p + off, len);
        found.count++;
        if (synced > found.max_synced)
            found.max_synced = synced;
        if (cut < found.cut)
            found.cut = cut;
        off += REC_HDR_SIZE + len;
    }
    return found;
}

static bool all_zero(const uint8_t *p, uint64_t len)
{
    for (uint64_t i = 0; i < len; i++)
        if (p[i] != 0)
            return false;
    return true;
}

static int add_chunk(struct storage_boot *boot, uint8_t *chunk)
{
    uint8_t **grown = realloc(boot->chunks, (boot->n_chunks + 1) * sizeof *grown);
    if (grown == NULL)
        return -1;
    boot->chunks = grown;
    boot->chunks[boot->n_chunks++] = chunk;
    return 0;
}

static int add_entry(struct storage *s, struct storage_boot *boot, const uint8_t *rec, uint64_t off)
{
    if (storage_reserve_entries(s, 1) < 0)
        return -1;
    if (boot->n_entries == boot->entries_cap) {
        size_t cap = boot->entries_cap ? boot->entries_cap * 2 : 1024;
        struct raft_entry *grown = realloc(boot->entries, cap * sizeof *grown);
        if (grown == NULL)
            return -1;
        boot->entries = grown;
        boot->entries_cap = cap;
    }
    struct raft_entry *e = &boot->entries[boot->n_entries++];
    e->len = get_le32(rec);
    e->type = rec[4];
    e->term = get_le64(rec + 8);
    e->data = e->len > 0 ? (uint8_t *)rec + REC_HDR_SIZE : NULL;
    s->slots[s->n_entries++] = (struct storage_slot){.offset = off, .term = e->term};
    return 0;
}

/* Cuts the last segment back to its valid prefix, durably, before anything is appended
 * after it. */
static int cut_tail(struct storage *s, const char *name, uint64_t keep, char *err, size_t errlen)
{
    int fd = sio_open(s->dir_fd, name, O_RDWR);
    if (fd < 0 || sio_ftruncate(&s->io, fd, keep) < 0 || sio_fdatasync(&s->io, fd) < 0) {
        set_err(err, errlen, "%s/%s: cannot cut the torn tail at byte offset %" PRIu64 ": %s",
                s->dir, name, keep, strerror(errno));
        if (fd >= 0)
            sio_close(fd);
        return STORAGE_EIO;
    }
    sio_close(fd);
    return STORAGE_OK;
}

/* Reads the whole segment file into a fresh buffer kept by boot, and makes it durable:
 * a crashed process may have left it in the page cache, and what is loaded now counts
 * as persisted. */
static int read_segment(struct storage *s, struct storage_boot *boot, const char *name,
                        uint8_t **data, uint64_t *size, char *err, size_t errlen)
{
    uint64_t bytes = 0;
    int rc = STORAGE_EIO;
    uint8_t *buf = NULL;
    int fd = sio_open(s->dir_fd, name, O_RDONLY);

    if (fd < 0) {
        set_err(err, errlen, "%s/%s: cannot open: %s", s->dir, name, strerror(errno));
        goto out;
    }
    if (sio_file_size(fd, &bytes) < 0 || bytes > STORAGE_MAX_SEGMENT_FILE) {
        set_err(err, errlen, "%s/%s: not a segment file (%" PRIu64 " bytes, limit %u)", s->dir,
                name, bytes, STORAGE_MAX_SEGMENT_FILE);
        rc = STORAGE_ECORRUPT;
        goto out;
    }
    buf = malloc(bytes > 0 ? (size_t)bytes : 1);
    if (buf == NULL || add_chunk(boot, buf) < 0) {
        set_err(err, errlen, "%s/%s: out of memory for %" PRIu64 " bytes", s->dir, name, bytes);
        free(buf);
        goto out;
    }
    if (sio_pread_all(fd, buf, (size_t)bytes, 0) < 0) {
        set_err(err, errlen, "%s/%s: cannot read: %s", s->dir, name, strerror(errno));
        goto out;
    }
    if (!STORAGE_MUTATED(STORAGE_MUT_NO_OPEN_SYNC) && sio_fdatasync(&s->io, fd) < 0) {
        set_err(err, errlen, "%s/%s: cannot fsync: %s", s->dir, name, strerror(errno));
        goto out;
    }
    *data = buf;
    *size = bytes;
    rc = STORAGE_OK;
out:
    if (fd >= 0)
        sio_close(fd);
    return rc;
}

/* Where loading stands between segments. */
struct load_pos {
    raft_index snapshot_index; /* records up to here are skipped */
    raft_index next;           /* index of the next record */
    raft_term last_term;       /* of the last entry kept (or the snapshot's, when read) */
};

/* Reads the records of one segment in p[SEG_HDR_SIZE, *size) into boot. Stops early,
 * with *cut_to set, when a truncation intent says the segment was being cut there: the
 * caller then undoes what this pass loaded, finishes the cut and reads it again. */
static int parse_records(struct storage *s, struct storage_boot *boot, const char *name,
                         const uint8_t *p, uint64_t *size, bool is_last, uint32_t nonce,
                         struct load_pos *pos, uint64_t *cut_to, char *err, size_t errlen)
{
    uint32_t len = 0;
    uint64_t off = SEG_HDR_SIZE;
    *cut_to = UINT64_MAX;
    while (off < *size) {
        bool covered = pos->next <= pos->snapshot_index;
        enum rec_status st = check_record(p, *size, off, &len, !covered, nonce);
        if (st == REC_OK && p[off + 4] == REC_TYPE_SYNC_MARK) {
            off += REC_HDR_SIZE + len; /* a hint for the damage rule below, not an entry */
            continue;
        }
        if (st == REC_OK && p[off + 4] == REC_TYPE_TRUNCATE) {
            uint64_t to = truncate_target(p + off, len);
            if (!is_last || to < SEG_HDR_SIZE || to > off) {
                set_err(err, errlen,
                        "%s/%s: truncation intent at byte offset %" PRIu64 " names offset %" PRIu64
                        "%s",
                        s->dir, name, off, to, is_last ? "" : " in a closed segment");
                return STORAGE_ECORRUPT;
            }
            *cut_to = to; /* a cut a crash interrupted: finish it */
            return STORAGE_OK;
        }
        if (st == REC_OK) {
            raft_term term = get_le64(p + off + 8);
            if (covered) {
                if (pos->next == pos->snapshot_index)
                    s->prefix_term = pos->last_term = term;
            } else {
                if (term < pos->last_term) {
                    set_err(err, errlen,
                            "%s/%s: record at byte offset %" PRIu64 " has term %" PRIu64
                            ", below the previous entry's term %" PRIu64,
                            s->dir, name, off, term, pos->last_term);
                    return STORAGE_ECORRUPT;
                }
                if (add_entry(s, boot, p + off, off) < 0) {
                    set_err(err, errlen, "out of memory loading %s/%s", s->dir, name);
                    return STORAGE_EIO;
                }
                pos->last_term = term;
            }
            pos->next++;
            off += REC_HDR_SIZE + len;
            continue;
        }
        /* Zeros from here to the end of the last segment are its normal end: the
         * preallocated room not written yet, or unsynced bytes a power cut lost, never
         * acknowledged either way. The file keeps its size and the next record goes
         * here. (A closed segment has no such end: it was trimmed before the next one
         * was created.) */
        if (is_last && all_zero(p + off, *size - off)) {
            if (STORAGE_MUTATED(STORAGE_MUT_ZERO_TAIL_IS_ROT)) {
                set_err(err, errlen, "%s/%s: zeros at byte offset %" PRIu64, s->dir, name, off);
                return STORAGE_ECORRUPT;
            }
            *size = off;
            break;
        }
        /* Damage in the last segment is what a power cut leaves when no record after
         * it says a sync had covered it: the unsynced end of the file may reach the
         * disk in any order, so a hole with later records after it is as ordinary as
         * a record cut short. A later record whose synced mark lies past the damage
         * proves the damaged bytes had been synced: that is rot, and open refuses,
         * unless a truncation intent after it says the bytes were being cut away (a
         * power cut in the middle of a cut can zero the new end under the old size). */
        uint64_t resume = st == REC_BAD_DATA ? off + REC_HDR_SIZE + len : off + 1;
        struct records_after later = is_last && st != REC_SHORT && st != REC_CUT
                                         ? valid_records_after(p, *size, resume, nonce)
                                         : (struct records_after){0, 0, UINT64_MAX};
        if (later.cut <= off && later.cut >= SEG_HDR_SIZE) {
            *cut_to = later.cut;
            return STORAGE_OK;
        }
        if (!is_last || later.max_synced > off) {
            set_err(err, errlen,
                    "%s/%s: damaged record at byte offset %" PRIu64
                    " (%s) in data that was synced%s; refusing to guess",
                    s->dir, name, off, rec_status_text[st],
                    is_last ? " (a later record says so)" : " (not the last segment)");
            return STORAGE_ECORRUPT;
        }
        int rc = cut_tail(s, name, off, err, errlen);
        if (rc != STORAGE_OK)
            return rc;
        storage_notice(boot,
                       "dropped the unsynced end of %s/%s: bytes %" PRIu64 "..%" PRIu64
                       " (%s, then %zu valid unsynced record%s; never acknowledged)",
                       s->dir, name, off, *size, rec_status_text[st], later.count,
                       later.count == 1 ? "" : "s");
        *size = off;
    }
    return STORAGE_OK;
}

/* Loads one segment whose name says it starts at `first`, which must be pos->next. */
static int load_segment(struct storage *s, struct storage_boot *boot, raft_index first,
                        bool is_last, struct load_pos *pos, char *err, size_t errlen)
{
    char name[SEG_NAME_MAX];
    uint8_t *p = NULL; /* set by the read below; initialised for -O1 flow analysis */
    uint64_t size = 0;

    storage_seg_name(name, first);
    int rc = read_segment(s, boot, name, &p, &size, err, errlen);
    if (rc != STORAGE_OK)
        return rc;

    bool hdr_ok = size >= SEG_HDR_SIZE && memcmp(p, SEG_MAGIC, 8) == 0 &&
                  get_le32(p + 20) == crc32c(0, p, 20);
    uint32_t nonce = size >= SEG_HDR_SIZE ? get_le32(p + 16) : 0;
    if (hdr_ok && get_le64(p + 8) != first) {
        set_err(err, errlen, "%s/%s: header says first index %" PRIu64, s->dir, name,
                get_le64(p + 8));
        return STORAGE_ECORRUPT;
    }
    if (!hdr_ok) {
        /* The header goes to disk with the segment's first records. If no record after
         * it says a sync had covered any of the segment, the header was never synced:
         * a power cut kept some later pages and not the first. (The records are read
         * with the nonce the damaged header still shows, if any.) */
        struct records_after later = is_last ? valid_records_after(p, size, 0, nonce)
                                             : (struct records_after){0, 0, UINT64_MAX};
        if (!is_last || later.max_synced > 0) {
            set_err(err, errlen, "%s/%s: damaged segment header at byte offset 0%s", s->dir, name,
                    is_last ? " with synced records after it" : "");
            return STORAGE_ECORRUPT;
        }
        if (sio_unlink(&s->io, s->dir_fd, name) < 0 || sio_fsync(&s->io, s->dir_fd) < 0) {
            set_err(err, errlen, "%s/%s: cannot remove torn segment: %s", s->dir, name,
                    strerror(errno));
            return STORAGE_EIO;
        }
        storage_notice(boot,
                       "removed %s/%s: its header was never completely written (%" PRIu64
                       " bytes, %zu unsynced record%s after it; never acknowledged)",
                       s->dir, name, size, later.count, later.count == 1 ? "" : "s");
        return STORAGE_OK;
    }

    if (storage_reserve_segs(s, 1) < 0) {
        set_err(err, errlen, "out of memory");
        return STORAGE_EIO;
    }
    s->seg_first[s->n_segs++] = first;
    /* What a second pass must start from, should an interrupted cut be found. */
    size_t n_entries = s->n_entries, boot_entries = boot->n_entries;
    struct load_pos start = *pos;
    raft_term prefix_term = s->prefix_term;
    uint64_t cut_to;
    rc = parse_records(s, boot, name, p, &size, is_last, nonce, pos, &cut_to, err, errlen);
    if (rc == STORAGE_OK && cut_to != UINT64_MAX) {
        s->n_entries = n_entries;
        boot->n_entries = boot_entries;
        *pos = start;
        s->prefix_term = prefix_term;
        rc = cut_tail(s, name, cut_to, err, errlen);
        if (rc != STORAGE_OK)
            return rc;
        storage_notice(boot,
                       "finished a truncation of %s/%s that a crash interrupted: bytes %" PRIu64
                       "..%" PRIu64 " dropped (entries being replaced, never acknowledged)",
                       s->dir, name, cut_to, size);
        size = cut_to;
        rc = parse_records(s, boot, name, p, &size, is_last, nonce, pos, &cut_to, err, errlen);
        if (rc == STORAGE_OK && cut_to != UINT64_MAX) {
            set_err(err, errlen, "%s/%s: a second truncation intent before byte %" PRIu64, s->dir,
                    name, size);
            return STORAGE_ECORRUPT;
        }
    }
    if (rc != STORAGE_OK)
        return rc;
    if (is_last) {
        s->tail_written = size;
        s->tail_nonce = nonce;
    }
    return STORAGE_OK;
}

static int cmp_index(const void *a, const void *b)
{
    raft_index x = *(const raft_index *)a, y = *(const raft_index *)b;
    return x < y ? -1 : x > y;
}

struct segment_list {
    raft_index *firsts;
    size_t n, cap;
};

static int add_segment_name(const char *name, void *ctx)
{
    struct segment_list *l = ctx;
    raft_index first;
    if (!storage_parse_seg_name(name, &first))
        return 0;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        raft_index *grown = realloc(l->firsts, cap * sizeof *grown);
        if (grown == NULL) {
            errno = ENOMEM;
            return -1;
        }
        l->firsts = grown;
        l->cap = cap;
    }
    l->firsts[l->n++] = first;
    return 0;
}

/* Lists the segment names in the directory, sorted by first index. */
static int list_segments(struct storage *s, raft_index **out, size_t *n, char *err, size_t errlen)
{
    struct segment_list l = {NULL, 0, 0};
    *n = 0;
    if (sio_list(s->dir_fd, add_segment_name, &l) != 0) {
        set_err(err, errlen, "%s: cannot list: %s", s->dir, strerror(errno));
        free(l.firsts);
        return STORAGE_EIO;
    }
    if (l.n > 1)
        qsort(l.firsts, l.n, sizeof *l.firsts, cmp_index);
    *out = l.firsts;
    *n = l.n;
    return STORAGE_OK;
}

/* Deletes segments firsts[from..to) oldest first, so that a crash in between leaves a
 * contiguous run, then syncs the directory. Only called for segments the snapshot
 * covers entirely: finishing a compaction the previous run did not complete. */
static int remove_covered(struct storage *s, const raft_index *firsts, size_t from, size_t to,
                          char *err, size_t errlen)
{
    char name[SEG_NAME_MAX];
    for (size_t i = from; i < to; i++) {
        storage_seg_name(name, firsts[i]);
        if (sio_unlink(&s->io, s->dir_fd, name) < 0) {
            set_err(err, errlen, "%s/%s: cannot remove: %s", s->dir, name, strerror(errno));
            return STORAGE_EIO;
        }
    }
    if (to > from && sio_fsync(&s->io, s->dir_fd) < 0) {
        set_err(err, errlen, "%s: cannot fsync the directory: %s", s->dir, strerror(errno));
        return STORAGE_EIO;
    }
    return STORAGE_OK;
}

int storage_log_load(struct storage *s, raft_index snapshot_index, struct storage_boot *boot,
                     char *err, size_t errlen)
{
    raft_index *firsts = NULL;
    size_t n;
    struct load_pos pos = {.snapshot_index = snapshot_index};
    char name[SEG_NAME_MAX];
    int rc = list_segments(s, &firsts, &n, err, errlen);
    if (rc != STORAGE_OK)
        return rc;

    /* A segment followed by one that starts at or before snapshot_index + 1 holds only
     * covered records: its name and the next one's say so without reading it. */
    size_t skip = 0;
    while (skip + 1 < n && firsts[skip + 1] <= snapshot_index + 1)
        skip++;
    rc = remove_covered(s, firsts, 0, skip, err, errlen);
    if (rc != STORAGE_OK)
        goto out;
    if (skip > 0)
        storage_notice(boot,
                       "removed %zu log segment%s before %s/log-%020" PRIu64
                       ": the snapshot at index %" PRIu64 " covers them (unfinished compaction)",
                       skip, skip == 1 ? "" : "s", s->dir, firsts[skip], snapshot_index);

    s->first_index = snapshot_index + 1;
    if (skip < n && firsts[skip] > snapshot_index + 1) {
        storage_seg_name(name, firsts[skip]);
        set_err(err, errlen,
                "%s/%s: the log starts with the record at byte offset %u, index %" PRIu64
                ", but the snapshot ends at index %" PRIu64 ": entries %" PRIu64 "..%" PRIu64
                " are missing",
                s->dir, name, SEG_HDR_SIZE, firsts[skip], snapshot_index, snapshot_index + 1,
                firsts[skip] - 1);
        rc = STORAGE_ECORRUPT;
        goto out;
    }
    pos.next = skip < n ? firsts[skip] : s->first_index;
    for (size_t i = skip; i < n; i++) {
        if (firsts[i] != pos.next) {
            storage_seg_name(name, firsts[i]);
            set_err(err, errlen,
                    "%s/%s: segment starts at index %" PRIu64
                    " but the log before it ends at %" PRIu64 " (a segment is missing)",
                    s->dir, name, firsts[i], pos.next - 1);
            rc = STORAGE_ECORRUPT;
            goto out;
        }
        rc = load_segment(s, boot, firsts[i], i + 1 == n, &pos, err, errlen);
        if (rc != STORAGE_OK)
            goto out;
    }
    /* Every record left lies at or before the snapshot (a compaction past the end of
     * the log, or a crash before it): nothing can be appended to those segments, since
     * a record's index is its position, so they go too. Only the last can be in this
     * state: any earlier one is followed by a segment starting after the snapshot. */
    if (s->n_segs > 0 && pos.next <= snapshot_index + 1) {
        rc = remove_covered(s, s->seg_first, 0, s->n_segs, err, errlen);
        if (rc != STORAGE_OK)
            goto out;
        storage_notice(boot,
                       "removed %s/log-%020" PRIu64 ": the snapshot at index %" PRIu64
                       " covers all of it (unfinished compaction)",
                       s->dir, s->seg_first[0], snapshot_index);
        s->n_segs = 0;
        s->tail_written = 0;
    }
    if (s->n_segs > 0) {
        storage_seg_name(name, s->seg_first[s->n_segs - 1]);
        s->tail_fd = sio_open(s->dir_fd, name, O_RDWR);
        if (s->tail_fd < 0) {
            set_err(err, errlen, "%s/%s: cannot open for appending: %s", s->dir, name,
                    strerror(errno));
            rc = STORAGE_EIO;
            goto out;
        }
        /* A torn last segment was removed: the one before it is the tail now. */
        if (s->seg_first[s->n_segs - 1] != firsts[n - 1]) {
            uint64_t size;
            if (sio_file_size(s->tail_fd, &size) < 0 || storage_read_tail_nonce(s) < 0) {
                set_err(err, errlen, "%s/%s: %s", s->dir, name, strerror(errno));
                rc = STORAGE_EIO;
                goto out;
            }
            s->tail_written = size;
        }
    }
    boot->first_index = s->first_index;
    if (s->n_entries > 0 && pos.last_term > s->term) {
        set_err(err, errlen,
                "%s: the log holds entries of term %" PRIu64 " but the saved term is %" PRIu64
                "; the term is always saved first, so meta1/meta2 lost a save",
                s->dir, pos.last_term, s->term);
        rc = STORAGE_ECORRUPT;
    }
out:
    free(firsts);
    return rc;
}
