/* snapshot_store.h: the state machine snapshot on disk in data/<peer>/: saving and loading
 * it whole, reading it in chunks to send, and receiving one in chunks, resumably.
 *
 * Files (byte format in docs/STORAGE.md): "snapshot" is the current snapshot, replaced
 * only by an atomic rename; "snapshot.tmp" is a save in progress; "snapshot.partial" a
 * snapshot being received. The bytes are opaque here (raft_peer/sm/sm_snapshot.h gives
 * them meaning); this module only guarantees they come back exactly as written.
 * Functions return 0, or -1 with a message (naming the file) in err. Not thread-safe.
 */
#ifndef RAFT_PEER_SNAPSHOT_STORE_H
#define RAFT_PEER_SNAPSHOT_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "raft_peer/core/raft.h"

/* Largest snapshot accepted, saved or received; a header claiming more is damage. */
#define SNAPSHOT_MAX_BYTES (1u << 30)

struct snapshot_meta {
    raft_index index; /* last included index; 0 means "no snapshot" */
    raft_term term;   /* term of that entry */
    uint64_t size;    /* bytes of data */
    uint32_t crc;     /* crc32c of the data */
};

/* Writes data as the current snapshot atomically: tmp file, fsync, rename to "snapshot",
 * fsync the directory (which must exist). After a crash at any point, "snapshot" is the
 * old one or the new one. */
int snapshot_save(const char *dir, raft_index index, raft_term term, const uint8_t *data,
                  size_t len, char *err, size_t errlen);

/* Loads the current snapshot. 0 with m->index == 0 and *data NULL when there is none;
 * -1 with a message naming the file when it exists but is damaged (header, size or CRC
 * mismatch). *data is malloc'd (the caller frees it; non-NULL even for 0 bytes). */
int snapshot_load(const char *dir, struct snapshot_meta *m, uint8_t **data, char *err,
                  size_t errlen);

/* Reads up to len bytes of the current snapshot's data at offset into buf, for sending
 * it in chunks; *got is what was read (0 at the end). Fails if the file on disk is not
 * the one m describes (a newer snapshot replaced it: start the transfer again). */
int snapshot_read_at(const char *dir, const struct snapshot_meta *m, uint64_t offset, uint8_t *buf,
                     size_t len, size_t *got, char *err, size_t errlen);

/* Receiving a snapshot in chunks, resumable across a crash: "snapshot.partial" holds the
 * header (index, term, size, crc), the bytes received so far at their final place, and
 * a checksummed record of how many of them are durable. */
struct snapshot_receiver;

/* Opens (or resumes) a partial snapshot described by m (index, term, size, crc from the
 * leader). If a partial for exactly this m exists, *have = the bytes already there and
 * verified (a torn last chunk is cut off); otherwise any old partial is discarded and
 * *have = 0. */
int snapshot_receiver_open(const char *dir, const struct snapshot_meta *m,
                           struct snapshot_receiver **out, uint64_t *have, char *err,
                           size_t errlen);

/* Appends a chunk; offset must equal the bytes already there. Durable on return (one
 * fdatasync). After an I/O error the receiver refuses everything: close it and open
 * again, which resumes from what is really on disk. */
int snapshot_receiver_write(struct snapshot_receiver *r, uint64_t offset, const uint8_t *data,
                            size_t len, char *err, size_t errlen);

/* All bytes there: checks size and crc, cuts the progress slots off and fdatasyncs.
 * "snapshot.partial" is then the complete file, durable at its final length (a restart
 * resumes it whole), and the current snapshot is still untouched: the caller reads it
 * (snapshot_receiver_data) and checks what it holds before committing it. A crc
 * mismatch fails and deletes the partial (it can never become right). */
int snapshot_receiver_seal(struct snapshot_receiver *r, char *err, size_t errlen);

/* After seal: the data read back into *data (malloc'd, the caller frees it), its crc
 * checked again. */
int snapshot_receiver_data(struct snapshot_receiver *r, uint8_t **data, char *err, size_t errlen);

/* After seal: atomically makes the partial the current snapshot (rename to "snapshot",
 * fsync the directory), replacing whatever was current. Durable when it returns 0; on
 * -1 the directory fsync may be what failed, and a crash may then bring either file
 * back. */
int snapshot_receiver_commit(struct snapshot_receiver *r, char *err, size_t errlen);

/* seal, then commit: for a caller with nothing to check in between. */
int snapshot_receiver_finish(struct snapshot_receiver *r, char *err, size_t errlen);

/* The bytes are useless (they do not parse as a snapshot): deletes the partial, best
 * effort, so that no resume picks it up again. The current snapshot is untouched. */
void snapshot_receiver_discard(struct snapshot_receiver *r);

/* Closes the files; the partial file stays for resuming. NULL is fine. */
void snapshot_receiver_close(struct snapshot_receiver *r);

/* ---- test hooks: never called by the daemon ---- */

/* Lets `after` more writing I/O calls of r succeed, then fails the next with errno err
 * (a write first writes half its bytes). after < 0 switches injection off. */
void snapshot_receiver_test_fail_io(struct snapshot_receiver *r, long after, int err);
/* snapshot_save() whose writing I/O call number `after` fails with errno errnum. */
int snapshot_test_save_with_fault(const char *dir, raft_index index, raft_term term,
                                  const uint8_t *data, size_t len, long after, int errnum,
                                  char *err, size_t errlen);

#endif
