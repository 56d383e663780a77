/* sim_store.h: the daemon's real storage for each simulated node.
 *
 * Every node keeps its hard state, log and snapshot with raft_peer/storage*.c and
 * snapshot_store.c in "/n<id>" of the run's model file system (sim_fs.h), making the
 * same calls at the same moments as the daemon's ready loop: compaction, hard state
 * and appends when a ready is taken, the sync when its simulated write completes,
 * snapshot_save when a snapshot is taken or received. The simulated disk (sim_disk.h)
 * stays the model of what must be durable. A crash kills the node's process and, as
 * the seed decides, cuts the power under its directory. At every reboot the real
 * recovery must hold everything the model says was acknowledged (entries, term, vote,
 * snapshot); the node then boots from what the real storage recovered, and the model
 * becomes that, so what open loaded is held to the same promise at the next crash. */
#ifndef SIM_STORE_H
#define SIM_STORE_H

#include "sim.h"

/* The run's file system, created and made current by sim_store_start. */
void sim_store_start(struct sim *s);
void sim_store_stop(struct sim *s);

/* When the ready is taken (it has writes, the node is not stopped). */
void sim_store_write(struct sim *s, struct sim_node *n, const struct raft_ready *rd);
/* When its simulated write completes: everything appended so far becomes durable. */
void sim_store_sync(struct sim *s, struct sim_node *n);
/* A snapshot of the state after index, as the daemon writes it before compacting. */
void sim_store_snapshot(struct sim *s, struct sim_node *n, raft_index index, raft_term term,
                        uint64_t chain);
void sim_store_compact(struct sim *s, struct sim_node *n, raft_index index, raft_term term);
/* The node's process dies; pending writes that could change entries from excused_from
 * on were not acknowledged (0: none pending). Maybe a power cut follows. */
void sim_store_crash(struct sim *s, struct sim_node *n, raft_index excused_from);
/* At boot: recover, check against the model, and make the model what was recovered. */
void sim_store_recover(struct sim *s, struct sim_node *n);
void sim_store_free(struct sim_node *n);

#endif
