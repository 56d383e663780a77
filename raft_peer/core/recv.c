/* recv.c: receiving a message: the term rules every RPC shares, then dispatch. */
#include <assert.h>

#include "raft_peer/core/state.h"

/* Any peer id may write to us: a server refuses nothing on the basis of a membership
 * it may not know yet (§4.1: servers process RPCs "without consulting their current
 * configurations"). What a configuration entry says is checked here, once. */
static bool valid(const struct raft *r, const struct raft_message *m)
{
    if (m->from < 1 || m->from > RAFT_MAX_PEERS || m->from == r->cfg.id || m->to != r->cfg.id)
        return false;
    if (m->type == RAFT_MSG_APPEND_ENTRIES) {
        const struct raft_append_entries *ae = &m->u.append_entries;
        if (ae->n_entries > 0 && !ae->entries)
            return false;
        /* A leader holds nothing of a term after its own: the core asserts that of its
         * log (invariants.c), so no message may bring it in. */
        if (ae->prev_log_term > m->term)
            return false;
        for (uint32_t i = 0; i < ae->n_entries; i++)
            if (ae->entries[i].term > m->term || (ae->entries[i].len > 0 && !ae->entries[i].data) ||
                !raft__configuration_entry_valid(&ae->entries[i]))
                return false;
    }
    return m->type >= RAFT_MSG_REQUEST_VOTE && m->type <= RAFT_MSG_TIMEOUT_NOW;
}

int raft_step(struct raft *r, const struct raft_message *m, raft_time now)
{
    raft__ready_reset_if_taken(r);
    assert(m != NULL);
    if (now > r->now)
        r->now = now;
    if (!valid(r, m))
        return RAFT_EINVAL;
    if (r->stopped)
        return RAFT_ESTOPPED;

    raft_term term_before = r->current_term;
    /* Pre-votes are asked at a term nobody holds yet; they move no term. */
    bool pre_vote = (m->type == RAFT_MSG_REQUEST_VOTE && m->u.request_vote.pre_vote) ||
                    (m->type == RAFT_MSG_REQUEST_VOTE_RESULT && m->u.request_vote_result.pre_vote);

    /* Figure 2, All Servers: "If RPC request or response contains term T >
     * currentTerm: set currentTerm = T, convert to follower (§5.1)". A
     * RequestVote decides for itself, because of §4.2.3. */
    if (!pre_vote && m->term > r->current_term && m->type != RAFT_MSG_REQUEST_VOTE) {
        raft_id leader = m->type == RAFT_MSG_APPEND_ENTRIES ? m->from : RAFT_NOBODY;
        if (r->role == RAFT_LEADER)
            raft__trace_emit(r, RAFT_TRACE_STEP_DOWN, m->from, RAFT_STEP_DOWN_HIGHER_TERM, 0, 0);
        raft__convert_to_follower(r, m->term, leader);
    }

    switch (m->type) {
    case RAFT_MSG_REQUEST_VOTE:
        raft__recv_request_vote(r, m);
        break;
    case RAFT_MSG_REQUEST_VOTE_RESULT:
        raft__recv_request_vote_result(r, m);
        break;
    case RAFT_MSG_APPEND_ENTRIES:
        raft__recv_append_entries(r, m);
        break;
    case RAFT_MSG_APPEND_ENTRIES_RESULT:
        raft__recv_append_entries_result(r, m);
        break;
    case RAFT_MSG_TIMEOUT_NOW:
        raft__recv_timeout_now(r, m);
        break;
    }
    /* §5.1: whatever the message, our term did not go back. */
    assert(r->current_term >= term_before);
    return r->oom ? RAFT_ENOMEM : RAFT_OK;
}
