/* snapshot.c: log compaction and InstallSnapshot (§7, Figure 13). The core never holds
 * snapshot bytes: the caller takes, stores, sends and loads them, and tells the core
 * where the log now starts. The transfer itself travels in chunks the caller frames;
 * the core applies the term rules to each chunk, like an AppendEntries. */
#include <assert.h>

#include "raft_peer/core/state.h"

/* §7: "each server takes snapshots independently, covering just the committed
 * entries in its log". The caller's snapshot covers the applied prefix. */
int raft_compact(struct raft *r, raft_index index)
{
    raft__ready_reset_if_taken(r);
    /* Only what is applied and durable in the log: a write still queued for an entry
     * at or below index would otherwise land behind the cut. */
    if (index > r->last_applied || index > r->persisted_index ||
        index > raft__log_last_index(&r->log))
        return RAFT_EINVAL;
    if (index <= r->log.offset)
        return RAFT_OK;
    /* The snapshot carries the configuration at its last index (§4.1 with §7). */
    struct raft_configuration conf;
    int rc = raft_configuration_at(r, index, &conf);
    assert(rc == RAFT_OK);
    (void)rc;
    raft__log_compact(&r->log, index, raft__log_term_at(&r->log, index));
    r->snap_conf = conf;
    raft__conf_rebuild(r);
    return RAFT_OK;
}

void raft_snapshot_sent(struct raft *r, raft_id id, raft_index index, bool ok)
{
    raft__ready_reset_if_taken(r);
    if (r->role != RAFT_LEADER || !raft__progress_member(r, id))
        return;
    struct progress *p = &r->progress[id];
    if (p->state != PROGRESS_SNAPSHOT)
        return;
    if (ok && p->pending_snapshot > index) {
        /* We compacted further while it was sent: what it got is no longer enough, and
         * the caller ignored our request for the newer one while busy with this one. */
        struct raft_snapshot_request req = {.to = id,
                                            .index = r->log.offset,
                                            .term = r->log.offset_term,
                                            .configuration = r->snap_conf};
        p->pending_snapshot = r->log.offset;
        VEC_PUSH(r, r->snapshot_requests, req);
        return;
    }
    if (ok)
        return; /* the follower's acknowledgement moves it on */
    /* Try again from what it has: the next heartbeat asks for the snapshot anew. */
    raft__progress_become_probe(r, p);
    p->probe_sent = true;
}

/* Figure 13, receiver steps 1 and the term rules every RPC shares (Figure 2). */
int raft_snapshot_chunk(struct raft *r, raft_id leader, raft_term term, raft_time now)
{
    raft__ready_reset_if_taken(r);
    if (now > r->now)
        r->now = now;
    if (r->stopped)
        return RAFT_ESTOPPED;
    if (leader < 1 || leader > RAFT_MAX_PEERS || leader == r->cfg.id)
        return RAFT_EINVAL;
    if (term < r->current_term)
        return RAFT_EINVAL; /* "Reply immediately if term < currentTerm" */
    if (term > r->current_term || r->role != RAFT_FOLLOWER)
        raft__convert_to_follower(r, term, leader);
    raft__set_leader(r, leader);
    r->heard_leader = true;
    r->last_heard_leader = r->now;
    raft__election_reset_timer(r);
    return RAFT_OK;
}

int raft_snapshot_check(const struct raft *r, raft_id leader, raft_term term, raft_term last_term,
                        const struct raft_configuration *configuration, const char **why)
{
    const char *because = NULL;
    int rc = RAFT_EINVAL;
    /* raft_install_snapshot's refusals, in its order (raft_snapshot_chunk's last). */
    if (!configuration || !raft__configuration_valid(configuration))
        because = "the configuration it carries is not valid";
    else if (last_term > term)
        because = "its last included term is after the leader's term";
    else if (r->stopped) {
        because = "this peer is stopped";
        rc = RAFT_ESTOPPED;
    } else if (leader < 1 || leader > RAFT_MAX_PEERS || leader == r->cfg.id)
        because = "it names no other peer as its leader";
    else if (term < r->current_term && !MUTATED(r, RAFT_MUTATE_SNAPSHOT_STALE_TERM))
        because = "the leader's term is over";
    else
        rc = RAFT_OK;
    if (why)
        *why = because;
    return rc;
}

/* Figure 13, receiver steps 6 to 8: "If existing log entry has same index and term
 * as snapshot's last included entry, retain log entries following it and reply.
 * Discard the entire log. Reset state machine using snapshot contents." */
int raft_install_snapshot(struct raft *r, raft_id leader, raft_term term, raft_index index,
                          raft_term last_term, const struct raft_configuration *configuration,
                          raft_time now)
{
    /* One list of refusals, raft_snapshot_check's, so the two cannot drift apart. */
    int rc = raft_snapshot_check(r, leader, term, last_term, configuration, NULL);
    if (rc != RAFT_OK)
        return rc;
    rc = raft_snapshot_chunk(r, leader, term, now);
    if (rc != RAFT_OK)
        return rc;
    if (index > r->commit_index) {
        if (index <= raft__log_last_index(&r->log) &&
            raft__log_term_at(&r->log, index) == last_term) {
            raft__log_compact(&r->log, index, last_term);
            /* Entries not yet handed out that the snapshot now covers are gone. */
            if (r->unstable_from <= index)
                r->unstable_from = index + 1;
        } else {
            raft__note_truncated(r, r->log.offset + 1);
            raft__log_truncate(&r->log, r->log.offset + 1);
            raft__log_compact(&r->log, index, last_term);
            r->unstable_from = index + 1;
        }
        assert(r->log.offset == index && r->log.offset_term == last_term);
        if (r->persisted_index < index)
            r->persisted_index = index; /* the snapshot itself is durable */
        for (size_t i = 0; i < r->writes.n; i++)
            if (r->writes.items[i].last_index < index)
                r->writes.items[i].last_index = index;
        raft_index old = r->commit_index;
        r->commit_index = index;
        r->last_applied = index; /* the caller loaded the state machine from it */
        r->snapshot_installed = true;
        r->snap_conf = *configuration;
        raft__trace_emit(r, RAFT_TRACE_COMMIT, RAFT_NOBODY, index, old, 0);
        raft__conf_rebuild(r);
    }
    struct raft_message out = {
        .type = RAFT_MSG_APPEND_ENTRIES_RESULT,
        .to = leader,
        .term = r->current_term,
        .u.append_entries_result = {.success = true,
                                    .match_index = index,
                                    .last_log_index = raft__log_last_index(&r->log)},
    };
    raft__outbox_push(r, &out);
    return r->oom ? RAFT_ENOMEM : RAFT_OK;
}

void raft_observe_term(struct raft *r, raft_id from, raft_term term)
{
    raft__ready_reset_if_taken(r);
    if (r->stopped || term <= r->current_term)
        return;
    if (r->role == RAFT_LEADER)
        raft__trace_emit(r, RAFT_TRACE_STEP_DOWN, from, RAFT_STEP_DOWN_HIGHER_TERM, 0, 0);
    raft__convert_to_follower(r, term, RAFT_NOBODY);
}
