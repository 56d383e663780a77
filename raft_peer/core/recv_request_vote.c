/* recv_request_vote.c: Figure 2, RequestVote RPC, receiver implementation. */
#include <assert.h>

#include "raft_peer/core/state.h"

/* §4.2.3 of the dissertation: a server that heard from a current leader within
 * the minimum election timeout does not let a candidate disrupt it. */
static bool leader_is_alive(const struct raft *r)
{
    if (!r->cfg.check_quorum)
        return false;
    if (r->role == RAFT_LEADER)
        return true;
    return r->leader_id != RAFT_NOBODY && r->heard_leader &&
           r->now < r->last_heard_leader + r->cfg.election_timeout_min;
}

/* §3.10 with §4.2.3: may this RequestVote, flagged as a leadership transfer, pass the
 * lease? Only a transfer out of our current term: the candidate campaigns at our term + 1.
 * A follower cannot tell whether the leader still wants it; the §5.4.1 log check decides
 * that (a leader that gave the transfer up appended past the target's log: transfer.c).
 * The leader knows: only the target of its live transfer, holding its whole log. */
static bool transfer_is_live(const struct raft *r, const struct raft_message *m, bool log_ok)
{
    if (!m->u.request_vote.leadership_transfer || m->term != r->current_term + 1)
        return false;
    if (r->role == RAFT_LEADER)
        return r->transfer_target == m->from && log_ok;
    return true;
}

static void reply(struct raft *r, const struct raft_message *m, raft_term term, bool granted)
{
    struct raft_message out = {
        .type = RAFT_MSG_REQUEST_VOTE_RESULT,
        .to = m->from,
        .term = term,
        .u.request_vote_result = {.vote_granted = granted, .pre_vote = m->u.request_vote.pre_vote},
    };
    raft__outbox_push(r, &out);
    if (granted && !m->u.request_vote.pre_vote && MUTATED(r, RAFT_MUTATE_VOTE_BEFORE_PERSIST))
        r->outbox.items[r->outbox.n - 1].after_persist = false;
}

void raft__recv_request_vote(struct raft *r, const struct raft_message *m)
{
    const struct raft_request_vote *rv = &m->u.request_vote;
    bool log_ok = raft__election_log_up_to_date(r, rv->last_log_index, rv->last_log_term) ||
                  MUTATED(r, RAFT_MUTATE_VOTE_IGNORES_LOG);
    enum raft_vote_reason reason = RAFT_VOTE_OK;
    bool transfer = transfer_is_live(r, m, log_ok);

    if (rv->pre_vote) {
        /* §9.6: grant when the candidate's proposed term is ahead of ours and its
         * log is up to date; change nothing. The answer carries the asked term,
         * so a refusal with our own, higher term makes the asker catch up. */
        if (m->term <= r->current_term)
            reason = RAFT_VOTE_STALE_TERM;
        else if (leader_is_alive(r) && !transfer)
            reason = RAFT_VOTE_LEADER_ALIVE;
        else if (!log_ok)
            reason = RAFT_VOTE_LOG_BEHIND;
        bool granted = reason == RAFT_VOTE_OK;
        raft__trace_emit(r, RAFT_TRACE_VOTE, m->from, granted, 1, reason);
        reply(r, m, granted ? m->term : r->current_term, granted);
        return;
    }

    if (m->term > r->current_term) {
        if (leader_is_alive(r) && !transfer) {
            raft__trace_emit(r, RAFT_TRACE_VOTE, m->from, 0, 0, RAFT_VOTE_LEADER_ALIVE);
            return; /* ignore it entirely: our term does not move */
        }
        if (r->role == RAFT_LEADER)
            raft__trace_emit(r, RAFT_TRACE_STEP_DOWN, m->from,
                             transfer ? RAFT_STEP_DOWN_TRANSFERRED : RAFT_STEP_DOWN_HIGHER_TERM, 0,
                             0);
        raft__convert_to_follower(r, m->term, RAFT_NOBODY);
    }

    if (m->term < r->current_term)
        reason = RAFT_VOTE_STALE_TERM;
    else if (r->voted_for != RAFT_NOBODY && r->voted_for != m->from)
        reason = RAFT_VOTE_ALREADY_VOTED;
    else if (!log_ok)
        reason = RAFT_VOTE_LOG_BEHIND;

    bool granted = reason == RAFT_VOTE_OK;
    if (granted) {
        /* Figure 2: one vote per term, in that term. A leader or a candidate voted for
         * itself and refuses (RAFT_VOTE_ALREADY_VOTED). */
        assert(m->term == r->current_term);
        assert(r->role == RAFT_FOLLOWER || r->role == RAFT_PRE_CANDIDATE);
        /* "If votedFor is null or candidateId, and candidate's log is at least as
         * up-to-date as receiver's log, grant vote"; the vote is durable before the
         * reply leaves (after_persist). */
        if (r->voted_for != m->from) {
            r->voted_for = m->from;
            r->hard_state_dirty = true;
        }
        raft__election_reset_timer(r);
    }
    raft__trace_emit(r, RAFT_TRACE_VOTE, m->from, granted, 0, reason);
    reply(r, m, r->current_term, granted);
}
