/* recv_request_vote_result.c: counting the answers to our RequestVote (§5.2) and pre-vote (§9.6).
 */
#include <assert.h>

#include "raft_peer/core/state.h"

void raft__recv_request_vote_result(struct raft *r, const struct raft_message *m)
{
    const struct raft_request_vote_result *res = &m->u.request_vote_result;
    int refused = 0;
    /* recv.c applied the term rules, except to pre-votes, asked at our term + 1. */
    assert(res->pre_vote || m->term <= r->current_term);

    if (res->pre_vote) {
        if (r->role != RAFT_PRE_CANDIDATE)
            return;
        if (!res->vote_granted && m->term > r->current_term) {
            raft__convert_to_follower(r, m->term, RAFT_NOBODY);
            return;
        }
        if (m->term != r->current_term + 1 && res->vote_granted)
            return; /* an answer to an older pre-vote */
        r->votes[m->from] = res->vote_granted ? 1 : -1;
        int granted = raft__election_tally(r, &refused);
        raft__trace_emit(r, RAFT_TRACE_VOTE_RECEIVED, m->from, granted, 1, res->vote_granted);
        if (granted >= raft__majority(r))
            raft__election_start(r, false, r->campaign_transfer);
        else if (refused >= raft__majority(r))
            raft__convert_to_follower(r, r->current_term, RAFT_NOBODY);
        return;
    }

    /* recv.c already stepped down on a higher term and dropped older ones. */
    if (r->role != RAFT_CANDIDATE || m->term != r->current_term)
        return;
    r->votes[m->from] = res->vote_granted ? 1 : -1;
    int granted = raft__election_tally(r, &refused);
    raft__trace_emit(r, RAFT_TRACE_VOTE_RECEIVED, m->from, granted, 0, res->vote_granted);
    /* Figure 2, Candidates: "If votes received from majority of servers: become leader". */
    if (granted >= raft__majority(r))
        raft__convert_to_leader(r);
}
