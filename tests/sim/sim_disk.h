/* sim_disk.h: one node's simulated stable storage, with asynchronous FIFO writes lost at a crash.
 */
#ifndef SIM_DISK_H
#define SIM_DISK_H

#include <stdbool.h>
#include <stddef.h>

#include "raft_peer/core/raft.h"
#include "sim_log.h"
#include "sim_rng.h"

struct sim_disk_entry {
    raft_term term;
    uint64_t dhash; /* sim_entry_hash of the entry */
    uint32_t len;
    uint8_t type;
    uint8_t *data; /* owned; NULL when len == 0 */
};

/* A message that may leave only once its ready's writes are durable. */
struct sim_held {
    struct raft_message *msg; /* owned deep copy */
    uint64_t expect_chain;    /* for a successful append result: the sender's log chain at
                               * match_index when the ready was taken (0 otherwise) */
};

/* The writes of one ready, on their way to the platter. */
struct sim_job {
    struct sim_job *next;
    uint64_t serial;   /* names the completion event */
    uint64_t seq;      /* the ready's seq, for raft_persisted() */
    raft_time done_at; /* virtual time at which the write completes */
    bool hard;         /* hard state to write */
    raft_term term;
    raft_id vote;
    bool snap; /* an installed snapshot: drop the stable prefix it covers first */
    raft_index snap_index;
    raft_term snap_term;
    bool log; /* log change to write */
    raft_index from;
    struct sim_disk_entry *ents;
    size_t n_ents;
    struct sim_held *held;
    size_t n_held;
    raft_index committed_when_made; /* the cluster's committed length when the ready was
                                       taken: a write may only drop what was uncommitted then */
    raft_term made_in_term;         /* the node's term when the ready was taken */
    bool store_deferred;            /* the real storage does this job's writes when it completes
                                       (sim_store.h) */
};

/* Durable state: hard state, the latest snapshot of the state machine, and the log.
 * Like the daemon's storage (docs/STORAGE.md), a reboot recovers the snapshot and the
 * entries after it, provided the log agrees with the snapshot at its index (Figure 13:
 * otherwise the whole log is discarded). */
struct sim_disk {
    raft_term term;
    raft_id vote;
    raft_index snap_index; /* 0: no snapshot */
    raft_term snap_term;
    uint64_t snap_chain; /* hash of the state it holds: the log chain at snap_index */
    struct raft_configuration snap_conf; /* the configuration at snap_index (§4.1 with §7) */
    raft_index base;          /* e[0] is index base + 1 (entries up to base were compacted) */
    struct sim_disk_entry *e; /* the stored log */
    size_t n_e, cap;
    struct sim_log meta;         /* the log a reboot recovers, as hashes, snapshot included */
    struct sim_job *head, *tail; /* writes not yet durable, oldest first */
    raft_time busy_until;        /* when the newest queued write completes */
    uint64_t next_serial;
};

/* What a crash did to the write in progress. */
enum sim_torn {
    SIM_TORN_NONE = 0,       /* nothing of it reached the disk */
    SIM_TORN_HARD_STATE = 1, /* only its hard state did */
    SIM_TORN_PREFIX = 2,     /* its hard state and a prefix of its appended entries did */
};

void sim_disk_init(struct sim_disk *d);
void sim_disk_free(struct sim_disk *d);

/* A job holding deep copies of the ready's writes (messages are attached by the caller). */
struct sim_job *sim_disk_job_new(const struct raft_ready *rd);
void sim_disk_job_hold(struct sim_job *job, struct raft_message *msg, uint64_t expect_chain);
void sim_disk_job_free(struct sim_job *job);
/* Queues job; it completes at done_at, or later if earlier writes are still pending. */
void sim_disk_push(struct sim_disk *d, struct sim_job *job, raft_time done_at);
/* Detaches the oldest job if its serial is serial, else NULL (a stale event). */
struct sim_job *sim_disk_pop(struct sim_disk *d, uint64_t serial);

/* First index whose recoverable content the job would change (0: none). */
raft_index sim_disk_change_point(const struct sim_disk *d, const struct sim_job *job);
/* Makes the job durable: hard state, the snapshot's compaction, then drop entries >= from
 * and append. Refuses, with a message, what no correct core asks for (a term going back,
 * a second vote in one term, a hole in the log). Moves the entries out of the job. */
int sim_disk_write(struct sim_disk *d, struct sim_job *job, char *err, size_t errlen);

/* A snapshot of the state after index (term, chain) is durable from now on. prefix holds
 * at least 1..index of the log it covers (the committed log). Older snapshots are kept. */
void sim_disk_snapshot(struct sim_disk *d, raft_index index, raft_term term, uint64_t chain,
                       const struct raft_configuration *conf, const struct sim_log *prefix);
/* The stored log drops its prefix up to index, whose term is term (the daemon's
 * storage_compact; an entry of another term there takes what follows with it). */
void sim_disk_compact(struct sim_disk *d, raft_index index, raft_term term);

/* Power cut: the write in progress may be torn (with probability torn_ppm), every later
 * write is lost, and held messages are dropped. Returns what happened to the disk. */
enum sim_torn sim_disk_crash(struct sim_disk *d, struct sim_rng *rng, uint32_t torn_ppm);
/* Drops every pending write without tearing anything (the disk stopped accepting). */
void sim_disk_drop_pending(struct sim_disk *d);

/* What storage does when it opens after a crash: entries the snapshot covers, or that
 * do not follow it, are dropped, so the next append goes right after what boot holds. */
void sim_disk_recover(struct sim_disk *d);
/* Fills boot from the durable state; returns the entries array to free() afterwards. */
struct raft_entry *sim_disk_boot(const struct sim_disk *d, struct raft_boot_state *boot);

#endif
