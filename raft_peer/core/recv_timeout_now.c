/* recv_timeout_now.c: dissertation §3.10, the transfer target starts an election at once. */
#include "raft_peer/core/state.h"

void recv_timeout_now(struct raft *r, const struct raft_message *m)
{
    if (m->term != r->current_term || r->role == RAFT_LEADER)
        return;
    /* Skip the pre-vote: the leader asked for this, so the election may disturb it. */
    election_start(r, false, true);
}
