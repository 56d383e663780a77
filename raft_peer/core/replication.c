/* replication.c: the leader's side of log replication (§5.3) and commitment (§5.4.2),
 * with batching and pipelining. */
#include <assert.h>
#include <stdlib.h>

#include "raft_peer/core/state.h"

/* How many entries from next fit one message under both bounds (at least one), and
 * what they count for in the inflight window (max_inflight_bytes). */
static uint32_t batch_size(const struct raft *r, raft_index next, uint64_t *weight)
{
    raft_index last = raft__log_last_index(&r->log);
    uint32_t n = 0;
    uint64_t bytes = 0;
    while (next + n <= last && n < r->cfg.max_entries_per_message) {
        const struct raft_entry *e = raft__log_entry_at(&r->log, next + n);
        if (n > 0 && bytes + e->len > r->cfg.max_bytes_per_message)
            break;
        bytes += e->len;
        n++;
    }
    *weight = bytes + (uint64_t)n * RAFT_ENTRY_OVERHEAD;
    return n;
}

static void send_entries(struct raft *r, raft_id id, raft_index prev, uint32_t n)
{
    /* prev_log_term must be known: at the offset or in the log. Entries must be ours. */
    assert(prev >= r->log.offset);
    assert(n == 0 || prev + n <= raft__log_last_index(&r->log));
    struct raft_message m = {
        .type = RAFT_MSG_APPEND_ENTRIES,
        .to = id,
        .term = r->current_term,
        .u.append_entries = {.prev_log_index = prev,
                             .prev_log_term = raft__log_term_at(&r->log, prev),
                             .leader_commit = r->commit_index,
                             .read_round = r->read_round,
                             .n_entries = n,
                             .entries = n > 0 ? raft__log_entry_at(&r->log, prev + 1) : NULL},
    };
    raft__outbox_push(r, &m);
}

/* Figure 2, Leaders: "If last log index >= nextIndex for a follower: send
 * AppendEntries RPC with log entries starting at nextIndex"; an empty one is a
 * heartbeat. In replicate state batches go out back to back, up to max_inflight
 * unanswered and max_inflight_bytes; in probe state one at a time. */
void raft__replication_send_append(struct raft *r, raft_id id, enum send_reason why)
{
    bool heartbeat = why != SEND_NEW; /* something must go, new or not */
    assert(r->role == RAFT_LEADER && raft__progress_member(r, id));
    struct progress *p = &r->progress[id];
    assert(p->match_index < p->next_index);
    raft_index last = raft__log_last_index(&r->log);

    if (p->state != PROGRESS_SNAPSHOT && p->next_index <= r->log.offset && !p->active) {
        /* Compacted away, but it has not answered for an election timeout: no snapshot
         * (the caller would hold a copy for it) until it does. A heartbeat from where
         * our log starts finds out whether it is back. */
        if (heartbeat)
            send_entries(r, id, r->log.offset, 0);
        return;
    }
    if (p->state != PROGRESS_SNAPSHOT && p->next_index <= r->log.offset) {
        /* §7: the entries it needs are compacted away; only our snapshot will do. */
        struct raft_snapshot_request req = {.to = id,
                                            .index = r->log.offset,
                                            .term = r->log.offset_term,
                                            .configuration = r->snap_conf};
        p->state = PROGRESS_SNAPSHOT;
        p->pending_snapshot = r->log.offset;
        raft__progress_inflight_clear(p);
        VEC_PUSH(r, r->snapshot_requests, req);
        return;
    }
    if (p->state == PROGRESS_SNAPSHOT) {
        /* Keep it following us while the caller streams the snapshot; the answer to
         * this heartbeat also ends the state once the snapshot is installed. */
        if (heartbeat)
            send_entries(r, id, r->log.offset, 0);
        return;
    }
    if (p->state == PROGRESS_PROBE) {
        if (p->probe_sent && !heartbeat)
            return;
        /* One batch per probe: with one out and unanswered, a heartbeat or a read round
         * sends an empty probe from the same place, whose answer restarts the stream
         * if the batch was lost. A batch each time would pile up, unread, in front of a
         * follower that has stopped reading, and reads come far oftener than
         * heartbeats. A follower silent for an election timeout gets only empty ones. */
        uint64_t weight;
        bool batch = p->active && !p->probe_sent;
        send_entries(r, id, p->next_index - 1, batch ? batch_size(r, p->next_index, &weight) : 0);
        p->probe_sent = true;
        return;
    }

    bool sent = false;
    while (p->next_index <= last && !raft__progress_inflight_full(r, p)) {
        uint64_t weight;
        uint32_t n = batch_size(r, p->next_index, &weight);
        send_entries(r, id, p->next_index - 1, n);
        p->next_index += n;
        raft__progress_inflight_add(r, p, p->next_index - 1, weight);
        sent = true;
    }
    if (heartbeat && !sent) {
        /* What we know matches: carries the commit index and the read round,
         * and cannot be refused for entries still in flight. */
        /* Below the compacted prefix the term is unknown: the offset's is not. */
        send_entries(r, id, p->match_index > r->log.offset ? p->match_index : r->log.offset, 0);
    }
}

/* §4.2.2: a server removed by a committed change hears no more from its leader, so it
 * might never learn that the change committed. One last heartbeat, from what is known to
 * match, carries the commit index: a server whose log holds the change learns of its own
 * removal (the daemon then stops it). Harmless otherwise: an ordinary heartbeat. */
void raft__replication_send_farewell(struct raft *r, raft_id id)
{
    assert(r->role == RAFT_LEADER && raft__progress_member(r, id));
    const struct progress *p = &r->progress[id];
    send_entries(r, id, p->match_index > r->log.offset ? p->match_index : r->log.offset, 0);
}

void raft__replication_broadcast(struct raft *r, enum send_reason why)
{
    assert(r->role == RAFT_LEADER);
    FOR_EACH_PEER(id, r->progress_members)
    {
        struct progress *p = &r->progress[id];
        /* A replicating follower with a batch out and no answer for a whole heartbeat
         * interval lost a batch or its answer: probe from what matched. The interval
         * runs from the window's oldest batch or the last answer (progress.c), not from
         * the last heartbeat, so a batch sent a moment before one is not sent twice;
         * and only the heartbeat looks, not a read round a moment after another. */
        if (why == SEND_HEARTBEAT && p->state == PROGRESS_REPLICATE && p->inflight_count > 0 &&
            r->now - p->inflight_since >= r->cfg.heartbeat_interval)
            raft__progress_become_probe(r, p), p->next_index = p->match_index + 1;
        raft__replication_send_append(r, id, why);
    }
}

/* Called before a ready is assembled: new entries and reads are sent in as few
 * messages as possible, however many proposals came in since the last ready. */
void raft__replication_flush(struct raft *r)
{
    if (r->role != RAFT_LEADER) {
        r->replicate_pending = false;
        r->read_broadcast_pending = false;
        return;
    }
    if (r->read_broadcast_pending) {
        r->read_broadcast_pending = false;
        r->replicate_pending = false;
        raft__replication_broadcast(r, SEND_READ);
    } else if (r->replicate_pending) {
        r->replicate_pending = false;
        raft__replication_broadcast(r, SEND_NEW);
    }
    raft__read_index_check(r); /* a cluster of one confirms reads alone */
}

void raft__replication_set_commit(struct raft *r, raft_index commit)
{
    /* Figure 2: commitIndex only grows, and only over entries the log holds. */
    assert(commit > r->commit_index);
    assert(commit <= raft__log_last_index(&r->log));
    raft_index old = r->commit_index;
    r->commit_index = commit;
    raft__trace_emit(r, RAFT_TRACE_COMMIT, RAFT_NOBODY, commit, old, 0);
    if (MUTATED(r, RAFT_MUTATE_CONFIG_ON_COMMIT))
        raft__conf_rebuild(r);
}

static int compare_index_desc(const void *a, const void *b)
{
    raft_index x = *(const raft_index *)a, y = *(const raft_index *)b;
    return x < y ? 1 : (x > y ? -1 : 0);
}

/* Figure 2, Leaders: "If there exists an N such that N > commitIndex, a majority
 * of matchIndex[i] >= N, and log[N].term == currentTerm: set commitIndex = N"
 * (§5.4.2, Figure 8). The leader counts itself only for what it has made
 * durable, since it writes its log in parallel with its followers, and only if it is a
 * voter of the configuration in use: a leader that removed itself manages a cluster it
 * is not part of until the change commits (§4.2.2). */
void raft__replication_maybe_commit(struct raft *r)
{
    if (r->role != RAFT_LEADER)
        return;
    raft_index matches[RAFT_MAX_PEERS];
    int n = 0;
    FOR_EACH_PEER(id, r->conf.voters)
    {
        if (id == r->cfg.id)
            matches[n++] = r->persisted_index;
        else
            matches[n++] = raft__progress_member(r, id) ? r->progress[id].match_index : 0;
    }
    if (n == 0)
        return;
    assert(raft__majority(r) <= n);
    qsort(matches, (size_t)n, sizeof(matches[0]), compare_index_desc);
    raft_index candidate = matches[raft__majority(r) - 1];
    if (candidate <= r->commit_index)
        return;
    if (raft__log_term_at(&r->log, candidate) != r->current_term) {
        if (!MUTATED(r, RAFT_MUTATE_COMMIT_OLD_TERM))
            return;
    }
    raft__replication_set_commit(r, candidate);
    raft__read_index_check(r);
    raft__membership_committed(r);
}
