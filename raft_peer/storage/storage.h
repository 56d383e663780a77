/* storage.h: the peer's durable state in data/<peer>/: term, vote and the Raft log.
 *
 * The byte format and the recovery rules are in docs/STORAGE.md. In short: the hard
 * state alternates between two checksummed files; the log is a row of segment files
 * named by their first index, each record carrying its length and CRC-32C.
 *
 * Durability contract (what the daemon must do before it replies):
 *   - storage_save_hard_state() is durable when it returns 0;
 *   - storage_append() only queues records (group commit); they are durable once a
 *     later storage_sync() returns 0. Only then may they be acknowledged.
 * After any I/O error the storage is "failed": every later call that writes returns
 * STORAGE_EIO, because after a failed write or fsync the kernel's view of the file
 * can no longer be trusted. The daemon should then call raft_stop(). What is on disk
 * still opens as the last acknowledged state (or a state the caller was moving to).
 *
 * Not thread-safe: one owner calls everything.
 */
#ifndef RAFT_PEER_STORAGE_H
#define RAFT_PEER_STORAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "raft_peer/core/raft.h"

/* Largest entry payload accepted and loaded; a record claiming more is damage. */
#define STORAGE_MAX_ENTRY_BYTES (16u << 20)
/* A segment is closed, and the next one started, once it holds this many bytes. */
#define STORAGE_SEGMENT_BYTES (8u << 20)
/* Size of storage_boot.notice, NUL included. */
#define STORAGE_NOTICE_MAX 512

enum storage_error {
    STORAGE_OK = 0,
    STORAGE_EIO = -1,      /* I/O error, out of memory, or failed earlier: stop acknowledging */
    STORAGE_EINVAL = -2,   /* bad arguments (a caller bug): nothing changed */
    STORAGE_ECORRUPT = -3, /* open: the directory holds a state that cannot be trusted */
    STORAGE_ELOCKED = -4,  /* open: another process has the directory open */
};

struct storage;

/* Everything recovered by storage_open(). */
struct storage_boot {
    raft_term term;
    raft_id voted_for;
    raft_index first_index;     /* index of entries[0]: the snapshot index + 1 */
    struct raft_entry *entries; /* data points into the chunks below */
    size_t n_entries;
    char notice[STORAGE_NOTICE_MAX]; /* non-empty when recovery repaired a torn tail: log it */

    /* Private: the file contents that entries[].data points into. */
    uint8_t **chunks;
    size_t n_chunks;
    size_t entries_cap;
};

/* Opens (creating it and its parents if missing) the data directory, takes its lock,
 * and loads the hard state and the log after snapshot_index into boot (0: no snapshot).
 * Entries with index <= snapshot_index are covered by the snapshot and skipped:
 * boot->first_index is snapshot_index + 1 and boot->entries start there; segments
 * holding nothing else are deleted (a compaction a crash interrupted). A log whose
 * first entry lies above snapshot_index + 1 has lost entries: STORAGE_ECORRUPT.
 * What a power cut leaves in the unsynced end of the last segment (a torn record, or a
 * hole with later unsynced records after it) is cut off the file and described in
 * boot->notice; any other damage fails with STORAGE_ECORRUPT and a message naming the
 * file and byte offset. Everything loaded is made durable before open returns: a
 * crashed process may have left records in the page cache that no fsync covered.
 * On failure *out is NULL and boot is empty (storage_boot_free is still safe to call).
 * So the snapshot (raft_peer/storage/snapshot_store.h) is loaded first, then the log. */
int storage_open(const char *dir, raft_index snapshot_index, struct storage **out,
                 struct storage_boot *boot, char *err, size_t errlen);

/* storage_open() that also knows the snapshot's term (snapshot_term 0 = unknown, as in
 * storage_open). Figure 13: entries after a log entry that disagrees with the snapshot
 * cannot be trusted, so when the entry at snapshot_index is still on disk with another
 * term, or the first entry after it has a lower term, the entries after the snapshot are
 * dropped (durably, and said in boot->notice): they are what a crash left of an install
 * that was replacing them. The term also bounds the terms of later appends. */
int storage_open_after_snapshot(const char *dir, raft_index snapshot_index, raft_term snapshot_term,
                                struct storage **out, struct storage_boot *boot, char *err,
                                size_t errlen);

/* Frees what storage_open() put in boot; boot is left empty. */
void storage_boot_free(struct storage_boot *boot);

/* Makes term and voted_for durable before returning 0. The term never decreases and a
 * vote once cast in a term never changes (STORAGE_EINVAL otherwise). */
int storage_save_hard_state(struct storage *s, raft_term term, raft_id voted_for, char *err,
                            size_t errlen);

/* Drops every stored entry with index >= first, then queues entries[0..n) as indexes
 * first, first + 1, ...; first must lie in [first_index, last_index + 1]. Entry terms
 * must be >= 1, non-decreasing, and at most the saved term (the hard state goes to disk
 * first). Not durable until storage_sync(). Dropping entries is made durable at once
 * (it is rare: only after a leader change), and so is each segment as it fills. */
int storage_append(struct storage *s, raft_index first, const struct raft_entry *entries, size_t n,
                   char *err, size_t errlen);

/* Makes everything appended so far durable. */
int storage_sync(struct storage *s, char *err, size_t errlen);

/* Drops every stored entry with index <= index (a snapshot now covers them): whole
 * segments are deleted, oldest first; the first remaining segment may still hold older
 * records, which open() skips. Durable on return. index may be past the last entry:
 * then the log is empty and the next append must be at index + 1. term is the term of
 * entry index; the first entry appended after the prefix must not have a lower one.
 * When the stored entry index has another term, the entries after it are dropped too
 * (Figure 13: they do not follow the snapshot). An index below the first stored entry
 * changes nothing. The snapshot itself must be durable before this is called. */
int storage_compact(struct storage *s, raft_index index, raft_term term, char *err, size_t errlen);

/* Prepares the next segment file ahead of use, off the write path: once the last
 * segment is half full (or there is none), a spare file is created at full size, its
 * zeros and size synced and its directory entry too, so that starting the next segment
 * is a rename. Does nothing when one is ready. Its failure is ignored (the next segment
 * is then preallocated when it starts, and its first sync writes the size). The daemon
 * calls it after each round of work, once the replies are out. */
void storage_prepare(struct storage *s);

/* Index of the first stored entry (the last compacted index + 1). */
raft_index storage_first_index(const struct storage *s);
/* Index of the last entry appended (durable or not); first_index - 1 when empty. */
raft_index storage_last_index(const struct storage *s);
/* True once an I/O error made the storage refuse further writes. */
bool storage_failed(const struct storage *s);

/* Hands queued records to the kernel (without fsync: what was never synced was never
 * acknowledged), closes the files and releases the lock. NULL is fine. */
void storage_close(struct storage *s);

/* ---- test hooks: never called by the daemon ---- */

/* Hands queued records to the kernel once this many bytes are queued, instead of
 * 1 MiB (0: at every append), so a crash test finds them in the page cache. */
void storage_test_set_flush_bytes(struct storage *s, size_t bytes);
/* Frees s as a killed process would: queued records are lost, nothing is flushed. */
void storage_test_crash(struct storage *s);
/* Closes segments at this size instead of STORAGE_SEGMENT_BYTES (minimum 64). */
void storage_test_set_segment_bytes(struct storage *s, uint64_t bytes);
/* Switches preallocation of new segments (and their spare) on (the default) or off, so
 * a test can check exact file sizes. */
void storage_test_set_prealloc(struct storage *s, bool on);
/* Lets `after` more writing I/O calls (write, fsync, ftruncate, create, unlink) succeed,
 * then fails the next one with errno err; a failing write first writes half its bytes,
 * as a full disk would. after < 0 switches injection off. */
void storage_test_fail_io(struct storage *s, long after, int err);
/* The descriptor of the segment being appended to, -1 when none, so a test can dup2()
 * /dev/full onto it and see a real ENOSPC. */
int storage_test_log_fd(const struct storage *s);

#endif
