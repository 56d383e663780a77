/* cluster.h: the in-memory cluster a scenario drives: real raft cores, each with its
 * own manual clock and in-memory disk, and one queue of messages between them. */
#ifndef SCENARIO_CLUSTER_H
#define SCENARIO_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "raft_peer/core/raft.h"
#include "tests/scenario/bounds.h"
#include "tests/scenario/disk.h"
#include "tests/scenario/text.h"

enum read_state { READ_PENDING, READ_WAITING, READ_SERVED, READ_FAILED };

struct read_req {
    uint64_t ctx;
    raft_index index; /* known once the core answers */
    enum read_state state;
};

struct peer {
    raft_id id;
    struct cluster *c;
    struct raft *r;    /* NULL before boot and while crashed */
    raft_time now;     /* this peer's own clock: only differences within a peer matter */
    raft_time timeout; /* pinned election timeout (min == max) */
    struct disk disk;
    raft_index applied; /* last index in the state machine (applied, or from a snapshot) */
    struct text cmds;   /* the state machine: applied command payloads, one per line */
    unsigned elections; /* ELECTION_START traces seen, to tell `campaign` it fired */
    struct read_req reads[SC_MAX_READS];
    size_t n_reads;
    bool manual_disk;      /* writes wait for `sync` and die in a crash */
    struct write_op *held; /* oldest first */
    size_t n_held;
    unsigned boots; /* raft_new calls: a snapshot transfer belongs to one run of its leader */
    /* As a leader: the snapshot transfer to each follower (one at a time), and those
     * that failed and that the core has not heard about yet (raft_snapshot_sent). */
    bool sending[RAFT_MAX_PEERS + 1];
    bool lost[RAFT_MAX_PEERS + 1];
    raft_index lost_index[RAFT_MAX_PEERS + 1];
};

struct queued;

struct cluster {
    int n;      /* 0 until `cluster` */
    int voters; /* peers 1..voters bootstrap as voters; the others join (empty configuration) */
    bool booted;
    struct raft_config base;
    struct peer peers[RAFT_MAX_PEERS + 1]; /* by id; [0] unused */
    bool cut[RAFT_MAX_PEERS + 1][RAFT_MAX_PEERS + 1];
    struct queued *queue;
    size_t qlen;
    size_t qcap;
    uint64_t next_msg_id;
    struct text *out; /* where the current command prints */
    bool events;      /* print trace events (role changes, commits...) */
    /* Invariants checked after every ready, across the whole run. */
    raft_id *leader_of_term; /* Figure 3, Election Safety */
    size_t n_leader_terms;
    raft_term *committed; /* State Machine Safety: term of each committed index, 0 unknown */
    size_t n_committed;
    char err[1024];
};

/* Records why the command fails in c->err; returns -1 for `return fail(...)`. */
__attribute__((format(printf, 2, 3))) int fail(struct cluster *c, const char *fmt, ...);
bool peer_up(const struct cluster *c, raft_id id);
/* Boots every peer (raft_new from its disk), once. */
int cluster_boot(struct cluster *c);
void cluster_free(struct cluster *c);

#endif
