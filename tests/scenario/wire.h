/* wire.h: what travels between peers: the core's own messages, and the snapshot
 * transfers the caller does for it (Figure 13's InstallSnapshot, sent whole here:
 * the daemon's chunks change nothing the core sees but timing). */
#ifndef SCENARIO_WIRE_H
#define SCENARIO_WIRE_H

#include <stdbool.h>

#include "raft_peer/core/raft.h"

enum wire_kind {
    WIRE_RAFT,            /* a struct raft_message from a ready */
    WIRE_SNAPSHOT,        /* leader -> follower: the leader's snapshot */
    WIRE_SNAPSHOT_RESULT, /* follower -> leader: how the transfer ended (raft_snapshot_sent) */
};

/* A snapshot transfer or its answer. */
struct snapshot_msg {
    raft_term term;                 /* the leader's term; in a result, the follower's */
    raft_index index;               /* the snapshot's last included index */
    raft_term last_term;            /* the term of that entry */
    struct raft_configuration conf; /* the configuration at index */
    char *state;                    /* the state machine: the commands applied up to index */
    unsigned leader_boot; /* which run of the leader sent it (a restart forgets transfers) */
    bool ok;              /* result: installed, or already held */
};

struct wire {
    enum wire_kind kind;
    raft_id from;
    raft_id to;
    struct raft_message m; /* WIRE_RAFT */
    struct snapshot_msg s; /* the two others */
};

/* The leader of a snapshot transfer (the sender of WIRE_SNAPSHOT), and its follower. */
raft_id wire_leader(const struct wire *w);
raft_id wire_follower(const struct wire *w);

#endif
