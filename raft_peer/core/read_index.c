/* read_index.c: linearizable reads without writing to the log (dissertation §6.4, ReadIndex). */
#include <assert.h>

#include "raft_peer/core/state.h"

/* §6.4 steps 1-3: record the commit index as the read index; once the leader
 * has committed an entry of its own term and a majority has answered a
 * heartbeat sent after the read arrived, the read may be served at that index. */
int raft_read_index(struct raft *r, uint64_t ctx)
{
    raft__ready_reset_if_taken(r);
    if (r->stopped)
        return RAFT_ESTOPPED;
    if (r->role != RAFT_LEADER)
        return RAFT_ENOTLEADER;
    struct pending_read read = {.ctx = ctx, .index = r->commit_index, .round = ++r->read_round};
    if (VEC_PUSH(r, r->reads_pending, read) != 0)
        return RAFT_ENOMEM;
    r->read_broadcast_pending = true;
    return RAFT_OK;
}

/* How many voters, ourselves included if we are one, have echoed a read round >= round. */
static int acked(const struct raft *r, uint64_t round)
{
    int n = 0;
    FOR_EACH_PEER(id, r->conf.voters)
    {
        if (id == r->cfg.id ||
            (raft__progress_member(r, id) && r->progress[id].read_round_acked >= round))
            n++;
    }
    return n;
}

void raft__read_index_check(struct raft *r)
{
    if (r->role != RAFT_LEADER || r->reads_pending.n == 0)
        return;
    /* Step 1: "If the leader has not yet marked an entry from its current term
     * committed, it waits until it has done so." */
    if (r->commit_index < r->leader_first_index)
        return;
    size_t kept = 0;
    for (size_t i = 0; i < r->reads_pending.n; i++) {
        struct pending_read *pr = &r->reads_pending.items[i];
        /* Recorded at the commit index of this leadership, which only grew since. */
        assert(pr->index <= r->commit_index && pr->round <= r->read_round);
        if (acked(r, pr->round) >= raft__majority(r) ||
            MUTATED(r, RAFT_MUTATE_READ_WITHOUT_ROUND)) {
            raft_index index = pr->index;
            if (index < r->leader_first_index)
                index = r->leader_first_index;
            struct raft_read done = {.ctx = pr->ctx, .index = index};
            VEC_PUSH(r, r->reads_ready, done);
        } else {
            r->reads_pending.items[kept++] = *pr;
        }
    }
    r->reads_pending.n = kept;
}

/* A deposed leader can no longer vouch for any read. */
void raft__read_index_fail_all(struct raft *r)
{
    assert(r->role != RAFT_LEADER);
    for (size_t i = 0; i < r->reads_pending.n; i++)
        VEC_PUSH(r, r->reads_failed, r->reads_pending.items[i].ctx);
    r->reads_pending.n = 0;
}
