/* sim_store.h: the daemon's real storage for each simulated node.
 *
 * Every node keeps its hard state, log and snapshot with raft_peer/storage/storage*.c and
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

/* When the ready is taken (it has writes, the node is not stopped), for its job.
 * Appends go to the storage at once, where a power cut can find them unsynced. A hard
 * state or a compaction, whose storage calls are durable when they return, waits for
 * the job to complete, and so does every later job (the storage takes calls in order):
 * the model's disk latency is the time a vote is in flight to the platter, and the
 * real storage must not make it durable sooner, or a vote sent before it is durable
 * could never be lost. */
void sim_store_write(struct sim *s, struct sim_node *n, const struct raft_ready *rd,
                     struct sim_job *job);
/* When the job's simulated write completes (before sim_disk_write takes its entries):
 * the deferred writes, then the sync that makes everything appended so far durable. */
void sim_store_complete(struct sim *s, struct sim_node *n, const struct sim_job *job);
/* A snapshot of the state after index, as the daemon writes it before compacting. */
void sim_store_snapshot(struct sim *s, struct sim_node *n, raft_index index, raft_term term,
                        uint64_t chain, const struct raft_configuration *conf);
void sim_store_compact(struct sim *s, struct sim_node *n, raft_index index, raft_term term);
/* The hard state of a deferred write that a crash tore, durable in the model. */
void sim_store_save_hard_state(struct sim *s, struct sim_node *n, raft_term term, raft_id vote);
/* The node's process dies; pending writes that could change entries from excused_from
 * on were not acknowledged (0: none pending). Maybe a power cut follows. */
void sim_store_crash(struct sim *s, struct sim_node *n, raft_index excused_from);
/* At boot: recover, check against the model, and make the model what was recovered. */
void sim_store_recover(struct sim *s, struct sim_node *n);
void sim_store_free(struct sim_node *n);

#endif
