/* recv_append_entries.c: Figure 2, AppendEntries RPC, receiver implementation. */
#include <assert.h>

#include "raft_peer/core/state.h"

static void reply(struct raft *r, const struct raft_message *m,
                  const struct raft_append_entries_result *res, bool stale_term)
{
    struct raft_message out = {
        .type = RAFT_MSG_APPEND_ENTRIES_RESULT,
        .to = m->from,
        .term = r->current_term,
        .u.append_entries_result = *res,
    };
    out.u.append_entries_result.last_log_index = raft__log_last_index(&r->log);
    /* An answer to an older term only carries our term. Echoing the read round or the
     * rejected index could fool the sender if it later leads the term we are in now:
     * it would count a stale answer as proof that it still leads (a stale read). */
    if (!stale_term)
        out.u.append_entries_result.read_round = m->u.append_entries.read_round;
    else
        out.u.append_entries_result.rejected_index = 0;
    raft__outbox_push(r, &out);
    if (res->success && MUTATED(r, RAFT_MUTATE_ACK_BEFORE_PERSIST))
        r->outbox.items[r->outbox.n - 1].after_persist = false;
}

/* Step 2: "Reply false if log doesn't contain an entry at prevLogIndex whose
 * term matches prevLogTerm", with §5.3's hint: the conflicting term and the
 * first index we hold for it, so the leader can skip that whole term. */
static bool consistency_check(struct raft *r, const struct raft_append_entries *ae,
                              struct raft_append_entries_result *res)
{
    raft_index last = raft__log_last_index(&r->log);
    if (ae->prev_log_index > last) {
        res->conflict_term = 0;
        res->conflict_index = last + 1;
        return false;
    }
    if (ae->prev_log_index < r->log.offset)
        return true; /* compacted entries are committed, so they match */
    raft_term term = raft__log_term_at(&r->log, ae->prev_log_index);
    if (term == ae->prev_log_term)
        return true;
    res->conflict_term = term;
    res->conflict_index = raft__log_first_index_of_term(&r->log, ae->prev_log_index);
    return false;
}

/* Steps 3 and 4: "If an existing entry conflicts with a new one (same index but
 * different terms), delete the existing entry and all that follow it. Append
 * any new entries not already in the log." */
static int append_new_entries(struct raft *r, const struct raft_append_entries *ae)
{
    bool conf_touched = false; /* §4.1: the configuration in use may have changed */
    int rc = RAFT_OK;
    for (uint32_t i = 0; i < ae->n_entries && rc == RAFT_OK; i++) {
        raft_index index = ae->prev_log_index + 1 + i;
        const struct raft_entry *e = &ae->entries[i];
        if (index <= r->log.offset)
            continue;
        if (index <= raft__log_last_index(&r->log)) {
            struct raft_entry *ours = raft__log_entry_at(&r->log, index);
            if (ours->term == e->term)
                continue;
            if (index <= r->commit_index) {
                rc = RAFT_EINVAL; /* a committed entry never changes: refuse the message */
                break;
            }
            if (MUTATED(r, RAFT_MUTATE_NO_TRUNCATE)) {
                /* The bug: overwrite in place, keep the stale suffix. */
                ours->term = e->term;
                if (r->unstable_from > index)
                    r->unstable_from = index;
                continue;
            }
            raft__trace_emit(r, RAFT_TRACE_TRUNCATE, RAFT_NOBODY, index,
                             raft__log_last_index(&r->log), 0);
            raft__log_truncate(&r->log, index);
            raft__note_truncated(r, index);
            conf_touched = true;
        }
        assert(index == raft__log_last_index(&r->log) + 1); /* no hole in the log */
        if (raft__log_append(&r->log, e) != RAFT_OK) {
            rc = RAFT_ENOMEM;
            break;
        }
        if (e->type == RAFT_ENTRY_CONFIG)
            conf_touched = true;
        if (r->unstable_from > index)
            r->unstable_from = index;
    }
    if (conf_touched)
        raft__conf_rebuild(r);
    return rc;
}

void raft__recv_append_entries(struct raft *r, const struct raft_message *m)
{
    const struct raft_append_entries *ae = &m->u.append_entries;
    struct raft_append_entries_result res = {.rejected_index = ae->prev_log_index};
    assert(m->term <= r->current_term); /* recv.c applied the term rules */

    /* Step 1: "Reply false if term < currentTerm"; our term tells the sender to step down. */
    if (m->term < r->current_term) {
        reply(r, m, &res, true);
        return;
    }
    /* recv.c made us a follower of m->term already if it was newer; a candidate
     * of the same term learns it lost. */
    if (r->role != RAFT_FOLLOWER)
        raft__convert_to_follower(r, m->term, m->from);
    raft__set_leader(r, m->from);
    r->heard_leader = true;
    r->last_heard_leader = r->now;
    raft__election_reset_timer(r);

    assert(r->role == RAFT_FOLLOWER && r->leader_id == m->from);
    if (!consistency_check(r, ae, &res)) {
        reply(r, m, &res, false);
        return;
    }
    assert(ae->prev_log_index <= raft__log_last_index(&r->log));
    int rc = append_new_entries(r, ae);
    if (rc != RAFT_OK) {
        if (rc == RAFT_ENOMEM)
            r->oom = true;
        return;
    }
    /* Step 5: "If leaderCommit > commitIndex, set commitIndex = min(leaderCommit,
     * index of last new entry)": only what this message proved to match. */
    raft_index matched = ae->prev_log_index + ae->n_entries;
    raft_index commit = ae->leader_commit < matched ? ae->leader_commit : matched;
    if (commit > r->commit_index)
        raft__replication_set_commit(r, commit);
    res.success = true;
    res.match_index = matched;
    reply(r, m, &res, false);
}
