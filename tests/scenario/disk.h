/* disk.h: what survives a crash, per peer, and the writes a manual disk holds. */
#ifndef SCENARIO_DISK_H
#define SCENARIO_DISK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "raft_peer/core/raft.h"

/* What survives a crash: written synchronously from each ready. */
struct disk {
    raft_term term;
    raft_id vote;
    struct raft_entry *entries; /* entries[0] is index 1 */
    size_t n;
    size_t cap;
};

/* A ready whose writes wait for `sync` (manual disk): its own copies, since the
 * ready itself is only borrowed. */
struct held_write {
    uint64_t seq;
    bool hard_state_changed;
    raft_term term;
    raft_id vote;
    bool log_changed;
    raft_index persist_from;
    struct raft_entry *entries;
    size_t n_entries;
    struct raft_message *after; /* messages that may leave only once this is durable */
    size_t n_after;
};

struct peer;

/* Keeps the first n entries. */
void disk_truncate(struct disk *d, size_t n);
/* 0, or -1 when the log is full or the entry malformed. */
int disk_append(struct disk *d, const struct raft_entry *e);
/* Step 2 of raft.h's order: the hard state, then the log. 0 or -1 (p's cluster's err). */
int disk_write(struct peer *p, bool hs, raft_term term, raft_id vote, bool log_changed,
               raft_index from, const struct raft_entry *es, size_t n);
void held_free(struct held_write *h);
/* Manual disk: keeps a copy of the ready's writes and late messages for `sync`. */
int hold_write(struct peer *p, const struct raft_ready *rd);
/* A crash loses whatever had not reached the disk. */
void drop_held(struct peer *p);

#endif
