/* membership.c: single-server membership changes (dissertation §4.1), learners catching up
 * (§4.2.1) and the leader that removed itself (§4.2.2). docs/MEMBERSHIP.md tells the whole
 * story; configuration.c says which configuration is in use. */
#include <assert.h>

#include "raft_peer/core/state.h"

const char *raft_change_name(enum raft_change op)
{
    switch (op) {
    case RAFT_CHANGE_ADD_LEARNER:
        return "add_learner";
    case RAFT_CHANGE_PROMOTE:
        return "promote";
    case RAFT_CHANGE_REMOVE:
        return "remove";
    }
    return "unknown";
}

/* The configuration op makes of the latest one, or a refusal. */
static int next_configuration(const struct raft *r, enum raft_change op, raft_id id,
                              struct raft_configuration *next)
{
    assert(id >= 1 && id <= RAFT_MAX_PEERS);
    const struct raft_configuration *cur = &r->conf_last;
    uint32_t b = (uint32_t)1 << id;
    *next = *cur;
    switch (op) {
    case RAFT_CHANGE_ADD_LEARNER:
        if (raft_configuration_is_member(cur, id))
            return RAFT_EEXISTS;
        next->learners |= b;
        return RAFT_OK;
    case RAFT_CHANGE_PROMOTE:
        if (raft_configuration_is_voter(cur, id))
            return RAFT_EEXISTS;
        if (!raft_configuration_is_learner(cur, id))
            return RAFT_EUNKNOWN_PEER;
        /* §4.2.1: "the leader should abort the change if the new server is unavailable
         * or is so slow that it will never catch up". Here: refuse until it has. */
        if (id != r->cfg.id && !r->progress[id].caught_up)
            return RAFT_ENOT_CAUGHT_UP;
        next->learners &= ~b;
        next->voters |= b;
        return RAFT_OK;
    case RAFT_CHANGE_REMOVE:
        if (!raft_configuration_is_member(cur, id))
            return RAFT_EUNKNOWN_PEER;
        if (raft_configuration_is_voter(cur, id) && raft_configuration_n_voters(cur) == 1)
            return RAFT_ELAST_VOTER;
        next->voters &= ~b;
        next->learners &= ~b;
        return RAFT_OK;
    }
    return RAFT_EINVAL;
}

/* §4.1: the leader appends the new configuration to its log and uses it at once; the
 * change is complete when that entry commits. One server per change means any majority
 * of the old configuration and any majority of the new one overlap, so no joint phase.
 * Ongaro's fix (raft-dev, "bug in single-server membership changes", 2015): a leader
 * must first commit an entry of its own term (its no-op, §8), otherwise a change left
 * uncommitted by an earlier leader and this one could each be decided by a majority
 * that does not overlap the other's. And only one change may be uncommitted at a time,
 * or configurations two steps apart would be in use at once. */
int raft_change_membership(struct raft *r, enum raft_change op, raft_id id, raft_index *index)
{
    raft__ready_reset_if_taken(r);
    if (r->stopped)
        return RAFT_ESTOPPED;
    if (r->role != RAFT_LEADER)
        return RAFT_ENOTLEADER;
    if (id < 1 || id > RAFT_MAX_PEERS)
        return RAFT_EUNKNOWN_PEER;
    if (r->transfer_target != RAFT_NOBODY)
        return RAFT_EBUSY; /* §3.10: the log does not grow while handing over */
    if (r->commit_index < r->leader_first_index && !MUTATED(r, RAFT_MUTATE_CHANGE_BEFORE_OWN_TERM))
        return RAFT_ENOT_READY;
    if (r->conf_last_index > r->commit_index && !MUTATED(r, RAFT_MUTATE_TWO_CHANGES))
        return RAFT_ECHANGE_PENDING;
    struct raft_configuration next;
    int rc = next_configuration(r, op, id, &next);
    if (rc != RAFT_OK)
        return rc;
    assert(raft__configuration_valid(&next));
    uint8_t bytes[RAFT_CONFIGURATION_MAX];
    struct raft_entry e = {.term = r->current_term,
                           .type = RAFT_ENTRY_CONFIG,
                           .len = (uint32_t)raft_configuration_encode(&next, bytes),
                           .data = bytes};
    if (raft__log_append(&r->log, &e) != RAFT_OK)
        return RAFT_ENOMEM;
    if (index)
        *index = raft__log_last_index(&r->log);
    raft__conf_rebuild(r); /* in use from now on, committed or not */
    r->replicate_pending = true;
    raft__replication_maybe_commit(r);
    return r->oom ? RAFT_ENOMEM : RAFT_OK;
}

/* §4.2.1: "The replication of entries to the new server is split into rounds ... each
 * round replicates all the log entries present in the leader's log at the start of the
 * round ... If the last round lasts less than an election timeout, then the leader adds
 * the new server to the cluster". Called whenever the follower's match index grows. */
void raft__catch_up_progress(struct raft *r, raft_id id)
{
    assert(r->role == RAFT_LEADER && raft__progress_member(r, id));
    struct progress *p = &r->progress[id];
    if (p->caught_up || p->match_index < p->round_until)
        return;
    if (r->now - p->round_start < r->cfg.election_timeout_min) {
        p->caught_up = true;
        if (raft_configuration_is_learner(&r->conf, id))
            raft__trace_emit(r, RAFT_TRACE_CAUGHT_UP, id, p->round, 0, 0);
        return;
    }
    p->round++;
    p->round_until = raft__log_last_index(&r->log);
    p->round_start = r->now;
    if (p->match_index >= p->round_until) {
        /* It holds everything already: this round took no time at all. */
        p->caught_up = true;
        if (raft_configuration_is_learner(&r->conf, id))
            raft__trace_emit(r, RAFT_TRACE_CAUGHT_UP, id, p->round, 0, 0);
    }
}

bool raft_catch_up(const struct raft *r, raft_id id, struct raft_catch_up *out)
{
    if (r->role != RAFT_LEADER || !raft_configuration_is_learner(&r->conf, id) || id == r->cfg.id ||
        (r->progress_members & ((uint32_t)1 << id)) == 0)
        return false;
    const struct progress *p = &r->progress[id];
    out->round = p->round;
    out->round_until = p->round_until;
    out->round_start = p->round_start;
    out->caught_up = p->caught_up;
    return true;
}

/* The voter whose log matches ours furthest, to hand leadership to. */
static raft_id best_successor(const struct raft *r)
{
    raft_id best = RAFT_NOBODY;
    for (raft_id id = 1; id <= RAFT_MAX_PEERS; id++) {
        if (id == r->cfg.id || !raft__conf_is_voter(r, id) ||
            (r->progress_members & ((uint32_t)1 << id)) == 0)
            continue;
        if (best == RAFT_NOBODY || r->progress[id].match_index > r->progress[best].match_index)
            best = id;
    }
    return best;
}

/* After the commit index moved on the leader. §4.2.2: a leader removed from the
 * configuration "steps down (returns to follower state) once the C_new entry is
 * committed"; until then it manages a cluster it is not part of. It hands over at once
 * when a voter holds its whole log (§3.10's TimeoutNow), so that the cluster does not wait
 * an election timeout; otherwise the voters' timers elect the next leader. Progress of
 * servers removed by the committed change is no longer needed either. */
void raft__membership_committed(struct raft *r)
{
    if (r->role != RAFT_LEADER)
        return;
    raft__progress_sync(r);
    if (r->conf_index > r->commit_index || raft__conf_is_voter(r, r->cfg.id))
        return;
    raft_id next = best_successor(r);
    raft__trace_emit(r, RAFT_TRACE_STEP_DOWN, RAFT_NOBODY, RAFT_STEP_DOWN_REMOVED, 0, 0);
    if (next != RAFT_NOBODY && r->progress[next].match_index == raft__log_last_index(&r->log))
        raft__transfer_send_timeout_now(r, next);
    raft__convert_to_follower(r, r->current_term, RAFT_NOBODY);
}
