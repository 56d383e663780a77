/* invariants.c: what holds between any two calls into the core, asserted at the top of every
 * call that changes it (raft__ready_reset_if_taken calls this). A broken one is a bug in the
 * core, or a caller that broke raft.h's contract: what a peer could send to break one is
 * refused as malformed (recv.c, raft_install_snapshot). */
#include <assert.h>

#include "raft_peer/core/state.h"

/* Figure 2's log and indexes, as the core keeps them: an offset below the first entry
 * (§7), then lastApplied <= commitIndex <= the last index. */
static void log_invariants(const struct raft *r)
{
    const struct raft_log *log = &r->log;
    raft_index last = raft__log_last_index(log);
    assert(log->n <= log->cap);
    assert(log->n == 0 || log->entries != NULL);
    /* Only applied entries are compacted or replaced by a snapshot. */
    assert(log->offset <= r->last_applied);
    assert(r->last_applied <= r->commit_index);
    assert(r->commit_index <= last);
    /* What the caller made durable is in the log; what it has not been handed is past it. */
    assert(r->persisted_index <= last);
    assert(r->unstable_from > log->offset && r->unstable_from <= last + 1);
}

/* Figure 2's roles: each holds what it has to. */
static void role_invariants(const struct raft *r)
{
    assert(r->voted_for >= RAFT_NOBODY && r->voted_for <= RAFT_MAX_PEERS);
    assert(r->leader_id >= RAFT_NOBODY && r->leader_id <= RAFT_MAX_PEERS);
    /* A term is on disk only after it was ours. */
    assert(r->durable_term <= r->current_term);
    switch (r->role) {
    case RAFT_LEADER:
        assert(!r->stopped);
        assert(r->leader_id == r->cfg.id);
        /* Candidates vote for themselves, and a vote is never given twice in a term. */
        assert(r->voted_for == r->cfg.id);
        /* §8: its no-op is in its log (unless compacted since), and the log ends in its
         * term: a leader appends, never truncates, and holds nothing of a later term. */
        assert(r->leader_first_index >= 1 &&
               r->leader_first_index <= raft__log_last_index(&r->log));
        assert(r->leader_first_index <= r->log.offset ||
               raft__log_term_at(&r->log, r->leader_first_index) == r->current_term);
        assert(raft__log_last_term(&r->log) == r->current_term);
        assert((r->progress_members & ((uint32_t)1 << r->cfg.id)) == 0);
        FOR_EACH_PEER(id, r->progress_members)
        {
            const struct progress *p = &r->progress[id];
            /* Figure 2: matchIndex never passes what the leader holds, nextIndex is past it. */
            assert(p->match_index < p->next_index);
            assert(p->match_index <= raft__log_last_index(&r->log));
            assert(p->inflight_count <= r->cfg.max_inflight);
            assert(p->state == PROGRESS_REPLICATE || p->inflight_count == 0);
            /* Only the window's last batch may have taken its bytes past the bound
             * (checked in O(1): this runs at every call into the core). */
            if (p->inflight_count == 0) {
                assert(p->inflight_bytes == 0);
            } else {
                const struct inflight_batch *newest =
                    &p->inflight[(p->inflight_head + p->inflight_count - 1) % r->cfg.max_inflight];
                assert(newest->bytes <= p->inflight_bytes);
                assert(r->cfg.max_inflight_bytes == 0 ||
                       p->inflight_bytes - newest->bytes < r->cfg.max_inflight_bytes);
            }
        }
        break;
    case RAFT_CANDIDATE:
        assert(r->voted_for == r->cfg.id);
        /* fall through */
    case RAFT_PRE_CANDIDATE:
    case RAFT_FOLLOWER:
        assert(r->leader_id != r->cfg.id);
        assert(r->transfer_target == RAFT_NOBODY);
        assert(r->reads_pending.n == 0);
        break;
    default:
        assert(!"unknown role");
    }
}

/* §4.1: the configuration in use is the latest in the log, found by raft__conf_rebuild. */
static void configuration_invariants(const struct raft *r)
{
    assert(raft__configuration_valid(&r->conf));
    assert(raft__configuration_valid(&r->snap_conf));
    assert(r->conf_index == 0 ||
           (r->conf_index > r->log.offset && r->conf_index <= raft__log_last_index(&r->log)));
    assert(r->conf_last_index >= r->conf_index);
}

void raft__assert_invariants(const struct raft *r)
{
    assert(r != NULL);
    assert(r->cfg.id >= 1 && r->cfg.id <= RAFT_MAX_PEERS);
    log_invariants(r);
    role_invariants(r);
    configuration_invariants(r);
}
