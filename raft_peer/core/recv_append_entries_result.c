/* recv_append_entries_result.c: the leader learns how a follower's log compares (§5.3). */
#include <assert.h>

#include "raft_peer/core/state.h"

/* §5.3: "the leader can decrement nextIndex to bypass all of the conflicting
 * entries in that term". */
static raft_index next_after_conflict(const struct raft *r,
                                      const struct raft_append_entries_result *res)
{
    if (res->conflict_term > 0) {
        raft_index ours = raft__log_last_index_of_term(&r->log, res->conflict_term);
        if (ours > 0)
            return ours + 1;
    }
    return res->conflict_index;
}

static void on_reject(struct raft *r, raft_id id, const struct raft_append_entries_result *res)
{
    assert(r->role == RAFT_LEADER && !res->success);
    struct progress *p = &r->progress[id];
    if (p->state == PROGRESS_SNAPSHOT) {
        /* Still waiting for the snapshot, unless the follower already holds as much as
         * it covers (its acknowledgement was lost): then probe from there, which asks
         * for a newer snapshot if we have compacted further meanwhile. */
        if (res->last_log_index < p->pending_snapshot)
            return;
        raft__progress_become_probe(r, p);
        if (res->last_log_index + 1 > p->match_index)
            p->next_index = res->last_log_index + 1;
        raft__replication_send_append(r, id, SEND_NEW);
        return;
    }
    if (p->state == PROGRESS_REPLICATE) {
        if (res->rejected_index <= p->match_index && res->last_log_index >= p->match_index)
            return; /* a stale answer: we know more already */
    } else if (res->rejected_index != p->next_index - 1) {
        return; /* answers a probe we no longer wait for */
    }
    if (res->last_log_index < p->match_index) {
        /* Raft assumes acknowledged entries stay on disk. A follower whose disk lost
         * some anyway would otherwise be stuck, probed at matchIndex + 1 forever (after
         * raft_peer_unreachable, say): start again from what it has. */
        p->match_index = res->last_log_index;
    }
    raft_index next = next_after_conflict(r, res);
    if (next > res->rejected_index)
        next = res->rejected_index;
    if (next <= p->match_index)
        next = p->match_index + 1;
    if (next < 1)
        next = 1;
    raft__progress_become_probe(r, p);
    p->next_index = next;
    assert(p->match_index < p->next_index);
    raft__replication_send_append(r, id, SEND_NEW);
}

void raft__recv_append_entries_result(struct raft *r, const struct raft_message *m)
{
    const struct raft_append_entries_result *res = &m->u.append_entries_result;
    assert(m->term <= r->current_term); /* recv.c applied the term rules */
    if (r->role != RAFT_LEADER || m->term != r->current_term || !raft__progress_member(r, m->from))
        return;
    raft_id id = m->from;
    struct progress *p = &r->progress[id];
    /* A rejection of an older term's message (no conflict_index) says only that its
     * sender was behind; it is no answer to anything we sent in this term. */
    if (!res->success && res->conflict_index == 0)
        return;
    raft__progress_heard_from(r, id);
    if (res->read_round > p->read_round_acked)
        p->read_round_acked = res->read_round;

    if (!res->success) {
        on_reject(r, id, res);
        raft__read_index_check(r);
        return;
    }
    if (res->match_index > raft__log_last_index(&r->log))
        return; /* cannot be: we never sent that much */
    if (res->match_index > p->match_index) {
        p->match_index = res->match_index;
        raft__progress_inflight_free_to(r, p, res->match_index);
        if (p->next_index <= p->match_index)
            p->next_index = p->match_index + 1;
        raft__catch_up_progress(r, id);
        raft__replication_maybe_commit(r);
        if (r->role != RAFT_LEADER || !raft__progress_member(r, id))
            return; /* §4.2.2: the change that removed us (or it) committed */
    }
    /* A probe accepted where we asked, or the snapshot installed: the logs match,
     * so start streaming. */
    if (p->state == PROGRESS_PROBE && res->match_index + 1 >= p->next_index)
        raft__progress_become_replicate(p);
    else if (p->state == PROGRESS_SNAPSHOT && p->match_index >= p->pending_snapshot)
        raft__progress_become_replicate(p);
    raft__read_index_check(r);

    /* §3.10: once the target has everything, tell it to start its election now. */
    if (r->transfer_target == id && p->match_index == raft__log_last_index(&r->log))
        raft__transfer_send_timeout_now(r, id);
    raft__replication_send_append(r, id, SEND_NEW);
}
