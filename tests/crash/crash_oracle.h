/* crash_oracle.h: what the crash-point explorer's workload has been promised, and the
 * checks that a recovered data directory keeps those promises.
 *
 * A promise is made when a storage call returns success: storage_sync() for the
 * entries appended before it, storage_save_hard_state() for term and vote,
 * snapshot_save() and snapshot_receiver_finish() for a snapshot. A call still running
 * at the cut promises nothing, but while a call that may drop entries runs (a conflict
 * truncation, an install), the entries it drops are excused. */
#ifndef CRASH_ORACLE_H
#define CRASH_ORACLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "raft_peer/core/raft.h"

#define ORACLE_MAX_INDEX    64
#define ORACLE_MAX_VERSIONS 4
#define ORACLE_MAX_SNAPS    8

struct entry_id {
    raft_term term;
    uint32_t crc; /* of the entry's bytes */
};

struct snap_id {
    raft_index index;
    raft_term term;
    uint32_t crc;
};

struct oracle {
    raft_term term; /* acknowledged hard state */
    raft_id vote;
    struct entry_id acked[ORACLE_MAX_INDEX + 1]; /* 1..acked_last */
    raft_index acked_last;
    struct entry_id pending[ORACLE_MAX_INDEX + 1]; /* appended, not yet synced */
    raft_index pending_last;
    raft_index excused_from; /* while a call runs: entries from here may be gone; 0: none */
    raft_index snap_index;   /* the acknowledged snapshot */
    /* everything ever written, to refuse a recovered state nobody wrote */
    struct entry_id written[ORACLE_MAX_INDEX + 1][ORACLE_MAX_VERSIONS];
    /* versions written[i][0..valid_from[i]) were cut away by a truncation that
     * completed: they must never come back */
    int valid_from[ORACLE_MAX_INDEX + 1];
    struct snap_id snaps[ORACLE_MAX_SNAPS];
    size_t n_snaps;
};

/* A data directory as the daemon's boot would see it: snapshot_load, then
 * storage_open_after_snapshot. */
struct recovered {
    int rc; /* 0, or the failing call's code */
    char err[256];
    char notice[512];
    raft_term term;
    raft_id vote;
    struct snap_id snap;
    raft_index first, last;
    struct entry_id e[ORACLE_MAX_INDEX + 1]; /* by index, first..last */
};

uint32_t oracle_entry_crc(const struct raft_entry *e);
/* Bookkeeping around the workload's calls. */
void oracle_written(struct oracle *o, raft_index first, const struct raft_entry *e, size_t n);
void oracle_appended(struct oracle *o, raft_index first, const struct raft_entry *e, size_t n);
void oracle_synced(struct oracle *o);
/* After storage_compact(index): the log goes on after index. */
void oracle_compacted(struct oracle *o, raft_index index);
void oracle_snapshot_written(struct oracle *o, struct snap_id s);

/* Empty string when r keeps every promise of o, else what it broke. */
void oracle_check(const struct oracle *o, const struct recovered *r, char *why, size_t len);
/* The same for a second recovery after another power cut: everything the first one
 * handed to the core counts as persisted (raft_new trusts it), so it must all be there. */
void oracle_check_again(const struct recovered *first, const struct recovered *second, char *why,
                        size_t len);

#endif
