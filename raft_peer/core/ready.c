/* ready.c: what the core asks of its caller (persist, send, apply) and what it
 * learns back (raft_persisted). etcd's Ready/Advance contract, with the order of
 * the header comment in raft.h. */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "raft_peer/core/state.h"

int raft__vec_reserve(void **items, size_t *cap, size_t want, size_t size)
{
    assert(items != NULL && cap != NULL && size > 0);
    assert(*cap == 0 || *items != NULL);
    if (want <= *cap)
        return 0;
    size_t grown = *cap ? *cap * 2 : 16;
    while (grown < want)
        grown *= 2;
    void *p = realloc(*items, grown * size);
    if (!p)
        return -1;
    *items = p;
    *cap = grown;
    return 0;
}

void raft__trace_emit(struct raft *r, enum raft_trace_type type, raft_id peer, uint64_t a,
                      uint64_t b, uint64_t c)
{
    if (!r->cfg.trace)
        return;
    struct raft_trace t = {
        .type = type, .peer = peer, .term = r->current_term, .a = a, .b = b, .c = c};
    r->cfg.trace(r->cfg.trace_ctx, &t);
}

static void message_free(struct raft_message *m)
{
    if (m->type != RAFT_MSG_APPEND_ENTRIES)
        return;
    for (uint32_t i = 0; i < m->u.append_entries.n_entries; i++)
        free(m->u.append_entries.entries[i].data);
    free(m->u.append_entries.entries);
}

static void outbox_clear(struct raft *r)
{
    for (size_t i = 0; i < r->outbox.n; i++)
        message_free(&r->outbox.items[i]);
    r->outbox.n = 0;
}

/* Called at the top of every mutating entry point: what was handed out in the
 * previous ready is no longer needed by the caller. It is also where the core's
 * invariants are checked, between any two calls (invariants.c). */
void raft__ready_reset_if_taken(struct raft *r)
{
    raft__assert_invariants(r);
    r->oom = false;
    if (!r->ready_taken)
        return;
    outbox_clear(r);
    r->reads_ready.n = 0;
    r->reads_failed.n = 0;
    r->snapshot_requests.n = 0;
    r->ready_taken = false;
}

/* raft_free, and raft_new giving up half-way: no invariant holds yet, nothing is kept. */
void raft__ready_free(struct raft *r)
{
    outbox_clear(r);
    free(r->outbox.items);
    free(r->reads_ready.items);
    free(r->reads_failed.items);
    free(r->reads_pending.items);
    free(r->writes.items);
    free(r->snapshot_requests.items);
}

/* Queues a message. AppendEntries entries are deep-copied so later log changes
 * in the same batch of calls can never alter a message already decided. */
int raft__outbox_push(struct raft *r, const struct raft_message *m)
{
    assert(m->to >= 1 && m->to <= RAFT_MAX_PEERS && m->to != r->cfg.id);
    /* A stopped core acknowledges nothing (raft_stop), and each role sends its own. */
    assert(!r->stopped);
    assert(m->type != RAFT_MSG_APPEND_ENTRIES || r->role == RAFT_LEADER);
    assert(m->type != RAFT_MSG_TIMEOUT_NOW || r->role == RAFT_LEADER);
    assert(m->type != RAFT_MSG_REQUEST_VOTE ||
           r->role == (m->u.request_vote.pre_vote ? RAFT_PRE_CANDIDATE : RAFT_CANDIDATE));
    assert(m->type != RAFT_MSG_APPEND_ENTRIES || m->u.append_entries.n_entries == 0 ||
           m->u.append_entries.entries != NULL);
    struct raft_message copy = *m;
    copy.from = r->cfg.id;
    if (m->type == RAFT_MSG_APPEND_ENTRIES && m->u.append_entries.n_entries > 0) {
        uint32_t n = m->u.append_entries.n_entries;
        struct raft_entry *entries = calloc(n, sizeof(*entries));
        if (!entries)
            goto oom;
        for (uint32_t i = 0; i < n; i++) {
            entries[i] = m->u.append_entries.entries[i];
            entries[i].data = NULL;
            if (entries[i].len > 0) {
                entries[i].data = malloc(entries[i].len);
                if (!entries[i].data) {
                    copy.u.append_entries.entries = entries;
                    copy.u.append_entries.n_entries = i;
                    message_free(&copy);
                    goto oom;
                }
                memcpy(entries[i].data, m->u.append_entries.entries[i].data, entries[i].len);
            }
        }
        copy.u.append_entries.entries = entries;
    }
    /* The leader's AppendEntries may leave before its own log write (§10.2.1 of
     * the dissertation), provided its term is durable; everything else that
     * states our term, vote or log waits for the disk. */
    if (copy.type == RAFT_MSG_APPEND_ENTRIES)
        copy.after_persist = r->durable_term != r->current_term;
    else if (copy.type == RAFT_MSG_REQUEST_VOTE && copy.u.request_vote.pre_vote)
        copy.after_persist = false;
    else if (copy.type == RAFT_MSG_REQUEST_VOTE_RESULT && copy.u.request_vote_result.pre_vote)
        copy.after_persist = false;
    else
        copy.after_persist = true;
    if (VEC_PUSH(r, r->outbox, copy) != 0) {
        message_free(&copy);
        return RAFT_ENOMEM;
    }
    return RAFT_OK;
oom:
    r->oom = true;
    return RAFT_ENOMEM;
}

/* Every truncation makes a pending write cover less of the memory log than it
 * did when it was handed out. */
void raft__note_truncated(struct raft *r, raft_index from)
{
    /* Only what follows the snapshot is in the log to be truncated. */
    assert(from > r->log.offset);
    raft_index keep = from - 1;
    for (size_t i = 0; i < r->writes.n; i++)
        if (r->writes.items[i].last_index > keep)
            r->writes.items[i].last_index = keep;
    if (r->persisted_index > keep)
        r->persisted_index = keep;
    if (r->unstable_from > from)
        r->unstable_from = from;
    r->truncated_unreported = true;
}

bool raft_has_ready(const struct raft *r)
{
    if (r->ready_taken)
        return false;
    return r->hard_state_dirty || r->unstable_from <= raft__log_last_index(&r->log) ||
           r->truncated_unreported || r->snapshot_installed || r->snapshot_requests.n > 0 ||
           r->outbox.n > 0 || r->commit_index > r->last_applied || r->reads_ready.n > 0 ||
           r->reads_failed.n > 0 || r->replicate_pending || r->read_broadcast_pending;
}

void raft_take_ready(struct raft *r, struct raft_ready *rd)
{
    raft__ready_reset_if_taken(r);
    raft__replication_flush(r);
    memset(rd, 0, sizeof(*rd));
    rd->seq = ++r->ready_seq;

    rd->snapshot_installed = r->snapshot_installed;
    rd->snapshot_index = r->log.offset;
    rd->snapshot_term = r->log.offset_term;
    r->snapshot_installed = false;

    rd->hard_state_changed = r->hard_state_dirty;
    rd->term = r->current_term;
    rd->voted_for = r->voted_for;
    r->hard_state_dirty = false;

    raft_index last = raft__log_last_index(&r->log);
    if (r->unstable_from <= last || r->truncated_unreported) {
        rd->log_changed = true;
        rd->persist_from = r->unstable_from;
        rd->entries =
            r->unstable_from <= last ? raft__log_entry_at(&r->log, r->unstable_from) : NULL;
        rd->n_entries = r->unstable_from <= last ? last - r->unstable_from + 1 : 0;
    }
    r->unstable_from = last + 1;
    r->truncated_unreported = false;

    struct pending_write w = {.seq = rd->seq, .last_index = last, .term = r->current_term};
    VEC_PUSH(r, r->writes, w);

    rd->messages = r->outbox.items;
    rd->n_messages = r->outbox.n;

    if (r->commit_index > r->last_applied) {
        rd->apply_from = r->last_applied + 1;
        rd->committed = raft__log_entry_at(&r->log, rd->apply_from);
        rd->n_committed = r->commit_index - r->last_applied;
        r->last_applied = r->commit_index;
    }

    rd->snapshot_requests = r->snapshot_requests.items;
    rd->n_snapshot_requests = r->snapshot_requests.n;

    rd->reads = r->reads_ready.items;
    rd->n_reads = r->reads_ready.n;
    rd->failed_reads = r->reads_failed.items;
    rd->n_failed_reads = r->reads_failed.n;
    r->ready_taken = true;
}

int raft_persisted(struct raft *r, uint64_t seq)
{
    raft__ready_reset_if_taken(r);
    /* Only a ready handed out can have been written. */
    assert(seq <= r->ready_seq);
    size_t done = 0;
    while (done < r->writes.n && r->writes.items[done].seq <= seq) {
        const struct pending_write *w = &r->writes.items[done];
        if (w->last_index > r->persisted_index)
            r->persisted_index = w->last_index;
        if (w->term > r->durable_term)
            r->durable_term = w->term;
        done++;
    }
    if (done == 0)
        return RAFT_OK;
    memmove(r->writes.items, r->writes.items + done,
            (r->writes.n - done) * sizeof(*r->writes.items));
    r->writes.n -= done;
    if (r->role == RAFT_LEADER)
        raft__replication_maybe_commit(r);
    else if (r->role == RAFT_CANDIDATE && raft__election_tally(r, NULL) >= raft__majority(r))
        raft__convert_to_leader(r); /* our own vote is durable now, and it was the one missing */
    return r->oom ? RAFT_ENOMEM : RAFT_OK;
}
