/* recv_timeout_now.c: dissertation §3.10, the transfer target starts an election at once. */
#include <assert.h>

#include "raft_peer/core/state.h"

/* "This request has the same effect as the target server's election timer firing": with
 * PreVote (§9.6) that is a pre-vote, flagged as a transfer so that voters let it past
 * §4.2.3's lease. Only for the transfer the leader still runs: the message must come
 * from the leader we follow in our current term, and our log must end where the
 * leader's did when it sent it; an entry of that term past it (the no-op the leader
 * appends when it gives a transfer up, or a command taken since) means the transfer is
 * over (transfer.c). */
void raft__recv_timeout_now(struct raft *r, const struct raft_message *m)
{
    assert(m->term <= r->current_term); /* recv.c applied the term rules */
    if (r->role != RAFT_FOLLOWER || m->term != r->current_term || m->from != r->leader_id ||
        !raft__conf_may_campaign(r))
        return;
    if (raft__log_last_index(&r->log) != m->u.timeout_now.last_log_index ||
        raft__log_last_term(&r->log) != m->term)
        return;
    raft__election_start(r, r->cfg.pre_vote, true);
}
