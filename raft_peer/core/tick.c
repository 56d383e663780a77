/* tick.c: time passing: election timeouts (§5.2), heartbeats (§5.2), CheckQuorum (§6.2),
 * and giving up a leadership transfer that takes too long (§3.10). */
#include <assert.h>

#include "raft_peer/core/state.h"

/* §6.2: "a leader steps down if an election timeout elapses without a
 * successful round of heartbeats to a majority of its cluster". */
static void check_quorum(struct raft *r)
{
    assert(r->role == RAFT_LEADER && r->cfg.check_quorum);
    /* Voters only: learners are no part of any majority, and a leader that removed
     * itself counts only the others (§4.2.2). */
    int active = raft__conf_is_voter(r, r->cfg.id) ? 1 : 0;
    FOR_EACH_PEER(id, r->progress_members)
    {
        struct progress *p = &r->progress[id];
        if (p->recent_active && raft__conf_is_voter(r, id))
            active++;
        p->recent_active = false;
    }
    if (active < raft__majority(r)) {
        raft__trace_emit(r, RAFT_TRACE_STEP_DOWN, RAFT_NOBODY, RAFT_STEP_DOWN_CHECK_QUORUM, 0, 0);
        raft__convert_to_follower(r, r->current_term, RAFT_NOBODY);
    }
}

static void trace_silent_followers(struct raft *r)
{
    FOR_EACH_PEER(id, r->progress_members)
    {
        struct progress *p = &r->progress[id];
        if (!p->active)
            continue;
        if (r->now >= p->last_response + r->cfg.election_timeout_max) {
            p->active = false;
            raft__trace_emit(r, RAFT_TRACE_PEER_INACTIVE, id, 0, 0, 0);
        }
    }
}

static void tick_leader(struct raft *r)
{
    assert(r->role == RAFT_LEADER);
    trace_silent_followers(r);
    if (r->cfg.check_quorum && r->now >= r->quorum_deadline) {
        r->quorum_deadline = r->now + r->cfg.election_timeout_min;
        check_quorum(r);
        if (r->role != RAFT_LEADER)
            return;
    }
    /* §3.10: "If the transfer does not complete after about one election timeout, the
     * prior leader aborts the transfer and resumes accepting client requests." */
    if (r->transfer_target != RAFT_NOBODY && r->now >= r->transfer_deadline)
        raft__transfer_abandon(r);
    if (r->now >= r->heartbeat_deadline) {
        r->heartbeat_deadline = r->now + r->cfg.heartbeat_interval;
        raft__replication_broadcast(r, SEND_HEARTBEAT);
    }
}

int raft_tick(struct raft *r, raft_time now)
{
    raft__ready_reset_if_taken(r);
    if (now > r->now)
        r->now = now;
    if (r->stopped)
        return RAFT_ESTOPPED;
    if (r->role == RAFT_LEADER) {
        tick_leader(r);
    } else if (r->now >= r->election_deadline) {
        /* Figure 2, Followers: "If election timeout elapses without receiving
         * AppendEntries RPC from current leader or granting vote to candidate:
         * convert to candidate"; with PreVote, ask first (§9.6). Only a server that
         * may stand (configuration.c): learners and peers waiting to join wait on. */
        if (raft__conf_may_campaign(r))
            raft__election_start(r, r->cfg.pre_vote, false);
        else
            raft__election_reset_timer(r);
    }
    return r->oom ? RAFT_ENOMEM : RAFT_OK;
}

raft_time raft_next_deadline(const struct raft *r)
{
    if (r->stopped)
        return r->now + 1000;
    if (r->role != RAFT_LEADER)
        return r->election_deadline;
    raft_time next = r->heartbeat_deadline;
    if (r->cfg.check_quorum && r->quorum_deadline < next)
        next = r->quorum_deadline;
    if (r->transfer_target != RAFT_NOBODY && r->transfer_deadline < next)
        next = r->transfer_deadline;
    return next;
}

unsigned raft_election_progress(const struct raft *r, raft_time now)
{
    if (r->role == RAFT_LEADER || r->election_deadline <= r->election_start)
        return 0;
    if (now >= r->election_deadline)
        return 1000;
    if (now <= r->election_start)
        return 0;
    return (unsigned)((now - r->election_start) * 1000 /
                      (r->election_deadline - r->election_start));
}

/* Only the connection of the leader we follow says anything about §4.2.3's lease: a
 * closed link to another follower leaves the lease and the election timer alone. */
void raft_peer_disconnected(struct raft *r, raft_id id)
{
    raft__ready_reset_if_taken(r);
    if (r->stopped || r->role != RAFT_FOLLOWER || id != r->leader_id || id == RAFT_NOBODY)
        return;
    r->heard_leader = false;
    if (!r->cfg.pre_vote || !r->cfg.fast_failover)
        return; /* without PreVote an early election could depose a live leader */
    /* Stagger the followers in ring order after the dead leader, one slot apart, so
     * that one usually wins alone instead of all splitting the vote at once; a little
     * jitter inside the slot, and the next one tries if the first cannot win. */
    raft_time slot = r->cfg.election_timeout_min / 16 + 2;
    int order = 0; /* voters from the dead leader's successor round to us: 1..n-1 */
    for (int step = 1; step <= RAFT_MAX_PEERS; step++) {
        raft_id x = (id - 1 + step) % RAFT_MAX_PEERS + 1;
        if (raft__conf_is_voter(r, x) || x == r->cfg.id)
            order++;
        if (x == r->cfg.id)
            break;
    }
    assert(order >= 1); /* the ring reaches us: (order - 1) below cannot wrap */
    raft_time deadline =
        r->now + (raft_time)(order - 1) * slot + raft__prng_next(r) % (slot / 2 + 1);
    if (deadline < r->election_deadline)
        r->election_deadline = deadline;
}

int raft_set_timing(struct raft *r, raft_time election_timeout_min, raft_time election_timeout_max,
                    raft_time heartbeat_interval, bool fast_failover)
{
    raft__ready_reset_if_taken(r);
    if (election_timeout_min == 0 || election_timeout_min > election_timeout_max ||
        heartbeat_interval == 0 || heartbeat_interval >= election_timeout_min)
        return RAFT_EINVAL;
    r->cfg.election_timeout_min = election_timeout_min;
    r->cfg.election_timeout_max = election_timeout_max;
    r->cfg.heartbeat_interval = heartbeat_interval;
    r->cfg.fast_failover = fast_failover;
    if (r->role == RAFT_LEADER) {
        /* Sooner, never later: a follower still at the old, faster pace must hear from
         * us within its own timeout until it hears of the new one. */
        if (r->heartbeat_deadline > r->now + heartbeat_interval)
            r->heartbeat_deadline = r->now + heartbeat_interval;
        r->quorum_deadline = r->now + election_timeout_min;
    } else {
        /* From now, not from the last heartbeat: sped up, a timer started long ago would
         * fire at once and depose a leader that simply has not heard the news yet. */
        raft__election_reset_timer(r);
    }
    return RAFT_OK;
}
