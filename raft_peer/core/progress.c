/* progress.c: the leader's view of each follower (Figure 2: nextIndex[], matchIndex[]),
 * with etcd-style probe/replicate states and a bounded window of pipelined batches. */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "raft_peer/core/state.h"

static int progress_init(struct raft *r, raft_id id)
{
    /* A leader keeps no progress for itself: it counts its own log apart. */
    assert(id >= 1 && id <= RAFT_MAX_PEERS && id != r->cfg.id);
    struct progress *p = &r->progress[id];
    struct inflight_batch *ring = p->inflight;
    if (!ring) {
        ring = calloc(r->cfg.max_inflight, sizeof(*ring));
        if (!ring)
            return RAFT_ENOMEM;
    }
    memset(p, 0, sizeof(*p));
    p->inflight = ring;
    p->next_index = raft__log_last_index(&r->log) + 1;
    p->match_index = 0;
    p->state = PROGRESS_PROBE;
    p->recent_active = true;
    p->active = true;
    p->last_response = r->now;
    /* §4.2.1: the first catch-up round replicates what the leader holds now. */
    p->round = 1;
    p->round_until = raft__log_last_index(&r->log);
    p->round_start = r->now;
    return RAFT_OK;
}

/* Figure 2, "Volatile state on leaders (reinitialized after election)": for every
 * server the leader replicates to (configuration.c: the members). */
int raft__progress_init_all(struct raft *r)
{
    assert(r->role == RAFT_CANDIDATE); /* reinitialized after election */
    r->progress_members = 0;
    FOR_EACH_PEER(id, raft__conf_replication_set(r))
    {
        if (progress_init(r, id) != RAFT_OK)
            return RAFT_ENOMEM;
        r->progress_members |= (uint32_t)1 << id;
    }
    return RAFT_OK;
}

/* The configuration changed under a leader: servers it now replicates to start from
 * scratch (probing from the end of its log), servers it no longer does are forgotten. */
void raft__progress_sync(struct raft *r)
{
    assert(r->role == RAFT_LEADER);
    uint32_t want = raft__conf_replication_set(r);
    FOR_EACH_PEER(id, r->progress_members & ~want)
    {
        raft__replication_send_farewell(r, id);
    }
    FOR_EACH_PEER(id, want & ~r->progress_members)
    {
        if (progress_init(r, id) != RAFT_OK) {
            r->oom = true;
            want &= ~((uint32_t)1 << id);
        }
    }
    r->progress_members = want;
}

bool raft__progress_member(const struct raft *r, raft_id id)
{
    return id >= 1 && id <= RAFT_MAX_PEERS && (r->progress_members & ((uint32_t)1 << id)) != 0;
}

void raft__progress_free_all(struct raft *r)
{
    for (raft_id id = 0; id <= RAFT_MAX_PEERS; id++) {
        free(r->progress[id].inflight);
        r->progress[id].inflight = NULL;
    }
}

/* Back to one-at-a-time: the follower's log may not match from next_index on. */
void raft__progress_become_probe(struct raft *r, struct progress *p)
{
    (void)r;
    p->state = PROGRESS_PROBE;
    p->probe_sent = false;
    p->pending_snapshot = 0;
    raft__progress_inflight_clear(p);
    if (p->next_index <= p->match_index)
        p->next_index = p->match_index + 1;
}

void raft__progress_become_replicate(struct progress *p)
{
    /* From a probe that matched, or an installed snapshot. */
    assert(p->state != PROGRESS_REPLICATE);
    p->state = PROGRESS_REPLICATE;
    p->probe_sent = false;
    p->next_index = p->match_index + 1;
    raft__progress_inflight_clear(p);
}

/* Full by count or by bytes. A batch may take the bytes past the bound: the window is
 * full from then on, so one batch always goes out however big its entries. */
bool raft__progress_inflight_full(const struct raft *r, const struct progress *p)
{
    return p->inflight_count >= r->cfg.max_inflight ||
           (r->cfg.max_inflight_bytes > 0 && p->inflight_bytes >= r->cfg.max_inflight_bytes);
}

void raft__progress_inflight_add(const struct raft *r, struct progress *p, raft_index last,
                                 uint64_t bytes)
{
    assert(p->state == PROGRESS_REPLICATE && !raft__progress_inflight_full(r, p));
    /* Batches go out in log order, so the ring's last indexes grow and one
     * acknowledgement frees a prefix of it (raft__progress_inflight_free_to). */
    assert(p->inflight_count == 0 ||
           last >
               p->inflight[(p->inflight_head + p->inflight_count - 1) % r->cfg.max_inflight].last);
    uint32_t slot = (p->inflight_head + p->inflight_count) % r->cfg.max_inflight;
    if (p->inflight_count == 0)
        p->inflight_since = r->now;
    p->inflight[slot] = (struct inflight_batch){.last = last, .bytes = bytes};
    p->inflight_count++;
    p->inflight_bytes += bytes;
}

/* An acknowledgement up to index answers every batch that ended at or before it; the
 * acknowledgements are flowing again, so the stall clock restarts (replication.c). */
void raft__progress_inflight_free_to(const struct raft *r, struct progress *p, raft_index index)
{
    while (p->inflight_count > 0 && p->inflight[p->inflight_head].last <= index) {
        p->inflight_bytes -= p->inflight[p->inflight_head].bytes;
        p->inflight_head = (p->inflight_head + 1) % r->cfg.max_inflight;
        p->inflight_count--;
        p->inflight_since = r->now;
    }
}

/* Nothing is in flight any more: a probe, a fresh start or a snapshot begins. */
void raft__progress_inflight_clear(struct progress *p)
{
    p->inflight_head = 0;
    p->inflight_count = 0;
    p->inflight_bytes = 0;
}

/* Any answer of the current term shows the follower still follows us: §6.2
 * CheckQuorum counts it, and the trace says when a silent follower returns. */
void raft__progress_heard_from(struct raft *r, raft_id id)
{
    assert(r->role == RAFT_LEADER && raft__progress_member(r, id));
    struct progress *p = &r->progress[id];
    p->recent_active = true;
    p->last_response = r->now;
    if (!p->active) {
        p->active = true;
        raft__trace_emit(r, RAFT_TRACE_PEER_ACTIVE, id, 0, 0, 0);
    }
}

/* In the spirit of etcd's ReportUnreachable: what the caller dropped may have held
 * batches we count as in flight, so nothing past matchIndex is assumed to have
 * arrived; one probe at a time finds where to resume. A snapshot transfer is the
 * caller's own, chunk by acknowledged chunk, and survives lost bytes. */
void raft_peer_unreachable(struct raft *r, raft_id id)
{
    raft__ready_reset_if_taken(r);
    if (r->stopped || r->role != RAFT_LEADER || !raft__progress_member(r, id))
        return;
    struct progress *p = &r->progress[id];
    if (p->state == PROGRESS_SNAPSHOT)
        return;
    raft__progress_become_probe(r, p);
    p->next_index = p->match_index + 1;
}
