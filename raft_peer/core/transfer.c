/* transfer.c: leadership transfer (dissertation §3.10), and why a transfer the leader gave
 * up cannot depose it later.
 *
 * §3.10: the leader stops taking commands, brings the target's log up to date, then sends
 * it TimeoutNow; the target campaigns at once, and its RequestVote says it is a transfer,
 * so voters that just heard from the leader let it past the §4.2.3 lease. The leader
 * gives the transfer up if it has not completed within an election timeout. It cannot
 * recall a TimeoutNow already on the wire, though: one that arrives late would start an
 * election that gets past every lease and deposes a leader that is healthy and no
 * longer wants to leave. So:
 *
 * 1. TimeoutNow names its transfer: the leader's term and id (the message's term and
 *    from) and the leader's last log index, which does not move while it hands over
 *    (no commands). The target acts only on a TimeoutNow from the leader it follows in
 *    its current term, and only while its own log ends exactly there, holding nothing
 *    of that term that the leader appended since (recv_timeout_now.c).
 * 2. Giving up a transfer whose TimeoutNow went out appends a no-op of the leader's
 *    term, as a new leader does (§8). A log holding it is more up to date (§5.4.1) than
 *    the target's was at the transfer: once it is on a majority, no election started by
 *    that transfer can win, lease or no lease; and a target that has it ignores the late
 *    TimeoutNow by rule 1.
 * 3. With PreVote on, the TimeoutNow starts a pre-vote, as the election timer firing
 *    would (§3.10: TimeoutNow "has the same effect as the target server's election
 *    timer firing"; §9.6). A refused pre-vote moves no term, so a stale transfer cannot
 *    depose the leader by raising the target's term either. It costs the transfer one
 *    round trip.
 * 4. Voters let the transfer flag past their lease only for a candidate at their term
 *    + 1: a transfer out of the term whose leader they know. The leader itself does so
 *    only for the target of its live transfer holding its whole log
 *    (recv_request_vote.c); once it has given up, it refuses like any leader.
 *
 * What is left: a pre-vote granted by a majority just before the no-op reached it may be
 * followed by a real election just after, which fails but has raised the target's term
 * (the window every pre-vote has, §9.6). Without PreVote, a late TimeoutNow that arrives
 * before the no-op still raises the target's term: without PreVote any server that
 * times out does that (§9.6).
 */
#include <assert.h>

#include "raft_peer/core/state.h"

/* §3.10 step 3: "The prior leader sends a TimeoutNow request to the target server." */
void raft__transfer_send_timeout_now(struct raft *r, raft_id target)
{
    /* §3.10: only to a voter that holds the leader's whole log, or it could not win. */
    assert(r->role == RAFT_LEADER && raft__progress_member(r, target));
    assert(r->progress[target].match_index == raft__log_last_index(&r->log));
    struct raft_message m = {
        .type = RAFT_MSG_TIMEOUT_NOW,
        .to = target,
        .term = r->current_term,
        .u.timeout_now = {.last_log_index = raft__log_last_index(&r->log)},
    };
    if (raft__outbox_push(r, &m) == RAFT_OK)
        r->transfer_timeout_now_sent = true;
}

/* The leader gives the live transfer up (it took an election timeout, or another target
 * was chosen). If its TimeoutNow may be on the wire, the no-op of rule 2 above goes in
 * first; without memory for it the transfer stays live and is given up at a later tick. */
int raft__transfer_abandon(struct raft *r)
{
    assert(r->role == RAFT_LEADER && r->transfer_target != RAFT_NOBODY);
    if (r->transfer_timeout_now_sent) {
        struct raft_entry noop = {.term = r->current_term, .type = RAFT_ENTRY_NOOP};
        if (raft__log_append(&r->log, &noop) != RAFT_OK) {
            r->oom = true;
            r->transfer_deadline = r->now + r->cfg.heartbeat_interval;
            return RAFT_ENOMEM;
        }
        r->replicate_pending = true;
        raft__replication_maybe_commit(r);
    }
    raft__trace_emit(r, RAFT_TRACE_TRANSFER, r->transfer_target, 0, 0, 0);
    r->transfer_target = RAFT_NOBODY;
    r->transfer_timeout_now_sent = false;
    return RAFT_OK;
}

/* Dissertation §3.10: stop taking commands (raft_propose), bring the target up to date,
 * then send it TimeoutNow (here at once, or in recv_append_entries_result.c once it has
 * caught up). */
int raft_transfer_leadership(struct raft *r, raft_id target)
{
    raft__ready_reset_if_taken(r);
    if (r->stopped)
        return RAFT_ESTOPPED;
    if (r->role != RAFT_LEADER)
        return RAFT_ENOTLEADER;
    if (target == r->cfg.id || !raft__conf_is_voter(r, target) || !raft__progress_member(r, target))
        return RAFT_EINVAL; /* only a voter can be elected */
    if (r->transfer_target != RAFT_NOBODY && r->transfer_target != target &&
        raft__transfer_abandon(r) != RAFT_OK)
        return RAFT_ENOMEM;
    r->transfer_target = target;
    r->transfer_deadline = r->now + r->cfg.election_timeout_max;
    raft__trace_emit(r, RAFT_TRACE_TRANSFER, target, 1, 0, 0);
    struct progress *p = &r->progress[target];
    if (p->match_index == raft__log_last_index(&r->log))
        raft__transfer_send_timeout_now(r, target);
    else
        raft__replication_send_append(r, target, SEND_NEW);
    return r->oom ? RAFT_ENOMEM : RAFT_OK;
}
