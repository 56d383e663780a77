/* convert.c: role changes and nothing else (Figure 2, "Rules for Servers"). */
#include <assert.h>

#include "raft_peer/core/state.h"

static void set_term(struct raft *r, raft_term term)
{
    assert(term >= r->current_term); /* §5.1: terms only grow */
    if (term == r->current_term)
        return;
    raft_term old = r->current_term;
    r->current_term = term;
    r->voted_for = RAFT_NOBODY;
    r->hard_state_dirty = true;
    raft__trace_emit(r, RAFT_TRACE_TERM, RAFT_NOBODY, term, old, 0);
}

void raft__set_leader(struct raft *r, raft_id leader)
{
    assert(leader >= RAFT_NOBODY && leader <= RAFT_MAX_PEERS);
    assert(leader != r->cfg.id || r->role == RAFT_LEADER);
    if (leader == r->leader_id)
        return;
    r->leader_id = leader;
    raft__trace_emit(r, RAFT_TRACE_LEADER, leader, 0, 0, 0);
}

static void set_role(struct raft *r, enum raft_role role)
{
    enum raft_role old = r->role;
    r->role = role;
    if (old != role)
        raft__trace_emit(r, RAFT_TRACE_ROLE, RAFT_NOBODY, role, old, 0);
}

/* "If RPC request or response contains term T > currentTerm: set currentTerm = T,
 * convert to follower (§5.1)"; also a candidate that hears from the new leader. */
void raft__convert_to_follower(struct raft *r, raft_term term, raft_id leader)
{
    assert(term >= r->current_term);
    assert(leader != r->cfg.id);
    bool was_leader = r->role == RAFT_LEADER;
    set_term(r, term);
    if (r->role != RAFT_FOLLOWER) {
        set_role(r, RAFT_FOLLOWER);
        raft__election_reset_timer(r);
    }
    if (was_leader) {
        raft__read_index_fail_all(r);
        r->replicate_pending = false;
        r->read_broadcast_pending = false;
        r->transfer_target = RAFT_NOBODY;
        r->transfer_timeout_now_sent = false;
    }
    raft__set_leader(r, leader);
}

/* Dissertation §9.6: ask first whether an election could be won, at term + 1,
 * without touching our own term. */
void raft__convert_to_pre_candidate(struct raft *r)
{
    assert(r->role != RAFT_LEADER && !r->stopped);
    set_role(r, RAFT_PRE_CANDIDATE);
    raft__set_leader(r, RAFT_NOBODY);
}

/* Figure 2, Candidates: "increment currentTerm, vote for self". */
void raft__convert_to_candidate(struct raft *r, bool leadership_transfer)
{
    assert(r->role != RAFT_LEADER && !r->stopped);
    (void)leadership_transfer;
    set_term(r, r->current_term + 1);
    r->voted_for = r->cfg.id;
    r->hard_state_dirty = true;
    set_role(r, RAFT_CANDIDATE);
    raft__set_leader(r, RAFT_NOBODY);
}

/* Figure 2, Leaders: reinitialize nextIndex/matchIndex, then send heartbeats.
 * §8: append a no-op of the new term so earlier entries can commit and reads
 * know the commit index is current. The no-op goes in before the role changes: a
 * leader without it (no memory for it) would take leader_first_index from an earlier
 * term, and serve reads and change the configuration before committing in its own.
 * Without memory it stays a candidate, and wins again or times out. */
void raft__convert_to_leader(struct raft *r)
{
    /* Figure 2, Candidates: "If votes received from majority of servers: become leader". */
    assert(r->role == RAFT_CANDIDATE && r->voted_for == r->cfg.id && !r->stopped);
    assert(raft__log_last_term(&r->log) <= r->current_term);
    if (raft__progress_init_all(r) != RAFT_OK) {
        r->oom = true;
        return;
    }
    struct raft_entry noop = {.term = r->current_term, .type = RAFT_ENTRY_NOOP};
    if (raft__log_append(&r->log, &noop) != RAFT_OK) {
        r->oom = true;
        return;
    }
    set_role(r, RAFT_LEADER);
    raft__set_leader(r, r->cfg.id);
    r->transfer_target = RAFT_NOBODY;
    r->transfer_timeout_now_sent = false;
    r->read_round = 0;
    r->leader_first_index = raft__log_last_index(&r->log);
    r->heartbeat_deadline = r->now + r->cfg.heartbeat_interval;
    r->quorum_deadline = r->now + r->cfg.election_timeout_min;
    raft__replication_broadcast(r, SEND_NEW);
    raft__replication_maybe_commit(r); /* a cluster of one commits alone */
}
