/* disk.h: what survives a crash, per peer: term, vote, log, snapshot; and the writes a
 * manual disk holds until `sync`. */
#ifndef SCENARIO_DISK_H
#define SCENARIO_DISK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "raft_peer/core/raft.h"

/* A snapshot of the state machine (§7), kept apart from the log as the daemon does. */
struct disk_snapshot {
    raft_index index;               /* its last included index; 0: no snapshot */
    raft_term term;                 /* the term of that entry */
    struct raft_configuration conf; /* the configuration at index */
    char *state; /* the state machine: the commands applied up to index, one per line */
};

/* What survives a crash. */
struct disk {
    raft_term term;
    raft_id vote;
    raft_index base;            /* entries up to base were compacted away (base <= snap.index) */
    raft_term base_term;        /* the term of entry base */
    struct raft_entry *entries; /* entries[0] is index base + 1 */
    size_t n;
    size_t cap;
    struct disk_snapshot snap;
};

/* The writes of one ready, in raft.h's order: hard state, snapshot cut, log. Held for
 * `sync` on a manual disk (then it owns copies: the ready is only borrowed). */
struct write_op {
    uint64_t seq;
    bool hard_state_changed;
    raft_term term;
    raft_id vote;
    bool snapshot_installed; /* drop the stable entries up to snapshot_index first */
    raft_index snapshot_index;
    raft_term snapshot_term;
    bool log_changed;
    raft_index persist_from;
    struct raft_entry *entries;
    size_t n_entries;
    struct raft_message *after; /* messages that may leave only once this is durable */
    size_t n_after;
};

struct peer;

/* Keeps the first n stored entries. */
void disk_truncate(struct disk *d, size_t n);
/* Appends after the last stored entry; 0, or -1 when full or the entry is malformed. */
int disk_append(struct disk *d, const struct raft_entry *e);
raft_index disk_last(const struct disk *d);
/* §7: entries up to index live on in a snapshot. Figure 13: if the entry at index has
 * another term, the entries after it do not follow the snapshot and go too. */
void disk_compact(struct disk *d, raft_index index, raft_term term);
/* Saves a snapshot (a copy of state), replacing an older one; the log is untouched. */
void disk_save_snapshot(struct disk *d, raft_index index, raft_term term,
                        const struct raft_configuration *conf, const char *state);
/* As the daemon's storage opens after its snapshot (storage_open_after_snapshot): the
 * entries the snapshot covers go, and so do those after it if the entry at its index
 * has another term (Figure 13: what a crash left of an install that replaced them). */
void disk_recover(struct disk *d);
/* What raft_new gets from a recovered disk: hard state, snapshot, the entries after it.
 * The configuration is the snapshot's; with no snapshot the caller sets it. */
void disk_boot_state(const struct disk *d, struct raft_boot_state *boot);
void disk_free(struct disk *d);

/* The writes of rd, borrowing its entries (an automatic disk writes them at once). */
void write_op_of_ready(const struct raft_ready *rd, struct write_op *op);
/* Step 2 of raft.h's order. 0, or -1 with p's cluster's err set. */
int disk_write(struct peer *p, const struct write_op *op);
void held_free(struct write_op *h);
/* Manual disk: keeps a copy of the ready's writes and late messages for `sync`. */
int hold_write(struct peer *p, const struct raft_ready *rd);
/* A crash loses whatever had not reached the disk. */
void drop_held(struct peer *p);

#endif
