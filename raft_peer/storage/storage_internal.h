/* storage_internal.h: what the storage_*.c files (and snapshot_store.c) share: the
 * struct, the on-disk layout constants and the fault-injectable I/O calls. Not for
 * other modules. */
#ifndef RAFT_PEER_STORAGE_INTERNAL_H
#define RAFT_PEER_STORAGE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/error_message.h"
#include "raft_peer/storage/storage.h"

/* ---- on-disk layout (docs/STORAGE.md), all integers little-endian ---- */

#define META_MAGIC   "RVMETA01"
#define META_SIZE    36u /* magic 8, version 8, term 8, vote 4, reserved 4, crc 4 */
#define META_CRC_AT  32u
#define SEG_MAGIC    "RVLOG001"
#define SEG_HDR_SIZE 24u /* magic 8, first index 8, nonce 4, crc 4 */
#define REC_HDR_SIZE 24u /* len 4, type 1, synced 3, term 8, data crc 4, header crc 4 */
/* A record's "synced" field: how much of its segment an fdatasync had covered when the
 * record was written, in units of REC_SYNCED_UNIT bytes, rounded down. Recovery uses it
 * to tell a hole a power cut left in the unsynced tail from damage to synced data
 * (docs/STORAGE.md). 24 bits of 16 bytes reach STORAGE_MAX_SEGMENT_FILE. */
#define REC_SYNCED_UNIT 16u
/* The type of a sync mark: a record with no entry, written (not synced) right after
 * each fdatasync of the tail, whose synced field covers everything before it. It lets
 * recovery refuse damage in the last synced batch too, which no later entry vouches
 * for. Never a Raft entry type. */
#define REC_TYPE_SYNC_MARK 0xFFu
/* The type of a truncation intent: a record whose 8 data bytes name the offset its
 * segment is about to be cut at, synced before the cut when the cut reaches into synced
 * data. A power cut in the middle of the cut can leave the old size with zeroed bytes
 * at the new end, and the old records after it whose synced marks then make the zeros
 * read as rot; the intent says they were being cut away. */
#define REC_TYPE_TRUNCATE 0xFEu
/* Record header checksums are seeded with the segment's nonce, a random value in its
 * header (0 in segments written before it existed): bytes a client put in an entry can
 * then never pass for a record of ours when recovery searches a damaged tail. */
#define SEG_NAME_MAX 32u /* "log-" + 20 digits + NUL, rounded up */
/* The next segment, prepared ahead of use (storage_prepare): created at full size,
 * zeros, synced, then renamed to log-<index> when the tail fills. Not a segment name,
 * so loading ignores a leftover. */
#define SPARE_NAME      "spare-segment"
#define SEG_NAME_DIGITS 20

/* Bytes queued in memory before they are handed to the kernel in one write. */
#define STORAGE_FLUSH_BYTES (1u << 20)
/* A segment file larger than this is refused at open: our own segments stay below
 * STORAGE_SEGMENT_BYTES plus one record. */
#define STORAGE_MAX_SEGMENT_FILE (256u << 20)

static inline void put_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static inline void put_le64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint32_t get_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t get_le64(const uint8_t *p)
{
    return (uint64_t)get_le32(p) | (uint64_t)get_le32(p + 4) << 32;
}

/* ---- the file system calls ----
 *
 * Every file operation of storage*.c and snapshot_store.c goes through the sio_*
 * calls below and nothing else, so they can run over another file system:
 * storage_io.c implements them with POSIX calls (the daemon), and the simulator and
 * the crash-point explorer link tests/sim/sim_fs.c instead, a model file system with
 * a page cache that a simulated power cut empties (docs/TESTING.md). Descriptors are
 * the backend's own: never pass them to a system call directly.
 *
 * Each returns 0 (or a descriptor) on success, -1 with errno set on failure; writes
 * retry EINTR and short writes. The writing calls take a struct storage_io, where a
 * test can make the n-th call fail. */

struct storage_io {
    long fail_after; /* calls left before the injected failure; < 0: none */
    int fail_errno;
};

/* True when this call is the one chosen to fail; errno is then set. */
bool sio_injected(struct storage_io *io);

int sio_open_dir(const char *path);
/* mkdir(path, 0755); -1 with EEXIST when something is already there. */
int sio_mkdir(const char *path);
/* Opens an existing file; flags O_RDONLY or O_RDWR. */
int sio_open(int dir_fd, const char *name, int flags);
/* Opens name, creating it (0644) when missing; flags may add O_TRUNC. */
int sio_create(struct storage_io *io, int dir_fd, const char *name, int flags);
int sio_close(int fd);
/* Size of a regular file; -1 with EINVAL for anything else. */
int sio_file_size(int fd, uint64_t *size);
int sio_pwrite_all(struct storage_io *io, int fd, const void *buf, size_t len, uint64_t off);
/* Reads exactly len bytes at off (no injection: reading never changes the disk). */
int sio_pread_all(int fd, void *buf, size_t len, uint64_t off);
int sio_fdatasync(struct storage_io *io, int fd);
/* On a directory: makes its entries (creations, removals, renames) durable. */
int sio_fsync(struct storage_io *io, int fd);
int sio_ftruncate(struct storage_io *io, int fd, uint64_t len);
int sio_unlink(struct storage_io *io, int dir_fd, const char *name);
int sio_rename(struct storage_io *io, int dir_fd, const char *from, const char *to);
/* Makes the file at least size bytes long, the new bytes allocated on disk and reading
 * as zeros (fallocate; zeros written where the file system has none). A size change
 * like any other: durable once an fdatasync covers it, and a power cut before that may
 * keep or lose it. Never fails by injection: the storage goes on without preallocation
 * when it fails (the segment then grows as it is written). */
int sio_preallocate(int fd, uint64_t size);
/* A value nobody outside can predict (the segment nonce): from the kernel's random
 * source over POSIX; counted in the model file system, so simulated runs replay. */
uint32_t sio_nonce(void);
/* Calls fn for each name in the directory ("." and ".." excluded) until it returns
 * non-zero, which sio_list then returns; -1 when the directory cannot be read. */
int sio_list(int dir_fd, int (*fn)(const char *name, void *ctx), void *ctx);
/* Opens (creating) name and takes an exclusive lock on it, held until sio_close: the
 * descriptor, or -1 with errno EWOULDBLOCK when another holder has it. */
int sio_lock(int dir_fd, const char *name);

/* ---- the storage ---- */

/* Where one entry is, and its term (terms never decrease along the log). */
struct storage_slot {
    uint64_t offset; /* of its record in its segment file */
    raft_term term;
};

struct storage {
    char *dir; /* the path as given, for messages */
    int dir_fd;
    int lock_fd;
    struct storage_io io;
    bool failed;
    char failed_msg[256];

    /* hard state */
    raft_term term;
    raft_id voted_for;
    uint64_t meta_version; /* version of the newest valid copy, 0 when none */
    int meta_newest;       /* 0 or 1: the file holding it; -1 when none */
    bool meta_present[2];  /* the file exists (its directory entry may need an fsync) */

    /* log: entry first_index + i lives at byte slots[i].offset of the last segment whose
     * first index is <= first_index + i. After compaction the first segment may start
     * below first_index: its older records are covered by the snapshot. */
    raft_index first_index;
    raft_term prefix_term; /* term of entry first_index - 1 (compacted) when known, else 0 */
    size_t n_entries;
    size_t cap_entries;
    struct storage_slot *slots;
    raft_index *seg_first; /* first index of each segment, ascending; also its name */
    size_t n_segs;
    size_t cap_segs;
    uint64_t segment_bytes;

    /* the last segment, the only one ever written to */
    int tail_fd;           /* -1 when there is no segment */
    uint64_t tail_written; /* bytes handed to the kernel */
    uint8_t *buf;          /* encoded records not yet handed to the kernel */
    size_t buf_len;
    size_t buf_cap;
    uint64_t tail_synced; /* bytes of it that an fdatasync covered */
    uint32_t tail_nonce;  /* seeds the header checksums of its records */
    bool tail_dirty;      /* written since the last fdatasync */
    size_t flush_bytes;   /* hand queued bytes to the kernel past this many */
    bool dir_dirty;       /* a file was created or removed since the last directory fsync */

    /* preallocation (docs/STORAGE.md): a new segment is created at its full size, so an
     * append's fdatasync writes data blocks only, never the file's size */
    bool prealloc;
    int spare_fd; /* SPARE_NAME, prepared and synced; -1 when none */
};

/* The size a new segment file is created at: room for the records of a full segment
 * and the record that crosses the limit, so that one rarely grows the file. */
static inline uint64_t storage_prealloc_bytes(const struct storage *s)
{
    return s->segment_bytes + s->segment_bytes / 8;
}

/* ---- deliberately broken storage, for the crash-point explorer ----
 * Compiled in only with -DSTORAGE_MUTATIONS (the test builds of tests/crash/), where
 * storage_mutations picks which; the daemon's build has none of this. */
enum storage_mutation {
    STORAGE_MUT_NO_SEGMENT_DIR_FSYNC = 1u << 0,  /* a new segment's directory entry never synced */
    STORAGE_MUT_NO_SYNC_BEFORE_ACK = 1u << 1,    /* storage_sync() without the fdatasync */
    STORAGE_MUT_NO_OPEN_SYNC = 1u << 2,          /* open trusts what it loads without syncing */
    STORAGE_MUT_SNAPSHOT_EARLY_RENAME = 1u << 3, /* the snapshot renamed before its fsync */
    STORAGE_MUT_ZERO_TAIL_IS_ROT = 1u << 4,      /* open refuses the zeros after the last record */
    STORAGE_MUT_NO_TRIM_AT_CLOSE = 1u << 5,      /* a full segment keeps its preallocated end */
};
/* Their names, for the tools that switch them on (defined with -DSTORAGE_MUTATIONS). */
struct storage_mutant {
    const char *name;
    unsigned bit;
};
#define STORAGE_MUTANTS 6
extern const struct storage_mutant storage_mutants[STORAGE_MUTANTS];
/* The switch (also defined only with -DSTORAGE_MUTATIONS). */
extern unsigned storage_mutations;
#ifdef STORAGE_MUTATIONS
#define STORAGE_MUTATED(m) ((storage_mutations & (m)) != 0)
#else
#define STORAGE_MUTATED(m) false
#endif

/* Writes a formatted message into err (if any). */
void storage_errf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Marks s failed with the formatted message (plus strerror(errno) when errnum != 0),
 * copies it to err and returns STORAGE_EIO. */
int storage_fail(struct storage *s, int errnum, char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* Appends "; msg" (or msg) to boot->notice. */
void storage_notice(struct storage_boot *boot, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* "log-" + first index in 20 digits. */
void storage_seg_name(char name[SEG_NAME_MAX], raft_index first);
/* Parses such a name; false for anything else. */
bool storage_parse_seg_name(const char *name, raft_index *first);

/* storage_meta.c */
int storage_meta_load(struct storage *s, char *err, size_t errlen);
int storage_meta_save(struct storage *s, raft_term term, raft_id voted_for, char *err,
                      size_t errlen);

/* storage_load.c: reads the segments after snapshot_index into boot and sets up the
 * tail for appending. */
int storage_log_load(struct storage *s, raft_index snapshot_index, struct storage_boot *boot,
                     char *err, size_t errlen);

/* storage_log.c */
int storage_log_append(struct storage *s, raft_index first, const struct raft_entry *entries,
                       size_t n, char *err, size_t errlen);
int storage_log_sync(struct storage *s, char *err, size_t errlen);
int storage_log_compact(struct storage *s, raft_index index, raft_term term, char *err,
                        size_t errlen);
/* Prepares the spare segment file when the tail is half full and none is ready. */
void storage_log_prepare(struct storage *s);
/* Reads the nonce from the header of the segment open as the tail. */
int storage_read_tail_nonce(struct storage *s);
/* Hands the queued bytes to the kernel. */
int storage_log_flush(struct storage *s, char *err, size_t errlen);
/* Grows the offset and segment tables to hold `more` entries / segments. */
int storage_reserve_entries(struct storage *s, size_t more);
int storage_reserve_segs(struct storage *s, size_t more);

#endif
