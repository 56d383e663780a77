/* sim_invariants.h: Raft's safety properties (Figure 3), kept as global records and checked
 * incrementally. */
#ifndef SIM_INVARIANTS_H
#define SIM_INVARIANTS_H

#include <stdbool.h>
#include <stddef.h>

#include "raft_peer/core/raft.h"
#include "sim_log.h"

#define SIM_INV_MAX_NODES 8
/* Terms above this mean a runaway core: the records below are arrays indexed by term. */
#define SIM_INV_MAX_TERM (1u << 22)

struct sim_applied {
    raft_term term;
    uint64_t dhash;
};

struct sim_chain_slot {
    raft_index index; /* 0: empty slot */
    raft_term term;
    uint64_t chain;
};

struct sim_inv {
    uint8_t *leader_of; /* Election Safety: leader_of[t], 0 when term t had none */
    size_t leader_cap;
    uint8_t *vote_of[SIM_INV_MAX_NODES]; /* vote_of[v][t]: whom v's granted vote in t went to */
    size_t vote_cap[SIM_INV_MAX_NODES];
    struct sim_chain_slot *map; /* Log Matching: (index, term) -> chain, first seen */
    size_t map_cap, map_len;
    struct sim_log committed; /* every entry known committed, as a hashed log */
    raft_term *known_in;      /* known_in[i - 1]: current term of the first node that reported
                               * index i committed; it was committed in that term or before */
    size_t known_cap;
    struct sim_applied *applied; /* State Machine Safety: applied[i - 1] */
    raft_index n_applied;
    size_t applied_cap;
};

void sim_inv_init(struct sim_inv *inv);
void sim_inv_free(struct sim_inv *inv);

/* Every function below returns 0, or -1 with the violation described in err. */

/* Election Safety: id leads term; no other node ever led it. */
int sim_inv_leader(struct sim_inv *inv, raft_term term, int id, char *err, size_t errlen);
/* A granted vote left voter for candidate in term: one candidate per voter per term. */
int sim_inv_vote(struct sim_inv *inv, int voter, raft_term term, int candidate, char *err,
                 size_t errlen);
/* Log Matching: the entry (index, m->term) has this prefix chain in every log that holds it. */
int sim_inv_log_entry(struct sim_inv *inv, raft_index index, const struct sim_meta *m, char *err,
                      size_t errlen);
/* A node in term `term` considers log[1..commit] committed: it must agree with every
 * earlier report, and extends the committed record. *grew tells whether it did. */
int sim_inv_commit(struct sim_inv *inv, const struct sim_log *log, raft_index commit,
                   raft_term term, bool *grew, char *err, size_t errlen);
/* Leader Completeness: a leader of leader_term holds every entry known committed in an
 * earlier term. */
int sim_inv_leader_complete(const struct sim_inv *inv, const struct sim_log *log,
                            raft_term leader_term, char *err, size_t errlen);
/* The log is about to lose or change its entries from index `from` on: none of them may
 * be a committed entry. */
int sim_inv_keeps_committed(const struct sim_inv *inv, const struct sim_log *log, raft_index from,
                            char *err, size_t errlen);
/* The same for a change that a leader of term `term` makes to a follower's log (the
 * follower now in that term). Figure 2 lets a follower take a stale leader's
 * AppendEntries: a leader of term T holds every entry committed before T (Leader
 * Completeness), not one committed in a later term, and a follower that slept through
 * those later terms lets it overwrite such an entry (still on a majority, never
 * applied here: the stale leader's commit index is below it). What no change made in
 * term T may drop is an entry known committed in T or earlier. */
int sim_inv_keeps_committed_in(const struct sim_inv *inv, const struct sim_log *log,
                               raft_index from, raft_term term, char *err, size_t errlen);
/* State Machine Safety: a node applies (term, dhash) at index. */
int sim_inv_apply(struct sim_inv *inv, raft_index index, raft_term term, uint64_t dhash, char *err,
                  size_t errlen);

/* State Machine Safety for snapshots: a snapshot of the state after applying 1..index
 * (chain is the hash of that prefix) must be a snapshot of the committed log. */
int sim_inv_snapshot(const struct sim_inv *inv, raft_index index, raft_term term, uint64_t chain,
                     char *err, size_t errlen);

/* True when log holds the committed prefix 1..upto (upto <= committed length). */
bool sim_inv_holds(const struct sim_inv *inv, const struct sim_log *log, raft_index upto);
/* Highest index known committed anywhere. */
raft_index sim_inv_committed_index(const struct sim_inv *inv);

#endif
