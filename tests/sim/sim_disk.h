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
    bool log; /* log change to write */
    raft_index from;
    struct sim_disk_entry *ents;
    size_t n_ents;
    struct sim_held *held;
    size_t n_held;
};

struct sim_disk {
    raft_term term; /* durable hard state */
    raft_id vote;
    struct sim_disk_entry *e; /* durable log, e[0] is index 1; meta.len entries */
    size_t cap;
    struct sim_log meta;         /* the same log as hashes */
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

/* First index whose durable content the job would change (0: none). */
raft_index sim_disk_change_point(const struct sim_disk *d, const struct sim_job *job);
/* Makes the job durable: hard state, then drop entries >= from and append. Refuses,
 * with a message, what no correct core asks for (a term going back, a second vote in
 * one term, a gap in the log). Moves the entries out of the job. */
int sim_disk_write(struct sim_disk *d, struct sim_job *job, char *err, size_t errlen);

/* Power cut: the write in progress may be torn (with probability torn_ppm), every later
 * write is lost, and held messages are dropped. Returns what happened to the disk. */
enum sim_torn sim_disk_crash(struct sim_disk *d, struct sim_rng *rng, uint32_t torn_ppm);
/* Drops every pending write without tearing anything (the disk stopped accepting). */
void sim_disk_drop_pending(struct sim_disk *d);

/* Fills boot from the durable state; returns the entries array to free() afterwards. */
struct raft_entry *sim_disk_boot(const struct sim_disk *d, struct raft_boot_state *boot);

#endif
