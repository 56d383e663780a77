/* sm_snapshot.h: the state machine's snapshot byte format (docs/STATE_MACHINE.md), written and
 * checked. */
#ifndef SM_SNAPSHOT_H
#define SM_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

#include "raft_peer/sm/client_sessions.h"
#include "raft_peer/sm/kv_store.h"

/* What sm_snapshot_write writes: variables in the table's canonical order
 * (kv_hash, then name). */
#define SM_SNAPSHOT_VERSION 2
/* The first format, variables sorted by name: still read, never written. */
#define SM_SNAPSHOT_VERSION_SORTED 1

/* Serialises into a malloc'd buffer: variables in canonical order (a function of the
 * set of names alone, taken from the table without sorting), sessions oldest first,
 * so equal states give equal bytes. 0, or -1 when out of memory. */
int sm_snapshot_write(const struct kv_store *kv, const struct sessions *ss, uint64_t last_applied,
                      uint8_t **out, size_t *outlen);

/* Builds a fresh variable table and session table from untrusted bytes (version 2, or
 * version 1 whose state re-encodes as version 2). On
 * success the caller owns *kv and *ss; on failure (-1, message in err) nothing
 * is allocated and the outputs are untouched. */
int sm_snapshot_read(const uint8_t *data, size_t len, struct kv_store **kv, struct sessions **ss,
                     uint64_t *last_applied, char *err, size_t errlen);

/* The same read a slice at a time, so a peer that installs a snapshot from its leader
 * keeps serving between slices (snapshot_install.c). open checks the header; each step
 * does about budget variables' worth of work (the checksum first, then the variables,
 * then the sessions) and returns 1 when the snapshot is read, 0 when there is more, -1
 * with err on bad bytes or no memory; take hands the tables over (once, after 1). The
 * bytes must stay unchanged until the reader is freed. */
struct sm_snapshot_reader;
int sm_snapshot_reader_open(const uint8_t *data, size_t len, struct sm_snapshot_reader **out,
                            char *err, size_t errlen);
int sm_snapshot_reader_step(struct sm_snapshot_reader *rd, uint32_t budget, char *err,
                            size_t errlen);
/* The index the snapshot's state machine has applied: known once a step returned 1. */
uint64_t sm_snapshot_reader_last_applied(const struct sm_snapshot_reader *rd);
void sm_snapshot_reader_take(struct sm_snapshot_reader *rd, struct kv_store **kv,
                             struct sessions **ss, uint64_t *last_applied);
void sm_snapshot_reader_free(struct sm_snapshot_reader *rd);

/* CRC-32 (IEEE 802.3, as in zlib) of the bytes: the snapshot's last 4 bytes
 * hold it for everything before them. Exposed so tests can forge snapshots
 * that pass the checksum and reach the deeper checks. */
uint32_t sm_snapshot_crc32(const uint8_t *data, size_t len);

#endif
